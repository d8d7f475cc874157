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

from itertools import chain, combinations, count
from dataclasses import dataclass, field
from typing import Iterator

from gradcalc.errors import ShapeError
from gradcalc.lang.dims import DEFAULT_SIZES, RANK_NAMES, SIZE_NAMES, Clash, Dim, Shape, Size, format_shape
from gradcalc.lang.ops import OPS, Op
from gradcalc.lang.tree import Node, postorder, variable_names

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
    wanted: dict[str, int] = {}
    for node in postorder(root):
        op = OPS.get(node.op)
        for arg, rank in zip(node.args, op.ranks if op else ()):
            if rank is not None and arg.op == "var":
                wanted.setdefault(arg.name, rank)
    return wanted


def _infer_once(root: Node, given: dict[str, tuple[Size, ...]], ranks: dict[str, int], source: str,
                symbolic: bool = False) -> ShapeInfo:
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
    notes = list(dict.fromkeys(n.note for n in postorder(root) if n.note)) + _settle_names(named)
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
