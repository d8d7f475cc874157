"""Rows for the activations and special functions ML code brings: leaky_relu, elu, gelu, erf, log1p, expm1.

Their kink conventions are PyTorch's (`F.leaky_relu`, `F.elu` at 0).

>>> [op.name for op in ROWS]
['leaky_relu', 'elu', 'gelu', 'erf', 'log1p', 'expm1']
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradcalc.lang import shape_rules as rules
from gradcalc.lang import special
from gradcalc.lang.domains import ABOVE_MINUS_ONE, OVERFLOW
from gradcalc.lang.op import Op, Param, elementwise

APPROXIMATE = Param("approximate", "none", kind="choice", choices=("none", "tanh"), positional="none")


def _dtype(a: Any) -> Any:
    return np.result_type(a, 0.0)


def _leaky_relu(a: Any, negative_slope: float = 0.01) -> Any:
    return np.where(a > 0, a, a * negative_slope)


def _leaky_relu_vjp(ans: Any, a: Any, negative_slope: float = 0.01) -> Any:
    d = np.where(a > 0, _dtype(a).type(1), _dtype(a).type(negative_slope))
    return lambda g: g * d


def _elu(a: Any, alpha: float = 1.0) -> Any:
    return np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0)))  # no exp of the large entries np.where drops


def _elu_vjp(ans: Any, a: Any, alpha: float = 1.0) -> Any:
    d = np.where(a > 0, _dtype(a).type(1), alpha * np.exp(np.minimum(a, 0)))
    return lambda g: g * d


def _sym_gelu_vjp(s: Any, g: Any, ans: Any, a: Any, approximate: str = "none") -> Any:
    """GELU's derivative: Φ(A) + A φ(A) exactly, or the derivative of PyTorch's tanh approximation."""
    half = s.rational(1, 2)
    if approximate == "tanh":
        beta = s.pow(s.scale(2, s.pow(s.PI, -1)), half)  # sqrt(2/pi)
        t = s.fn("tanh", s.scale(beta, s.add(a, s.scale(s.decimal(special.KAPPA), s.pow(a, 3)))))
        slope = s.scale(beta, s.add(1, s.scale(s.decimal(3 * special.KAPPA), s.pow(a, 2))))
        d = s.add(s.scale(half, s.add(1, t)), s.scale(half, s.mul(s.mul(a, s.add(1, s.neg(s.pow(t, 2)))), slope)))
        return s.mul(g, d)
    cdf = s.scale(half, s.add(1, s.fn("erf", s.scale(s.pow(2, -half), a))))
    density = s.scale(s.pow(s.scale(2, s.PI), -half), s.fn("exp", s.scale(-half, s.pow(a, 2))))
    return s.mul(g, s.add(cdf, s.mul(a, density)))


_GELU_HELPER = (*special.helper_lines(special.erf), "", "",
                "def gelu(a, approximate='none'):",
                "    if approximate == 'tanh':",
                f"        return 0.5 * a * (1.0 + np.tanh({special.SQRT_2_OVER_PI!r} * (a + {special.KAPPA!r} * a**3)))",
                "    return 0.5 * a * (1.0 + erf(a / np.sqrt(2.0)))")

ROWS: tuple[Op, ...] = (
    Op(
        "leaky_relu", "leaky rectifier: A where A > 0, else negative_slope*A (F.leaky_relu)", role="activation",
        params=(Param("negative_slope", 0.01),), shape=rules.same, forward=_leaky_relu, vjp=(_leaky_relu_vjp,),
        sym=lambda s, a, negative_slope=0.01: s.fn("leaky_relu", a, params=(negative_slope,)),
        sym_vjp=(lambda s, g, ans, a, negative_slope=0.01: s.fn(
            "where", s.fn("greater", a, 0), g, s.scale(negative_slope, g)),),
        kink=lambda a, negative_slope=0.01: a, convention="leaky_relu'(0) = negative_slope, as F.leaky_relu",
        numpy="leaky_relu({0}, {1})", latex=r"\operatorname{leaky\_relu}",
        helper=("def leaky_relu(a, negative_slope=0.01):",
                "    return np.where(a > 0, a, negative_slope * a)"),
        numpy_names=(), torch_names=("leaky_relu",),
    ),
    Op(
        "elu", "exponential linear unit: A where A > 0, else alpha*(exp(A) - 1) (F.elu)", role="activation",
        params=(Param("alpha", 1.0),), shape=rules.same, forward=_elu, vjp=(_elu_vjp,),
        sym=lambda s, a, alpha=1.0: s.fn("elu", a, params=(alpha,)),
        sym_vjp=(lambda s, g, ans, a, alpha=1.0: s.fn(
            "where", s.fn("greater", a, 0), g, s.scale(alpha, s.mul(g, s.fn("exp", a)))),),
        kink=lambda a, alpha=1.0: a if alpha != 1 else np.ones_like(a),
        convention="elu'(0) = alpha, as F.elu (no kink for alpha = 1, where elu is smooth to first order)",
        numpy="elu({0}, {1})", latex=r"\operatorname{elu}",
        helper=("def elu(a, alpha=1.0):",
                "    return np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0)))"),
        numpy_names=(), torch_names=("elu",),
    ),
    Op(
        "gelu", "Gaussian error linear unit A Φ(A) (F.gelu); approximate='tanh' is PyTorch's tanh form",
        role="activation", params=(APPROXIMATE,), shape=rules.same, forward=special.gelu, vjp=(special.gelu_vjp,),
        sym=lambda s, a, approximate="none": s.fn("gelu", a, params=(approximate,)),
        sym_vjp=(_sym_gelu_vjp,),
        numpy="gelu({0}, approximate={1})", latex=r"\operatorname{GELU}", helper=_GELU_HELPER,
        numpy_names=(), torch_names=("gelu",),
    ),
    elementwise(
        "erf", "error function 2/sqrt(pi) ∫₀ᴬ exp(-t²) dt, elementwise (torch.erf)", special.erf,
        lambda ans, a: (lambda d: lambda g: g * d)((2.0 / math.sqrt(math.pi)) * np.exp(-a * a)),
        lambda s, g, ans, a: s.mul(g, s.scale(s.scale(2, s.pow(s.PI, s.rational(-1, 2))),
                                              s.fn("exp", s.neg(s.pow(a, 2))))),
        role="elementwise", numpy="erf({0})", helper=special.helper_lines(special.erf), latex=r"\operatorname{erf}",
        numpy_names=(), torch_names=("erf", "special.erf"),
    ),
    elementwise(
        "log1p", "log(1 + A), accurate for small A, elementwise", np.log1p,
        lambda ans, a: (lambda d: lambda g: g * d)(1.0 / (1.0 + a)),
        lambda s, g, ans, a: s.mul(g, s.pow(s.add(1, a), -1)),
        role="elementwise", domain=(ABOVE_MINUS_ONE,), latex=r"\operatorname{log1p}",
        numpy_names=("log1p",), torch_names=("log1p", "special.log1p"),
    ),
    elementwise(
        "expm1", "exp(A) - 1, accurate for small A, elementwise", np.expm1,
        lambda ans, a: (lambda d: lambda g: g * d)(np.exp(a)),
        lambda s, g, ans, a: s.mul(g, s.fn("exp", a)),
        role="elementwise", domain=(OVERFLOW,), latex=r"\operatorname{expm1}",
        numpy_names=("expm1",), torch_names=("expm1", "special.expm1"),
    ),
)
