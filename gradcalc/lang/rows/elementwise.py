"""Rows for elementwise functions: activations (relu, sigmoid, tanh, ...) and the other functions of entries.

>>> [op.name for op in ROWS if op.role == "activation"][:3]
['relu', 'clamp', 'exp']
"""

from __future__ import annotations

import numpy as np

from gradcalc.lang import kernels
from gradcalc.lang import shape_rules as rules
from gradcalc.lang.domains import POSITIVE
from gradcalc.lang.op import Op, Param, call, elementwise

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
        "clamp", "clamp from below: clamp(A, min) = max(A, min) elementwise", role="activation",
        params=(Param("min"),), methods=("clamp", "clamp_min"), aliases=("clamp_min",),
        shape=rules.same, forward=lambda a, min: np.maximum(a, float(min)),
        vjp=(lambda ans, a, min: (lambda mask: lambda g: g * mask)(a >= min),),
        sym=lambda s, a, min: s.fn("clamp", a, params=(min,)),
        sym_vjp=(lambda s, g, ans, a, min: s.mul(g, s.fn("heaviside", s.add(a, -min), params=(1,))),),
        kink=lambda a, min: a - min, convention="gradient 1 at the bound, as torch.clamp",
        numpy="np.maximum({0}, {1})", latex=r"\operatorname{clamp}",
        numpy_names=(), torch_names=("clamp", "clamp_min", "clip"),
    ),
    Op(
        "maximum", "elementwise maximum: maximum(A, B), max(A, 0)", arity=2, aliases=("max",),
        methods=("maximum",), role="elementwise",
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
    elementwise(
        "exp", "exponential, elementwise", np.exp,
        lambda ans, a: lambda g: g * ans,
        lambda s, g, ans, a: s.mul(g, ans), role="activation", latex=r"\exp",
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
