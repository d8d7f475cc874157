"""Rows for reductions: sum and mean (of all entries or along an axis), trace.

>>> [op.name for op in ROWS]
['sum', 'mean', 'trace']
"""

from __future__ import annotations

import numpy as np

from gradcalc.lang import kernels
from gradcalc.lang import shape_rules as rules
from gradcalc.lang.op import Op, Param

ROWS: tuple[Op, ...] = (
    Op(
        "sum", "sum of all entries, or along an axis", params=(Param("axis", None, kind="axis"),),
        methods=("sum",), role="reduction",
        shape=rules.reduce, forward=lambda a, axis=None: np.add.reduce(a, axis=axis),
        vjp=(kernels.sum_vjp,),
        sym=lambda s, a, axis=None: s.reduce("sum", a, axis),
        sym_vjp=(lambda s, g, ans, a, axis=None: s.spread(g, a, axis),),
        numpy="np.sum({0})",
        numpy_names=("sum",), torch_names=("sum",),
    ),
    Op(
        "mean", "mean of all entries, or along an axis", params=(Param("axis", None, kind="axis"),),
        methods=("mean",), role="reduction",
        shape=rules.reduce, forward=lambda a, axis=None: np.mean(a, axis=axis),
        vjp=(kernels.mean_vjp,),
        sym=lambda s, a, axis=None: s.reduce("mean", a, axis),
        sym_vjp=(lambda s, g, ans, a, axis=None: s.scale(s.size(ans) / s.size(a), s.spread(g, a, axis)),),
        numpy="np.mean({0})",
        numpy_names=("mean",), torch_names=("mean",),
    ),
    Op(
        "trace", "trace of a square matrix", aliases=("tr",), methods=("trace",), role="scalar",
        shape=rules.square_to_scalar, forward=np.trace,
        vjp=(lambda ans, a: lambda g: g * np.eye(a.shape[0]),),
        sym=lambda s, a: s.trace(a),
        sym_vjp=(lambda s, g, ans, a: s.scale(g, s.eye(a.shape[0])),),
        numpy="np.trace({0})", pretty="tr", latex=r"\operatorname{tr}",
        numpy_names=("trace",), torch_names=("trace",),
    ),
)
