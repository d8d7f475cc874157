"""Rows for taking a matrix apart and putting it together: indexing, reshape, flatten, axis orders, kron.

`X[1:3, :2]` reads as `index` (NumPy's basic indexing, constant integers
only); `np.reshape(X, (2, 6))` and `X.permute((1, 0))` may give their
constants as one tuple. `X.transpose(...)` is NumPy's method (the axes in a
new order); where PyTorch's method (two axes swapped) would mean something
else, the spelling is refused.

>>> [op.name for op in ROWS]
['index', 'reshape', 'flatten', 'permute', 'swapaxes', 'matrix_transpose', 'kron']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcalc.lang import shape_kernels as kernels
from gradcalc.lang import shape_rules_index as rules
from gradcalc.lang.op import Op, Param, call


def _permuted(s: Any, a: Any, d0: int | None = None, d1: int | None = None) -> Any:
    """A permutation of at most two axes: the operand itself, or its transpose."""
    ndim = len(s.np_shape(a))
    return a if kernels.axes_order(ndim, d0, d1) == tuple(range(ndim)) else s.T(a)


def _swapped(s: Any, a: Any, axis1: int, axis2: int) -> Any:
    ndim = len(s.np_shape(a))
    return a if axis1 % ndim == axis2 % ndim else s.T(a)


def _refuse_permute(spelling: str, library: str, params: dict[str, Any]) -> str:
    """`X.permute()` names no axes (PyTorch needs them); `X.transpose(0, 1)` is NumPy's identity but PyTorch's swap.

    >>> _refuse_permute("transpose", "either", {"d0": 1, "d1": 0}), _refuse_permute("permute", "torch", {})[:15]
    ('', 'permute() needs')
    """
    d0, d1 = params.get("d0"), params.get("d1")
    if spelling == "permute" and d0 is None:
        return "permute() needs the order of the axes, e.g. X.permute(1, 0) (the transpose of a matrix)"
    if spelling != "transpose" or library != "either" or None in (d0, d1) or (d0 in (1, -1) and d1 in (0, -2)):
        return ""
    numpy = "leaves a matrix as it is" if (d0 % 2, d1 % 2) == (0, 1) else "is an error"
    return (f"X.transpose({d0}, {d1}) reads differently in NumPy (the axes in the order ({d0}, {d1}), which "
            f"{numpy}) and in PyTorch (axes {d0} and {d1} swapped); write X.T or torch.transpose(X, {d0}, {d1}) "
            f"for the swap, or np.transpose(X, ({d0}, {d1})) for NumPy's reading")


ROWS: tuple[Op, ...] = (
    Op(
        "index", "indexing and slicing: A[i], A[:, j], A[a:b, :c], A[-1] (NumPy's basic indexing)", symbol="[]",
        params=(Param("key", kind="axis", example=0),), role="matrix",
        shape=rules.index, forward=kernels.index, vjp=(kernels.index_vjp,),
        sym=lambda s, a, key: s.index(a, key),
        sym_vjp=(lambda s, g, ans, a, key: s.index_vjp(g, a, key),),
        numpy="{0}[{1}]",
    ),
    Op(
        "reshape", "the entries row by row in a new shape: reshape(A, n, m), A.reshape(n, -1), A.view(n, m)",
        params=(Param("n", kind="axis", example=-1), Param("m", None, kind="axis")), tuple_params=True,
        methods=("reshape", "view"), role="matrix",
        shape=rules.reshape, forward=lambda a, n, m=None: np.reshape(a, (n,) if m is None else (n, m)),
        vjp=(lambda ans, a, n, m=None: lambda g: np.reshape(g, np.shape(a)),),
        sym=lambda s, a, n, m=None: s.reshape(a, n, m),
        sym_vjp=(lambda s, g, ans, a, n, m=None: s.unreshape(g, a),),
        numpy="np.reshape({0}, {1})",
        numpy_names=("reshape",), torch_names=("reshape",),
    ),
    Op(
        "flatten", "the entries row by row as a 1-D vector (NumPy's order), composed as reshape(A, -1)",
        aliases=("ravel",), methods=("flatten", "ravel"), role="matrix",
        expand=lambda a: call("reshape", a, n=-1),
        numpy_names=("ravel",), torch_names=("flatten", "ravel"),
    ),
    Op(
        "permute", "the axes in a new order: permute(A, 1, 0) is A.T (NumPy's transpose(A, axes))",
        params=(Param("d0", None, kind="axis"), Param("d1", None, kind="axis")), tuple_params=True,
        methods=("permute", "transpose"), refuse=_refuse_permute, role="matrix",
        shape=rules.permute,
        forward=lambda a, d0=None, d1=None: np.transpose(a, kernels.axes_order(np.ndim(a), d0, d1)),
        vjp=(kernels.permute_vjp,),
        sym=_permuted,
        sym_vjp=(lambda s, g, ans, a, d0=None, d1=None: _permuted(s, g, d0, d1),),
        numpy="np.transpose({0})",
        numpy_names=("transpose", "permute_dims"), torch_names=("permute",),
    ),
    Op(
        "swapaxes", "two axes swapped: swapaxes(A, 0, 1) is A.T (PyTorch's transpose(A, dim0, dim1))",
        params=(Param("axis1", kind="axis", torch="dim0", example=0), Param("axis2", kind="axis", torch="dim1",
                                                                           example=1)),
        methods=("swapaxes", "swapdims"), role="matrix",
        shape=rules.swapaxes, forward=np.swapaxes,
        vjp=(lambda ans, a, axis1, axis2: lambda g: np.swapaxes(g, axis1, axis2),),
        sym=_swapped,
        sym_vjp=(lambda s, g, ans, a, axis1, axis2: _swapped(s, g, axis1, axis2),),
        numpy="np.swapaxes({0}, {1}, {2})",
        numpy_names=("swapaxes",), torch_names=("transpose", "swapaxes", "swapdims"),
    ),
    Op(
        "matrix_transpose", "transpose of a matrix: A.mT (a 1-D vector is refused, as in PyTorch and NumPy)",
        symbol=".mT", role="matrix",
        shape=rules.matrix_transpose, forward=lambda a: np.swapaxes(a, -1, -2),
        vjp=(lambda ans, a: lambda g: np.swapaxes(g, -1, -2),),
        sym=lambda s, a: s.T(a),
        sym_vjp=(lambda s, g, ans, a: s.T(g),),
        numpy="np.swapaxes({0}, -1, -2)",
        numpy_names=("matrix_transpose", "linalg.matrix_transpose"),
    ),
    Op(
        "kron", "Kronecker product: kron(A, B), the blocks A[i, j]*B", arity=2, methods=("kron",), role="matrix",
        shape=rules.kron, forward=np.kron, vjp=(kernels.kron_vjp_left, kernels.kron_vjp_right),
        sym=lambda s, a, b: s.kron(a, b),
        sym_vjp=(lambda s, g, ans, a, b: s.kron_vjp(g, a, b, 0), lambda s, g, ans, a, b: s.kron_vjp(g, a, b, 1)),
        numpy="np.kron({0}, {1})",
        numpy_names=("kron",), torch_names=("kron",),
    ),
)
