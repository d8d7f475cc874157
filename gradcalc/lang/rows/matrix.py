"""Rows for functions of a whole matrix: norm, logsumexp, softmax, det, logdet, inv.

>>> [op.name for op in ROWS if op.domain]
['det', 'logdet', 'inv']
"""

from __future__ import annotations

import numpy as np

from gradcalc.lang import kernels
from gradcalc.lang import shape_rules as rules
from gradcalc.lang.domains import SPD
from gradcalc.lang.op import Op

ROWS: tuple[Op, ...] = (
    Op(
        "norm", "Frobenius (Euclidean) norm sqrt(sum(A**2))", methods=("norm",), role="scalar",
        shape=rules.to_scalar, forward=lambda a: np.sqrt(np.sum(a * a)),
        vjp=(lambda ans, a: lambda g: g * a / ans,),
        sym=lambda s, a: s.reduce("norm", a),
        sym_vjp=(lambda s, g, ans, a: s.scale(g / ans, a),),
        numpy="np.linalg.norm({0})", latex=r"\operatorname{norm}",
        numpy_names=("linalg.norm",), torch_names=("norm", "linalg.norm"),
    ),
    Op(
        "logsumexp", "log of the sum of exp over all entries", methods=("logsumexp",), role="scalar",
        shape=rules.to_scalar, forward=kernels.logsumexp,
        vjp=(lambda ans, a: (lambda w: lambda g: g * w)(np.exp(a - ans)),),
        sym=lambda s, a: s.reduce("logsumexp", a),
        sym_vjp=(lambda s, g, ans, a: s.scale(g, s.whole("softmax", a)),),
        numpy="logsumexp({0})", latex=r"\operatorname{logsumexp}",
        helper=("def logsumexp(a):",
                "    top = np.max(a)",
                "    return top + np.log(np.sum(np.exp(a - top)))"),
        numpy_names=(), torch_names=("logsumexp", "special.logsumexp"),
    ),
    Op(
        "softmax", "softmax over all entries: exp(A - logsumexp(A))", methods=("softmax",), role="activation",
        shape=rules.same, forward=lambda a: np.exp(a - kernels.logsumexp(a)),
        vjp=(lambda ans, a: lambda g: ans * (g - np.sum(g * ans)),),
        sym=lambda s, a: s.whole("softmax", a),
        sym_vjp=(lambda s, g, ans, a: s.mul(ans, s.add(g, s.neg(s.reduce("sum", s.mul(g, ans))))),),
        numpy="softmax({0})", latex=r"\operatorname{softmax}",
        helper=("def softmax(a):",
                "    e = np.exp(a - np.max(a))",
                "    return e / np.sum(e)"),
        numpy_names=(), torch_names=("softmax", "special.softmax"),
    ),
    Op(
        "det", "determinant of a square matrix", methods=("det",), role="scalar",
        shape=rules.square_to_scalar, forward=np.linalg.det,
        vjp=(lambda ans, a: (lambda d: lambda g: g * d)(ans * kernels.inv(a).T),),
        sym=lambda s, a: s.det(a),
        sym_vjp=(lambda s, g, ans, a: s.scale(g * ans, s.T(s.inv(a))),),
        domain=(SPD,), at_singular="PyTorch would return the adjugate",
        numpy="np.linalg.det({0})", latex=r"\det",
        numpy_names=("linalg.det",), torch_names=("det", "linalg.det"),
    ),
    Op(
        "logdet", "log of the determinant (NaN for a negative determinant, as torch.logdet)",
        methods=("logdet",), role="scalar",
        shape=rules.square_to_scalar, forward=kernels.logdet,
        vjp=(lambda ans, a: (lambda d: lambda g: g * d)(kernels.inv(a).T),),
        sym=lambda s, a: s.reduce("logdet", a),
        sym_vjp=(lambda s, g, ans, a: s.scale(g, s.T(s.inv(a))),),
        domain=(SPD,), numpy="logdet({0})", latex=r"\log\det",
        helper=("def logdet(a):",
                "    sign, logabs = np.linalg.slogdet(a)",
                "    return logabs if sign > 0 else (-np.inf if sign == 0 else np.nan)  # as torch.logdet"),
        numpy_names=(), torch_names=("logdet",),
    ),
    Op(
        "inv", "matrix inverse", aliases=("inverse",), methods=("inverse", "inv"), role="matrix",
        shape=rules.square, forward=kernels.inv,
        vjp=(lambda ans, a: lambda g: -ans.T @ g @ ans.T,),
        sym=lambda s, a: s.inv(a),
        sym_vjp=(lambda s, g, ans, a: s.neg(s.matmul(s.matmul(s.T(ans), g), s.T(ans))),),
        domain=(SPD,), numpy="np.linalg.inv({0})", pretty="inv", latex=r"\operatorname{inv}",
        numpy_names=("linalg.inv",), torch_names=("inverse", "linalg.inv"),
    ),
)
