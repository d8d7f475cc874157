"""Rows for functions of a whole matrix: norm, det, logdet, inv (softmax and logsumexp: rows/softmax.py).

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
