"""The rules of the reductions along an axis and of the softmax family: NumPy kernels, curried VJPs, and the
symbolic adjoints (functions of the vocabulary `s`, as the rows pass it in).

A reduction's incoming gradient `g` has the reduced shape; `back` lines it
up with the input again (`keepdims` or `np.expand_dims`), so that it
broadcasts. Ties of max and min share the gradient evenly, as torch.amax.

>>> a = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]])
>>> extreme_vjp(np.max(a, axis=1), a, axis=1)(np.array([1.0, 1.0]))
array([[0. , 0.5, 0.5],
       [1. , 0. , 0. ]])
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from gradcalc.errors import InputError


def back(g: Any, axis: int | None, keepdims: bool) -> Any:
    """A reduction's result (or gradient) lined up with its input: the reduced axis put back as size 1.

    >>> back(np.array([1.0, 2.0]), 1, False).shape, back(np.array(3.0), None, False).shape
    ((2, 1), ())
    """
    return g if keepdims or axis is None else np.expand_dims(g, axis)


def count(a: Any, axis: int | None) -> int:
    """The number of entries a reduction along `axis` (None: all) combines.

    >>> count(np.zeros((2, 3)), 1), count(np.zeros((2, 3)), None), count(np.zeros(4), -1)
    (3, 6, 4)
    """
    return int(np.size(a) if axis is None else np.shape(a)[axis])


def extreme(a: Any, axis: int | None = None, keepdims: bool = False, kind: str = "max") -> Any:
    """max or min of all entries, or along an axis (NumPy's np.max/np.min).

    >>> extreme(np.array([[1.0, 5.0], [3.0, 2.0]]), axis=0, kind="min")
    array([1., 2.])
    """
    return (np.max if kind == "max" else np.min)(a, axis=axis, keepdims=keepdims)


def extreme_vjp(ans: Any, a: Any, axis: int | None = None, keepdims: bool = False) -> Callable[[Any], Any]:
    """The gradient goes to the entries equal to the max (min), shared evenly among ties (torch.amax's rule).

    >>> extreme_vjp(np.array(2.0), np.array([2.0, 1.0, 2.0]))(np.array(1.0))
    array([0.5, 0. , 0.5])
    """
    hit = a == back(ans, axis, keepdims)
    weights = hit / np.sum(hit, axis=axis, keepdims=True)
    return lambda g: weights * back(g, axis, keepdims)


def extreme_kink(a: Any, axis: int | None = None, keepdims: bool = False, kind: str = "max") -> Any:
    """0 at the entries that attain the max (min), nonzero elsewhere: its sign changes when the arg max changes.

    >>> extreme_kink(np.array([[1.0, 3.0], [2.0, 0.0]]), axis=1)
    array([[-2.,  0.],
           [ 0., -2.]])
    """
    return a - extreme(a, axis, True, kind)


def variance(a: Any, axis: int | None = None, keepdims: bool = False, ddof: float = 0) -> Any:
    """np.var with ddof (NumPy's default 0; torch.var's correction, default 1).

    >>> float(variance(np.array([1.0, 2.0, 3.0]), ddof=1))
    1.0
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "Degrees of freedom <= 0": the value says it (inf, nan)
        return np.var(a, axis=axis, ddof=checked_ddof(ddof), keepdims=keepdims)


def variance_vjp(ans: Any, a: Any, axis: int | None = None, keepdims: bool = False,
                 ddof: float = 0) -> Callable[[Any], Any]:
    """d var = 2 (a - mean(a)) / (N - ddof), times g spread over the axis.

    >>> variance_vjp(None, np.array([1.0, 3.0]), ddof=1)(np.array(1.0))
    array([-2.,  2.])
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # N <= ddof: inf or nan, as np.var's own value is
        d = (a - np.mean(a, axis=axis, keepdims=True)) * np.divide(2.0, count(a, axis) - ddof)
    return lambda g: d * back(g, axis, keepdims)


def deviation(a: Any, axis: int | None = None, keepdims: bool = False, ddof: float = 0) -> Any:
    """np.std with ddof.

    >>> float(deviation(np.array([1.0, 3.0])))
    1.0
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.std(a, axis=axis, ddof=checked_ddof(ddof), keepdims=keepdims)


def checked_ddof(ddof: float) -> float:
    """`ddof` (or torch's correction), or an InputError where NumPy itself raises OverflowError (ddof=1e300).

    >>> checked_ddof(1)
    1
    """
    if not abs(ddof) < 2**53:
        raise InputError(f"var/std: ddof (correction) {ddof:g} is too large; it is subtracted from the number of "
                         "entries, e.g. ddof=1")
    return ddof


def deviation_vjp(ans: Any, a: Any, axis: int | None = None, keepdims: bool = False,
                  ddof: float = 0) -> Callable[[Any], Any]:
    """d std = (a - mean(a)) / ((N - ddof) std), times g spread over the axis.

    >>> deviation_vjp(np.array(1.0), np.array([1.0, 3.0]))(np.array(1.0))
    array([-0.5,  0.5])
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant row: std 0, gradient undefined (NaN)
        d = (a - np.mean(a, axis=axis, keepdims=True)) / ((count(a, axis) - ddof) * back(ans, axis, keepdims))
    return lambda g: d * back(g, axis, keepdims)


def logsumexp(a: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """log(sum(exp(a))) of all entries or along an axis, shifted by the max so that it does not overflow.

    >>> logsumexp(np.array([[0.0, 0.0], [1000.0, 1000.0]]), axis=1) - np.log(2.0)
    array([   0., 1000.])
    """
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)  # all -inf (or an inf) is left to exp and log to say
    with np.errstate(divide="ignore"):  # log(0) of a part that is all -inf is -inf, as in NumPy
        out = top + np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True))
    return out if keepdims else (out.reshape(()) if axis is None else np.squeeze(out, axis=axis))


def logsumexp_vjp(ans: Any, a: Any, axis: int | None = None, keepdims: bool = False) -> Callable[[Any], Any]:
    """d logsumexp = softmax(a) along the axis, times g spread over it.

    >>> logsumexp_vjp(np.array([np.log(2.0)]), np.zeros((1, 2)), axis=1)(np.array([1.0]))
    array([[0.5, 0.5]])
    """
    weights = np.exp(a - back(ans, axis, keepdims))
    return lambda g: weights * back(g, axis, keepdims)


def softmax(a: Any, axis: int | None = None) -> Any:
    """exp(a) / sum(exp(a)) over all entries (axis None) or along an axis.

    >>> softmax(np.array([[0.0, 0.0], [0.0, np.log(3.0)]]), axis=1)
    array([[0.5 , 0.5 ],
           [0.25, 0.75]])
    """
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_vjp(ans: Any, a: Any, axis: int | None = None) -> Callable[[Any], Any]:
    """P ⊙ (G − sum(G ⊙ P) along the axis), P the softmax.

    >>> softmax_vjp(np.array([[0.5, 0.5]]), None, axis=1)(np.array([[1.0, 0.0]]))
    array([[ 0.25, -0.25]])
    """
    return lambda g: ans * (g - np.sum(g * ans, axis=axis, keepdims=True))


def log_softmax(a: Any, axis: int | None = None) -> Any:
    """a - logsumexp(a) over all entries (axis None) or along an axis.

    >>> np.round(np.exp(log_softmax(np.array([0.0, np.log(3.0)]))), 12)
    array([0.25, 0.75])
    """
    shifted = a - np.max(a, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def log_softmax_vjp(ans: Any, a: Any, axis: int | None = None) -> Callable[[Any], Any]:
    """G − softmax(a) ⊙ sum(G) along the axis.

    >>> log_softmax_vjp(np.log(np.array([[0.5, 0.5]])), None, axis=1)(np.array([[1.0, 0.0]]))
    array([[ 0.5, -0.5]])
    """
    weights = np.exp(ans)
    return lambda g: g - weights * np.sum(g, axis=axis, keepdims=True)


# --------------------------------------------------------------------------- the symbolic rules (s: vocabulary)


def sym_extreme_vjp(s: Any, g: Any, ans: Any, a: Any, axis: int | None = None, keepdims: bool = False,
                    kind: str = "max") -> Any:
    """G spread over the entries that attain the max (min), divided by how many do: H(A − max(A)) ⊘ count.

    >>> import sympy as sp
    >>> from gradcalc.symbolic import vocabulary as s
    >>> from gradcalc.symbolic.printing import syntax
    >>> syntax(sym_extreme_vjp(s, sp.Integer(1), None, sp.MatrixSymbol("X", 2, 3)))
    'heaviside(X - max(X), 1)/sum(heaviside(X - max(X), 1))'
    """
    if not s.is_matrix(a):
        return g
    axis = s.axis_of(a, axis)
    top = s.spread(s.along(kind, a, axis), a, axis)
    hit = s.fn("heaviside", s.add(a, s.neg(top)) if kind == "max" else s.add(top, s.neg(a)), params=(1,))
    ties = s.reduce("sum", hit, axis)
    ties = ties if axis is None else s.spread(ties, a, axis)  # a 1-D count would broadcast as a row
    return s.mul(hit, s.mul(s.spread(g, a, axis, keepdims), s.pow(ties, -1)))


def sym_variance_vjp(s: Any, g: Any, ans: Any, a: Any, axis: int | None = None, keepdims: bool = False,
                     ddof: float = 0, deviation: bool = False) -> Any:
    """2 (A − mean(A)) / (N − ddof) ⊙ G for var; (A − mean(A)) / ((N − ddof) std(A)) ⊙ G for std.

    >>> import sympy as sp
    >>> from gradcalc.symbolic import vocabulary as s
    >>> from gradcalc.symbolic.printing import syntax
    >>> syntax(sym_variance_vjp(s, sp.Integer(1), None, sp.MatrixSymbol("X", 2, 3), ddof=1))
    '2*(X - mean(X))/5'
    """
    if not s.is_matrix(a):
        return s.zero_like(a)
    axis = s.axis_of(a, axis)
    n = s.size(a) if axis is None else s.np_shape(a)[axis]
    centred = s.add(a, s.neg(s.spread(s.reduce("mean", a, axis), a, axis)))
    scale = s.pow(s.number(n) - s.number(ddof), -1)
    if deviation:
        spread_std = s.spread(s.along("std", a, axis, ddof=ddof), a, axis)
        return s.mul(s.scale(scale, s.mul(centred, s.pow(spread_std, -1))), s.spread(g, a, axis, keepdims))
    return s.mul(s.scale(2 * scale, centred), s.spread(g, a, axis, keepdims))


def sym_logsumexp_vjp(s: Any, g: Any, ans: Any, a: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """softmax(A) along the axis ⊙ G spread over it.

    >>> import sympy as sp
    >>> from gradcalc.symbolic import vocabulary as s
    >>> from gradcalc.symbolic.printing import syntax
    >>> syntax(sym_logsumexp_vjp(s, sp.MatrixSymbol("g", 2, s.UNIT), None, sp.MatrixSymbol("X", 2, 3), axis=1))
    'softmax(X, axis=1)*(outer(g, ones(3)))'
    """
    if not s.is_matrix(a):
        return g
    axis = s.axis_of(a, axis)
    return s.mul(s.along_function("softmax", a, axis), s.spread(g, a, axis, keepdims))


def sym_softmax_vjp(s: Any, g: Any, ans: Any, a: Any, axis: int | None = None) -> Any:
    """P ⊙ (G − (G ⊙ P)𝟏𝟏ᵀ) along the axis (rows for axis=1), P the softmax.

    >>> import sympy as sp
    >>> from gradcalc.symbolic import vocabulary as s
    >>> from gradcalc.symbolic.printing import pretty
    >>> X, G = sp.MatrixSymbol("X", 2, 3), sp.MatrixSymbol("G", 2, 3)
    >>> pretty(sym_softmax_vjp(s, G, s.along_function("softmax", X, 1), X, axis=1))
    'softmax(X, axis=1) ⊙ (G − (G ⊙ softmax(X, axis=1))𝟏₃ₓ₃)'
    """
    if not s.is_matrix(a):
        return s.zero_like(a)
    axis = s.axis_of(a, axis)
    return s.mul(ans, s.add(g, s.neg(s.spread(s.reduce("sum", s.mul(g, ans), axis), a, axis))))


def sym_log_softmax_vjp(s: Any, g: Any, ans: Any, a: Any, axis: int | None = None) -> Any:
    """G − softmax(A) ⊙ (G𝟏𝟏ᵀ) along the axis; for a cross-entropy (G = −P), softmax(A) ⊙ (P𝟏𝟏ᵀ) − P.

    >>> import sympy as sp
    >>> from gradcalc.symbolic import vocabulary as s
    >>> from gradcalc.symbolic.printing import pretty
    >>> Z, P = sp.MatrixSymbol("Z", 2, 3), sp.MatrixSymbol("P", 2, 3)
    >>> pretty(sym_log_softmax_vjp(s, s.neg(P), None, Z, axis=1))
    'softmax(Z, axis=1) ⊙ (P𝟏₃ₓ₃) − P'
    """
    if not s.is_matrix(a):
        return s.zero_like(a)
    axis = s.axis_of(a, axis)
    total = s.spread(s.reduce("sum", g, axis), a, axis)
    return s.add(g, s.neg(s.mul(s.along_function("softmax", a, axis), total)))
