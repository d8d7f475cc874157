"""Shapes: rank and size unification over the tree, and distinct default sizes.

A variable is a matrix unless `--shape`, the ops it feeds (`dot`) or the need
for a scalar result say otherwise (see `infer`); its sizes are unknowns that
the operators tie together (`X@W` ties X's columns to W's rows). Unknowns
left free after unification get small default sizes, each free dimension a
different one, so that a missing transpose cannot hide behind a square
matrix. For `derive`, sizes may be names (`--shape X=n,k`) and free sizes get
names instead of numbers.

>>> from gradcalc.lang.parse import parse
>>> info = infer(parse("sum((relu(X@W)-Y)**2)"))
>>> info.variables
{'X': (4, 3), 'W': (3, 5), 'Y': (4, 5)}
"""

from __future__ import annotations

import re
from itertools import chain, combinations, count
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from gradcalc.errors import InputError, ShapeError
from gradcalc.lang.tree import Node, postorder

if TYPE_CHECKING:
    from gradcalc.lang.ops import Op

DEFAULT_SIZES = (4, 3, 5, 6, 7, 2, 8, 9, 10, 11, 12, 13, 14, 15, 16)
#: Names for free sizes in `derive` (letters with a Unicode subscript, for the pretty form).
SIZE_NAMES = tuple("nkmprstuvhijlae")

#: A size: a number, or (in `derive`) a name such as "n" that stays symbolic.
Size = int | str


class Dim:
    """One size, known or not; unknown sizes are merged by union-find.

    A size may also be a name (`derive --shape X=n,k`): a named unknown that
    unification may tie to another name or to a number.

    >>> a, b = Dim(), Dim()
    >>> unify(a, b); a.root() is b.root(), a.root().size
    (True, None)
    """

    __slots__ = ("parent", "size")

    def __init__(self, size: Size | None = None) -> None:
        self.parent: Dim = self
        self.size = size

    def root(self) -> Dim:
        """The representative of this size's class (with path halving).

        >>> a, b = Dim(), Dim(7)
        >>> unify(a, b); a.root() is b, a.root().size
        (True, 7)
        """
        d = self
        while d.parent is not d:
            d.parent = d.parent.parent
            d = d.parent
        return d


Shape = tuple[Dim, ...]


class Clash(Exception):
    """Raised by a shape rule; the caller adds the operator and sub-expression.

    >>> unify(Dim(3), Dim(4))
    Traceback (most recent call last):
        ...
    gradcalc.lang.infer.Clash: sizes 3 and 4 differ
    """


def unify(a: Dim, b: Dim) -> None:
    """Make two sizes one; raise Clash when both are numbers and differ.

    A named size tied to a number takes the number; two names become one.

    >>> a, b = Dim(), Dim(3)
    >>> unify(a, b); a.root().size
    3
    >>> n, k = Dim("n"), Dim(4)
    >>> unify(n, k); n.root().size
    4
    """
    ra, rb = a.root(), b.root()
    if ra is rb:
        return
    if isinstance(ra.size, int) and isinstance(rb.size, int) and ra.size != rb.size:
        raise Clash(f"sizes {ra.size} and {rb.size} differ")
    if ra.size is None or (isinstance(ra.size, str) and isinstance(rb.size, int)):
        ra.parent = rb
    else:
        rb.parent = ra


def fixed(*sizes: int) -> Shape:
    """A shape of known sizes.

    >>> [d.size for d in fixed(2, 3)]
    [2, 3]
    """
    return tuple(Dim(int(n)) for n in sizes)


@dataclass
class ShapeInfo:
    """The outcome of inference: sizes for every node and variable.

    `defaulted` names the variables whose sizes were (partly) chosen by default.

    >>> from gradcalc.lang.parse import parse
    >>> info = infer(parse("X@W"), {"X": (2, 3)})
    >>> info.variables, info.defaulted
    ({'X': (2, 3), 'W': (3, 4)}, ['W'])
    """

    nodes: dict[int, tuple[Size, ...]]
    variables: dict[str, tuple[Size, ...]]
    defaulted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def of(self, node: Node) -> tuple[Size, ...]:
        """The shape of one node.

        >>> from gradcalc.lang.parse import parse
        >>> tree = parse("trace(A@B)"); info = infer(tree, {"A": (2, 6)})
        >>> info.of(tree), info.of(tree.args[0])
        ((), (2, 2))
        """
        return self.nodes[id(node)]


RANK_NAMES = {0: "a scalar", 1: "a 1-D vector", 2: "a matrix"}


def infer(root: Node, given: dict[str, tuple[Size, ...]] | None = None, source: str = "",
          scalar: bool = False, symbolic: bool = False) -> ShapeInfo:
    """Infer every node's shape; `given` holds the `--shape` options.

    A variable is a matrix unless `--shape` says otherwise or it feeds an op
    that takes vectors (`dot`, `outer`). With `scalar=True` the expression
    must come out scalar: if it does not with matrices, one variable at a
    time is tried as a vector, then as a scalar (`x@A@x`, `a*sum(X)`), then
    two variables as vectors while a matrix remains (`a@X@b`).

    Sizes may be names (`{"X": ("n", "k")}`); with `symbolic=True` the free
    sizes get names too (n, k, m, ... unless a variable has that name)
    instead of numbers. A name tied to a number becomes the number, and two
    names tied together are shown as the one given first; a note says so.

    >>> from gradcalc.lang.parse import parse
    >>> infer(parse("trace(A@B)"), {"A": (2, 6)}).variables
    {'A': (2, 6), 'B': (6, 2)}
    >>> infer(parse("x@A@x"), scalar=True).variables
    {'x': (4,), 'A': (4, 4)}
    >>> infer(parse("sum(X@W)"), {"X": ("n", "k")}, symbolic=True).variables
    {'X': ('n', 'k'), 'W': ('k', 'm')}
    """
    from gradcalc.lang.tree import variable_names

    given = given or {}
    ranks = {name: len(given[name]) if name in given else 2 for name in variable_names(root)}
    ranks.update({name: r for name, r in _wanted_ranks(root).items() if name not in given})
    free = [name for name in ranks if name not in given and ranks[name] == 2]
    attempts = [{}] + [{name: rank} for rank in (1, 0) for name in free]
    if sum(r == 2 for r in ranks.values()) > 2:  # a@X@b: two vectors, as long as a matrix remains
        attempts += [{a: 1, b: 1} for a, b in combinations(free, 2)]
    first_error, first_info = None, None
    for change in attempts:
        try:
            info = _infer_once(root, given, {**ranks, **change}, source, symbolic)
        except ShapeError as err:
            first_error = first_error or err
            continue
        if not scalar or info.of(root) in ((), (1, 1)):
            info.notes = [f"{name} is taken as {RANK_NAMES[rank]} so that the expression is a scalar"
                          for name, rank in change.items()] + info.notes
            return info
        first_info = first_info or info
    if first_info is not None:
        return first_info
    raise first_error  # type: ignore[misc]


def _wanted_ranks(root: Node) -> dict[str, int]:
    """Ranks asked for by the ops that variables feed directly (dot and outer take vectors)."""
    from gradcalc.lang.ops import OPS

    wanted: dict[str, int] = {}
    for node in postorder(root):
        op = OPS.get(node.op)
        for arg, rank in zip(node.args, op.ranks if op else ()):
            if rank is not None and arg.op == "var":
                wanted.setdefault(arg.name, rank)
    return wanted


def _infer_once(root: Node, given: dict[str, tuple[Size, ...]], ranks: dict[str, int], source: str,
                symbolic: bool = False) -> ShapeInfo:
    from gradcalc.lang.ops import OPS

    named: dict[str, Dim] = {}  # one Dim per size name, shared by every variable that uses it, in --shape order
    for n in chain.from_iterable(given.values()):
        if isinstance(n, str):
            named.setdefault(n, Dim(n))
    var_shapes = {name: tuple(named[n] if isinstance(n, str) else Dim(int(n)) for n in given[name])
                  if name in given else tuple(Dim() for _ in range(rank)) for name, rank in ranks.items()}
    shapes: dict[int, Shape] = {}
    for node in postorder(root):
        if node.op == "var":
            shapes[id(node)] = var_shapes[node.name]
        elif node.op == "const":
            shapes[id(node)] = ()
        else:
            shapes[id(node)] = _apply_rule(OPS[node.op], node, [shapes[id(a)] for a in node.args], source)
    notes = _settle_names(named)
    defaulted = _assign_defaults(var_shapes, _size_names(set(ranks) | set(named)) if symbolic else None)
    resolve = lambda s: tuple(d.root().size for d in s)  # noqa: E731
    return ShapeInfo(
        nodes={key: resolve(s) for key, s in shapes.items()},
        variables={name: resolve(s) for name, s in var_shapes.items()},
        defaulted=defaulted,
        notes=notes,
    )


def _settle_names(named: dict[str, Dim]) -> list[str]:
    """Name each merged class of named sizes by the name given first; say which names were tied."""
    for name in reversed(named):
        root = named[name].root()
        if isinstance(root.size, str):
            root.size = name
    notes = []
    for name, dim in named.items():
        size = dim.root().size
        if isinstance(size, int):
            notes.append(f"size {name} is {size} here: the expression ties it to that number")
        elif size != name:
            notes.append(f"sizes {size} and {name} are tied together by the expression; both are shown as {size}")
    return notes


def _size_names(taken: set[str]) -> Iterator[str]:
    """Names for free sizes that no variable or given size uses."""
    fallback = (f"n{i}" for i in count(1))
    return (n for n in chain(SIZE_NAMES, fallback) if n not in taken)


def _apply_rule(op: Op, node: Node, arg_shapes: list[Shape], source: str) -> Shape:
    try:
        return op.shape(*arg_shapes, **node.kwargs)
    except Clash as clash:
        operands = ", ".join(
            f"{_text(a, source)} ({format_shape(s)})" for a, s in zip(node.args, arg_shapes)
        )
        where = f" in {_text(node, source)!r}" if source else ""
        raise ShapeError(
            f"shape mismatch{where}: {op.title} cannot combine {operands}: {clash}",
            position=node.span[0], source=source or None,
        ) from None


def _assign_defaults(var_shapes: dict[str, Shape], names: Iterator[str] | None = None) -> list[str]:
    taken = {d.root().size for s in var_shapes.values() for d in s if d.root().size is not None}
    pool = names or (n for n in chain(DEFAULT_SIZES, count(DEFAULT_SIZES[-1] + 1)) if n not in taken)
    chosen: set[int] = set()
    for shape in var_shapes.values():
        for dim in shape:
            root = dim.root()
            if root.size is None:
                root.size = next(pool)
                chosen.add(id(root))
    return [name for name, shape in var_shapes.items() if any(id(d.root()) in chosen for d in shape)]


def _text(node: Node, source: str) -> str:
    start, end = node.span
    return source[start:end] if source and end > start else node.name or node.op


def format_shape(shape: tuple[Size | None, ...] | Shape) -> str:
    """Shapes as users write them; with a named size, `×` separates (`n×k`, as `nxk` would read as one name).

    >>> format_shape((4, 3)), format_shape(()), format_shape(("n", 3))
    ('4x3', 'scalar', 'n×3')
    """
    sizes = [d.root().size if isinstance(d, Dim) else d for d in shape]
    if not sizes:
        return "scalar"
    separator = "×" if any(isinstance(n, str) for n in sizes) else "x"
    return separator.join("?" if n is None else str(n) for n in sizes)


_SHAPE_OPTION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_SIZE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_shape_option(text: str, symbolic: bool = False) -> tuple[str, tuple[Size, ...]]:
    """Parse `--shape NAME=DIMS`: `X=10x4`, `X=10,4`, a vector `x=4`, `a=scalar`, `a=()`.

    With `symbolic=True` (`derive`) a size may be a name: `X=n,k`, `X=(n, k)`,
    `X=n×k`, `X=n,4`. `x` separates numbers only (`10x4`), since it could be
    part of a name.

    >>> parse_shape_option("X=10x4"), parse_shape_option("a=scalar")
    (('X', (10, 4)), ('a', ()))
    >>> parse_shape_option("X=(n, 4)", symbolic=True)
    ('X', ('n', 4))
    """
    match = _SHAPE_OPTION.match(text)
    if not match:
        raise InputError(f"--shape {text!r}: expected NAME=DIMS, e.g. X=10x4 or a=scalar")
    name, dims = match.groups()
    if dims.lower() in ("scalar", "()", ""):
        return name, ()
    inner = dims.strip("()[] ")
    parts = re.split(r"\s*[,×]\s*", inner)
    if len(parts) == 1 and re.fullmatch(r"\d+(\s*x\s*\d+)*", inner):
        parts = re.split(r"\s*x\s*", inner)
    if len(parts) == 2 and parts[1] == "" and dims.rstrip().endswith(",)"):  # (n,): a 1-D vector
        parts = parts[:1]
    sizes = tuple(_size(p, name, text, symbolic, alone=len(parts) == 1 and "," not in dims) for p in parts)
    if len(sizes) > 2:
        raise InputError(f"--shape {text!r}: at most 2 dimensions are supported")
    return name, sizes


def _size(part: str, name: str, text: str, symbolic: bool, alone: bool) -> Size:
    """One size of a `--shape` option: a positive integer, or (symbolic) a name; `nxk` alone is ambiguous."""
    if part.isdigit() and int(part) > 0:
        return int(part)
    if not _SIZE_NAME.match(part):
        if symbolic:
            raise InputError(f"--shape {text!r}: a size must be a positive integer or a name, e.g. {name}=n,k")
        raise InputError(f"--shape {text!r}: sizes must be positive integers, e.g. {name}=10x4")
    if not symbolic:
        raise InputError(f"--shape {text!r}: {part!r} is a symbolic size; symbolic sizes are for `gradcalc derive`, "
                         f"eval needs numbers, e.g. {name}=10x4")
    if alone and "x" in part and all(len(p) == 1 or p.isdigit() for p in part.split("x")):  # nxk, nx4
        raise InputError(f"--shape {text!r}: is {part!r} one name or sizes separated by x? Write sizes with commas, "
                         f"e.g. {name}={','.join(part.split('x'))} (x separates numbers only, as in 10x4)")
    return part
