"""Canonical matrix algebra on SymPy expressions: coefficients in front, like terms merged, sums factored.

These are the same-shape building blocks under `gradcalc.symbolic.vocabulary` (which
adds NumPy's broadcasting and 1-D semantics). SymPy's own `doit` is avoided:
it reorders factors and folds `A@A` into a `MatPow`.

>>> import sympy as sp
>>> X = sp.MatrixSymbol("X", 2, 3)
>>> sum_terms(scale(2, X), X), hadamard(scale(2, X), X)
(3*X, 2*(HadamardProduct(X, X)))
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import sympy as sp
from sympy import (Determinant, HadamardPower, HadamardProduct, Identity, Inverse, MatAdd, MatMul, OneMatrix, Trace,
                   Transpose, ZeroMatrix)

from gradcalc.symbolic.types import UNIT, Elementwise, Expr, is_matrix


@dataclass
class Budget:
    """The simplification budget in force: when it ends (`time.monotonic()`), and whether it ran out."""

    deadline: float = math.inf
    rushed: bool = False


#: The budget of the derivation running in this thread or context; none (unlimited) outside `time_budget`.
BUDGET: ContextVar[Budget] = ContextVar("simplify_budget", default=Budget())


@contextmanager
def time_budget(seconds: float) -> Iterator[Callable[[], bool]]:
    """Simplify for at most `seconds`; after that, results are built unsimplified (still correct).

    Yields a function that tells whether the budget ran out.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> with time_budget(0.0) as ran_out:
    ...     print(sum_terms(X, X), ran_out())
    X + X True
    """
    budget = Budget(time.monotonic() + seconds)
    token = BUDGET.set(budget)
    try:
        yield lambda: budget.rushed
    finally:
        BUDGET.reset(token)


def _out_of_time() -> bool:
    budget = BUDGET.get()
    if time.monotonic() > budget.deadline:
        budget.rushed = True
        return True
    return False


def is_zero(e: Expr) -> bool:
    """True for 0 and zero matrices.

    >>> is_zero(ZeroMatrix(2, 3)), is_zero(sp.Integer(0)), is_zero(OneMatrix(2, 3))
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
    >>> scale(2, 3 * X), scale(2, X + Y), scale(0, X) == ZeroMatrix(2, 3)
    (6*X, 2*(X + Y), True)
    """
    c = _whole(sp.sympify(c))
    if not is_matrix(e):
        return c * e
    if c == 0 or isinstance(e, ZeroMatrix):
        return ZeroMatrix(*e.shape)
    c0, rest = split(e)
    c = _whole(c * c0)
    if c == 1:
        return rest
    return MatMul(c, *(rest.args if isinstance(rest, MatMul) else (rest,)))


def _whole(c: Expr) -> Expr:
    """A float coefficient that is a whole number as an integer: `0.5*2` is 1, not `1.0*W`."""
    return sp.Integer(int(c)) if c.is_Float and c.is_finite and float(c).is_integer() else c


def sum_terms(a: Expr, b: Expr) -> Expr:
    """a + b for matrices of one shape: like terms merge, a factor common to every term comes out.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> sum_terms(X, scale(-1, X))
    0
    """
    if _out_of_time():
        return MatAdd(a, b)
    collected: dict[Expr, Expr] = {}  # like terms merge; SymPy's doit would also fold A@A into A**2
    for term in (*(a.args if isinstance(a, MatAdd) else (a,)), *(b.args if isinstance(b, MatAdd) else (b,))):
        c, core = split(term)
        collected[core] = collected.get(core, 0) + c
    terms = _merge_where([scale(c, core) for core, c in collected.items() if c != 0])
    if not terms:
        return ZeroMatrix(*a.shape)
    return terms[0] if len(terms) == 1 else _factor(terms)


def hadamard(a: Expr, b: Expr) -> Expr:
    """Elementwise product of matrices of one shape; coefficients come to the front, ones drop out.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> hadamard(X, OneMatrix(2, 3))
    X
    """
    if isinstance(a, ZeroMatrix) or isinstance(b, ZeroMatrix):
        return ZeroMatrix(*a.shape)
    ca, a = split(a)
    cb, b = split(b)
    if isinstance(a, OneMatrix):
        return scale(ca * cb, b)
    if isinstance(b, OneMatrix):
        return scale(ca * cb, a)
    factors = _cancel([*(a.args if isinstance(a, HadamardProduct) else (a,)),
                       *(b.args if isinstance(b, HadamardProduct) else (b,))])
    if len(factors) < 2:
        return scale(ca * cb, factors[0] if factors else OneMatrix(*a.shape))
    wheres = [f for f in factors if _is_where(f)]
    if len(wheres) == 1:  # G ⊙ where(c, A, B) is where(c, G ⊙ A, G ⊙ B): a where's adjoint stays one where
        others = [f for f in factors if f is not wheres[0]]
        rest = others[0] if len(others) == 1 else HadamardProduct(*others)
        cond, x, y = wheres[0].operands
        return scale(ca * cb, Elementwise("where", (cond, hadamard(x, rest), hadamard(y, rest))))
    return scale(ca * cb, HadamardProduct(*factors))


def _is_where(e: Expr) -> bool:
    """A where whose branches are matrices of its own shape (so sums and products can go inside)."""
    return isinstance(e, Elementwise) and e.name == "where" and all(
        is_matrix(o) and o.shape == e.shape for o in e.operands[1:])


def _cancel(factors: list[Expr]) -> list[Expr]:
    """Powers of one base merged where one divides: σ ⊙ (1 - σ) ⊘ σ is 1 - σ; X ⊙ X stays a product.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> _cancel([X, sp.MatrixSymbol("Y", 2, 3), HadamardPower(X, -1)]), _cancel([X, X])
    ([Y], [X, X])
    """
    def base(f: Expr) -> tuple[Expr, Expr]:
        return (f.base, f.exp) if isinstance(f, HadamardPower) else (f, sp.Integer(1))

    exponents: dict[Expr, list[Expr]] = {}
    for f in factors:
        b, p = base(f)
        exponents.setdefault(b, []).append(p)
    out, done = [], set()
    for f in factors:
        b, p = base(f)
        powers = exponents[b]
        if len(powers) < 2 or not any(q.is_negative for q in powers):
            out.append(f)
        elif b not in done:
            done.add(b)
            total = sp.Add(*powers)
            if total != 0:
                out.append(b if total == 1 else HadamardPower(b, total))
    return out


def _merge_where(terms: list[Expr]) -> list[Expr]:
    """where(c, A, B) + k*where(c, C, D) is where(c, A + k*C, B + k*D): one where per condition (a where's adjoint)."""
    merged: dict[Expr, Expr] = {}
    rest = []
    for term in terms:
        c, core = split(term)
        if not _is_where(core):
            rest.append(term)
            continue
        cond, a, b = core.operands
        if cond in merged:
            _, a0, b0 = merged[cond].operands
            a, b = (x if is_zero(y) else y if is_zero(x) else sum_terms(x, y)
                    for x, y in ((a0, scale(c, a)), (b0, scale(c, b))))
        else:
            a, b = scale(c, a), scale(c, b)
        merged[cond] = Elementwise("where", (cond, a, b))
    return rest + list(merged.values())


def _factor(terms: list[Expr]) -> Expr:
    """A sum with a factor common to every term taken out: A.T@x + A@x is (A.T + A)@x."""
    if _out_of_time():
        return MatAdd(*terms)
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
        rests = _merge_where(rests)
        inner = rests[0] if len(rests) == 1 else MatAdd(*rests)
        if kind is HadamardProduct:
            return hadamard(inner, common)
        return product(inner, common) if side == -1 else product(common, inner)
    return MatAdd(*terms)


def product(a: Expr, b: Expr) -> Expr:
    """Matrix product, flattened, with coefficients in front and zeros and identities folded away.

    >>> X, W = sp.MatrixSymbol("X", 2, 3), sp.MatrixSymbol("W", 3, 5)
    >>> product(X, scale(2, W)), product(Identity(2), X)
    (2*X*W, X)
    """
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


def transpose(a: Expr) -> Expr:
    """The transpose, pushed through products and sums.

    >>> X, W = sp.MatrixSymbol("X", 2, 3), sp.MatrixSymbol("W", 3, 5)
    >>> transpose(product(X, W))
    W.T*X.T
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
        return scale(c, MatMul(*(transpose(m) for m in reversed(factors))) if len(factors) > 1 else transpose(factors[0]))
    if isinstance(a, MatAdd):
        return MatAdd(*(transpose(t) for t in a.args))
    return Transpose(a)


def pow(a: Expr, p: Any) -> Expr:  # noqa: A001 - the op's name
    """Elementwise power with a number exponent.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> pow(pow(X, 2), 3), pow(X, 1.0), pow(sp.Symbol("x"), 2)
    (HadamardPower(X, 6), X, x**2)
    """
    p = number(p)
    if not is_matrix(a):
        return _float_power(a, p) if _beyond_float(a, p) else a**p
    if p == 1:
        return a
    if p == 0:
        return OneMatrix(*a.shape)
    if isinstance(a, HadamardPower) and a.exp.is_Integer and p.is_Integer:  # (X**2)**0.5 is |X|, not X
        return HadamardPower(a.base, a.exp * p)
    return HadamardPower(a, p)


def _beyond_float(a: Expr, p: Expr) -> bool:
    """Is the exact a**p of two numbers beyond float64 (2**-(10**10)), or complex ((-8)**0.5, nan in NumPy)?"""
    a, p = sp.sympify(a), sp.sympify(p)
    if not (a.is_Number and p.is_Number) or a.is_zero or not (a.is_finite and p.is_finite):
        return False
    if a < 0 and not p.is_integer:
        return True
    exact = sp.Rational(abs(a))  # float(a) of 2**-(10**10) is 0.0: log2 of the numerator and denominator
    return abs(a) != 1 and abs(float(p)) * abs(math.log2(exact.p) - math.log2(exact.q)) > 1100


def _float_power(a: Expr, p: Expr) -> Expr:
    """a**p as the float64 the engine computes (0, ±inf or nan past its range), not as an exact number."""
    with np.errstate(all="ignore"):
        value = float(np.power(float(a), float(p)))
    return sp.nan if math.isnan(value) else sp.oo if value == math.inf else -sp.oo if value == -math.inf \
        else sp.Float(value)


def trace(a: Expr) -> Expr:
    """Trace of a square matrix.

    >>> trace(sp.MatrixSymbol("A", 3, 3))
    Trace(A)
    """
    return Trace(a)


def eye(n: Any) -> Expr:
    """Identity matrix.

    >>> eye(2).as_explicit()
    Matrix([
    [1, 0],
    [0, 1]])
    """
    return Identity(n)


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
