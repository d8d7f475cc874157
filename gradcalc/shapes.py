"""Shapes: rank and size unification over the tree, and distinct default sizes.

Every variable is a matrix unless `--shape` says otherwise; its two sizes are
unknowns that the operators tie together (`X@W` ties X's columns to W's
rows). Unknowns left free after unification get small default sizes, each
free dimension a different one, so that a missing transpose cannot hide
behind a square matrix.

>>> from gradcalc.parse import parse
>>> info = infer(parse("sum((relu(X@W)-Y)**2)"))
>>> info.variables
{'X': (4, 3), 'W': (3, 5), 'Y': (4, 5)}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gradcalc.errors import InputError, ShapeError
from gradcalc.tree import Node, leaves, postorder

if TYPE_CHECKING:
    from gradcalc.ops import Op

DEFAULT_SIZES = (4, 3, 5, 6, 7, 2, 8, 9, 10, 11, 12, 13, 14, 15, 16)


class Dim:
    """One size, known or not; unknown sizes are merged by union-find.

    >>> a, b = Dim(), Dim()
    >>> unify(a, b); a.root() is b.root(), a.root().size
    (True, None)
    """

    __slots__ = ("parent", "size")

    def __init__(self, size: int | None = None) -> None:
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

    >>> broadcast(fixed(2, 3), fixed(2, 4))
    Traceback (most recent call last):
        ...
    gradcalc.shapes.Clash: sizes 3 and 4 differ
    """


def unify(a: Dim, b: Dim) -> None:
    """Make two sizes one; raise Clash when both are known and differ.

    >>> a, b = Dim(), Dim(3)
    >>> unify(a, b); a.root().size
    3
    """
    ra, rb = a.root(), b.root()
    if ra is rb:
        return
    if ra.size is not None and rb.size is not None and ra.size != rb.size:
        raise Clash(f"sizes {ra.size} and {rb.size} differ")
    if ra.size is None:
        ra.parent = rb
    else:
        rb.parent = ra


def fixed(*sizes: int) -> Shape:
    """A shape of known sizes.

    >>> [d.size for d in fixed(2, 3)]
    [2, 3]
    """
    return tuple(Dim(int(n)) for n in sizes)


# Shape rules, referenced by the operator table.

def same(a: Shape, **_: object) -> Shape:
    """Elementwise functions keep the shape.

    >>> format_shape(same(fixed(2, 3), p=2))
    '2x3'
    """
    return a


def broadcast(a: Shape, b: Shape) -> Shape:
    """Elementwise binary operators: a scalar broadcasts, otherwise the shapes unify.

    >>> x = (Dim(), Dim())
    >>> format_shape(broadcast(x, fixed(2, 3))), format_shape(broadcast((), x))
    ('2x3', '2x3')
    """
    if not a:
        return b
    if not b:
        return a
    if len(a) != len(b):
        raise Clash("ranks differ")
    for da, db in zip(a, b):
        unify(da, db)
    return a


def matmul(a: Shape, b: Shape) -> Shape:
    """The matrix product: (n, k) @ (k, m) -> (n, m).

    >>> format_shape(matmul(fixed(2, 3), (Dim(), Dim(5))))
    '2x5'
    >>> matmul(fixed(2, 3), fixed(4, 5))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    gradcalc.shapes.Clash: the left operand's columns must equal ... (sizes 3 and 4 differ)
    """
    if len(a) != 2 or len(b) != 2:
        raise Clash("both operands must be matrices")
    try:
        unify(a[1], b[0])
    except Clash as clash:
        raise Clash(f"the left operand's columns must equal the right operand's rows ({clash})") from None
    return (a[0], b[1])


def transpose(a: Shape) -> Shape:
    """Reverse the axes.

    >>> format_shape(transpose(fixed(2, 3)))
    '3x2'
    """
    return a[::-1]


def to_scalar(a: Shape, **_: object) -> Shape:
    """Reductions over all entries.

    >>> to_scalar(fixed(2, 3))
    ()
    """
    return ()


def square_to_scalar(a: Shape) -> Shape:
    """trace: a square matrix to a scalar.

    >>> a = (Dim(), Dim(4))
    >>> square_to_scalar(a), format_shape(a)
    ((), '4x4')
    """
    if len(a) != 2:
        raise Clash("the operand must be a square matrix")
    try:
        unify(a[0], a[1])
    except Clash:
        raise Clash("the operand must be a square matrix") from None
    return ()


def square_of(n: int) -> Shape:
    """eye(n).

    >>> format_shape(square_of(3))
    '3x3'
    """
    return fixed(n, n)


def rect_of(n: int, m: int) -> Shape:
    """ones(n, m), zeros(n, m).

    >>> format_shape(rect_of(2, 5))
    '2x5'
    """
    return fixed(n, m)


@dataclass
class ShapeInfo:
    """The outcome of inference: sizes for every node and variable.

    `defaulted` names the variables whose sizes were (partly) chosen by default.

    >>> from gradcalc.parse import parse
    >>> info = infer(parse("X@W"), {"X": (2, 3)})
    >>> info.variables, info.defaulted
    ({'X': (2, 3), 'W': (3, 4)}, ['W'])
    """

    nodes: dict[int, tuple[int, ...]]
    variables: dict[str, tuple[int, ...]]
    defaulted: list[str] = field(default_factory=list)

    def of(self, node: Node) -> tuple[int, ...]:
        """The shape of one node.

        >>> from gradcalc.parse import parse
        >>> tree = parse("trace(A@B)"); info = infer(tree, {"A": (2, 6)})
        >>> info.of(tree), info.of(tree.args[0])
        ((), (2, 2))
        """
        return self.nodes[id(node)]


def infer(root: Node, given: dict[str, tuple[int, ...]] | None = None, source: str = "") -> ShapeInfo:
    """Infer every node's shape; `given` holds the `--shape` options.

    >>> from gradcalc.parse import parse
    >>> infer(parse("trace(A@B)"), {"A": (2, 6)}).variables
    {'A': (2, 6), 'B': (6, 2)}
    """
    from gradcalc.ops import OPS

    given = given or {}
    var_shapes: dict[str, Shape] = {}
    for leaf in leaves(root):
        if leaf.name not in var_shapes:
            sizes = given.get(leaf.name)
            var_shapes[leaf.name] = fixed(*sizes) if sizes is not None else (Dim(), Dim())
    shapes: dict[int, Shape] = {}
    for node in postorder(root):
        if node.op == "var":
            shapes[id(node)] = var_shapes[node.name]
        elif node.op == "const":
            shapes[id(node)] = ()
        else:
            shapes[id(node)] = _apply_rule(OPS[node.op], node, [shapes[id(a)] for a in node.args], source)
    defaulted = _assign_defaults(var_shapes)
    resolve = lambda s: tuple(d.root().size for d in s)  # noqa: E731
    return ShapeInfo(
        nodes={key: resolve(s) for key, s in shapes.items()},
        variables={name: resolve(s) for name, s in var_shapes.items()},
        defaulted=defaulted,
    )


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


def _assign_defaults(var_shapes: dict[str, Shape]) -> list[str]:
    taken = {d.root().size for s in var_shapes.values() for d in s if d.root().size is not None}
    pool = iter(n for n in DEFAULT_SIZES if n not in taken)
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


def format_shape(shape: tuple[int | None, ...] | Shape) -> str:
    """Shapes as users write them.

    >>> format_shape((4, 3)), format_shape(())
    ('4x3', 'scalar')
    """
    sizes = [d.root().size if isinstance(d, Dim) else d for d in shape]
    if not sizes:
        return "scalar"
    return "x".join("?" if n is None else str(n) for n in sizes)


_SHAPE_OPTION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def parse_shape_option(text: str) -> tuple[str, tuple[int, ...]]:
    """Parse `--shape NAME=DIMS`: `X=10x4`, `X=10,4`, `a=scalar`, `a=()`.

    >>> parse_shape_option("X=10x4"), parse_shape_option("a=scalar")
    (('X', (10, 4)), ('a', ()))
    """
    match = _SHAPE_OPTION.match(text)
    if not match:
        raise InputError(f"--shape {text!r}: expected NAME=DIMS, e.g. X=10x4 or a=scalar")
    name, dims = match.groups()
    if dims.lower() in ("scalar", "()", ""):
        return name, ()
    parts = re.split(r"\s*[x,×]\s*", dims.strip("()[] "))
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        raise InputError(f"--shape {text!r}: sizes must be positive integers, e.g. {name}=10x4")
    if len(parts) == 1:
        raise InputError(
            f"--shape {text!r}: 1-D vectors are not supported yet; use {name}={parts[0]}x1 for a column"
        )
    if len(parts) > 2:
        raise InputError(f"--shape {text!r}: at most 2 dimensions are supported")
    return name, tuple(int(p) for p in parts)
