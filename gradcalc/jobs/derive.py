"""`gradcalc derive`: the symbolic side alone, with sizes that may stay symbolic, and its two views.

`run_derive` parses, infers shapes keeping named sizes (`--shape X=n,k`;
free sizes get names too: n, k, m, ...), derives the closed forms with the
same rules as `eval` and prints them as gradcalc syntax, Unicode, LaTeX,
a shared-subexpression form and runnable NumPy code. `show` and `to_json`
render the result.

>>> result = run_derive("sum((relu(X@W)-Y)**2)", wrt=["W"], shapes={"X": ("n", "k")})
>>> result.variables, result.gradients[0].formula
({'X': ('n', 'k'), 'W': ('k', 'm'), 'Y': ('n', 'm')}, '2*X.T@((relu(X@W) - Y)*heaviside(X@W))')
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from typing import Any

from gradcalc import __version__
from gradcalc.errors import InputError, ShapeError
from gradcalc.lang.dims import format_shape, Size, SIZE_NAMES
from gradcalc.lang.infer import infer
from gradcalc.jobs.results import DeriveResult, DerivedGradient

RESERVED_SIZE_NAMES = {"unit", "np", "numpy"}  # the 1-D marker in formulas, and the code's NumPy module


def run_derive(expression: str, wrt: list[str] | None = None,
               shapes: dict[str, tuple[Size, ...]] | None = None) -> DeriveResult:
    """Derive the closed-form gradients of a scalar expression; sizes may be names (`{"X": ("n", "k")}`).

    >>> run_derive("x@A@x", shapes={"x": ("n",)}).gradients[1].formula
    'outer(x, x)'
    """
    from gradcalc.symbolic import codegen
    from gradcalc.jobs.evaluate import derive, parse_named

    tree, names, wrt = parse_named(expression, wrt, shapes)
    _check_size_names(shapes or {}, names)
    info = infer(tree, dict(shapes or {}), expression, scalar=True, symbolic=True)
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
    return DeriveResult(expression, info.variables, gradients, program, info.defaulted, info.notes)


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
    from gradcalc.lang.ops import lookup_function

    if size in variables:
        return "a variable's name"
    if lookup_function(size):
        return "a function's name"
    if keyword.iskeyword(size):
        return "a Python keyword"
    return "reserved" if size in RESERVED_SIZE_NAMES else ""


def to_json(result: DeriveResult) -> dict[str, Any]:
    """The `gradcalc derive --json` document; named sizes are strings, numbers are ints.

    >>> doc = to_json(run_derive("sum(X@W)", wrt=["W"], shapes={"X": ("n", 4)}))
    >>> doc["variables"]["W"]["shape"], doc["gradients"]["W"]["formula"]
    ([4, 'k'], 'X.T@ones(n, k)')
    """
    return {
        "gradcalc": __version__,
        "expression": result.expression,
        "variables": {name: {"shape": list(shape), "default_shape": name in result.defaulted}
                      for name, shape in result.variables.items()},
        "gradients": {g.name: {"shape": list(g.shape), "formula": g.formula, "pretty": g.pretty, "latex": g.latex,
                               "shared": {"where": [{"name": n, "formula": f} for n, f in g.shared],
                                          "formula": g.compact},
                               "code": g.code}
                      for g in result.gradients},
        "code": result.code,
        "notes": result.notes,
    }


def show(result: DeriveResult, console: Any, latex: bool = False, code: bool = False) -> None:
    """Print the variables, then per variable the formula in every form asked for, then the code.

    Formulas and code are printed unwrapped, so that they can be copied as they are.

    >>> import io, rich.console
    >>> console = rich.console.Console(file=io.StringIO(), width=100)
    >>> show(run_derive("mean(X)"), console)
    >>> for line in console.file.getvalue().splitlines()[-3:]: print(line.rstrip())
    ∂f/∂X  (n×k)
    formula  ones(n, k)/(k*n)
    pretty   𝟏ₙₓₖ/(k·n)
    """
    from rich.table import Table
    from rich.text import Text

    console.print(Text.assemble(("gradcalc derive  ", "dim"), (result.expression, "bold")), soft_wrap=True)
    table = Table(box=None, padding=(0, 2), show_header=True, header_style="dim")
    for column in ("variable", "shape"):
        table.add_column(column)
    for name, shape in result.variables.items():
        table.add_row(name, format_shape(shape) + (" (default)" if name in result.defaulted else ""))
    console.print(table)
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))
    for g in result.gradients:
        console.print()
        console.print(Text.assemble(("∂f/∂" + g.name, "bold cyan"), f"  ({format_shape(g.shape)})"))
        for label, text in _forms(g, latex):
            console.print(Text.assemble((label.ljust(9), "dim"), text), soft_wrap=True)
    if code:
        console.print()
        console.print(Text("# NumPy code: one function per variable", style="dim"))
        console.print(Text(result.code.rstrip("\n")), soft_wrap=True)


def _forms(g: DerivedGradient, latex: bool) -> list[tuple[str, str]]:
    """(label, text) lines: formula, pretty, LaTeX if asked, and the shared form when markedly shorter."""
    lines = [("formula", g.formula), ("pretty", g.pretty)]
    if latex:
        lines.append(("latex", g.latex))
    if g.shared and len(g.compact) + sum(len(f) for _, f in g.shared) < 0.75 * len(g.formula):
        lines.append(("shared", g.compact))
        lines += [("  where", f"{name} = {formula}") for name, formula in g.shared]
    return lines
