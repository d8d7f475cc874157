"""Rows for arithmetic and linear algebra: + - * / ** @, mm, dot, outer, diag, transpose.

>>> [op.name for op in ROWS][:3]
['add', 'sub', 'neg']
"""

from __future__ import annotations

import operator

import numpy as np

from gradcalc.lang import kernels
from gradcalc.lang import shape_rules as rules
from gradcalc.lang.domains import POWER_BASE
from gradcalc.lang.op import Op, Param, call

ROWS: tuple[Op, ...] = (
    Op(
        "add", "addition: A + B, elementwise with scalar broadcasting", arity=2, symbol="+", role="arithmetic",
        shape=rules.broadcast, forward=np.add,
        vjp=(lambda ans, a, b: lambda g: g, lambda ans, a, b: lambda g: g),
        sym=lambda s, a, b: s.add(a, b),
        sym_vjp=(lambda s, g, ans, a, b: g, lambda s, g, ans, a, b: g),
        fold=operator.add,
        numpy_names=("add",), torch_names=("add",),
    ),
    Op(
        "sub", "subtraction: A - B, composed as A + (-B)", arity=2, symbol="-", role="arithmetic",
        expand=lambda a, b: call("add", a, call("neg", b)),
        numpy_names=("subtract",), torch_names=("sub", "subtract"),
    ),
    Op(
        "neg", "negation: -A", symbol="-", role="arithmetic",
        shape=rules.same, forward=np.negative,
        vjp=(lambda ans, a: np.negative,),
        sym=lambda s, a: s.neg(a),
        sym_vjp=(lambda s, g, ans, a: s.neg(g),),
        fold=operator.neg,
        numpy_names=("negative",), torch_names=("neg", "negative"),
    ),
    Op(
        "mul", "product: A * B, elementwise (Hadamard) with scalar broadcasting", arity=2, symbol="*",
        role="arithmetic",
        shape=rules.broadcast, forward=np.multiply,
        vjp=(lambda ans, a, b: lambda g: g * b, lambda ans, a, b: lambda g: g * a),
        sym=lambda s, a, b: s.mul(a, b),
        sym_vjp=(lambda s, g, ans, a, b: s.mul(g, b), lambda s, g, ans, a, b: s.mul(g, a)),
        fold=operator.mul,
        numpy_names=("multiply",), torch_names=("mul", "multiply"),
    ),
    Op(
        "div", "quotient: A / B, composed as A * B**-1", arity=2, symbol="/", role="arithmetic",
        expand=lambda a, b: call("mul", a, call("pow", b, p=-1)),
        numpy_names=("divide", "true_divide"), torch_names=("div", "divide", "true_divide"),
    ),
    Op(
        "pow", "power: A ** p, elementwise, p a number", params=(Param("p"),), symbol="**", role="arithmetic",
        methods=("pow",),
        shape=rules.same, forward=lambda a, p: np.square(a) if float(p) == 2.0 else np.power(a, float(p)),
        vjp=(kernels.pow_vjp,),
        sym=lambda s, a, p: s.pow(a, p),
        sym_vjp=(lambda s, g, ans, a, p: s.mul(g, s.scale(s.number(p), s.pow(a, s.number(p) - 1))),),
        fold=kernels.fold_power, domain=(POWER_BASE,),
        numpy_names=("power",), torch_names=("pow",),
    ),
    Op(
        "matmul", "matrix product: A @ B", arity=2, symbol="@", role="matrix",
        methods=("matmul",),
        shape=rules.matmul, forward=kernels.matmul,
        vjp=(kernels.matmul_vjp_left, kernels.matmul_vjp_right),
        sym=lambda s, a, b: s.matmul(a, b),
        sym_vjp=(kernels.sym_matmul_left, kernels.sym_matmul_right),
        numpy_names=("matmul",), torch_names=("matmul",),
    ),
    Op(  # torch.mm: the same product as @, but PyTorch refuses 1-D operands, so inference makes both matrices
        "mm", "matrix product of two matrices: mm(A, B), A.mm(B), torch.mm (2-D only)", arity=2, role="matrix",
        methods=("mm",), ranks=(2, 2),
        shape=rules.matrices_product, forward=kernels.matmul,
        vjp=(kernels.matmul_vjp_left, kernels.matmul_vjp_right),
        sym=lambda s, a, b: s.matmul(a, b),
        sym_vjp=(kernels.sym_matmul_left, kernels.sym_matmul_right),
        numpy="({0} @ {1})",
        numpy_names=(), torch_names=("mm",),
    ),
    Op(
        "dot", "inner product of two 1-D vectors", arity=2, methods=("dot",), ranks=(1, 1), role="matrix",
        shape=rules.vectors_to_scalar, forward=np.dot,
        vjp=(lambda ans, a, b: lambda g: g * b, lambda ans, a, b: lambda g: g * a),
        sym=lambda s, a, b: s.matmul(a, b),
        sym_vjp=(lambda s, g, ans, a, b: s.scale(g, b), lambda s, g, ans, a, b: s.scale(g, a)),
        numpy="np.dot({0}, {1})",
        numpy_names=("dot",), torch_names=("dot",),
    ),
    Op(
        "outer", "outer product of two 1-D vectors", arity=2, methods=("outer",), ranks=(1, 1), role="matrix",
        shape=rules.vectors_to_matrix, forward=np.outer,
        vjp=(lambda ans, a, b: lambda g: g @ b, lambda ans, a, b: lambda g: g.T @ a),
        sym=lambda s, a, b: s.outer(a, b),
        sym_vjp=(lambda s, g, ans, a, b: s.matmul(g, b), lambda s, g, ans, a, b: s.matmul(s.T(g), a)),
        numpy="np.outer({0}, {1})",
        numpy_names=("outer",), torch_names=("outer", "ger"),
    ),
    Op(
        "diag", "diagonal matrix of a vector, or the diagonal of a square matrix", methods=("diag",),
        role="matrix",
        shape=rules.diagonal, forward=np.diag,
        vjp=(lambda ans, a: np.diag,),
        sym=lambda s, a: s.diag(a),
        sym_vjp=(lambda s, g, ans, a: s.diag(g),),
        numpy="np.diag({0})",
        numpy_names=("diag",), torch_names=("diag",),
    ),
    Op(
        "transpose", "transpose: A.T, A.t(), transpose(A)", methods=("t",), symbol=".T",  # A.transpose(): permute
        role="matrix",
        shape=rules.transpose, forward=np.transpose,
        vjp=(lambda ans, a: np.transpose,),
        sym=lambda s, a: s.T(a),
        sym_vjp=(lambda s, g, ans, a: s.T(g),),
        numpy_names=("transpose",), torch_names=("t",),
    ),
)
