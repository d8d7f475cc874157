"""Shapes: rank and size unification over the tree, and distinct default sizes.

A variable is a matrix unless `--shape`, the ops it feeds (`dot`) or the need
for a scalar result say otherwise (see `infer`); its sizes are unknowns that
the operators tie together (`X@W` ties X's columns to W's rows). Unknowns
left free after unification get small default sizes, each free dimension a
different one, so that a missing transpose cannot hide behind a square
matrix; nor does inference make a matrix square so that a 1-D operand
broadcasts against it (it asks for a `--shape` instead). For `derive`, sizes
may be names (`--shape X=n,k`) and free sizes get names instead of numbers.

>>> from gradcalc.lang.parse import parse
>>> info = infer(parse("sum((relu(X@W)-Y)**2)"))
>>> info.variables
{'X': (4, 3), 'W': (3, 5), 'Y': (4, 5)}
"""

from __future__ import annotations

from itertools import chain, combinations, count
from dataclasses import dataclass, field
from typing import Iterator

from gradcalc.errors import ParseError, ShapeError
from gradcalc.lang.dims import (DEFAULT_SIZES, RANK_NAMES, SIZE_NAMES, Ambiguous, Clash, Dim, Follows, Shape,
                                 Size, following, format_shape, next_size, unify)
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
    that takes vectors (`dot`, `outer`; `mm` takes matrices). With
    `scalar=True` the expression must come out scalar: if it does not with
    matrices, one variable at a time is tried as a vector, then as a scalar
    (`x@A@x`, `a*sum(X)`), then two variables as vectors while a matrix
    remains (`a@X@b`), then a free size of a 1xm result is taken as 1
    (`x.t().mm(W).mm(y)`). A matrix made square only so that a 1-D operand
    broadcasts against it is a ShapeError (`refuse_hidden_choice`).

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
    for unit in (False, True) if scalar else (False,):  # last resort: a free size of a 1xm result is 1
        for change in attempts:
            tried = {**ranks, **change}
            try:
                info = _infer_once(root, given, tried, source, symbolic, unit=unit)
            except ShapeError as err:
                first_error = first_error or err
                continue
            if not scalar or info.of(root) in ((), (1, 1)):
                info.notes = [f"{name} is taken as {RANK_NAMES[rank]} so that the expression is a scalar"
                              for name, rank in change.items()] + info.notes
                refuse_hidden_choice(root, given, tried, info, source, scalar, symbolic)
                return info
            first_info = first_info or info
    if first_info is not None:
        return first_info
    raise first_error  # type: ignore[misc]


#: Roles whose ops are elementwise with NumPy broadcasting (a 1-D operand lines up with a matrix's last axis).
BROADCASTING = frozenset({"arithmetic", "elementwise", "activation"})


@dataclass(frozen=True)
class HiddenSquare:
    """A broadcast that works only because inference made a matrix square: where, and which variables are free.

    >>> HiddenSquare(Node("mul"), 0, 1, ("w",)).free
    ('w',)
    """

    node: Node
    wide: int  # the 2-D operand
    narrow: int  # the 1-D operand
    free: tuple[str, ...]  # the variables whose free sizes the broadcast tied


def hidden_square(root: Node, given: dict[str, tuple[Size, ...]], ranks: dict[str, int], info: ShapeInfo,
                  source: str = "") -> HiddenSquare | None:
    """The first 1-D-against-2-D broadcast whose matrix is square in `info` but not without broadcast ties.

    >>> from gradcalc.lang.parse import parse
    >>> tree = parse("X - mean(X, axis=1)")
    >>> hidden_square(tree, {}, {"X": 2}, infer(tree, {"X": (3, 3)})).free
    ('X',)
    >>> hidden_square(tree, {"X": (3, 3)}, {"X": 2}, infer(tree, {"X": (3, 3)})) is None
    True
    """
    stretched: list[tuple[Node, list[Shape]]] = []
    try:
        _, var_shapes, _ = tie_sizes(root, given, ranks, source, stretched)
    except ShapeError:  # an order-dependent tie: nothing to say beyond what inference said
        return None
    for node, operands in stretched:
        wide = next(i for i, s in enumerate(operands) if len(s) == 2)
        sizes = info.of(node.args[wide])
        rows, cols = (d.root() for d in operands[wide])
        if sizes[0] != sizes[1] or rows is cols or (rows.size is not None and rows.size == cols.size):
            continue
        loose = {id(d) for d in (rows, cols) if d.size is None}
        free = tuple(name for name, shape in var_shapes.items()
                     if name not in given and any(id(d.root()) in loose for d in shape))
        return HiddenSquare(node, wide, next(i for i, s in enumerate(operands) if len(s) == 1), free)
    return None


def refuse_hidden_choice(root: Node, given: dict[str, tuple[Size, ...]], ranks: dict[str, int], info: ShapeInfo,
                         source: str = "", scalar: bool = False, symbolic: bool = False) -> None:
    """Refuse (ShapeError) a matrix made square only so that a 1-D operand broadcasts; say which --shape settles it.

    The error names the free variables, the --shape that makes the square
    explicit and, where one exists, the reading with a 1-D variable instead.

    >>> from gradcalc.lang.parse import parse
    >>> text, given = "sum(y*(X@w))", {"y": (6,), "X": (6, 3)}
    >>> tree = parse(text); info = infer(tree, {**given, "w": (3, 6)})
    >>> refuse_hidden_choice(tree, given, {"y": 1, "X": 2, "w": 2}, info, text)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    gradcalc.errors.ShapeError: w: a 1-D vector (--shape w=3, X@w is 6) or a 3x6 matrix (--shape w=3x6)? ...
    """
    found = hidden_square(root, given, ranks, info, source)
    if found is None:
        return
    wide = found.node.args[found.wide]
    vectors = []
    for name in [n for n in ranks if n not in given and ranks[n] == 2]:
        tried = {**ranks, name: 1}
        try:
            alt = _infer_once(root, given, tried, source, symbolic)
        except ShapeError:
            continue
        if (not scalar or alt.of(root) in ((), (1, 1))) and hidden_square(root, given, tried, alt, source) is None:
            option = f"--shape {name}={_option(alt.variables[name])}"
            vectors.append(f"a 1-D vector ({option}, {_text(wide, source)} is {format_shape(alt.of(wide))})"
                           if (name,) == found.free else f"{name} a 1-D vector ({option})")
    raise ShapeError(_choice_message(found, info, vectors, source), position=found.node.span[0],
                     source=source or None)


def _choice_message(found: HiddenSquare, info: ShapeInfo, vectors: list[str], source: str) -> str:
    """What `refuse_hidden_choice` says: the readings to choose from and why inference does not choose."""
    node = found.node
    wide, narrow = node.args[found.wide], _own(node.args[found.narrow], node)
    wide_text = _text(wide, source)
    settle = " ".join(f"--shape {name}={_option(info.variables[name])}" for name in found.free) or "--shape"
    why = (f"In {_text(node, source)!r} the 1-D {_text(narrow, source)} ({format_shape(info.of(narrow))}) "
           f"broadcasts against the last axis of {wide_text}, which works only if {wide_text} is square "
           f"({format_shape(info.of(wide))}), and nothing else in the expression makes it so")
    names = ", ".join(found.free) or "shapes"
    if vectors:
        matrix = (f"a {format_shape(info.variables[found.free[0]])} matrix" if len(found.free) == 1
                  else "matrices that make it square")
        return f"{names}: {' or '.join([*vectors, f'{matrix} ({settle})'])}? {why}"
    op = OPS.get(narrow.op)
    keep = op is not None and any(p.name == "keepdims" for p in op.params)
    hint = "; to broadcast along the rows instead, keep the reduced axis as a column (keepdims=True)" if keep else ""
    return f"{names}: {why[:1].lower()}{why[1:]}. If you mean that, say so with {settle}{hint}"


def _own(node: Node, parent: Node) -> Node:
    """The node a user wrote, below the ones an expansion added with the parent's span (`a/b`: b, not b**-1)."""
    while node.span == parent.span and node.args:
        node = node.args[0]
    return node


def _option(shape: tuple[Size, ...]) -> str:
    """A shape as --shape takes it: 3x4, or n,k with names."""
    return ",".join(map(str, shape)) if any(isinstance(n, str) for n in shape) else "x".join(map(str, shape))


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
                symbolic: bool = False, unit: bool = False) -> ShapeInfo:
    shapes, var_shapes, named = tie_sizes(root, given, ranks, source)
    unit_notes = _unit_result(shapes[id(root)], var_shapes, given) if unit else []
    notes = list(dict.fromkeys(n.note for n in postorder(root) if n.note)) + _settle_names(named)
    follows = following(shapes)  # sizes made from sizes: X[1:], flatten(X), kron(A, B)
    names = _size_names(set(ranks) | set(named)) if symbolic and not follows else None
    defaulted = _assign_defaults(var_shapes, names, skip=follows)
    deferred = any(isinstance(d, Follows) for s in shapes.values() for d in s)  # a count checked once sizes are known
    if follows or (deferred and defaulted):
        shapes, var_shapes, more = settle_following(root, var_shapes, ranks, source, defaulted)
        defaulted = list(dict.fromkeys([*defaulted, *more]))
        notes += ["free sizes are numbers here, not names: slices, reshape, flatten and kron compute sizes from "
                  "sizes"] if symbolic and defaulted else []
    resolve = lambda s: tuple(d.root().size for d in s)  # noqa: E731
    variables = {name: resolve(s) for name, s in var_shapes.items()}
    return ShapeInfo(
        nodes={key: resolve(s) for key, s in shapes.items()},
        variables=variables,
        defaulted=defaulted,
        notes=[f"{name} is taken as {format_shape(variables[name])} so that the expression is a 1x1 scalar"
               for name in unit_notes] + notes,
    )


def tie_sizes(root: Node, given: dict[str, tuple[Size, ...]], ranks: dict[str, int], source: str = "",
              stretched: list[tuple[Node, list[Shape]]] | None = None
              ) -> tuple[dict[int, Shape], dict[str, Shape], dict[str, Dim]]:
    """Unify sizes over the tree: each node's shape, each variable's, and the named sizes.

    With a list `stretched`, a 1-D operand that broadcasts against a 2-D one
    ties nothing (free copies of its sizes take the tie); the node and its
    operands' own shapes are listed there, for `hidden_square`.

    >>> from gradcalc.lang.parse import parse
    >>> tree, found = parse("X - mean(X, axis=1)"), []
    >>> _, shapes, _ = tie_sizes(tree, {}, {"X": 2}, stretched=found)
    >>> shapes["X"][0].root() is shapes["X"][1].root(), len(found)
    (False, 1)
    """
    named: dict[str, Dim] = {}  # one Dim per size name, shared by every variable that uses it, in --shape order
    for n in chain.from_iterable(given.values()):
        if isinstance(n, str):
            named.setdefault(n, Dim(n))
    var_shapes = {name: tuple(named[n] if isinstance(n, str) else Dim(None if n is None else int(n))  # None: open
                              for n in given[name])
                  if name in given else tuple(Dim() for _ in range(rank)) for name, rank in ranks.items()}
    shapes: dict[int, Shape] = {}
    for node in postorder(root):
        if node.op == "var":
            shapes[id(node)] = var_shapes[node.name]
        elif node.op == "const":
            shapes[id(node)] = ()
        else:
            op, operands = OPS[node.op], [shapes[id(a)] for a in node.args]
            if stretched is not None and _stretches(op, operands):
                stretched.append((node, operands))
                operands = [tuple(Dim(1 if d.root().size == 1 else None) for d in s) if len(s) == 1 else s
                            for s in operands]  # a 1 still stretches; any other size is left to the judge
            shapes[id(node)] = _apply_rule(op, node, operands, source)
    return shapes, var_shapes, named


def settle_following(root: Node, var_shapes: dict[str, Shape], ranks: dict[str, int], source: str = "",
                     defaulted: list[str] = ()) -> tuple[dict[int, Shape], dict[str, Shape], list[str]]:
    """Sizes again, now that the sizes others follow from are known: `X[1:]` has a row fewer than X, and a
    variable tied to it (`X[1:] - Y`) gets that size, not a default. Returns the shapes, the variables' shapes
    and the variables that got default sizes only now (what follows from nothing but itself, last).

    >>> from gradcalc.lang.parse import parse
    >>> tree = parse("sum((X[1:] - Y)**2)")
    >>> _, var_shapes, _ = tie_sizes(tree, {"X": (4, 3)}, {"X": 2, "Y": 2})
    >>> _, settled, more = settle_following(tree, var_shapes, {"X": 2, "Y": 2})
    >>> [d.root().size for d in settled["Y"]], more
    ([3, 3], [])
    """
    more: list[str] = []
    for attempt in range(4):
        sizes = {name: tuple(d.root().size for d in s) for name, s in var_shapes.items()}
        try:
            shapes, var_shapes, _ = tie_sizes(root, sizes, ranks, source)
        except ShapeError as err:
            chosen = ", ".join(dict.fromkeys([*defaulted, *more]))
            if not chosen:
                raise
            raise ShapeError(f"{err.message}; {chosen} got default sizes that do not fit together here: give them "
                             "with --shape", position=err.position, source=err.source) from None
        if not following(shapes) and all(d.root().size is not None for s in var_shapes.values() for d in s):
            break
        more += _assign_defaults(var_shapes, skip=following(shapes) if attempt < 2 else set())
    return shapes, var_shapes, more


def _stretches(op: Op, operands: list[Shape]) -> bool:
    """Whether an elementwise op broadcasts a 1-D operand against a 2-D one (its last axis)."""
    ranks = {len(s) for s in operands}
    return op.role in BROADCASTING and {1, 2} <= ranks


def _unit_result(out: Shape, var_shapes: dict[str, Shape], given: dict[str, tuple[Size, ...]]) -> list[str]:
    """Make a 1xm (or mx1) result with a free m 1x1; the variables that got the 1."""
    if len(out) != 2 or not any(d.root().size == 1 for d in out):
        return []
    one = Dim(1)
    for d in out:
        if d.root().size is None:
            unify(d, one)
    return [name for name, shape in var_shapes.items()
            if name not in given and any(d.root() is one.root() for d in shape)]


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
    except Ambiguous as unread:  # the call itself says too little: no other rank is tried to get round it
        raise ParseError(f"{_text(node, source)}: {unread}", position=node.span[0], source=source or None) from None
    except Clash as clash:
        operands = ", ".join(
            f"{_text(_written_operand(a, node), source)} ({format_shape(s)})" for a, s in zip(node.args, arg_shapes)
        )
        where = f" in {_text(node, source)!r}" if source else ""
        title = OPS[node.written].title if node.written in OPS else op.title  # `-`, not the `+` it expands to
        raise ShapeError(
            f"shape mismatch{where}: {title} cannot combine {operands}: {clash}{_rank_hint(op, node, arg_shapes)}",
            position=node.span[0], source=source or None,
        ) from None


def _rank_hint(op: Op, node: Node, arg_shapes: list[Shape]) -> str:
    """The --shape that gives a 1-D variable the matrix an op needs (`x.mm(y)`: y as a column)."""
    for i, (arg, shape, rank) in enumerate(zip(node.args, arg_shapes, op.ranks)):
        if rank == 2 and len(shape) == 1 and arg.op == "var":
            n = shape[0].root().size or "n"
            return f", e.g. --shape {arg.name}={f'1x{n}' if i == 0 else f'{n}x1'}"
    return ""


def _assign_defaults(var_shapes: dict[str, Shape], names: Iterator[str] | None = None,
                     skip: set[int] = frozenset()) -> list[str]:
    """Default sizes for the free sizes, except those in `skip` (root ids: sizes that follow from others)."""
    taken = {d.root().size for s in var_shapes.values() for d in s if d.root().size is not None}
    pool = names or (n for n in chain(DEFAULT_SIZES, count(DEFAULT_SIZES[-1] + 1)) if n not in taken)
    chosen: set[int] = set()
    spare: list[Size] = []
    for shape in var_shapes.values():
        for dim in shape:
            root = dim.root()
            if root.size is None and id(root) not in skip:
                root.size = next_size(pool, spare, root.least[0])
                chosen.add(id(root))
    return [name for name, shape in var_shapes.items() if any(id(d.root()) in chosen for d in shape)]


def _written_operand(arg: Node, parent: Node) -> Node:
    """The operand as the user wrote it: inside an expansion (A - B is A + (-B)) the inner `-B` is B."""
    while parent.written and arg.span == parent.span and arg.args:
        arg = arg.args[0]
    return arg


def _text(node: Node, source: str) -> str:
    start, end = node.span
    return source[start:end] if source and end > start else node.name or node.op
