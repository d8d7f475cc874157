"""The NumPy side of the shaping rows: indexing and its scatter, kron's VJPs, the inverse of an axis order.

VJP makers follow `gradcalc.lang.kernels`: `(ans, *inputs, **params) -> (g -> gradient)`.

>>> index_vjp(None, np.zeros((2, 3)), (0,))(np.array([1.0, 2.0, 3.0]))
array([[1., 2., 3.],
       [0., 0., 0.]])
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from gradcalc.lang.subscripts import Key, numpy_key


def index(a: Any, key: Key | int) -> Any:
    """`a[key]`, a copy (NumPy gives a view of the operand).

    >>> index(np.arange(6.0).reshape(2, 3), ((None, None, None), -1))
    array([2., 5.])
    """
    return np.copy((a if hasattr(a, "__array_function__") else np.asarray(a))[numpy_key(key)])  # duals too


def index_vjp(ans: Any, a: Any, key: Key | int) -> Callable[[Any], Any]:
    """The gradient of `a[key]`: `g` scattered into zeros of the operand's shape."""
    where = numpy_key(key)

    def vjp(g: Any) -> Any:
        out = np.zeros_like(g, shape=np.shape(a))  # g's own kind of array (a dual number's too)
        out[where] = g
        return out
    return vjp


def axes_order(ndim: int, d0: int | None = None, d1: int | None = None) -> tuple[int, ...]:
    """The axis order of `permute` (reversed when none is given), as non-negative axes.

    >>> axes_order(2), axes_order(2, 0, -1), axes_order(1, 0)
    ((1, 0), (0, 1), (0,))
    """
    given = [d for d in (d0, d1) if d is not None]
    return tuple(d % ndim for d in given) if given else tuple(reversed(range(ndim)))


def permute_vjp(ans: Any, a: Any, d0: int | None = None, d1: int | None = None) -> Callable[[Any], Any]:
    """The gradient of a permutation of the axes: `g` in the inverse order."""
    back = tuple(np.argsort(axes_order(np.ndim(a), d0, d1)))
    return lambda g: np.transpose(g, back)


def kron_vjp_left(ans: Any, a: Any, b: Any) -> Callable[[Any], Any]:
    """∂/∂A of kron(A, B): each block of `g` (one per entry of A) taken against B."""
    if np.ndim(a) == 1:
        return lambda g: np.reshape(g, (len(a), len(b))) @ b
    (n, m), (p, q) = np.shape(a), np.shape(b)
    return lambda g: np.einsum("ipjq,pq->ij", np.reshape(g, (n, p, m, q)), b)


def kron_vjp_right(ans: Any, a: Any, b: Any) -> Callable[[Any], Any]:
    """∂/∂B of kron(A, B): the blocks of `g` summed, each weighted by its entry of A."""
    if np.ndim(a) == 1:
        return lambda g: a @ np.reshape(g, (len(a), len(b)))
    (n, m), (p, q) = np.shape(a), np.shape(b)
    return lambda g: np.einsum("ipjq,ij->pq", np.reshape(g, (n, p, m, q)), a)
