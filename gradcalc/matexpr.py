"""SymPy matrix-expression helpers that treat scalars and matrices alike.

The operator table's symbolic forms and adjoint rules are written with these
functions (passed in as `s`). Scalars are ordinary SymPy expressions;
matrices are SymPy matrix expressions (MatrixSymbol, MatMul, MatAdd,
HadamardProduct, HadamardPower, Transpose, Trace). Two small classes fill
SymPy's gaps: `Elementwise` (a named function applied entry by entry, such
as relu) and `Reduce` (sum or mean of all entries). Each helper folds away
the trivial cases (ones, identities, zeros, unit coefficients) so that the
printed formulas come out clean.

>>> import sympy as sp
>>> X, W = sp.MatrixSymbol("X", 4, 3), sp.MatrixSymbol("W", 3, 5)
>>> mul(fill(sp.Integer(2), matmul(X, W)), fn("heaviside", matmul(X, W)))
2*Elementwise(heaviside, (X*W,), ())
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import (Determinant, HadamardPower, HadamardProduct, Identity, Inverse, MatAdd, MatMul, OneMatrix, Trace, Transpose, ZeroMatrix)

from gradcalc.symtypes import (UNIT, Diag, Elementwise, ElementwiseScalar, Entry, Expr, MatrixFunction, Reduce,
                               is_matrix)


def is_zero(e: Expr) -> bool:
    """True for 0 and zero matrices.

    >>> is_zero(zeros(2, 3)), is_zero(sp.Integer(0)), is_zero(ones(2, 3))
    (True, True, False)
    """
    return isinstance(e, ZeroMatrix) or (not is_matrix(e) and sp.sympify(e) == 0)


def split(e: Expr) -> tuple[Expr, Expr]:
    """(scalar coefficient, rest) of a matrix expression.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> split(3 * X), split(X)
    ((3, X), (1, X))
    """
    if isinstance(e, MatMul):
        scalars = [a for a in e.args if not is_matrix(a)]
        matrices = [a for a in e.args if is_matrix(a)]
        if scalars:
            rest = matrices[0] if len(matrices) == 1 else MatMul(*matrices)
            return sp.Mul(*scalars), rest
    return sp.Integer(1), e


def scale(c: Expr, e: Expr) -> Expr:
    """The scalar `c` times `e` (scalar or matrix); coefficients merge, sums stay undistributed.

    >>> X, Y = sp.MatrixSymbol("X", 2, 3), sp.MatrixSymbol("Y", 2, 3)
    >>> scale(2, 3 * X), scale(2, X + Y), scale(0, X) == zeros(2, 3)
    (6*X, 2*(X + Y), True)
    """
    c = sp.sympify(c)
    if not is_matrix(e):
        return c * e
    if c == 0 or isinstance(e, ZeroMatrix):
        return ZeroMatrix(*e.shape)
    c0, rest = split(e)
    c = c * c0
    if c == 1:
        return rest
    return MatMul(c, *(rest.args if isinstance(rest, MatMul) else (rest,)))


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
    if not is_matrix(a):
        return a + b
    collected: dict[Expr, Expr] = {}  # like terms merge; SymPy's doit would also fold A@A into A**2
    for term in (*(a.args if isinstance(a, MatAdd) else (a,)), *(b.args if isinstance(b, MatAdd) else (b,))):
        c, core = split(term)
        collected[core] = collected.get(core, 0) + c
    terms = [scale(c, core) for core, c in collected.items() if c != 0]
    if not terms:
        return ZeroMatrix(*a.shape)
    return terms[0] if len(terms) == 1 else _factor(terms)


def _factor(terms: list[Expr]) -> Expr:
    """A sum with a factor common to every term taken out: A.T@x + A@x is (A.T + A)@x."""
    parts = [split(t) for t in terms]
    for kind, side in ((MatMul, -1), (MatMul, 0), (HadamardProduct, None)):
        lists = [list(core.args) if isinstance(core, kind) else [core] for _, core in parts]
        common = lists[0][side] if side is not None else next(
            (f for f in lists[0] if all(f in other for other in lists[1:])), None)
        if common is None or any(len(f) < 2 or (side is not None and f[side] != common) or common not in f
                                 for f in lists):
            continue
        rests = []
        for (c, _), factors in zip(parts, lists):
            factors = list(factors)
            factors.pop(side if side is not None else factors.index(common))
            rests.append(scale(c, factors[0] if len(factors) == 1 else kind(*factors)))
        inner = MatAdd(*rests)
        if kind is HadamardProduct:
            return mul(inner, common)
        return _mm(inner, common) if side == -1 else _mm(common, inner)
    return MatAdd(*terms)



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
    a, b = expand(a, _broadcast(a, b)), expand(b, _broadcast(a, b))
    if isinstance(a, ZeroMatrix) or isinstance(b, ZeroMatrix):
        return ZeroMatrix(*a.shape)
    ca, a = split(a)
    cb, b = split(b)
    if isinstance(a, OneMatrix):
        return scale(ca * cb, b)
    if isinstance(b, OneMatrix):
        return scale(ca * cb, a)
    factors = [*(a.args if isinstance(a, HadamardProduct) else (a,)),
               *(b.args if isinstance(b, HadamardProduct) else (b,))]
    return scale(ca * cb, HadamardProduct(*factors))



def pow(a: Expr, p: Any) -> Expr:  # noqa: A001 - the op's name
    """Elementwise power with a number exponent.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> pow(pow(X, 2), 3), pow(X, 1.0), pow(sp.Symbol("x"), 2)
    (HadamardPower(X, 6), X, x**2)
    """
    p = number(p)
    if not is_matrix(a):
        return a**p
    if p == 1:
        return a
    if p == 0:
        return OneMatrix(*a.shape)
    if isinstance(a, HadamardPower) and a.exp.is_Integer and p.is_Integer:  # (X**2)**0.5 is |X|, not X
        return HadamardPower(a.base, a.exp * p)
    return HadamardPower(a, p)


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


def _mm(a: Expr, b: Expr) -> Expr:
    """Matrix product, flattened, with coefficients in front and zeros and identities folded away."""
    if isinstance(a, ZeroMatrix) or isinstance(b, ZeroMatrix):
        return ZeroMatrix(a.shape[0], b.shape[1])
    (ca, ra), (cb, rb) = split(a), split(b)
    factors = [m for r in (ra, rb) for m in (r.args if isinstance(r, MatMul) else (r,))]
    unit = OneMatrix(UNIT, UNIT)  # ones of a 1-D inner product's shape: the number 1
    factors = [m for m in factors if not isinstance(m, Identity) and m != unit] or [
        unit if a.shape[0] == UNIT else Identity(a.shape[0])]
    coeff = ca * cb
    merged: list[Expr] = []
    for m in factors:  # ones(n, k) @ ones(k, m) = k * ones(n, m)
        if merged and isinstance(m, OneMatrix) and isinstance(merged[-1], OneMatrix):
            coeff *= 1 if m.shape[0] == UNIT else m.shape[0]
            merged[-1] = OneMatrix(merged[-1].shape[0], m.shape[1])
        else:
            merged.append(m)
    merged = [m for m in merged if m != unit] or merged[:1]
    return scale(coeff, merged[0] if len(merged) == 1 else MatMul(*merged))


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


def _t(a: Expr) -> Expr:
    """The transpose, pushed through products and sums."""
    if not is_matrix(a) or isinstance(a, Identity):
        return a
    if isinstance(a, Transpose):
        return a.arg
    if isinstance(a, (OneMatrix, ZeroMatrix)):
        return type(a)(a.shape[1], a.shape[0])
    if isinstance(a, MatMul):
        c, rest = split(a)
        factors = rest.args if isinstance(rest, MatMul) else (rest,)
        return scale(c, MatMul(*(_t(m) for m in reversed(factors))) if len(factors) > 1 else _t(factors[0]))
    if isinstance(a, MatAdd):
        return MatAdd(*(_t(t) for t in a.args))
    return Transpose(a)


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
    sa, sb = np_shape(a)[::-1], np_shape(b)[::-1]
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
    if len(have) == 1:
        return _mm(OneMatrix(shape[0], UNIT), _t(e))  # a 1-D vector broadcasts as a row
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


def spread(g: Expr, like: Expr, axis: int | None = None) -> Expr:
    """The adjoint of a sum: `g` spread over the entries (or the axis) that were summed.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> spread(sp.Integer(1), X) == ones(2, 3), spread(sp.MatrixSymbol("g", 3, UNIT), X, 0).shape
    (True, (2, 3))
    """
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



def trace(a: Expr) -> Expr:
    """Trace of a square matrix.

    >>> trace(sp.MatrixSymbol("A", 3, 3))
    Trace(A)
    """
    return Trace(a)


def fn(name: str, *operands: Expr, params: tuple[Any, ...] = ()) -> Expr:
    """A named elementwise function of matrices or scalars.

    >>> fn("clamp", sp.MatrixSymbol("X", 2, 3), params=(0,)), fn("exp", sp.Symbol("x"))
    (Elementwise(clamp, (X,), (0,)), ElementwiseScalar(exp, (x,), ()))
    """
    shapes = [np_shape(o) for o in operands if is_matrix(o)]
    if len(set(shapes)) > 1:  # maximum(A, u): broadcast the operands first, as NumPy would
        shape = _broadcast(*[o for o in operands if is_matrix(o)][:2])
        operands = tuple(expand(o, shape) if is_matrix(o) else o for o in operands)
    if any(is_matrix(o) for o in operands):
        return Elementwise(name, operands, params)
    return ElementwiseScalar(name, operands, params)


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



def eye(n: Any) -> Expr:
    """Identity matrix.

    >>> eye(2).as_explicit()
    Matrix([
    [1, 0],
    [0, 1]])
    """
    return Identity(n)


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


def det(a: Expr) -> Expr:
    """Determinant.

    >>> det(sp.MatrixSymbol("A", 3, 3))
    Determinant(A)
    """
    return Determinant(a)


def inv(a: Expr) -> Expr:
    """Matrix inverse; the inverse of an inverse is the matrix.

    >>> A = sp.MatrixSymbol("A", 3, 3)
    >>> inv(A), inv(inv(A))
    (A**(-1), A)
    """
    return a.arg if isinstance(a, Inverse) else Inverse(a)


def rational(p: int, q: int) -> Expr:
    """An exact fraction.

    >>> rational(1, 2)
    1/2
    """
    return sp.Rational(p, q)


def number(value: Any) -> Expr:
    """A constant as an exact SymPy number: the float 1.1 becomes 11/10, so 1.1 - 1 is exactly 1/10.

    >>> number(1.1) - 1, number(2), number(sp.Symbol("p"))
    (1/10, 2, p)
    """
    return sp.Rational(repr(value)) if isinstance(value, float) else sp.sympify(value)
