"""Forward-mode dual numbers for NumPy code: arrays with a tangent, which NumPy's own calls carry along.

A `Dual` is an array with a tangent: the derivative of its value along one
direction. NumPy hands every ufunc and array function called on one to the
dual (`__array_ufunc__`, `__array_function__`), which computes the value and
the tangent, so the op table's own forwards and curried VJPs run on duals
unchanged. Running the forward pass on duals gives the JVP (the tangent of
f); running the reverse walk on them too (forward over reverse, in
`gradcalc.dual.engine`) gives the tangent of the gradient, the
Hessian-vector product. A NumPy call that has no rule here raises
`DualError`, and the engine then reports the op as having no second
derivative, by name.

>>> x = Dual(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
>>> y = np.sum(np.exp(x) * x)
>>> float(y.value) == float(np.sum(np.exp([1.0, 2.0]) * [1.0, 2.0])), round(float(y.tangent), 6)
(True, 5.436564)
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from typing import Any, Callable

import numpy as np

_ndarray = np.ndarray


class DualError(TypeError):
    """A NumPy call with no forward-mode rule here (a kernel needs plain numbers)."""


class Dual:
    """An array and its tangent (None: zero); NumPy's functions, operators and methods compute both.

    >>> d = Dual(np.array([[1.0, 2.0]]), np.array([[1.0, 1.0]]))
    >>> (d @ d.T).tangent, (d * 2).value, d.reshape(2, 1).sum(axis=0).tangent
    (array([[6.]]), array([[2., 4.]]), array([2.]))
    """

    __slots__ = ("value", "tangent")
    __array_priority__ = 1000.0
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value: Any, tangent: Any = None) -> None:
        self.value = value if type(value) is _ndarray else np.asarray(value)
        if tangent is not None and (type(tangent) is not _ndarray or tangent.shape != self.value.shape):
            tangent = np.broadcast_to(tangent, self.value.shape)
        self.tangent = tangent

    def __repr__(self) -> str:
        return f"Dual({self.value!r}, {self.tangent!r})"

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise DualError("np.asarray (which would drop the tangent)")

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return ufunc_rule(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable[..., Any], types: Any, args: Any, kwargs: Any) -> Any:
        rule = FUNCTIONS.get(func)
        if rule is None:
            raise DualError(f"np.{getattr(func, '__name__', func)}")
        return rule(func, *args, **kwargs)

    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)
    dtype = property(lambda self: self.value.dtype)
    T = property(lambda self: np.transpose(self))

    def __len__(self) -> int:
        return len(self.value)

    def __float__(self) -> float:
        raise DualError("float() (which would drop the tangent)")

    def __bool__(self) -> bool:
        raise DualError("a truth value (a branch on a value)")

    def __getitem__(self, key: Any) -> Dual:
        key = value_of(key)
        return Dual(self.value[key], None if self.tangent is None else self.tangent[key])

    def __setitem__(self, key: Any, item: Any) -> None:
        key, tangent = value_of(key), tangent_of(item)
        self.value[key] = value_of(item)
        if tangent is None and self.tangent is None:
            return
        if self.tangent is None or not self.tangent.flags.writeable:
            self.tangent = np.zeros_like(self.value) if self.tangent is None else self.tangent.copy()
        self.tangent[key] = 0.0 if tangent is None else tangent

    # NumPy's methods are its functions, which dispatch back to the rules here
    astype = lambda self, dtype, **kw: Dual(self.value.astype(dtype, **kw), None if self.tangent is None  # noqa: E731
                                            else self.tangent.astype(dtype, **kw))
    copy = lambda self: Dual(self.value.copy(), None if self.tangent is None else self.tangent.copy())  # noqa: E731
    reshape = lambda self, *shape, **kw: np.reshape(self, shape[0] if len(shape) == 1 else shape, **kw)  # noqa: E731
    transpose = lambda self, *axes: np.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)  # noqa: E731
    sum = lambda self, axis=None, keepdims=False: np.sum(self, axis=axis, keepdims=keepdims)  # noqa: E731
    mean = lambda self, axis=None, keepdims=False: np.mean(self, axis=axis, keepdims=keepdims)  # noqa: E731
    ravel = flatten = lambda self: np.ravel(self)  # noqa: E731
    squeeze = lambda self, axis=None: np.squeeze(self, axis)  # noqa: E731
    dot = lambda self, other: np.dot(self, other)  # noqa: E731
    __add__ = lambda self, other: np.add(self, other)  # noqa: E731 - the operators are NumPy's ufuncs
    __radd__ = lambda self, other: np.add(other, self)  # noqa: E731
    __sub__ = lambda self, other: np.subtract(self, other)  # noqa: E731
    __rsub__ = lambda self, other: np.subtract(other, self)  # noqa: E731
    __mul__ = lambda self, other: np.multiply(self, other)  # noqa: E731
    __rmul__ = lambda self, other: np.multiply(other, self)  # noqa: E731
    __truediv__ = lambda self, other: np.true_divide(self, other)  # noqa: E731
    __rtruediv__ = lambda self, other: np.true_divide(other, self)  # noqa: E731
    __pow__ = lambda self, other: np.power(self, other)  # noqa: E731
    __rpow__ = lambda self, other: np.power(other, self)  # noqa: E731
    __matmul__ = lambda self, other: np.matmul(self, other)  # noqa: E731
    __rmatmul__ = lambda self, other: np.matmul(other, self)  # noqa: E731
    __neg__ = lambda self: np.negative(self)  # noqa: E731
    __pos__ = lambda self: self  # noqa: E731
    __abs__ = lambda self: np.absolute(self)  # noqa: E731
    __gt__ = lambda self, other: np.greater(self, other)  # noqa: E731
    __ge__ = lambda self, other: np.greater_equal(self, other)  # noqa: E731
    __lt__ = lambda self, other: np.less(self, other)  # noqa: E731
    __le__ = lambda self, other: np.less_equal(self, other)  # noqa: E731
    __eq__ = lambda self, other: np.equal(self, other)  # type: ignore[assignment]  # noqa: E731
    __ne__ = lambda self, other: np.not_equal(self, other)  # type: ignore[assignment]  # noqa: E731


def value_of(x: Any) -> Any:
    """The value of a dual, anything else as it is.

    >>> value_of(Dual(np.ones(1), np.zeros(1))), value_of(2.0)
    (array([1.]), 2.0)
    """
    return x.value if isinstance(x, Dual) else x


def tangent_of(x: Any) -> Any:
    """The tangent of a dual (None: zero), None for anything else.

    >>> tangent_of(Dual(np.ones(1), np.zeros(1))), tangent_of(2.0)
    (array([0.]), None)
    """
    return x.tangent if isinstance(x, Dual) else None


def total(*terms: Any) -> Any:
    """The sum of the terms that are not None (None if all are).

    >>> total(None, np.ones(1), np.ones(1)), total(None)
    (array([2.]), None)
    """
    present = [t for t in terms if t is not None]
    if not present:
        return None
    out = present[0]
    for t in present[1:]:
        out = out + t
    return out


def scaled(d: Any, t: Any) -> Any:
    """`d * t`, or None for a zero tangent.

    >>> scaled(2.0, None), scaled(2.0, np.ones(1))
    (None, array([2.]))
    """
    return None if t is None else d * t


def _unary(derivative: Callable[[Any, Any], Any]) -> Callable[[list[Any], list[Any], Any], Any]:
    return lambda xs, ts, y: scaled(derivative(xs[0], y), ts[0])


def _extreme_tie(pick: Callable[[Any, Any], Any]) -> Callable[[list[Any], list[Any], Any], Any]:
    """maximum/minimum: the tangent of the operand taken; at a tie the mean of both (the rows' 0.5/0.5)."""
    def rule(xs: list[Any], ts: list[Any], y: Any) -> Any:
        (a, b), (ta, tb) = xs, [np.zeros_like(y) if t is None else t for t in ts]
        return np.where(pick(a, b), ta, np.where(pick(b, a), tb, 0.5 * (ta + tb)))
    return rule


#: The tangent of each ufunc's result from the operands' values `xs`, tangents `ts` (None: zero) and result y.
UFUNCS: dict[Any, Callable[[list[Any], list[Any], Any], Any]] = {
    np.add: lambda xs, ts, y: total(*ts),
    np.subtract: lambda xs, ts, y: total(ts[0], None if ts[1] is None else -ts[1]),
    np.multiply: lambda xs, ts, y: total(scaled(xs[1], ts[0]), scaled(xs[0], ts[1])),
    np.true_divide: lambda xs, ts, y: total(scaled(1.0 / xs[1], ts[0]), scaled(-y / xs[1], ts[1])),
    np.power: lambda xs, ts, y: total(scaled(xs[1] * np.power(xs[0], xs[1] - 1), ts[0]),
                                      None if ts[1] is None else np.log(xs[0]) * y * ts[1]),
    np.maximum: _extreme_tie(np.greater), np.fmax: _extreme_tie(np.greater),
    np.minimum: _extreme_tie(np.less), np.fmin: _extreme_tie(np.less),
    np.logaddexp: lambda xs, ts, y: total(scaled(np.exp(xs[0] - y), ts[0]), scaled(np.exp(xs[1] - y), ts[1])),
    np.hypot: lambda xs, ts, y: total(scaled(xs[0] / y, ts[0]), scaled(xs[1] / y, ts[1])),
    np.arctan2: lambda xs, ts, y: total(scaled(xs[1] / (xs[0] ** 2 + xs[1] ** 2), ts[0]),
                                        scaled(-xs[0] / (xs[0] ** 2 + xs[1] ** 2), ts[1])),
    np.copysign: lambda xs, ts, y: scaled(np.copysign(1.0, xs[0]) * np.copysign(1.0, xs[1]), ts[0]),
    np.negative: lambda xs, ts, y: -ts[0],
    np.positive: lambda xs, ts, y: ts[0],
    np.absolute: _unary(lambda x, y: np.sign(x)), np.fabs: _unary(lambda x, y: np.sign(x)),
    np.square: _unary(lambda x, y: 2.0 * x),
    np.sqrt: _unary(lambda x, y: 0.5 / y),
    np.cbrt: _unary(lambda x, y: 1.0 / (3.0 * y * y)),
    np.reciprocal: _unary(lambda x, y: -y * y),
    np.exp: _unary(lambda x, y: y),
    np.exp2: _unary(lambda x, y: y * math.log(2.0)), np.expm1: _unary(lambda x, y: y + 1.0),
    np.log: _unary(lambda x, y: 1.0 / x),
    np.log2: _unary(lambda x, y: 1.0 / (x * math.log(2.0))),
    np.log10: _unary(lambda x, y: 1.0 / (x * math.log(10.0))),
    np.log1p: _unary(lambda x, y: 1.0 / (1.0 + x)),
    np.sin: _unary(lambda x, y: np.cos(x)), np.cos: _unary(lambda x, y: -np.sin(x)),
    np.tan: _unary(lambda x, y: 1.0 + y * y),
    np.arcsin: _unary(lambda x, y: 1.0 / np.sqrt(1.0 - x * x)),
    np.arccos: _unary(lambda x, y: -1.0 / np.sqrt(1.0 - x * x)),
    np.arctan: _unary(lambda x, y: 1.0 / (1.0 + x * x)),
    np.sinh: _unary(lambda x, y: np.cosh(x)),
    np.cosh: _unary(lambda x, y: np.sinh(x)),
    np.tanh: _unary(lambda x, y: 1.0 - y * y),
    np.arcsinh: _unary(lambda x, y: 1.0 / np.sqrt(x * x + 1.0)),
    np.arccosh: _unary(lambda x, y: 1.0 / np.sqrt(x * x - 1.0)),
    np.arctanh: _unary(lambda x, y: 1.0 / (1.0 - x * x)),
    np.deg2rad: _unary(lambda x, y: math.pi / 180.0), np.rad2deg: _unary(lambda x, y: 180.0 / math.pi),
}
#: Ufuncs whose result is constant between jumps: derivative 0 (their kinks are the referee's business).
STEPS = frozenset({np.sign, np.heaviside, np.floor, np.ceil, np.rint, np.trunc, np.floor_divide})
#: Ufuncs linear in each operand (the tangent is the sum of the products with one tangent each).
PRODUCTS = frozenset({np.matmul, *(getattr(np, n) for n in ("vecdot", "matvec", "vecmat") if hasattr(np, n))})


def ufunc_rule(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A ufunc (or `np.add.reduce`) on duals: its value on the values, its tangent by the rule for that ufunc.

    >>> ufunc_rule(np.sin, "__call__", (Dual(np.zeros(1), np.ones(1)),), {}).tangent
    array([1.])
    """
    if kwargs.get("out") is not None:  # `a *= d` with a plain `a`: the tangent has nowhere to go
        raise DualError(f"np.{ufunc.__name__} writing into an array (out=)")
    xs, ts = [value_of(x) for x in inputs], [tangent_of(x) for x in inputs]
    if method == "reduce" and ufunc is np.add:
        return Dual(ufunc.reduce(xs[0], **kwargs), None if ts[0] is None else ufunc.reduce(ts[0], **kwargs))
    if method == "reduce" and ufunc in (np.maximum, np.minimum):
        return extreme(np.max if ufunc is np.maximum else np.min, inputs[0], kwargs.get("axis", 0),
                       kwargs.get("keepdims", False))
    if method != "__call__":
        raise DualError(f"np.{ufunc.__name__}.{method}")
    if ufunc in PRODUCTS:
        return product(ufunc, inputs[0], inputs[1], **kwargs)
    y = np.asarray(ufunc(*xs, **kwargs))
    if y.dtype == np.bool_:
        return y
    if ufunc in STEPS or all(t is None for t in ts):  # still a dual: an in-place `d *= g` then stays one
        return Dual(y)
    rule = UFUNCS.get(ufunc)
    if rule is None:
        raise DualError(f"np.{ufunc.__name__}")
    return Dual(y, rule(xs, ts, y))


def product(f: Callable[..., Any], a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
    """A bilinear product f(a, b) of duals (np.dot, np.matmul, np.outer, np.kron, ...): d(ab) = da b + a db.

    (Value and tangent stacked into one product read the matrix once, but OpenBLAS multiplies a matrix by two
    vectors more slowly than by each in turn, so they are two products.)

    >>> product(np.dot, np.eye(2), Dual(np.ones(2), np.array([1.0, 2.0]))).tangent
    array([1., 2.])
    """
    av, at, bv, bt = value_of(a), tangent_of(a), value_of(b), tangent_of(b)
    tangent = total(None if at is None else f(at, bv, *args, **kwargs), None if bt is None else f(av, bt, *args,
                                                                                                 **kwargs))
    if tangent is not None and DEFERRED.get():
        return Deferred(lambda: f(av, bv, *args, **kwargs), tangent)
    return Dual(f(av, bv, *args, **kwargs), tangent)


#: True while the engine wants only tangents (a Hessian-vector product's last step, where the value would be the
#: gradient): products then compute their value only if something reads it.
DEFERRED: ContextVar[bool] = ContextVar("deferred_values", default=False)


class Deferred(Dual):
    """A product's dual whose value is computed when first read (its tangent, shape and dtype are known).

    >>> d = Deferred(lambda: np.ones(2), np.zeros(2))
    >>> d.shape, d.value
    ((2,), array([1., 1.]))
    """

    __slots__ = ("thunk",)

    def __init__(self, thunk: Callable[[], Any], tangent: np.ndarray) -> None:  # noqa: D107 - the class says it
        self.thunk, self.tangent = thunk, np.asarray(tangent)

    @property  # type: ignore[override]
    def value(self) -> np.ndarray:  # noqa: D102 - the class says it
        if self.thunk is not None:
            VALUE.__set__(self, np.asarray(self.thunk()))
            self.thunk = None
        return VALUE.__get__(self)

    shape = property(lambda self: self.tangent.shape)
    ndim = property(lambda self: self.tangent.ndim)
    size = property(lambda self: self.tangent.size)
    dtype = property(lambda self: self.tangent.dtype)


VALUE = Dual.value  # the slot that holds a dual's value


def extreme(func: Callable[..., Any], a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """max or min: the tangent of the entry attained, ties sharing it evenly (as the rows' VJPs, torch.amax).

    >>> extreme(np.max, Dual(np.array([1.0, 3.0, 3.0]), np.array([5.0, 1.0, 2.0]))).tangent
    array(1.5)
    """
    av, at = value_of(a), tangent_of(a)
    top = func(av, axis=axis, keepdims=True)
    if at is None:
        return Dual(top if keepdims else func(av, axis=axis))
    hit = av == top
    t = np.sum(at * hit, axis=axis, keepdims=True) / np.sum(hit, axis=axis, keepdims=True)
    if not keepdims:
        top, t = np.asarray(func(av, axis=axis)), (t.reshape(()) if axis is None else np.squeeze(t, axis=axis))
    return Dual(top, t)


def _linear(func: Callable[..., Any], a: Any, *args: Any, **kwargs: Any) -> Any:
    """A function linear in its first operand: the same function of the tangent."""
    t = tangent_of(a)
    return Dual(func(value_of(a), *args, **kwargs), None if t is None else func(t, *args, **kwargs))


def _sequence(func: Callable[..., Any], arrays: Any, *args: Any, **kwargs: Any) -> Any:
    """concatenate, stack: linear in every array of the sequence."""
    values, tangents = [value_of(a) for a in arrays], [tangent_of(a) for a in arrays]
    if all(t is None for t in tangents):
        return Dual(func(values, *args, **kwargs))
    filled = [np.zeros_like(v) if t is None else t for v, t in zip(values, tangents)]
    return Dual(func(values, *args, **kwargs), func(filled, *args, **kwargs))


def _plain(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Functions of the values only (shapes, dtypes, comparisons, indices)."""
    return func(*(value_of(a) for a in args), **{k: value_of(v) for k, v in kwargs.items()})


def _like(func: Callable[..., Any], a: Any, *args: Any, **kwargs: Any) -> Any:
    """zeros_like and friends: a constant, but a dual, so that entries can be set to duals (`out[mask] = d`)."""
    return Dual(func(value_of(a), *args, **kwargs), None)


def _einsum(func: Callable[..., Any], subscripts: str, *operands: Any, **kwargs: Any) -> Any:
    """einsum is linear in each operand."""
    values = [value_of(o) for o in operands]
    terms = [func(subscripts, *values[:i], tangent_of(o), *values[i + 1:], **kwargs)
             for i, o in enumerate(operands) if tangent_of(o) is not None]
    return Dual(func(subscripts, *values, **kwargs), total(*terms))


def _where(func: Callable[..., Any], condition: Any, *branches: Any) -> Any:
    """np.where: the tangent of the branch taken (the condition has none)."""
    c = value_of(condition)
    if not branches:
        return func(c)
    a, b = branches
    value, ta, tb = func(c, value_of(a), value_of(b)), tangent_of(a), tangent_of(b)
    return Dual(value, None if ta is None and tb is None else func(c, 0.0 if ta is None else ta,
                                                                    0.0 if tb is None else tb))


def _extreme(func: Callable[..., Any], a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
             **kwargs: Any) -> Any:
    return extreme(func, a, axis, keepdims)


def _variance(func: Callable[..., Any], a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
              ddof: float = 0, keepdims: bool = False, **kwargs: Any) -> Any:
    """var (and std, its square root) composed of duals' mean, product and sum."""
    centred = a - np.mean(a, axis=axis, keepdims=True)
    n = np.size(value_of(a)) if axis is None else np.shape(value_of(a))[axis]
    var = np.sum(centred * centred, axis=axis, keepdims=keepdims) / (n - ddof)
    return np.sqrt(var) if func is np.std else var


def _clip(func: Callable[..., Any], a: Any, a_min: Any = None, a_max: Any = None, **kwargs: Any) -> Any:
    lo, hi = kwargs.get("min", a_min), kwargs.get("max", a_max)
    out = a if lo is None else np.maximum(a, lo)
    return out if hi is None else np.minimum(out, hi)


def _inv(func: Callable[..., Any], a: Any) -> Any:
    """d inv(A) = −inv(A) dA inv(A)."""
    inverse = np.linalg.inv(value_of(a))
    t = tangent_of(a)
    return Dual(inverse, None if t is None else -inverse @ t @ inverse)


def _det(func: Callable[..., Any], a: Any) -> Any:
    """d det(A) = det(A) tr(inv(A) dA)."""
    av, t = value_of(a), tangent_of(a)
    d = np.asarray(np.linalg.det(av))
    return Dual(d, None if t is None else d * np.sum(np.linalg.inv(av).T * t))


def _slogdet(func: Callable[..., Any], a: Any) -> Any:
    """d log|det(A)| = tr(inv(A) dA); the sign has no tangent."""
    av, t = value_of(a), tangent_of(a)
    sign, logabs = np.linalg.slogdet(av)
    return sign, Dual(logabs, None if t is None else np.sum(np.linalg.inv(av).T * t))


def _solve(func: Callable[..., Any], a: Any, b: Any) -> Any:
    """X = solve(A, B): dX = solve(A, dB − dA X)."""
    av, bv = value_of(a), value_of(b)
    x = np.linalg.solve(av, bv)
    ta, tb = tangent_of(a), tangent_of(b)
    rhs = total(tb, None if ta is None else -(ta @ x))
    return Dual(x, None if rhs is None else np.linalg.solve(av, rhs))


def _norm(func: Callable[..., Any], a: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    if ord is not None or axis is not None:
        raise DualError("np.linalg.norm with ord or axis")
    av, t = value_of(a), tangent_of(a)
    y = np.asarray(np.linalg.norm(av))
    return Dual(y, None if t is None else np.sum(av * t) / y)


_LINEAR = ("sum", "mean", "trace", "diag", "diagonal", "transpose", "swapaxes", "moveaxis", "reshape", "ravel",
           "expand_dims", "squeeze", "broadcast_to", "copy", "atleast_1d", "atleast_2d", "tril", "triu", "flip",
           "fliplr", "flipud", "rot90", "roll", "cumsum", "real", "take", "take_along_axis", "tile", "repeat",
           "matrix_transpose", "pad", "ascontiguousarray")
_PLAIN = ("shape", "ndim", "size", "result_type", "isclose", "allclose", "array_equal", "argsort", "argmax",
          "argmin", "nonzero", "count_nonzero", "round", "around", "iscomplexobj", "isrealobj", "can_cast")
#: The rule of each array function, called as rule(func, *args, **kwargs).
FUNCTIONS: dict[Any, Callable[..., Any]] = {
    **{getattr(np, n): _linear for n in _LINEAR if hasattr(np, n)},
    **{getattr(np, n): _plain for n in _PLAIN if hasattr(np, n)},
    np.concatenate: _sequence, np.stack: _sequence, np.hstack: _sequence, np.vstack: _sequence,
    np.zeros_like: _like, np.ones_like: _like, np.full_like: _like, np.empty_like: _like,
    np.dot: product, np.outer: product, np.inner: product, np.kron: product, np.tensordot: product,
    np.cross: product, np.einsum: _einsum, np.where: _where, np.clip: _clip,
    np.max: _extreme, np.min: _extreme, np.amax: _extreme, np.amin: _extreme,
    np.var: _variance, np.std: _variance,
    np.linalg.inv: _inv, np.linalg.det: _det, np.linalg.slogdet: _slogdet, np.linalg.solve: _solve,
    np.linalg.norm: _norm,
}

