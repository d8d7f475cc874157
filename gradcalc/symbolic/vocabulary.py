"""SymPy matrix-expression helpers that treat scalars and matrices alike.

The operator table's symbolic forms and adjoint rules are written with these
functions (passed in as `s`). Scalars are ordinary SymPy expressions;
matrices are SymPy matrix expressions (MatrixSymbol, MatMul, MatAdd,
HadamardProduct, HadamardPower, Transpose, Trace), with the types of
`gradcalc.symtypes` where SymPy has none. These helpers give NumPy's
semantics (broadcasting, 1-D vectors as (n, UNIT) columns) on top of the
canonical algebra of `gradcalc.matalg`, which folds away the trivial cases
(ones, identities, zeros, unit coefficients) so that formulas print clean.

>>> import sympy as sp
>>> X, W = sp.MatrixSymbol("X", 4, 3), sp.MatrixSymbol("W", 3, 5)
>>> mul(fill(sp.Integer(2), matmul(X, W)), fn("heaviside", matmul(X, W)))
2*Elementwise(heaviside, (X*W,), ())
"""

from __future__ import annotations

import functools
from typing import Any

import sympy as sp
from sympy import OneMatrix, ZeroMatrix

from gradcalc.symbolic.algebra import (det, eye, hadamard, inv, is_zero, number, pow, rational, scale, split,  # noqa: F401
                             sum_terms, trace)
from gradcalc.symbolic.algebra import product as _mm
from gradcalc.symbolic.algebra import transpose as _t
from gradcalc.symbolic.types import UNIT, Diag, Elementwise, ElementwiseScalar, Entry, Expr, MatrixFunction, Reduce, is_matrix
from gradcalc.symbolic.axes import AlongAxis, AxisFunction, Overall
from gradcalc.symbolic.shaped import index, index_vjp, kron, kron_vjp, reshape, unreshape  # noqa: F401


def add(a: Expr, b: Expr) -> Expr:
    """a + b with NumPy broadcasting; like terms merge.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> add(X, 1) == X + ones(2, 3), add(X, 0), add(X, X)
    (True, X, 2*X)
    """
    if is_zero(b) and np_shape(a) == _broadcast(a, b):
        return a
    if is_zero(a) and np_shape(b) == _broadcast(a, b):
        return b
    a, b = expand(a, _broadcast(a, b)), expand(b, _broadcast(a, b))
    return sum_terms(a, b) if is_matrix(a) else a + b


def neg(a: Expr) -> Expr:
    """-a.

    >>> neg(2 * sp.MatrixSymbol("X", 2, 3)), neg(sp.Symbol("x"))
    (-2*X, -x)
    """
    return scale(-1, a)


def mul(a: Expr, b: Expr) -> Expr:
    """Elementwise product with NumPy broadcasting; coefficients are pulled to the front.

    >>> X, Y = sp.MatrixSymbol("X", 2, 3), sp.MatrixSymbol("Y", 2, 3)
    >>> mul(2 * X, 3 * Y), mul(X, ones(2, 3))
    (6*(HadamardProduct(X, Y)), X)
    """
    if not is_matrix(a) or not is_matrix(b):
        return scale(a, b) if is_matrix(b) else scale(b, a)
    return hadamard(expand(a, _broadcast(a, b)), expand(b, _broadcast(a, b)))


def matmul(a: Expr, b: Expr) -> Expr:
    """`a @ b` with NumPy's semantics: a 1-D vector is a row on the left, a column on the right.

    >>> X, W, x = sp.MatrixSymbol("X", 2, 3), sp.MatrixSymbol("W", 3, 5), sp.MatrixSymbol("x", 2, UNIT)
    >>> matmul(X, 2 * W), matmul(eye(2), X), matmul(x, X), matmul(x, x)
    (2*X*W, X, X.T*x, Entry(x.T*x))
    """
    if is_vector(a) and is_vector(b):
        return entry(_mm(_t(a), b))
    if is_vector(a):
        return _t(_mm(_t(a), b))
    return _mm(a, b)


def outer(a: Expr, b: Expr) -> Expr:
    """Outer product of two 1-D vectors.

    >>> x, y = sp.MatrixSymbol("x", 2, UNIT), sp.MatrixSymbol("y", 3, UNIT)
    >>> outer(x, y).shape
    (2, 3)
    """
    return _mm(a, _t(b))


def entry(e: Expr) -> Expr:
    """A (UNIT, UNIT) product as a scalar."""
    if isinstance(e, ZeroMatrix):
        return sp.Integer(0)
    c, rest = split(e)
    return c * Entry(rest)



def T(a: Expr) -> Expr:  # noqa: N802 - NumPy's spelling
    """Transpose with NumPy's semantics: a scalar or a 1-D vector stays as it is.

    >>> X, W = sp.MatrixSymbol("X", 2, 3), sp.MatrixSymbol("W", 3, 5)
    >>> T(2 * matmul(X, W)), T(T(X)), T(sp.MatrixSymbol("x", 3, UNIT))
    (2*W.T*X.T, X, x)
    """
    return a if not is_matrix(a) or is_vector(a) else _t(a)


def column(e: Expr) -> Expr:
    """A 1-D vector kept as an (n, UNIT) column, however a rule produced it.

    >>> column(sp.Transpose(sp.MatrixSymbol("x", 3, UNIT))).shape
    (3, unit)
    """
    return _t(e) if is_matrix(e) and e.shape[0] == UNIT != e.shape[1] else e


def is_vector(e: Expr) -> bool:
    """True for a 1-D vector (an (n, UNIT) column).

    >>> is_vector(sp.MatrixSymbol("x", 3, UNIT)), is_vector(sp.MatrixSymbol("X", 3, 1))
    (True, False)
    """
    return is_matrix(e) and e.shape[1] == UNIT and e.shape[0] != UNIT


def np_shape(e: Expr) -> tuple[Any, ...]:
    """The shape NumPy would see: () for a scalar, (n,) for a 1-D vector.

    >>> np_shape(sp.MatrixSymbol("x", 3, UNIT)), np_shape(sp.MatrixSymbol("X", 2, 3)), np_shape(sp.Symbol("a"))
    ((3,), (2, 3), ())
    """
    if not is_matrix(e):
        return ()
    return tuple(n for n in e.shape if n != UNIT)


def _broadcast(a: Expr, b: Expr) -> tuple[Any, ...]:
    return _broadcast_shapes(np_shape(a), np_shape(b))


def _broadcast_shapes(sa: tuple[Any, ...], sb: tuple[Any, ...]) -> tuple[Any, ...]:
    sa, sb = sa[::-1], sb[::-1]
    out = []
    for i in range(max(len(sa), len(sb))):
        x, y = (sa[i] if i < len(sa) else None), (sb[i] if i < len(sb) else None)
        out.append(x if y is None or (y == 1 and x is not None) else y)
    return tuple(out[::-1])


def expand(e: Expr, shape: tuple[Any, ...]) -> Expr:
    """Broadcast `e` to a NumPy shape, as products with ones.

    >>> x = sp.MatrixSymbol("x", 3, UNIT)
    >>> expand(x, (2, 3)).shape, expand(sp.Integer(2), (3,)).shape
    ((2, 3), (3, unit))
    """
    have = np_shape(e)
    if have == shape:
        return e
    if not have:
        return scale(e, ones(*shape))
    if len(have) == 1 and len(shape) == 1:  # a 1-D vector of length 1 stretched to length n
        return _mm(OneMatrix(shape[0], 1), e)
    if len(have) == 1:
        row = _mm(OneMatrix(shape[0], UNIT), _t(e))  # a 1-D vector broadcasts as a row
        return _mm(row, OneMatrix(1, shape[1])) if have[0] == 1 and shape[1] != 1 else row  # (1,) to (n, m)
    rows, cols = shape
    left = OneMatrix(rows, 1) if have[0] == 1 and rows != 1 else None
    right = OneMatrix(1, cols) if have[1] == 1 and cols != 1 else None
    e = _mm(left, e) if left is not None else e
    return _mm(e, right) if right is not None else e



def reduce(kind: str, a: Expr, axis: int | None = None) -> Expr:
    """sum or mean (also norm, logsumexp, logdet) of all entries, or sum/mean along an axis.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> reduce("mean", X), reduce("sum", 2 * ones(2, 3)), reduce("sum", X, 0).shape
    (Reduce(mean, X), 12, (3, unit))
    """
    if not is_matrix(a):
        return fn("abs", a) if kind == "norm" else a
    if axis is not None and len(np_shape(a)) == 2:
        rows, cols = np_shape(a)
        summed = _mm(_t(a), OneMatrix(rows, UNIT)) if axis % 2 == 0 else _mm(a, OneMatrix(cols, UNIT))
        return scale(1 / (rows if axis % 2 == 0 else cols), summed) if kind == "mean" else summed
    c, rest = split(a)
    if isinstance(rest, OneMatrix) and kind in ("sum", "mean"):
        return c * size(rest) if kind == "sum" else c
    return Reduce(kind, a)


def spread(g: Expr, like: Expr, axis: int | None = None, keepdims: bool = False) -> Expr:
    """The adjoint of a sum: `g` spread over the entries (or the axis) that were summed; with keepdims, `g`
    has the reduced axis as size 1 and broadcasts.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> spread(sp.Integer(1), X) == ones(2, 3), spread(sp.MatrixSymbol("g", 3, UNIT), X, 0).shape
    (True, (2, 3))
    >>> spread(sp.MatrixSymbol("g", 2, 1), X, 1, keepdims=True).shape
    (2, 3)
    """
    if keepdims and is_matrix(g) and len(np_shape(like)) == 1:  # a 1-D g of length 1
        return _mm(OneMatrix(like.shape[0], 1), g)
    if keepdims and is_matrix(g):
        return expand(g, np_shape(like))
    if axis is None or len(np_shape(like)) < 2:
        return fill(g, like)
    rows, cols = np_shape(like)
    return _mm(OneMatrix(rows, UNIT), _t(g)) if axis % 2 == 0 else _mm(g, OneMatrix(UNIT, cols))


def diag(a: Expr) -> Expr:
    """diag(v) for a vector, diag(A) for a square matrix.

    >>> diag(sp.MatrixSymbol("v", 3, UNIT)).shape
    (3, 3)
    """
    return Diag(a)



def fn(name: str, *operands: Expr, params: tuple[Any, ...] = ()) -> Expr:
    """A named elementwise function of matrices or scalars.

    >>> fn("clamp", sp.MatrixSymbol("X", 2, 3), params=(0,)), fn("exp", sp.Symbol("x"))
    (Elementwise(clamp, (X,), (0,)), ElementwiseScalar(exp, (x,), ()))
    """
    shapes = [np_shape(o) for o in operands if is_matrix(o)]
    if len(set(shapes)) > 1:  # maximum(A, u), where(c, A, u): broadcast the operands first, as NumPy would
        shape = functools.reduce(_broadcast_shapes, shapes)
        operands = tuple(expand(o, shape) if is_matrix(o) else o for o in operands)
    if any(is_matrix(o) for o in operands):
        return Elementwise(name, operands, params)
    return ElementwiseScalar(name, operands, params)


#: π, exact: printed `pi` (`2*exp(-X**2)/sqrt(pi)`, erf's derivative).
PI = sp.pi


def decimal(value: float) -> Expr:
    """A constant kept as the decimal it is written as (gelu's 0.044715), where `number` would make a fraction.

    >>> decimal(0.044715) * 3
    0.134145000000000
    """
    return sp.Float(value)


def fill(c: Expr, like: Expr) -> Expr:
    """The scalar `c` broadcast to the shape of `like` (a scalar stays itself).

    >>> fill(2, sp.MatrixSymbol("X", 2, 3)) == 2 * ones(2, 3), fill(2, sp.Symbol("x"))
    (True, 2)
    """
    return scale(c, OneMatrix(*like.shape)) if is_matrix(like) else c



def size(a: Expr) -> Expr:
    """Number of entries.

    >>> size(sp.MatrixSymbol("X", 2, 3)), size(sp.Symbol("x")), size(sp.MatrixSymbol("x", 4, UNIT))
    (6, 1, 4)
    """
    return sp.Mul(*np_shape(a)) if is_matrix(a) else sp.Integer(1)



def ones(n: Any, m: Any = None) -> Expr:
    """Ones: a 1-D vector `ones(n)` or a matrix `ones(n, m)`.

    >>> ones(1, 2).as_explicit(), ones(3).shape
    (Matrix([[1, 1]]), (3, unit))
    """
    return OneMatrix(n, UNIT if m is None else m)



def zeros(n: Any, m: Any = None) -> Expr:
    """Zeros: a 1-D vector `zeros(n)` or a matrix `zeros(n, m)`.

    >>> zeros(1, 2).as_explicit()
    Matrix([[0, 0]])
    """
    return ZeroMatrix(n, UNIT if m is None else m)



def zero_like(a: Expr) -> Expr:
    """Zero of the shape of `a`.

    >>> zero_like(sp.MatrixSymbol("X", 2, 3)) == zeros(2, 3), zero_like(sp.Symbol("x"))
    (True, 0)
    """
    return ZeroMatrix(*a.shape) if is_matrix(a) else sp.Integer(0)


def sum_to(g: Expr, like: Expr) -> Expr:
    """Undo broadcasting: sum an adjoint down to the NumPy shape of the operand it belongs to.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> sum_to(X, sp.Symbol("a")), sum_to(X, X), sum_to(X, sp.MatrixSymbol("b", 3, UNIT)).shape
    (Reduce(sum, X), X, (3, unit))
    """
    have, want = np_shape(g), np_shape(like)
    if have == want:
        return g
    if not want:
        return reduce("sum", g)
    if len(want) == 1 and want[0] == 1 and have[-1] != 1:  # a 1-D vector of length 1 broadcast along a longer axis
        return scale(reduce("sum", g), OneMatrix(1, UNIT))
    if len(want) == 1:
        return _mm(_t(g), OneMatrix(have[0], UNIT))
    rows, cols = have
    g = _mm(OneMatrix(1, rows), g) if want[0] == 1 and rows != 1 else g
    return _mm(g, OneMatrix(cols, 1)) if want[1] == 1 and cols != 1 else g



def whole(name: str, a: Expr) -> Expr:
    """A named function of the whole matrix (softmax); a scalar operand gives the scalar form.

    >>> whole("softmax", sp.MatrixSymbol("A", 2, 3)).name
    'softmax'
    """
    return MatrixFunction(name, (a,)) if is_matrix(a) else ElementwiseScalar(name, (a,))


def axis_of(a: Expr, axis: int | None) -> int | None:
    """The axis a reduction of `a` runs along: 0 or 1 for a matrix, None (all entries) otherwise.

    >>> axis_of(sp.MatrixSymbol("X", 2, 3), -1), axis_of(sp.MatrixSymbol("x", 3, UNIT), 0)
    (1, None)
    """
    return None if axis is None or len(np_shape(a)) < 2 else axis % 2


def keep(r: Expr, a: Expr, axis: int | None, keepdims: bool) -> Expr:
    """A reduction's result `r` with keepdims: the reduced axes kept as size 1 (`X@ones(m, 1)`, `ones(1, n)@X`).

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> keep(reduce("sum", X, 1), X, 1, True).shape, keep(reduce("sum", X), X, None, True).shape
    ((2, 1), (1, 1))
    """
    if not keepdims or not is_matrix(a):
        return r
    axis = axis_of(a, axis)
    if axis is None:
        return scale(r, OneMatrix(1, 1 if len(np_shape(a)) == 2 else UNIT))
    return _mm(r, OneMatrix(UNIT, 1)) if axis == 1 else _mm(OneMatrix(1, UNIT), _t(r))


def along(kind: str, a: Expr, axis: int | None = None, keepdims: bool = False, **params: Any) -> Expr:
    """max, min, logsumexp, var or std of all entries, or along an axis (`params`: ddof).

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> along("max", X, -1).shape, along("max", X), along("logsumexp", sp.Symbol("a"))
    ((2, unit), Overall(max, X, ()), a)
    """
    if not is_matrix(a):
        return a if kind in ("max", "min", "logsumexp") else Overall(kind, a, params)
    axis = axis_of(a, axis)
    if axis is None:
        return keep(Overall(kind, a, params), a, None, keepdims)
    return AlongAxis(kind, a, axis, keepdims, params)


def along_function(name: str, a: Expr, axis: int | None = None) -> Expr:
    """softmax or log_softmax of all entries (axis None) or along an axis; of a scalar, 1 or 0.

    >>> along_function("softmax", sp.MatrixSymbol("X", 2, 3), 1).keywords(), along_function("log_softmax", 2)
    ({'axis': 1}, 0)
    """
    if not is_matrix(a):
        return sp.Integer(1 if name == "softmax" else 0)
    return AxisFunction(name, a, axis_of(a, axis))
