"""Runnable NumPy code for closed-form gradients: one function per variable, nothing but NumPy.

The formula is printed by the same printer as gradcalc's own syntax, with a
`Style` that spells calls as NumPy (`relu(A)` is `np.maximum(A, 0)`, with
PyTorch's kink conventions as `gradcalc ops` states them). Repeated
sub-expressions are computed once (`T1 = X @ W`), named sizes are read off
the arguments (`n, k = X.shape`), and the few functions NumPy lacks
(sigmoid, softmax, logsumexp, logdet: the rows' `helper`) are defined above the functions.

>>> from gradcalc.lang.parse import parse
>>> from gradcalc.lang.infer import infer
>>> from gradcalc.symbolic.adjoints import gradients
>>> tree = parse("sum(X@W)"); info = infer(tree, {"X": ("n", "k")}, symbolic=True)
>>> print(program("sum(X@W)", info.variables, gradients(tree, info, ["W"])))
import numpy as np
<BLANKLINE>
<BLANKLINE>
def grad_W(X, W):
    \"""∂/∂W of sum(X@W), where X: n×k, W: k×m.
<BLANKLINE>
    X.T@ones(n, m)
    \"""
    n = X.shape[0]
    m = W.shape[1]
    return X.T @ np.ones((n, m))
<BLANKLINE>
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import sympy as sp

from gradcalc.symbolic import cse
from gradcalc.symbolic.printing import SYNTAX, Style, Printer, syntax
from gradcalc.lang.dims import format_shape, Size
from gradcalc.lang.ops import TABLE
from gradcalc.symbolic.types import called

#: NumPy spellings of the calls a formula can hold, read off the table ({0}, {1}: operands, then parameters).
CALLS = {op.name: op.numpy for op in TABLE if op.numpy}

#: The functions NumPy lacks, as the operator table computes them.
HELPERS = {op.name: op.helper for op in TABLE if op.helper}


def program(expression: str, variables: dict[str, tuple[Size, ...]], formulas: dict[str, Any],
            headings: dict[str, tuple[str, str]] | None = None) -> str:
    """A self-contained Python program: the import, the helpers needed, one `grad_NAME` function per formula.

    >>> import sympy as sp
    >>> print(program("sum(a*x)", {"a": (), "x": ()}, {"a": sp.Symbol("x", real=True)}).splitlines()[3])
    def grad_a(a, x):
    """
    alias = numpy_alias(variables)
    functions = [function(expression, variables, name, formula, alias, (headings or {}).get(name))
                 for name, formula in formulas.items()]
    needed = sorted(set().union(*(helpers_used(f) for f in formulas.values())))
    needed = [h for h in needed if not any(f"def {h}(" in line for other in needed if other != h
                                           for line in HELPERS[other])]  # gelu's helper defines erf too
    blocks = ["\n".join(HELPERS[h]).replace("np.", f"{alias}.") for h in needed] + functions
    header = "import numpy" if alias == "numpy" else f"import numpy as {alias}"
    return "\n\n\n".join([header, *blocks]) + "\n"


def numpy_alias(variables: dict[str, Any]) -> str:
    """`np`, unless a variable has that name.

    >>> numpy_alias({"X": (2, 3)}), numpy_alias({"np": (2, 3)})
    ('np', 'numpy')
    """
    return next(a for a in ("np", "numpy", "np_", "numpy_") if a not in variables)


def function(expression: str, variables: dict[str, tuple[Size, ...]], name: str, formula: Any,
             alias: str = "np", heading: tuple[str, str] | None = None) -> str:
    """One function `grad_NAME(variables...)` returning the gradient with respect to NAME, in NAME's shape.

    `heading` is another (signature, first docstring line) for other derivatives (`derive --hessian`).

    >>> import sympy as sp
    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> print(function("sum(X**2)", {"X": (2, 3)}, "X", 2 * X))
    def grad_X(X):
        \"""∂/∂X of sum(X**2), where X: 2x3.
    <BLANKLINE>
        2*X
        \"""
        return 2 * X
    """
    sizes = {n for shape in variables.values() for n in shape if isinstance(n, str)}
    definitions, compact = cse.shared(formula, taken=set(variables) | sizes)
    code = Printer(numpy_style(alias)).text
    body = [*(f"{t} = {code(d)}" for t, d in definitions),
            f"return {code(compact)}"]
    used = {n for n in sizes if any(re.search(rf"(?<![\w.]){n}(?!\w)", line) for line in body)}
    shapes = ", ".join(f"{v}: {format_shape(shape)}" for v, shape in variables.items())
    signature, summary = heading or (f"grad_{name}({', '.join(variables)})", f"∂/∂{name} of {expression}")
    lines = [f"def {signature}:",
             f'    """{_docstring(summary)}, where {shapes}.',
             "",
             f"    {_docstring(syntax(formula))}",
             '    """',
             *(f"    {line}" for line in [*_bindings(variables, used), *body])]
    return "\n".join(lines)


def numpy_style(alias: str = "np") -> Style:
    """The printer's style for NumPy code, with `alias` for the NumPy module.

    >>> numpy_style().calls["relu"], numpy_style("numpy").ones
    ('np.maximum({0}, 0)', 'numpy.ones(({}, {}))')
    """
    calls = {name: template.replace("np.", f"{alias}.") for name, template in CALLS.items()}
    return replace(SYNTAX, matmul=" @ ", hadamard=" * ", divide=" / ", times=" * ", fraction="{} / {}",
                   eye=f"{alias}.eye({{}})", ones=f"{alias}.ones(({{}}, {{}}))", zeros=f"{alias}.zeros(({{}}, {{}}))",
                   ones_1d=f"{alias}.ones({{}})", zeros_1d=f"{alias}.zeros({{}})", calls=calls, pi=f"{alias}.pi",
                   inf=f"{alias}.inf")


def helpers_used(formula: Any) -> set[str]:
    """The helper functions (not in NumPy) that a formula calls.

    >>> from gradcalc.symbolic import vocabulary as s
    >>> helpers_used(s.fn("sigmoid", sp.MatrixSymbol("X", 2, 3)))
    {'sigmoid'}
    """
    return {called(e) for e in sp.preorder_traversal(formula)} & set(HELPERS)


def _bindings(variables: dict[str, tuple[Size, ...]], used: set[str]) -> list[str]:
    """`n, k = X.shape` lines: each size the formula uses, read off the first argument that has it."""
    lines, bound = [], set()
    for name, shape in variables.items():
        wanted: dict[str, int] = {}
        for axis, n in enumerate(shape):
            if n in used and n not in bound:
                wanted.setdefault(n, axis)
        bound.update(wanted)
        if len(wanted) == 2:
            lines.append(f"{', '.join(wanted)} = {name}.shape")
        else:
            lines += [f"{n} = {name}.shape[{axis}]" for n, axis in wanted.items()]
    return lines


def _docstring(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', r'\"\"\"')
