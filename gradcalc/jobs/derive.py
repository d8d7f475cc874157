"""`gradcalc derive`: the symbolic side alone, with sizes that may stay symbolic.

`run_derive` parses, infers shapes keeping named sizes (`--shape X=n,k`;
free sizes get names too: n, k, m, ...), derives the closed forms with the
same rules as `eval` and prints them as gradcalc syntax, Unicode, LaTeX,
a shared-subexpression form and runnable NumPy code.

>>> result = run_derive("sum((relu(X@W)-Y)**2)", EvalOptions(wrt=["W"], shapes={"X": ("n", "k")}))
>>> result.variables, result.gradients[0].formula
({'X': ('n', 'k'), 'W': ('k', 'm'), 'Y': ('n', 'm')}, '2*X.T@((relu(X@W) - Y)*heaviside(X@W))')
"""

from __future__ import annotations

import keyword

from gradcalc.errors import InputError, ShapeError
from gradcalc.jobs.prepare import check_size, parse_named
from gradcalc.jobs.results import DeriveResult, DerivedGradient, HessianBlock
from gradcalc.jobs.second import block_of
from gradcalc.lang.dims import SIZE_NAMES, Size, format_shape
from gradcalc.lang.infer import ShapeInfo, infer
from gradcalc.lang.ops import lookup_function
from gradcalc.options import EvalOptions
from gradcalc.symbolic import codegen
from gradcalc.lang.tree import Node
from gradcalc.symbolic.closed_form import Derivation, derive
from gradcalc.symbolic.second import hessian_blocks

RESERVED_SIZE_NAMES = {"unit", "np", "numpy"}  # the 1-D marker in formulas, and the code's NumPy module


def run_derive(expression: str, options: EvalOptions = EvalOptions()) -> DeriveResult:
    """Derive the closed-form gradients of a scalar expression; sizes may be names (`{"X": ("n", "k")}`).

    Numeric sizes count against `options.max_elements`, as in `eval`.

    >>> run_derive("x@A@x", EvalOptions(shapes={"x": ("n",)})).gradients[1].formula
    'outer(x, x)'
    """
    tree, names, wrt = parse_named(expression, options.wrt, options.shapes)
    _check_size_names(options.shapes, names)
    info = infer(tree, dict(options.shapes), expression, scalar=True, symbolic=True)
    check_size(tree, info, options.max_elements)
    out = info.of(tree)
    if out not in ((), (1, 1)):
        raise ShapeError(f"the expression is {format_shape(out)}, not a scalar, so it has no gradient; "
                         f"derive needs a scalar, e.g. sum({expression.strip()})")
    derived = derive(expression, tree, info, wrt)
    gradients = [
        DerivedGradient(name, info.variables[name], d.syntax, d.pretty, d.latex, d.shared, d.compact,
                        codegen.program(expression, info.variables, {name: d.formula}))
        for name, d in derived.items()
    ]
    program = codegen.program(expression, info.variables, {name: d.formula for name, d in derived.items()})
    result = DeriveResult(expression, info.variables, gradients, program, info.defaulted, info.notes)
    if options.hessian:
        result.hessian, result.hessian_code = hessian(expression, tree, info, wrt, derived)
    return result


def hessian(expression: str, tree: Node, info: ShapeInfo, wrt: list[str], derived: dict[str, Derivation]
            ) -> tuple[list[HessianBlock], str]:
    """`derive --hessian`: each block's closed form, and NumPy code with a function per block (`hessian_a_b`
    returns the block as a matrix; `hvp_a_b` its action on a direction, for a block with no matrix form).

    >>> r = run_derive("x@A@x", EvalOptions(shapes={"x": ("n",)}, wrt=["x"], hessian=True))
    >>> r.hessian[0].formula, r.hessian_code.splitlines()[3], r.hessian_code.splitlines()[-1]
    ('A + A.T', 'def hessian_x_x(x, A):', '    return A + A.T')
    """
    blocks = hessian_blocks(expression, tree, info, wrt, symbolic=True, gradients=derived)
    pairs = [(a, b) for a in wrt for b in wrt]  # row-major, as the Hessian's layout
    shown = [block_of(blocks[pair]) for pair in pairs]
    variables, formulas, headings = dict(info.variables), {}, {}
    for (a, b), block in ((pair, blocks[pair]) for pair in pairs):
        args = ", ".join(info.variables)
        if block.matrix is not None:
            formulas[f"{a},{b}"] = block.matrix
            headings[f"{a},{b}"] = (f"hessian_{a}_{b}({args})", f"∂²/∂{a}∂{b} of {expression.strip()} (rows: the "
                                    f"entries of {a}, columns: those of {b})")
        else:
            variables[block.direction] = info.variables[b]
            formulas[f"{a},{b}"] = block.action.formula
            headings[f"{a},{b}"] = (f"hvp_{a}_{b}({args}, {block.direction})", f"∂²/∂{a}∂{b} of "
                                    f"{expression.strip()} applied to a direction {block.direction} shaped like {b}")
    return shown, codegen.program(expression, variables, formulas, headings)


def _check_size_names(shapes: dict[str, tuple[Size, ...]], variables: list[str]) -> None:
    """A size name must not be a variable's, a function's or a Python keyword (the code binds it)."""
    for name, shape in shapes.items():
        for n in shape:
            clash = _clash(n, variables) if isinstance(n, str) else ""
            if clash:
                other = next(s for s in SIZE_NAMES if s not in variables and s not in shape)
                raise InputError(f"--shape {name}={','.join(map(str, shape))}: the size name {n!r} is {clash}; "
                                 f"choose another, e.g. {name}={','.join(other if d == n else str(d) for d in shape)}")


def _clash(size: str, variables: list[str]) -> str:
    """What a size name would collide with, or ''."""
    if size in variables:
        return "a variable's name"
    if lookup_function(size):
        return "a function's name"
    if keyword.iskeyword(size):
        return "a Python keyword"
    return "reserved" if size in RESERVED_SIZE_NAMES else ""
