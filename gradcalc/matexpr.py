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
from sympy import (HadamardPower, HadamardProduct, Identity, MatAdd, MatMul, MatrixExpr, OneMatrix,
                   Trace, Transpose, ZeroMatrix)
from sympy.core.symbol import Str

Expr = Any  # a SymPy scalar Expr or MatrixExpr


class Elementwise(MatrixExpr):
    """`name(operands..., params...)` applied entry by entry; scalar operands broadcast.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> Elementwise("relu", (X,))[0, 1]
    ElementwiseScalar(relu, (X[0, 1],), ())
    """

    def __new__(cls, name: str | Str, operands: tuple[Expr, ...], params: tuple[Any, ...] = ()) -> Elementwise:
        return sp.Basic.__new__(cls, *_fn_args(name, operands, params))

    @property
    def name(self) -> str:
        """The function's name, e.g. `relu`."""
        return self.args[0].name

    @property
    def operands(self) -> tuple[Expr, ...]:
        """The expressions the function is applied to (matrices and broadcast scalars)."""
        return tuple(self.args[1])

    @property
    def params(self) -> tuple[Any, ...]:
        """The constant (non-differentiable) arguments, e.g. clamp's `min`."""
        return tuple(self.args[2])

    @property
    def shape(self) -> tuple[Any, Any]:
        """The shape of the matrix operands."""
        return next(o.shape for o in self.operands if is_matrix(o))

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Expr:
        entries = tuple(o[i, j] if is_matrix(o) else o for o in self.operands)
        return ElementwiseScalar(self.name, entries, self.params)


def _fn_args(name: str | Str, operands: tuple[Expr, ...], params: tuple[Any, ...]) -> tuple[Any, ...]:
    return (name if isinstance(name, Str) else Str(name), sp.Tuple(*operands), sp.Tuple(*map(sp.sympify, params)))


class ElementwiseScalar(sp.Expr):
    """The same named function applied to scalars.

    >>> e = ElementwiseScalar("relu", (sp.Symbol("x"),))
    >>> e.name, e.operands
    ('relu', (x,))
    """

    is_commutative = True

    def __new__(cls, name: str | Str, operands: tuple[Expr, ...], params: tuple[Any, ...] = ()
                ) -> ElementwiseScalar:
        return sp.Expr.__new__(cls, *_fn_args(name, operands, params))

    name = Elementwise.name
    operands = Elementwise.operands
    params = Elementwise.params


class Reduce(sp.Expr):
    """`sum(A)` or `mean(A)` over all entries of a matrix: a scalar.

    >>> r = Reduce("mean", sp.MatrixSymbol("X", 2, 3))
    >>> r.kind, r.arg, r.is_Matrix
    ('mean', X, False)
    """

    is_commutative = True

    def __new__(cls, kind: str | Str, arg: Expr) -> Reduce:
        return sp.Expr.__new__(cls, kind if isinstance(kind, Str) else Str(kind), arg)

    @property
    def kind(self) -> str:
        """`sum` or `mean`."""
        return self.args[0].name

    @property
    def arg(self) -> Expr:
        """The matrix being reduced."""
        return self.args[1]


def is_matrix(e: Expr) -> bool:
    """True for matrix expressions, False for scalars.

    >>> is_matrix(sp.MatrixSymbol("X", 2, 3)), is_matrix(sp.Symbol("x"))
    (True, False)
    """
    return bool(getattr(e, "is_Matrix", False))


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
    """a + b with scalar broadcasting.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> add(X, 1) == X + ones(2, 3), add(X, 0)
    (True, X)
    """
    if is_zero(b) and (is_matrix(a) or not is_matrix(b)):
        return a
    if is_zero(a) and (is_matrix(b) or not is_matrix(a)):
        return b
    if is_matrix(a) and not is_matrix(b):
        b = fill(b, a)
    elif is_matrix(b) and not is_matrix(a):
        a = fill(a, b)
    if not is_matrix(a):
        return a + b
    collected: dict[Expr, Expr] = {}  # like terms merge; SymPy's doit would also fold A@A into A**2
    for term in (*(a.args if isinstance(a, MatAdd) else (a,)), *(b.args if isinstance(b, MatAdd) else (b,))):
        c, core = split(term)
        collected[core] = collected.get(core, 0) + c
    terms = [scale(c, core) for core, c in collected.items() if c != 0]
    if not terms:
        return ZeroMatrix(*a.shape)
    return terms[0] if len(terms) == 1 else MatAdd(*terms)


def neg(a: Expr) -> Expr:
    """-a.

    >>> neg(2 * sp.MatrixSymbol("X", 2, 3)), neg(sp.Symbol("x"))
    (-2*X, -x)
    """
    return scale(-1, a)


def mul(a: Expr, b: Expr) -> Expr:
    """Elementwise product with scalar broadcasting; coefficients are pulled to the front.

    >>> X, Y = sp.MatrixSymbol("X", 2, 3), sp.MatrixSymbol("Y", 2, 3)
    >>> mul(2 * X, 3 * Y), mul(X, ones(2, 3))
    (6*(HadamardProduct(X, Y)), X)
    """
    if not is_matrix(a) or not is_matrix(b):
        return scale(a, b) if is_matrix(b) else scale(b, a)
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
    p = sp.nsimplify(p) if isinstance(p, float) and p.is_integer() else sp.sympify(p)
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
    """Matrix product, flattened, with coefficients in front and zeros and identities folded away.

    >>> X, W = sp.MatrixSymbol("X", 2, 3), sp.MatrixSymbol("W", 3, 5)
    >>> matmul(X, 2 * W), matmul(eye(2), X)
    (2*X*W, X)
    """
    if isinstance(a, ZeroMatrix) or isinstance(b, ZeroMatrix):
        return ZeroMatrix(a.shape[0], b.shape[1])
    (ca, ra), (cb, rb) = split(a), split(b)
    factors = [m for r in (ra, rb) for m in (r.args if isinstance(r, MatMul) else (r,))]
    factors = [m for m in factors if not isinstance(m, Identity)] or [Identity(a.shape[0])]
    return scale(ca * cb, factors[0] if len(factors) == 1 else MatMul(*factors))


def T(a: Expr) -> Expr:  # noqa: N802 - NumPy's spelling
    """Transpose, pushed through products and sums (a scalar is its own transpose).

    >>> X, W = sp.MatrixSymbol("X", 2, 3), sp.MatrixSymbol("W", 3, 5)
    >>> T(2 * matmul(X, W)), T(T(X))
    (2*W.T*X.T, X)
    """
    if not is_matrix(a) or isinstance(a, Identity):
        return a
    if isinstance(a, Transpose):
        return a.arg
    if isinstance(a, (OneMatrix, ZeroMatrix)):
        return type(a)(a.shape[1], a.shape[0])
    if isinstance(a, MatMul):
        c, rest = split(a)
        factors = rest.args if isinstance(rest, MatMul) else (rest,)
        return scale(c, MatMul(*(T(m) for m in reversed(factors))) if len(factors) > 1 else T(factors[0]))
    if isinstance(a, MatAdd):
        return MatAdd(*(T(t) for t in a.args))
    return Transpose(a)


def reduce(kind: str, a: Expr) -> Expr:
    """sum or mean of all entries (a scalar stays itself).

    >>> reduce("mean", sp.MatrixSymbol("X", 2, 3)), reduce("sum", 2 * ones(2, 3))
    (Reduce(mean, X), 12)
    """
    if not is_matrix(a):
        return a
    c, rest = split(a)
    if isinstance(rest, OneMatrix):
        return c * size(rest) if kind == "sum" else c
    return Reduce(kind, a)


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

    >>> size(sp.MatrixSymbol("X", 2, 3)), size(sp.Symbol("x"))
    (6, 1)
    """
    return a.shape[0] * a.shape[1] if is_matrix(a) else sp.Integer(1)


def eye(n: Any) -> Expr:
    """Identity matrix.

    >>> eye(2).as_explicit()
    Matrix([
    [1, 0],
    [0, 1]])
    """
    return Identity(n)


def ones(n: Any, m: Any) -> Expr:
    """Matrix of ones.

    >>> ones(1, 2).as_explicit()
    Matrix([[1, 1]])
    """
    return OneMatrix(n, m)


def zeros(n: Any, m: Any) -> Expr:
    """Matrix of zeros.

    >>> zeros(1, 2).as_explicit()
    Matrix([[0, 0]])
    """
    return ZeroMatrix(n, m)


def zero_like(a: Expr) -> Expr:
    """Zero of the shape of `a`.

    >>> zero_like(sp.MatrixSymbol("X", 2, 3)) == zeros(2, 3), zero_like(sp.Symbol("x"))
    (True, 0)
    """
    return ZeroMatrix(*a.shape) if is_matrix(a) else sp.Integer(0)


def sum_to(g: Expr, like: Expr) -> Expr:
    """Undo broadcasting: a matrix adjoint of a scalar operand is summed.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> sum_to(X, sp.Symbol("a")), sum_to(X, X)
    (Reduce(sum, X), X)
    """
    if is_matrix(g) and not is_matrix(like):
        return reduce("sum", g)
    return g
