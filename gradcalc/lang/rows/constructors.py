"""Rows for constant matrices of a given size: eye, ones, zeros (no operands, so no derivative rules).

Generated code spells them through the printer's style (`np.eye(n)`,
`np.ones((n, m))`), as SymPy's Identity, OneMatrix and ZeroMatrix.

>>> [op.name for op in ROWS]
['eye', 'ones', 'zeros']
"""

from __future__ import annotations

import numpy as np

from gradcalc.lang import shape_rules as rules
from gradcalc.lang.op import Op, Param

ROWS: tuple[Op, ...] = (
    Op(
        "eye", "identity matrix eye(n)", arity=0, params=(Param("n", kind="size"),), role="constructor",
        aliases=("identity",),
        shape=rules.square_of, forward=lambda n: np.eye(n),
        sym=lambda s, n: s.eye(n),
        numpy_names=("eye", "identity"), torch_names=("eye",),
    ),
    Op(
        "ones", "ones: a vector ones(n) or a matrix ones(n, m)", arity=0, role="constructor",
        params=(Param("n", kind="size"), Param("m", None, kind="size")),
        shape=rules.sized, forward=lambda n, m=None: np.ones((n,) if m is None else (n, m)),
        sym=lambda s, n, m=None: s.ones(n, m),
        numpy_names=(), torch_names=("ones",),
    ),
    Op(
        "zeros", "zeros: a vector zeros(n) or a matrix zeros(n, m)", arity=0, role="constructor",
        params=(Param("n", kind="size"), Param("m", None, kind="size")),
        shape=rules.sized, forward=lambda n, m=None: np.zeros((n,) if m is None else (n, m)),
        sym=lambda s, n, m=None: s.zeros(n, m),
        numpy_names=(), torch_names=("zeros",),
    ),
)
