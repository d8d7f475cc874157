"""The operator table as documentation: what `gradcalc ops` shows.

Everything here is read off the table: the spellings, the shapes an op
accepts (the first line of its shape rule's docstring) and its derivative
rule, printed by running the op's own symbolic adjoint rule on symbols
(`G` is the adjoint of the output, `A`, `B` the inputs, sizes `n, m, k`).

>>> entry = next(e for e in catalog() if e.name == "matmul")
>>> entry.derivative
{'A': 'G@B.T', 'B': 'A.T@G'}
"""

from __future__ import annotations

import math
from typing import Any

import sympy as sp

from gradcalc.jobs.results import OpEntry
from gradcalc.lang.dims import Dim
from gradcalc.lang.ops import REQUIRED, TABLE, Op
from gradcalc.symbolic import vocabulary as s
from gradcalc.symbolic.adjoints import symbol
from gradcalc.symbolic.printing import syntax

INPUT_NAMES = ("A", "B", "C")
SIZE_NAMES = ("n", "m", "k", "p")


def catalog() -> list[OpEntry]:
    """Every operator of the table, described.

    >>> [e.name for e in catalog()][:3]
    ['add', 'sub', 'neg']
    """
    return [_describe(op) for op in TABLE]


def _describe(op: Op) -> OpEntry:
    params = [p.name if p.default is REQUIRED else f"{p.name}={p.default}" for p in op.params]
    if op.expand is not None:
        shapes, derivative = "as its expansion", {"": op.doc.split("composed as ")[-1]}
    elif op.arity == 0:
        shapes, derivative = _first_line(op.shape.__doc__), {}
    else:
        shapes, derivative = _first_line(op.shape.__doc__), _derivative(op)
    functions = [op.name, *op.aliases]
    return OpEntry(op.name, op.doc, functions, list(op.methods), op.symbol, params, shapes, derivative, op.convention,
                   [signature(op, "numpy", n) for n in op.numpy_names],
                   [signature(op, "torch", n) for n in op.torch_names])


def signature(op: Op, library: str, name: str) -> str:
    """How a library spells the op, with its keywords and their defaults in that library.

    >>> from gradcalc.lang.ops import OPS
    >>> signature(OPS["sum"], "numpy", "sum"), signature(OPS["det"], "torch", "linalg.det")
    ('np.sum(A, axis=None, keepdims=False)', 'torch.linalg.det(A)')
    """
    inputs = list(INPUT_NAMES[: op.arity]) if op.arity <= len(INPUT_NAMES) else [f"A{i}" for i in range(op.arity)]
    params = []
    for p in op.params:
        if not p.keywords(library):  # a parameter only the other library has (torch.var's unbiased)
            continue
        default = p.default_in(library)
        keyword = p.keyword(library)
        params.append(keyword if default is REQUIRED else f"{keyword}={default!r}" if isinstance(default, str)
                      else f"{keyword}={default}")
    if op.tuple_params:  # np.reshape(A, (n, m)): the sizes as one tuple
        params = [f"({', '.join(p.keyword(library) for p in op.params)})"]
    prefix = "np." if library == "numpy" else "torch."
    return f"{prefix}{name}({', '.join(inputs + params)})"


def _open_bound(default: Any) -> bool:
    return isinstance(default, float) and math.isinf(default)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0]


def _derivative(op: Op) -> dict[str, str]:
    """Each input's adjoint, printed from the op's symbolic rule applied to symbols."""
    params: dict[str, Any] = {p.name: sp.Symbol(p.name) if p.default is REQUIRED or _open_bound(p.default)
                              else p.default for p in op.params  # clamp's bounds: by name, not as ±inf
                              if not p.sets}  # torch.var's unbiased stands for correction: not a parameter itself
    examples = {p.name: p.example for p in op.params if p.example is not REQUIRED}  # X[0], not X[key]
    params.update(examples)
    ranks = [r or 2 for r in (op.ranks or (None,) * op.arity)]
    dims = [tuple(Dim() for _ in range(rank)) for rank in ranks]
    op.shape(*dims, **{k: v for k, v in params.items() if k == "axis" or k in examples})
    names: dict[int, Any] = {}
    for shape in dims:
        for d in shape:
            names.setdefault(id(d.root()), sp.Symbol(SIZE_NAMES[len(names) % len(SIZE_NAMES)], positive=True))
    inputs = [symbol(INPUT_NAMES[i], tuple(names[id(d.root())] for d in shape)) for i, shape in enumerate(dims)]
    ans = op.sym(s, *inputs, **params)
    g = symbol("G", s.np_shape(ans)) if s.is_matrix(ans) else sp.Symbol("g")
    return {INPUT_NAMES[i]: syntax(s.sum_to(rule(s, g, ans, *inputs, **params), inputs[i]))
            for i, rule in enumerate(op.sym_vjp)}
