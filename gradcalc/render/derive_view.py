"""`gradcalc derive`'s two views: the JSON document and the Rich listing of every form of each formula.

>>> from gradcalc.jobs.derive import run_derive
>>> derive_json(run_derive("trace(A@B)"))["gradients"]["A"]["formula"]
'B.T'
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from gradcalc import __version__
from gradcalc.jobs.results import DeriveResult, DerivedGradient
from gradcalc.lang.dims import format_shape


def derive_json(result: DeriveResult) -> dict[str, Any]:
    """The `gradcalc derive --json` document; named sizes are strings, numbers are ints.

    >>> from gradcalc.jobs.derive import run_derive
    >>> from gradcalc.options import EvalOptions
    >>> doc = derive_json(run_derive("sum(X@W)", EvalOptions(wrt=["W"], shapes={"X": ("n", 4)})))
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
        **({"hessian": {"blocks": [{"rows": b.rows, "columns": b.columns, "formula": b.formula or None,
                                    "pretty": b.pretty or None, "latex": b.latex or None,
                                    "action": {"direction": b.direction, "formula": b.action,
                                               "pretty": b.action_pretty, "latex": b.action_latex}}
                                   for b in result.hessian], "code": result.hessian_code}} if result.hessian else {}),
        "notes": result.notes,
    }


def show(result: DeriveResult, console: Any, latex: bool = False, code: bool = False) -> None:
    """Print the variables, then per variable the formula in every form asked for, then the code.

    Formulas and code are printed unwrapped, so that they can be copied as they are.

    >>> import io, rich.console
    >>> from gradcalc.jobs.derive import run_derive
    >>> console = rich.console.Console(file=io.StringIO(), width=100)
    >>> show(run_derive("mean(X)"), console)
    >>> for line in console.file.getvalue().splitlines()[-3:]: print(line.rstrip())
    ∂f/∂X  (n×k)
    formula  ones(n, k)/(k*n)
    pretty   𝟏ₙₓₖ/(k·n)
    """
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
    for b in result.hessian:
        console.print()
        console.print(Text.assemble((f"∂²f/∂{b.rows}∂{b.columns}", "bold cyan"),
                                    "  Hessian block" if b.formula else f"  its action on a direction {b.direction}"
                                    f" shaped like {b.columns}"))
        forms = [("formula", b.formula), ("pretty", b.pretty), ("latex", b.latex)] if b.formula else [
            ("formula", f"{b.action}"), ("pretty", f"H·{b.direction} = {b.action_pretty}"), ("latex", b.action_latex)]
        for label, text in forms if latex else forms[:2]:
            console.print(Text.assemble((label.ljust(9), "dim"), text), soft_wrap=True)
    if code:
        console.print()
        console.print(Text("# NumPy code: one function per variable", style="dim"))
        console.print(Text(result.code.rstrip("\n")), soft_wrap=True)
        if result.hessian_code:
            console.print()
            console.print(Text("# NumPy code: one function per Hessian block", style="dim"))
            console.print(Text(result.hessian_code.rstrip("\n")), soft_wrap=True)


def _forms(g: DerivedGradient, latex: bool) -> list[tuple[str, str]]:
    """(label, text) lines: formula, pretty, LaTeX if asked, and the shared form when markedly shorter."""
    lines = [("formula", g.formula), ("pretty", g.pretty)]
    if latex:
        lines.append(("latex", g.latex))
    if g.shared and len(g.compact) + sum(len(f) for _, f in g.shared) < 0.75 * len(g.formula):
        lines.append(("shared", g.compact))
        lines += [("  where", f"{name} = {formula}") for name, formula in g.shared]
    return lines
