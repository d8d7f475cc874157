"""Rows for elementwise functions: activations (relu, sigmoid, tanh, ...) and the other functions of entries.

>>> [op.name for op in ROWS if op.role == "activation"][:3]
['relu', 'clamp', 'clamp_min']
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradcalc.lang import kernels
from gradcalc.lang import shape_rules as rules
from gradcalc.lang.domains import OVERFLOW, POSITIVE
from gradcalc.lang.op import Op, Param, call, elementwise
from gradcalc.lang.tree import Node


def _clamp(a: Any, min: float = -math.inf, max: float = math.inf) -> Any:  # noqa: A002 - torch's keywords
    """torch.clamp's values: with min > max every entry is max, as in torch.clamp and np.clip."""
    out = a if min == -math.inf else np.maximum(a, min)
    return out if max == math.inf else np.minimum(out, max)


def _finite(bound: Any) -> bool:
    return not (isinstance(bound, (int, float)) and math.isinf(bound))


def _inside(s: Any, a: Any, lo: Any, hi: Any) -> Any:
    """1 where lo <= A <= hi (1 at a bound, as torch.clamp), 0 elsewhere: the steps of the finite bounds."""
    steps = ([s.fn("heaviside", s.add(a, s.neg(lo)), params=(1,))] if _finite(lo) else []) + (
        [s.fn("heaviside", s.add(hi, s.neg(a)), params=(1,))] if _finite(hi) else [])
    return steps[0] if len(steps) == 1 else s.mul(*steps) if steps else 1


def _no_bound(spelling: str, lo: float, hi: float) -> str:
    if _finite(lo) or _finite(hi):
        return ""
    return (f"{spelling}() needs a bound: min, max or both, e.g. clamp(X, 0), clamp(X, max=1) or clamp(X, -1, 1) "
            "(None leaves that side open)")


def _clip_refused(spelling: str, params: dict[str, Any]) -> str:
    """np.clip's own rules: a_min and a_max come together, min=/max= instead of them, and gradcalc wants a bound."""
    for numpy_2, old in (("min", "a_min"), ("max", "a_max")):
        if numpy_2 in params and old in params:
            return f"np.clip takes {old}= or {numpy_2}=, not both"
    if ("a_min" in params) != ("a_max" in params):
        return ("np.clip(X, a_min, a_max) takes both bounds, None for an open side: np.clip(X, 0, None) for a "
                "lower bound only (or the keyword min=0, or max=1, alone)")
    if not any(_finite(v) for v in params.values()):
        return ("clip() needs a bound: np.clip(X, a_min, a_max) with None for an open side (without any bound "
                "NumPy returns X unchanged; write X)")
    return ""


def _clip(a: Node, **bounds: float) -> Node:
    """np.clip as clamp: a_min (or min) below, a_max (or max) above; an open side (None) is no bound."""
    lo, hi = bounds.get("a_min", bounds.get("min", -math.inf)), bounds.get("a_max", bounds.get("max", math.inf))
    return call("clamp", a, **({"min": lo} if _finite(lo) else {}), **({"max": hi} if _finite(hi) else {}))


ROWS: tuple[Op, ...] = (
    Op(
        "relu", "rectified linear unit: max(A, 0) elementwise", methods=("relu",), role="activation",
        shape=rules.same, forward=lambda a: np.maximum(a, 0.0),
        vjp=(kernels.relu_vjp,),
        sym=lambda s, a: s.fn("relu", a),
        sym_vjp=(lambda s, g, ans, a: s.mul(g, s.fn("heaviside", a)),),
        kink=lambda a: a, convention="relu'(0) = 0, as torch.relu",
        numpy="np.maximum({0}, 0)", latex=r"\operatorname{relu}",
        numpy_names=(), torch_names=("relu",),
    ),
    Op(
        "clamp", "clamp to [min, max] elementwise, as torch.clamp: either bound optional, at least one",
        role="activation", params=(Param("min", -math.inf), Param("max", math.inf)), methods=("clamp", "clip"),
        shape=rules.same, forward=_clamp,
        vjp=(lambda ans, a, min=-math.inf, max=math.inf: (lambda mask: lambda g: g * mask)(
            ((a >= min) & (a <= max)).astype(np.result_type(a, 0.0))),),
        sym=lambda s, a, min=-math.inf, max=math.inf: s.fn("clamp", a, params=(min, max)),
        sym_vjp=(lambda s, g, ans, a, min=-math.inf, max=math.inf: s.mul(g, _inside(s, a, min, max)),),
        kink=lambda a, min=-math.inf, max=math.inf: np.minimum(a - min, max - a),
        convention="gradient 1 at the bound, as torch.clamp", refuse=lambda spelling, library, params: _no_bound(
            spelling, params.get("min", -math.inf), params.get("max", math.inf)),
        numpy="np.clip({0}, {1}, {2})", latex=r"\operatorname{clamp}",
        numpy_names=(), torch_names=("clamp", "clip"),
    ),
    Op(
        "clamp_min", "clamp from below: clamp_min(A, min) (torch.clamp_min), composed as clamp(A, min)",
        role="activation", params=(Param("min"),), methods=("clamp_min",),
        expand=lambda a, min: call("clamp", a, min=min),
        numpy_names=(), torch_names=("clamp_min",),
    ),
    Op(
        "clamp_max", "clamp from above: clamp_max(A, max) (torch.clamp_max), composed as clamp(A, max=max)",
        role="activation", params=(Param("max"),), methods=("clamp_max",),
        expand=lambda a, max: call("clamp", a, max=max),
        numpy_names=(), torch_names=("clamp_max",),
    ),
    Op(
        "clip", "clip to [a_min, a_max] as np.clip (None: no bound on that side), composed as clamp(A, a_min, a_max)",
        role="activation", params=(Param("a_min", -math.inf), Param("a_max", math.inf),
                                   Param("min", -math.inf, positional="none"), Param("max", math.inf, positional="none")),
        refuse=lambda spelling, library, params: _clip_refused(spelling, params),
        expand=_clip,
        numpy_names=("clip",), torch_names=(),
    ),
    Op(
        "maximum", "elementwise maximum: maximum(A, B), maximum(A, 0) (max(A, 0) reduces along axis 0, as NumPy)",
        arity=2, methods=("maximum",), role="elementwise",
        shape=rules.broadcast, forward=np.maximum,
        vjp=(
            lambda ans, a, b: (lambda w: lambda g: g * w)(kernels.heaviside(a - b, 0.5)),
            lambda ans, a, b: (lambda w: lambda g: g * w)(kernels.heaviside(b - a, 0.5)),
        ),
        sym=lambda s, a, b: s.fn("maximum", a, b),
        sym_vjp=(
            lambda s, g, ans, a, b: s.mul(g, s.fn("heaviside", s.add(a, s.neg(b)), params=(0.5,))),
            lambda s, g, ans, a, b: s.mul(g, s.fn("heaviside", s.add(b, s.neg(a)), params=(0.5,))),
        ),
        kink=lambda a, b: a - b, convention="ties split the gradient 0.5/0.5, as torch.maximum",
        numpy="np.maximum({0}, {1})", latex=r"\max",
        numpy_names=("maximum",), torch_names=("maximum", "max"),
    ),
    Op(
        "minimum", "elementwise minimum: minimum(A, B)", arity=2, methods=("minimum",), role="elementwise",
        shape=rules.broadcast, forward=np.minimum,
        vjp=(
            lambda ans, a, b: (lambda w: lambda g: g * w)(kernels.heaviside(b - a, 0.5)),
            lambda ans, a, b: (lambda w: lambda g: g * w)(kernels.heaviside(a - b, 0.5)),
        ),
        sym=lambda s, a, b: s.fn("minimum", a, b),
        sym_vjp=(
            lambda s, g, ans, a, b: s.mul(g, s.fn("heaviside", s.add(b, s.neg(a)), params=(0.5,))),
            lambda s, g, ans, a, b: s.mul(g, s.fn("heaviside", s.add(a, s.neg(b)), params=(0.5,))),
        ),
        kink=lambda a, b: a - b, convention="ties split the gradient 0.5/0.5, as torch.minimum",
        numpy="np.minimum({0}, {1})", latex=r"\min",
        numpy_names=("minimum",), torch_names=("minimum", "min"),
    ),
    elementwise(
        "exp", "exponential, elementwise", np.exp,
        lambda ans, a: lambda g: g * ans,
        lambda s, g, ans, a: s.mul(g, ans), role="activation", latex=r"\exp", domain=(OVERFLOW,),
        numpy_names=("exp",), torch_names=("exp",),
    ),
    elementwise(
        "log", "natural logarithm, elementwise", np.log,
        lambda ans, a: (lambda r: lambda g: g * r)(1.0 / a),
        lambda s, g, ans, a: s.mul(g, s.pow(a, -1)),
        role="activation", domain=(POSITIVE,), latex=r"\log",
        numpy_names=("log",), torch_names=("log",),
    ),
    Op(
        "heaviside", "unit step: 1 where A > 0, h0 at 0 (default 0), else 0", role="activation",
        params=(Param("h0", 0),), methods=("heaviside",),
        shape=rules.same, forward=kernels.heaviside,
        vjp=(lambda ans, a, h0=0: lambda g: np.zeros_like(a),),
        sym=lambda s, a, h0=0: s.fn("heaviside", a, params=(h0,)),
        sym_vjp=(lambda s, g, ans, a, h0=0: s.zero_like(a),),
        kink=lambda a, h0=0: a, convention="derivative 0 everywhere, including at 0",
        numpy="np.heaviside({0}, {1})", pretty="H", latex="H",
        numpy_names=("heaviside",), torch_names=("heaviside",),
    ),
    elementwise(
        "sqrt", "square root, elementwise", np.sqrt,
        lambda ans, a: (lambda d: lambda g: g * d)(0.5 / ans),
        lambda s, g, ans, a: s.mul(g, s.scale(s.rational(1, 2), s.pow(ans, -1))),
        role="activation", domain=(POSITIVE,), latex=r"\sqrt",
        numpy_names=("sqrt",), torch_names=("sqrt",),
    ),
    elementwise(
        "abs", "absolute value, elementwise", np.abs,
        lambda ans, a: (lambda d: lambda g: g * d)(np.sign(a)),
        lambda s, g, ans, a: s.mul(g, s.fn("sign", a)), role="activation",
        kink=lambda a: a, convention="abs'(0) = 0, as torch.abs", latex=r"\operatorname{abs}",
        numpy_names=("abs", "absolute"), torch_names=("abs", "absolute"),
    ),
    elementwise(
        "sign", "sign, elementwise: -1, 0 or 1", np.sign,
        lambda ans, a: lambda g: np.zeros_like(a),
        lambda s, g, ans, a: s.zero_like(a), role="elementwise",
        kink=lambda a: a, convention="derivative 0 everywhere, including at 0, as torch.sign",
        latex=r"\operatorname{sign}",
        numpy_names=("sign",), torch_names=("sign",),
    ),
    elementwise(
        "sin", "sine, elementwise", np.sin,
        lambda ans, a: (lambda d: lambda g: g * d)(np.cos(a)),
        lambda s, g, ans, a: s.mul(g, s.fn("cos", a)), role="activation", latex=r"\sin",
        numpy_names=("sin",), torch_names=("sin",),
    ),
    elementwise(
        "cos", "cosine, elementwise", np.cos,
        lambda ans, a: (lambda d: lambda g: g * d)(-np.sin(a)),
        lambda s, g, ans, a: s.neg(s.mul(g, s.fn("sin", a))), role="activation", latex=r"\cos",
        numpy_names=("cos",), torch_names=("cos",),
    ),
    elementwise(
        "tan", "tangent, elementwise", np.tan,
        lambda ans, a: (lambda d: lambda g: g * d)(1.0 + ans * ans),
        lambda s, g, ans, a: s.mul(g, s.add(1, s.pow(ans, 2))), role="elementwise", latex=r"\tan",
        numpy_names=("tan",), torch_names=("tan",),
    ),
    elementwise(
        "tanh", "hyperbolic tangent, elementwise", np.tanh,
        lambda ans, a: (lambda d: lambda g: g * d)(1.0 - ans * ans),
        lambda s, g, ans, a: s.mul(g, s.add(1, s.neg(s.pow(ans, 2)))), role="activation", latex=r"\tanh",
        numpy_names=("tanh",), torch_names=("tanh",),
    ),
    elementwise(
        "sigmoid", "logistic sigmoid 1/(1 + exp(-A)), elementwise", kernels.sigmoid,
        lambda ans, a: (lambda d: lambda g: g * d)(ans * (1.0 - ans)),
        lambda s, g, ans, a: s.mul(g, s.mul(ans, s.add(1, s.neg(ans)))), role="activation", latex=r"\sigma",
        numpy="sigmoid({0})",
        helper=("def sigmoid(a):",
                "    return 0.5 * (1.0 + np.tanh(0.5 * a))"),
        numpy_names=(), torch_names=("sigmoid", "special.expit"),
    ),
    elementwise(
        "softplus", "softplus log(1 + exp(A)), elementwise", lambda a: np.logaddexp(0.0, a),
        lambda ans, a: (lambda d: lambda g: g * d)(kernels.sigmoid(a)),
        lambda s, g, ans, a: s.mul(g, s.fn("sigmoid", a)), role="activation",
        numpy="np.logaddexp(0, {0})", latex=r"\operatorname{softplus}",
        numpy_names=(), torch_names=("softplus",),
    ),
    Op(
        "square", "square A**2, composed as pow(A, 2)", methods=("square",), role="arithmetic",
        expand=lambda a: call("pow", a, p=2),
        numpy_names=("square",), torch_names=("square",),
    ),
    elementwise(
        "detach", "stop the gradient: the value of A, treated as a constant", lambda a: a,
        lambda ans, a: lambda g: np.zeros_like(a),
        lambda s, g, ans, a: s.zero_like(a), role="elementwise",
        stops_gradient=True, aliases=("stop_gradient",), numpy="({0})", latex=r"\operatorname{detach}",
        numpy_names=(), torch_names=("detach",),
    ),
)
