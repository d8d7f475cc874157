"""Rows for reductions: sum, mean, var, std, max, min (amax, amin) of all entries or along an axis; trace.

Bare names follow NumPy (`var` has ddof=0, `max(X, 1)` reduces along axis
1), `torch.` spellings follow PyTorch (`torch.var` is unbiased, `dim=`,
`keepdim=`; PyTorch also takes NumPy's `axis=` and `keepdims=` there).

>>> [op.name for op in ROWS]
['sum', 'mean', 'variance', 'std', 'max', 'min', 'amax', 'amin', 'trace']
"""

from __future__ import annotations

import numpy as np

from gradcalc.lang import axis_kernels as ak
from gradcalc.lang import kernels
from gradcalc.lang import shape_rules as rules
from gradcalc.lang.op import Op, Param, call

AXIS = Param("axis", None, kind="axis", torch="dim", torch_aliases=("axis",))
KEEPDIMS = Param("keepdims", False, kind="flag", torch="keepdim", torch_aliases=("keepdims",), positional="torch")
#: torch.var(X, dim, unbiased, keepdim): `unbiased=True` is `correction=1`, `False` is `correction=0`
UNBIASED = Param("unbiased", None, kind="flag", library="torch", positional="torch", sets="ddof")
DDOF = Param("ddof", 0, torch="correction", torch_default=1, positional="none")
TIES = "ties share the gradient evenly, as torch.amax (torch.max along a dim gives it all to one index)"
VALUES = ("{{text}} returns (values, indices) in PyTorch; gradcalc uses the values, as torch.a{name}(A, dim={{axis}}) "
          "does, and shares a tie's gradient evenly as it does (torch.{name} itself gives it to one index)")


def _statistic(name: str, spelled: str, doc: str, forward: object, vjp: object, deviation: bool) -> Op:
    """var or std; the variance's row is named `variance` (`var` is the tree's node for a variable)."""
    return Op(
        name, doc, params=(AXIS, UNBIASED, KEEPDIMS, DDOF), aliases=(spelled,) if spelled != name else (),
        methods=(spelled,), role="reduction",
        shape=rules.reduce, forward=forward, vjp=(vjp,),
        sym=lambda s, a, axis=None, keepdims=False, ddof=0: s.along(name, a, axis, keepdims, ddof=ddof),
        sym_vjp=(lambda s, g, ans, a, axis=None, keepdims=False, ddof=0:
                 ak.sym_variance_vjp(s, g, ans, a, axis, keepdims, ddof, deviation),),
        numpy=f"np.{spelled}({{0}}{{keywords}})", pretty=spelled, latex=rf"\operatorname{{{spelled}}}",
        numpy_names=(spelled,), torch_names=(spelled,),
    )


def _extreme(name: str, doc: str) -> Op:
    return Op(
        name, doc, params=(AXIS, KEEPDIMS), methods=(name,), role="reduction",
        shape=rules.reduce, forward=lambda a, axis=None, keepdims=False: ak.extreme(a, axis, keepdims, name),
        vjp=(ak.extreme_vjp,),
        sym=lambda s, a, axis=None, keepdims=False: s.along(name, a, axis, keepdims),
        sym_vjp=(lambda s, g, ans, a, axis=None, keepdims=False:
                 ak.sym_extreme_vjp(s, g, ans, a, axis, keepdims, name),),
        kink=lambda a, axis=None, keepdims=False: ak.extreme_kink(a, axis, keepdims, name), convention=TIES,
        numpy=f"np.{name}({{0}}{{keywords}})", latex=rf"\{name}",
        numpy_names=(name,), torch_names=(name,), torch_note=VALUES.format(name=name),
        confused_with="maximum" if name == "max" else "minimum",
    )


def _alias(name: str, of: str) -> Op:
    return Op(
        name, f"{of} of all entries or along an axis, composed as {of}(A, axis, keepdims)", params=(AXIS, KEEPDIMS),
        methods=(name,), role="reduction", expand=lambda a, **params: call(of, a, **params),
        numpy_names=(name,), torch_names=(name,),
    )


ROWS: tuple[Op, ...] = (
    Op(
        "sum", "sum of all entries, or along an axis", params=(AXIS, KEEPDIMS),
        methods=("sum",), role="reduction",
        shape=rules.reduce, forward=lambda a, axis=None, keepdims=False: np.add.reduce(a, axis=axis, keepdims=keepdims),
        vjp=(kernels.sum_vjp,),
        sym=lambda s, a, axis=None, keepdims=False: s.keep(s.reduce("sum", a, axis), a, axis, keepdims),
        sym_vjp=(lambda s, g, ans, a, axis=None, keepdims=False: s.spread(g, a, axis, keepdims),),
        numpy="np.sum({0})",
        numpy_names=("sum",), torch_names=("sum",),
    ),
    Op(
        "mean", "mean of all entries, or along an axis", params=(AXIS, KEEPDIMS),
        methods=("mean",), role="reduction",
        shape=rules.reduce, forward=lambda a, axis=None, keepdims=False: np.mean(a, axis=axis, keepdims=keepdims),
        vjp=(kernels.mean_vjp,),
        sym=lambda s, a, axis=None, keepdims=False: s.keep(s.reduce("mean", a, axis), a, axis, keepdims),
        sym_vjp=(lambda s, g, ans, a, axis=None, keepdims=False:
                 s.scale(s.size(ans) / s.size(a), s.spread(g, a, axis, keepdims)),),
        numpy="np.mean({0})",
        numpy_names=("mean",), torch_names=("mean",),
    ),
    _statistic("variance", "var", "variance of all entries, or along an axis: mean((A - mean(A))**2)*N/(N - ddof); "
               "NumPy's ddof=0, torch.var's correction=1 (unbiased)", ak.variance, ak.variance_vjp, deviation=False),
    _statistic("std", "std", "standard deviation sqrt(var(A)), of all entries or along an axis; NumPy's ddof=0, "
               "torch.std's correction=1 (unbiased)", ak.deviation, ak.deviation_vjp, deviation=True),
    _extreme("max", "maximum of all entries, or along an axis: max(A), max(A, axis) (for the elementwise "
                    "maximum of two arrays: maximum(A, B))"),
    _extreme("min", "minimum of all entries, or along an axis: min(A), min(A, axis) (for the elementwise "
                    "minimum of two arrays: minimum(A, B))"),
    _alias("amax", "max"),
    _alias("amin", "min"),
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
