"""A formula's numbers: NumPy walks the SymPy expression, each op computed by its row's forward.

>>> import sympy as sp
>>> evaluate(2 * sp.MatrixSymbol("X", 1, 2), {"X": np.array([[1.0, 2.0]])})
array([[2., 4.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy import MatrixSymbol

from gradcalc.lang.ops import OPS
from gradcalc.symbolic import vocabulary as s
from gradcalc.symbolic.adjoints import size
from gradcalc.symbolic.types import UNIT


def evaluate(expr: Any, values: dict[str, np.ndarray], dtype: Any = np.float64,
             sizes: dict[str, int] | None = None) -> np.ndarray:
    """The numbers of a formula, with NumPy, on the variables' values, computed in `dtype`.

    1-D vectors are evaluated as columns (the formula's own representation);
    a vector-valued result comes back 1-D. Named sizes (`derive`) are read
    off the shapes of the values the formula uses, or given in `sizes`.

    >>> import sympy as sp
    >>> X = sp.MatrixSymbol("X", 1, 2)
    >>> evaluate(2 * X, {"X": np.array([[1.0, 2.0]])})
    array([[2., 4.]])
    >>> from gradcalc.symbolic.adjoints import symbol
    >>> Xn = symbol("X", ("n", 2))
    >>> evaluate(Xn + sp.OneMatrix(*Xn.shape), {"X": np.zeros((1, 2))})
    array([[1., 1.]])
    >>> evaluate(sp.OneMatrix(*Xn.shape), {}, sizes={"n": 3}).shape
    (3, 2)
    """
    sizes = {**{size(n): k for n, k in (sizes or {}).items()}, **_bind_sizes(expr, values)}
    result = np.asarray(Evaluator(values, np.dtype(dtype), sizes).value(expr), dtype=dtype)
    return result[:, 0] if s.is_vector(expr) else result


def _bind_sizes(expr: Any, values: dict[str, np.ndarray]) -> dict[Any, int]:
    """The named sizes in the variables' shapes, read off their values (`n, k = X.shape`)."""
    sizes: dict[Any, int] = {}
    for m in expr.atoms(MatrixSymbol) if isinstance(expr, sp.Basic) else ():
        if m.name in values:
            shape = m.shape[:1] if s.is_vector(m) else m.shape
            sizes.update((n, int(k)) for n, k in zip(shape, np.shape(values[m.name])) if isinstance(n, sp.Symbol))
    return sizes


def _size(n: Any, sizes: dict[Any, int]) -> int:
    return 1 if n == UNIT else int(sp.sympify(n).xreplace(sizes))


class Evaluator:
    """A formula's numbers, each node computed once, dispatching on its class (`_eval_Transpose`).

    Calls of the table's ops (`relu`, `det`, `logsumexp`) are computed by
    the op's own row (`forward`).

    >>> float(Evaluator({"X": np.eye(2)}, np.dtype(np.float64), {}).value(sp.Trace(sp.MatrixSymbol("X", 2, 2))))
    2.0
    """

    def __init__(self, values: dict[str, np.ndarray], dtype: np.dtype, sizes: dict[Any, int]) -> None:
        self.values, self.dtype, self.sizes = values, dtype, sizes
        self.memo: dict[Any, Any] = {}

    def value(self, e: Any) -> Any:
        """The numbers of `e` (a matrix as a 2-D array, a scalar as a NumPy scalar)."""
        if e not in self.memo:
            self.memo[e] = self._dispatch(e)
        return self.memo[e]

    def _dispatch(self, e: Any) -> Any:
        if e in self.sizes:
            return self.dtype.type(self.sizes[e])
        for cls in type(e).__mro__:
            method = getattr(self, f"_eval_{cls.__name__}", None)
            if method is not None:
                return method(e)
        raise TypeError(f"cannot evaluate {type(e).__name__}: {e}")

    def _shape(self, e: Any) -> tuple[int, ...]:
        return tuple(_size(n, self.sizes) for n in e.shape)

    def _eval_Symbol(self, e: Any) -> Any:
        value = self.values[e.name]
        return value.reshape(-1, 1) if s.is_vector(e) else value

    _eval_MatrixSymbol = _eval_Symbol

    def _eval_Number(self, e: Any) -> Any:
        return self.dtype.type(float(e))

    _eval_NumberSymbol = _eval_Number  # pi

    def _eval_Identity(self, e: Any) -> Any:
        return np.eye(self._shape(e)[0], dtype=self.dtype)

    def _eval_OneMatrix(self, e: Any) -> Any:
        return np.ones(self._shape(e), dtype=self.dtype)

    def _eval_ZeroMatrix(self, e: Any) -> Any:
        return np.zeros(self._shape(e), dtype=self.dtype)

    def _eval_Entry(self, e: Any) -> Any:
        return self.value(e.arg)[0, 0]

    def _eval_Shaped(self, e: Any) -> Any:  # X[1:3], reshape, kron (gradcalc.symbolic.shaped)
        return e.computed(self.value, self._shape)

    def _eval_Diag(self, e: Any) -> Any:
        a = self.value(e.arg)
        return np.diag(a[:, 0]) if s.is_vector(e.arg) else np.diag(a)[:, None]

    def _eval_Add(self, e: Any) -> Any:
        return sum((self.value(a) for a in e.args[1:]), start=self.value(e.args[0]))

    _eval_MatAdd = _eval_Add

    def _eval_MatMul(self, e: Any) -> Any:
        scalar = np.prod([self.value(a) for a in e.args if not s.is_matrix(a)])
        matrices = [self.value(a) for a in e.args if s.is_matrix(a)]
        product = matrices[0]
        for m in matrices[1:]:
            product = product @ m
        return scalar * product

    def _eval_Mul(self, e: Any) -> Any:
        return np.prod(np.broadcast_arrays(*[self.value(a) for a in e.args]), axis=0)

    _eval_HadamardProduct = _eval_Mul

    def _eval_Pow(self, e: Any) -> Any:
        return np.power(self.value(e.args[0]), float(e.args[1]))

    _eval_HadamardPower = _eval_Pow

    def _eval_Transpose(self, e: Any) -> Any:
        return self.value(e.arg).T

    def _eval_Trace(self, e: Any) -> Any:
        return OPS["trace"].forward(self.value(e.arg))

    def _eval_Determinant(self, e: Any) -> Any:
        return OPS["det"].forward(self.value(e.arg))

    def _eval_Inverse(self, e: Any) -> Any:
        return OPS["inv"].forward(self.value(e.arg))

    def _eval_Reduce(self, e: Any) -> Any:
        return OPS[e.kind].forward(self.value(e.arg))

    def _eval_Elementwise(self, e: Any) -> Any:
        op = OPS[e.name]
        params = {p.name: (float(v) if p.kind == "number" else v.name if p.kind == "choice" else int(v))
                  for p, v in zip(op.params, e.params)}
        return op.forward(*(self.value(o) for o in e.operands), **params)

    _eval_ElementwiseScalar = _eval_Elementwise

    def _eval_AlongAxis(self, e: Any) -> Any:
        return e.numbers(self.value(e.arg))

    _eval_Overall = _eval_AxisFunction = _eval_AlongAxis
