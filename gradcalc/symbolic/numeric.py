"""A formula's numbers: NumPy walks the SymPy expression, each op computed by its row's forward.

>>> import sympy as sp
>>> evaluate(2 * sp.MatrixSymbol("X", 1, 2), {"X": np.array([[1.0, 2.0]])})
array([[2., 4.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy import (Determinant, HadamardPower, HadamardProduct, Identity, Inverse, MatAdd, MatMul, MatrixSymbol,
                   OneMatrix, Trace, Transpose, ZeroMatrix)

from gradcalc.lang.ops import OPS
from gradcalc.symbolic import vocabulary as s
from gradcalc.symbolic.adjoints import size
from gradcalc.symbolic.types import UNIT, Diag, Elementwise, ElementwiseScalar, Entry, Reduce


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
    memo: dict[Any, np.ndarray] = {}
    sizes = {**{size(n): k for n, k in (sizes or {}).items()}, **_bind_sizes(expr, values)}

    def ev(e: Any) -> Any:
        if e not in memo:
            memo[e] = _evaluate_node(e, ev, values, np.dtype(dtype), sizes)
        return memo[e]

    result = np.asarray(ev(expr), dtype=dtype)
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


def _evaluate_node(e: Any, ev: Any, values: dict[str, np.ndarray], dtype: np.dtype, sizes: dict[Any, int]) -> Any:
    if e in sizes:
        return dtype.type(sizes[e])
    if isinstance(e, (MatrixSymbol, sp.Symbol)):
        value = values[e.name]
        return value.reshape(-1, 1) if s.is_vector(e) else value
    if isinstance(e, sp.Number):
        return dtype.type(float(e))
    if isinstance(e, Identity):
        return np.eye(_size(e.shape[0], sizes), dtype=dtype)
    if isinstance(e, OneMatrix):
        return np.ones(tuple(_size(n, sizes) for n in e.shape), dtype=dtype)
    if isinstance(e, ZeroMatrix):
        return np.zeros(tuple(_size(n, sizes) for n in e.shape), dtype=dtype)
    if isinstance(e, Entry):
        return ev(e.arg)[0, 0]
    if isinstance(e, Diag):
        a = ev(e.arg)
        return np.diag(a[:, 0]) if s.is_vector(e.arg) else np.diag(a)[:, None]
    if isinstance(e, (MatAdd, sp.Add)):
        return sum((ev(a) for a in e.args[1:]), start=ev(e.args[0]))
    if isinstance(e, MatMul):
        scalar = np.prod([ev(a) for a in e.args if not s.is_matrix(a)])
        matrices = [ev(a) for a in e.args if s.is_matrix(a)]
        product = matrices[0]
        for m in matrices[1:]:
            product = product @ m
        return scalar * product
    if isinstance(e, (sp.Mul, HadamardProduct)):
        return np.prod(np.broadcast_arrays(*[ev(a) for a in e.args]), axis=0)
    if isinstance(e, (sp.Pow, HadamardPower)):
        return np.power(ev(e.args[0]), float(e.args[1]))
    if isinstance(e, Transpose):
        return ev(e.arg).T
    if isinstance(e, Trace):
        return np.trace(ev(e.arg))
    if isinstance(e, Determinant):
        return OPS["det"].forward(ev(e.arg))
    if isinstance(e, Inverse):
        return OPS["inv"].forward(ev(e.arg))
    if isinstance(e, Reduce):
        return OPS[e.kind].forward(ev(e.arg))
    if isinstance(e, (Elementwise, ElementwiseScalar)):
        op = OPS[e.name]
        params = {p.name: (float(v) if p.kind == "number" else int(v)) for p, v in zip(op.params, e.params)}
        return op.forward(*(ev(o) for o in e.operands), **params)
    raise TypeError(f"cannot evaluate {type(e).__name__}: {e}")
