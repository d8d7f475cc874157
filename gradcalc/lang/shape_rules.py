"""Shape rules of the operator table, with NumPy's semantics for ranks 0, 1 and 2.

Each rule takes the operands' shapes (tuples of `Dim`) and the op's
constant parameters, ties sizes together with `unify`, and returns the
result's shape; `Clash` says what is wrong. The first line of each
docstring is what `gradcalc ops` shows as the shapes an op accepts.

>>> from gradcalc.lang.dims import Dim, fixed, format_shape
>>> format_shape(matmul((Dim(),), fixed(3, 5)))
'5'
"""

from __future__ import annotations

from itertools import zip_longest

from gradcalc.lang.dims import Ambiguous, Clash, Dim, fixed, format_shape, Shape, unify  # noqa: F401 - Dim: examples

REQUIRED_AXIS = object()  # an axis the call did not give (a softmax of a matrix must say which)


def same(a: Shape, **_: object) -> Shape:
    """any shape -> the same shape

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(same(fixed(2, 3), p=2))
    '2x3'
    """
    return a


def broadcast(a: Shape, b: Shape) -> Shape:
    """equal shapes, or NumPy broadcasting of scalars, 1-D rows and size-1 rows/columns

    Unknown sizes are taken to be equal; a size known to be 1 stretches.

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(broadcast(fixed(4, 3), fixed(3))), format_shape(broadcast(fixed(4, 1), (Dim(), Dim())))
    ('4x3', '4x?')
    """
    out = []
    for da, db in zip_longest(reversed(a), reversed(b)):
        if da is None or db is None:
            out.append(db if da is None else da)
            continue
        size_a, size_b = da.root().size, db.root().size
        if size_a == 1 and size_b != 1:
            out.append(db)
        elif size_b == 1 and size_a != 1:
            out.append(da)
        else:
            unify(da, db)
            out.append(da)
    return tuple(reversed(out))


def broadcast3(c: Shape, a: Shape, b: Shape) -> Shape:
    """three shapes broadcast together, as NumPy's where(cond, A, B)

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(broadcast3(fixed(4, 1), (), fixed(3)))
    '4x3'
    """
    return broadcast(broadcast(c, a), b)


def matmul(a: Shape, b: Shape) -> Shape:
    """(n,k) @ (k,m) -> (n,m); 1-D: a row on the left, a column on the right

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(matmul(fixed(2, 3), (Dim(), Dim(5)))), matmul(fixed(3), fixed(3))
    ('2x5', ())
    >>> matmul(fixed(2, 3), fixed(4, 5))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    gradcalc.lang.dims.Clash: the left operand's columns must equal the right operand's rows (sizes 3 and 4 differ)
    """
    if not a or not b:
        raise Clash("@ needs vectors or matrices; use * to multiply by a scalar")
    try:
        unify(a[-1], b[0])
    except Clash as clash:
        raise Clash(f"the left operand's columns must equal the right operand's rows ({clash})") from None
    return a[:-1] + b[1:]


def matrices_product(a: Shape, b: Shape) -> Shape:
    """(n,k) mm (k,m) -> (n,m); both operands 2-D, as torch.mm

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(matrices_product(fixed(2, 3), (Dim(), Dim(5))))
    '2x5'
    >>> matrices_product(fixed(2, 3), fixed(3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    gradcalc.lang.dims.Clash: torch.mm multiplies two matrices, and the right operand is 1-D (3); ...
    """
    for side, shape in (("left", a), ("right", b)):
        if len(shape) != 2:
            what = "a scalar" if not shape else f"1-D ({format_shape(shape)})"
            raise Clash(f"torch.mm multiplies two matrices, and the {side} operand is {what}; use @ or matmul "
                        "for NumPy's rule with 1-D operands, or give it as a matrix")
    return matmul(a, b)


def transpose(a: Shape) -> Shape:
    """(n, m) -> (m, n); a vector or scalar stays as it is

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(transpose(fixed(2, 3)))
    '3x2'
    """
    return a[::-1]


def reduce(a: Shape, axis: int | None = None, keepdims: bool = False, **_: object) -> Shape:
    """any shape -> scalar; with axis, that axis is removed; with keepdims, kept as size 1

    >>> from gradcalc.lang.dims import format_shape
    >>> reduce(fixed(2, 3)), format_shape(reduce(fixed(2, 3), axis=0)), format_shape(reduce(fixed(2, 3), 1, True))
    ((), '3', '2x1')
    """
    if axis is None:
        return tuple(Dim(1) for _ in a) if keepdims else ()
    if not -len(a) <= axis < len(a):
        raise Clash(f"axis {axis} is out of range for {len(a)} dimension(s)")
    k = axis % len(a)
    return a[:k] + ((Dim(1),) if keepdims else ()) + a[k + 1:]


def along_axis(a: Shape, axis: int | None | object = REQUIRED_AXIS) -> Shape:
    """any shape -> the same shape; a matrix needs axis=1 (rows), axis=0 or axis=None (all entries)

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(along_axis(fixed(2, 3), axis=-1)), format_shape(along_axis(fixed(4)))
    ('2x3', '4')
    >>> along_axis(fixed(2, 3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    gradcalc.lang.dims.Ambiguous: of a matrix, say which axis: axis=1 (rows, as attention and cross-entropy), ...
    """
    if axis is REQUIRED_AXIS and len(a) == 2:
        raise Ambiguous("of a matrix, say which axis: axis=1 (rows, as attention and cross-entropy), axis=0 "
                        "(columns) or axis=None (all entries, as scipy.special.softmax); a 1-D operand needs none "
                        "(--shape z=5 gives a variable as one)")
    if axis is not None and axis is not REQUIRED_AXIS and not -len(a) <= axis < len(a):
        raise Clash(f"axis {axis} is out of range for {len(a)} dimension(s)")
    return a


def to_scalar(a: Shape) -> Shape:
    """any shape -> scalar

    >>> to_scalar(fixed(2, 3))
    ()
    """
    return ()


def _square(a: Shape) -> None:
    if len(a) != 2:
        raise Clash("the operand must be a square matrix")
    try:
        unify(a[0], a[1])
    except Clash:
        raise Clash("the operand must be a square matrix") from None


def square_to_scalar(a: Shape) -> Shape:
    """square matrix (n, n) -> scalar

    >>> a = (Dim(), Dim(4))
    >>> from gradcalc.lang.dims import format_shape
    >>> square_to_scalar(a), format_shape(a)
    ((), '4x4')
    """
    _square(a)
    return ()


def square(a: Shape) -> Shape:
    """square matrix (n, n) -> (n, n)

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(square((Dim(3), Dim())))
    '3x3'
    """
    _square(a)
    return a


def vectors_to_scalar(a: Shape, b: Shape) -> Shape:
    """two vectors (n), (n) -> scalar

    >>> vectors_to_scalar(fixed(3), (Dim(),))
    ()
    """
    _vectors(a, b)
    unify(a[0], b[0])
    return ()


def vectors_to_matrix(a: Shape, b: Shape) -> Shape:
    """two vectors (n), (m) -> (n, m)

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(vectors_to_matrix(fixed(3), fixed(2)))
    '3x2'
    """
    _vectors(a, b)
    return (a[0], b[0])


def _vectors(a: Shape, b: Shape) -> None:
    if len(a) != 1 or len(b) != 1:
        raise Clash("both operands must be 1-D vectors")


def diagonal(a: Shape) -> Shape:
    """vector (n) -> diagonal matrix (n, n); square matrix (n, n) -> its diagonal (n)

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(diagonal(fixed(3))), format_shape(diagonal(fixed(3, 3)))
    ('3x3', '3')
    """
    if len(a) == 1:
        return (a[0], a[0])
    _square(a)
    return (a[0],)


def square_of(n: int) -> Shape:
    """eye(n) -> (n, n)

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(square_of(3))
    '3x3'
    """
    return fixed(n, n)


def sized(n: int, m: int | None = None) -> Shape:
    """size n -> (n); sizes n, m -> (n, m)

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(sized(2, 5)), format_shape(sized(4))
    ('2x5', '4')
    """
    return fixed(n) if m is None else fixed(n, m)
