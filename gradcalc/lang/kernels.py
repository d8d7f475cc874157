"""The NumPy side of the op table's rules that need more than one line: forwards NumPy lacks, curried VJPs.

Each VJP maker takes the forward's answer and inputs and returns a function
of the incoming gradient `g`; work that depends only on the forward pass is
done once, when the maker runs (as in HIPS autograd).

>>> relu_vjp(None, np.array([-1.0, 2.0]))(np.array([3.0, 3.0]))
array([0., 3.])
"""

from __future__ import annotations

import math
import sys
from typing import Any, Callable

import numpy as np


def heaviside(a: Any, h0: float = 0.0) -> Any:
    return np.heaviside(a, h0)


def sigmoid(a: Any) -> Any:
    return 0.5 * (1.0 + np.tanh(np.multiply(0.5, a)))  # a ufunc, not np.asarray: a dual number stays one


def logsumexp(a: Any) -> Any:
    top = np.max(a)
    return top + np.log(np.sum(np.exp(a - top))) if np.isfinite(top) else top


def inv(a: Any) -> Any:
    """The inverse, or NaNs for a singular matrix (the verdict then says undefined)."""
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return np.full_like(a, np.nan)


def logdet(a: Any) -> Any:
    sign, logabs = np.linalg.slogdet(a)
    return logabs if sign > 0 else (-np.inf if sign == 0 else np.nan)  # as torch.logdet


ZERO = np.zeros(())  # compared with, never computed with: a comparison's result is bool whatever the dtype
SMALL = 4096  # entries up to which a copy is cheaper than a broadcast view (np.broadcast_to costs ~2 µs)
SMALL_MASK = 65536  # entries up to which relu's mask is kept as floats (512 KiB in float64)


def spread(g: Any, shape: tuple[int, ...], axis: int | None, copy: bool, keepdims: bool = False) -> Any:
    """A reduction's gradient spread back over the axis it removed: a copy (for small shapes), or a read-only view.

    >>> spread(np.array(2.0), (2, 2), None, copy=True)
    array([[2., 2.],
           [2., 2.]])
    """
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    if not copy:
        return np.broadcast_to(g, shape)
    spread = np.empty_like(g, shape=shape)  # g's own kind of array (a dual number's too, for second order)
    spread[...] = g
    return spread


def sum_vjp(ans: Any, a: Any, axis: int | None = None, keepdims: bool = False) -> Callable[[Any], Any]:
    """d sum(a) = g spread over a's shape.

    >>> sum_vjp(None, np.zeros((2, 3)), axis=1)(np.array([1.0, 2.0]))
    array([[1., 1., 1.],
           [2., 2., 2.]])
    """
    shape, copy = a.shape, a.size <= SMALL
    return lambda g: spread(g, shape, axis, copy, keepdims)


def mean_vjp(ans: Any, a: Any, axis: int | None = None, keepdims: bool = False) -> Callable[[Any], Any]:
    """d mean(a) = g spread over a's shape, divided by the number of entries averaged.

    >>> mean_vjp(np.zeros(2), np.zeros((2, 4)), axis=1)(np.array([1.0, 2.0]))
    array([[0.25, 0.25, 0.25, 0.25],
           [0.5 , 0.5 , 0.5 , 0.5 ]])
    """
    shape, copy, scale = a.shape, a.size <= SMALL, np.size(ans) / a.size
    return lambda g: spread(g, shape, axis, copy, keepdims) * scale


def scaled(d: Any, g: Any) -> Any:
    """`d * g`, written into `d`: only for a `d` made by the caller, which no one else holds."""
    d *= g
    return d


def pow_vjp(ans: Any, a: Any, p: float) -> Callable[[Any], Any]:
    """d(a**p) = p a**(p-1); for p = 2, 2a is made in the backward pass, so nothing is kept but `a`.

    >>> pow_vjp(None, np.array([3.0]), 2)(np.array([0.5])), pow_vjp(None, np.array([4.0]), 0.5)(1.0)
    (array([3.]), array([0.25]))
    """
    if float(p) == 2.0:
        return lambda g: scaled(a + a, g)
    return (lambda d: lambda g: g * d)(p * np.power(a, float(p) - 1))


def relu_vjp(ans: Any, a: Any) -> Callable[[Any], Any]:
    """g where a > 0, else 0 (relu'(0) = 0), as `g * (a > 0)`.

    The mask is kept in a's dtype up to `SMALL_MASK` entries (a float times
    a float is twice as fast as a float times a bool) and as bool above (an
    eighth of the memory); the products are the same.

    >>> relu_vjp(None, np.array([-1.0, 0.0, 2.0]))(np.array([5.0, 5.0, 5.0]))
    array([0., 0., 5.])
    """
    mask = a > ZERO
    if mask.size <= SMALL_MASK:
        mask = mask.astype(a.dtype)
    return lambda g: g * mask


def matmul(a: Any, b: Any) -> Any:
    """a @ b; for two matrices by np.dot, the same product, a third faster on small ones.

    >>> matmul(np.eye(2), np.array([[1.0], [2.0]])).ravel(), float(matmul(np.ones(2), np.ones(2)))
    (array([1., 2.]), 2.0)
    """
    return np.dot(a, b) if a.ndim == 2 and b.ndim == 2 else np.matmul(a, b)


def matmul_vjp_left(ans: Any, a: Any, b: Any) -> Callable[[Any], Any]:
    if a.ndim == 1 and b.ndim == 1:
        return lambda g: g * b
    if b.ndim == 1:
        return lambda g: np.outer(g, b)  # A@x: dA = g xᵀ
    if a.ndim == 1:
        return lambda g: np.dot(b, g)  # x@B: dx = B g
    return lambda g: np.dot(g, b.T)  # two matrices: np.dot, as in matmul


def matmul_vjp_right(ans: Any, a: Any, b: Any) -> Callable[[Any], Any]:
    if a.ndim == 1 and b.ndim == 1:
        return lambda g: g * a
    if a.ndim == 1:
        return lambda g: np.outer(a, g)  # x@B: dB = x gᵀ
    return lambda g: np.dot(a.T, g)


def sym_matmul_left(s: Any, g: Any, ans: Any, a: Any, b: Any) -> Any:
    if s.is_vector(a) and s.is_vector(b):
        return s.scale(g, b)
    if s.is_vector(b):
        return s.outer(g, b)
    if s.is_vector(a):
        return s.matmul(b, g)
    return s.matmul(g, s.T(b))


def sym_matmul_right(s: Any, g: Any, ans: Any, a: Any, b: Any) -> Any:
    if s.is_vector(a) and s.is_vector(b):
        return s.scale(g, a)
    if s.is_vector(a):
        return s.outer(a, g)
    return s.matmul(s.T(a), g)


class TooLarge(ArithmeticError):
    """A constant whose exact value is beyond float64's range (refused before it is computed)."""


#: log2 of float64's largest value, plus a margin for the estimate's own rounding.
_LOG2_MAX = math.log2(sys.float_info.max) + 8


def bounded(number: Any) -> Any:
    """`number` if a float64 can hold it; TooLarge for an exact integer beyond its range.

    >>> bounded(2**1023) == 2**1023
    True
    >>> bounded(2**1024)
    Traceback (most recent call last):
    gradcalc.lang.kernels.TooLarge: number too large: a float64 holds at most about 1.8e308
    """
    if isinstance(number, int) and abs(number) > sys.float_info.max:
        raise TooLarge("number too large: a float64 holds at most about 1.8e308")
    return number


def fold_power(a: Any, p: Any) -> Any:
    """`a ** p` of two constants, estimated as |p|·log2|a| first: 9**9**9 is refused without being computed.

    >>> fold_power(2, 10)
    1024
    >>> fold_power(9, 9**9)
    Traceback (most recent call last):
    gradcalc.lang.kernels.TooLarge: number too large: a float64 holds at most about 1.8e308
    """
    if isinstance(a, (int, float)) and isinstance(p, (int, float)) and abs(a) not in (0, 1) \
            and math.isfinite(a) and math.isfinite(p) and p * math.log2(abs(a)) > _LOG2_MAX:
        raise TooLarge("number too large: a float64 holds at most about 1.8e308")
    try:
        return bounded(a ** p)
    except OverflowError:  # 10.0**400: a float beyond the range, as the exact integer would be
        raise TooLarge("number too large: a float64 holds at most about 1.8e308") from None
