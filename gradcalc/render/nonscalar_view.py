"""Views of `eval --vjp` and `eval --jacobian`: the JSON documents and the Rich tables.

The VJP is an eval of f = sum(v*(y)), so its views extend the eval views in `gradcalc.render`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text

from gradcalc import __version__
from gradcalc.render.eval_view import GAP, VERDICT_STYLE, number, format_matrix, plain, show, to_json
from gradcalc.jobs.results import Jacobian, JacobianResult, VjpResult
from gradcalc.lang.dims import format_shape

JACOBIAN_EDGE = 6  # rows and (at most) columns shown at each end of an elided Jacobian


def vjp_json(vjp: VjpResult) -> dict[str, Any]:
    """`eval --vjp --json`: the eval document of f = sum(v*(y)), with `expression` and `value` those of y.

    >>> from gradcalc.jobs.vjp import run_vjp; from gradcalc.values.draw import Value
    >>> from gradcalc.options import EvalOptions
    >>> doc = vjp_json(run_vjp("2*x", EvalOptions(vjp=Value(np.array([1.0, 0.1]), "inline"))))
    >>> doc["expression"], doc["vjp"]["expression"], doc["vjp"]["value"], doc["gradients"]["x"]["autograd"]
    ('2*x', 'sum(v*(2*x))', [1.0, 0.1], [2.0, 0.2])
    """
    doc = to_json(vjp.result)
    weights = {"weight": vjp.weight, "shape": list(vjp.weights.shape), "value": plain(vjp.weights),
               "source": vjp.source, "expression": vjp.result.expression, "f": doc["value"]}
    head = {"gradcalc": doc["gradcalc"], "expression": vjp.expression, "variables": doc["variables"],
            "dtype": doc["dtype"], "value": plain(vjp.output), "vjp": weights}
    return {**head, **{key: value for key, value in doc.items() if key not in head}}


def jacobian_json(result: JacobianResult) -> dict[str, Any]:
    """`eval --jacobian --json`: the output's value, and each variable's Jacobian with labels and verdict.

    >>> from gradcalc.jobs.jacobian import run_jacobian
    >>> from gradcalc.options import EvalOptions
    >>> doc = jacobian_json(run_jacobian("2*x", EvalOptions(shapes={"x": (2,)})))
    >>> doc["jacobians"]["x"]["rows"], doc["jacobians"]["x"]["autograd"], doc["verdict"]
    (['y[0]', 'y[1]'], [[2.0, 0.0], [0.0, 2.0]], 'equal')
    """
    return {
        "gradcalc": __version__,
        "expression": result.expression,
        "variables": {v.name: {"shape": list(v.shape), "source": v.source, "default_shape": v.default_shape}
                      for v in result.variables},
        "dtype": result.dtype,
        "value": plain(result.output),
        "jacobians": {j.name: _jacobian_json(j, result.weight) for j in result.jacobians},
        "tolerance": {"rtol": result.rtol, "atol": result.atol},
        "notes": result.notes,
        "verdict": result.verdict,
    }


def _jacobian_json(j: Jacobian, weight: str) -> dict[str, Any]:
    return {
        "shape": list(j.autograd.shape), "rows": j.rows, "columns": j.columns,
        "autograd": plain(j.autograd),
        "symbolic": {"formula": j.formula, "pretty": j.pretty, "latex": j.latex, "weight": weight,
                     "value": plain(j.symbolic)},
        "finite_difference": {"value": plain(j.finite_difference), "step": plain(j.step),
                              "max_abs_diff": plain(j.fd_max_abs_diff), "untrusted_entries": j.untrusted, "unsure_entries": j.unsure},
        "max_abs_diff": plain(j.max_abs_diff),
        "max_rel_diff": plain(j.max_rel_diff),
        "verdict": j.verdict,
    }


def show_vjp(vjp: VjpResult, console: Any, precision: int = 4) -> None:
    """The eval view of f = sum(v*(y)), under a line saying that its gradients are vᵀJ.

    >>> import io, rich.console; from gradcalc.jobs.vjp import run_vjp; from gradcalc.values.draw import Value
    >>> console = rich.console.Console(file=io.StringIO(), width=100)
    >>> from gradcalc.options import EvalOptions
    >>> show_vjp(run_vjp("2*x", EvalOptions(vjp=Value(np.array([1.0, 0.1]), "inline"))), console)
    >>> console.file.getvalue().splitlines()[0]
    'vector-Jacobian product vᵀJ of y = 2*x (2): the gradients of f = sum(v*y), with v from --vjp'
    """

    v = vjp.weight
    console.print(Text.assemble(("vector-Jacobian product ", "dim"), (f"{v}ᵀJ", "bold"),
                                (f" of y = {vjp.expression.strip()} ({format_shape(vjp.output.shape)}): the "
                                 f"gradients of f = sum({v}*y), with {v} from --vjp", "dim")))
    show(vjp.result, console, precision)


def show_jacobian(result: JacobianResult, console: Any, precision: int = 4) -> None:
    """Each variable's Jacobian as a labelled table, tape beside closed form when the terminal is wide enough.

    >>> import io, rich.console; from gradcalc.jobs.jacobian import run_jacobian
    >>> console = rich.console.Console(file=io.StringIO(), width=100)
    >>> from gradcalc.options import EvalOptions
    >>> show_jacobian(run_jacobian("2*x", EvalOptions(shapes={"x": (2,)})), console)
    >>> text = console.file.getvalue(); "∂y/∂x  Jacobian 2x2" in text, text.count("y[1] 0.0000 2.0000")
    (True, 2)
    """

    dtype_note = "" if result.dtype == "float64" else f"  ({result.dtype})"
    console.print(Text.assemble(("gradcalc eval --jacobian  ", "dim"), (result.expression, "bold"),
                                (dtype_note, "dim")))
    header = Table(box=None, padding=(0, 2), show_header=True, header_style="dim")
    for column in ("variable", "shape", "values"):
        header.add_column(column)
    for v in result.variables:
        header.add_row(v.name, format_shape(v.shape) + (" (default)" if v.default_shape else ""), v.source)
    console.print(header)
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))
    console.print(Text.assemble("y = ", (result.expression.strip(), "bold"),
                                f"  ({format_shape(result.output.shape)})"))
    for j in result.jacobians:
        console.print()
        _show_jacobian(j, result.weight, console, precision)
    console.print()
    console.print(Text.assemble("verdict: ", (result.verdict, VERDICT_STYLE[result.verdict])))


def _show_jacobian(j: Jacobian, weight: str, console: Any, precision: int) -> None:

    m, n = j.autograd.shape
    console.print(Text.assemble((f"∂y/∂{j.name}", "bold cyan"), f"  Jacobian {m}x{n}: J[i, j] = ∂y_i/∂{j.name}_j"))
    blocks = [labelled_block(title, a, j.rows, j.columns, precision, console.width)
              for title, a in (("autograd (tape)", j.autograd), (f"symbolic (VJP at one-hot {weight})", j.symbolic))]
    if sum(len(b[0]) for b in blocks) + len(GAP) <= console.width:
        blocks = [[GAP.join(lines) for lines in zip(*blocks)]]
    for lines in blocks:
        console.print(Text(lines[0], style="dim"))
        for line in lines[1:]:
            console.print(line, overflow="ellipsis", no_wrap=True, highlight=False)
    console.print(Text.assemble(("formula  ", "dim"), j.formula, (f"   (row i: {weight} = one-hot at y_i)", "dim")))
    console.print(Text.assemble(("         ", "dim"), j.pretty))
    fd_note = f"finite differences ±{number(j.fd_max_abs_diff)} (h {j.step:.1e})"
    if j.untrusted - j.unsure:
        fd_note += f", {j.untrusted - j.unsure} entries at a kink"
    if j.unsure:
        fd_note += f", {j.unsure} untrusted (the estimate does not settle as h shrinks)"
    console.print(Text.assemble((j.verdict, VERDICT_STYLE[j.verdict]),
                                f"  abs diff {number(j.max_abs_diff)} · rel diff {number(j.max_rel_diff)} · "
                                f"{fd_note}"))


def labelled_block(title: str, a: np.ndarray, rows: list[str], columns: list[str], precision: int,
                   width: int) -> list[str]:
    """A titled matrix with row and column labels, as lines of equal width; middle rows and columns elided.

    >>> labelled_block("H", np.eye(2), ["x[0]", "x[1]"], ["x[0]", "x[1]"], 1, 80)[1:]
    ['     x[0] x[1]', 'x[0]  1.0  0.0', 'x[1]  0.0  1.0']
    """
    shown_rows = _ends(len(rows), JACOBIAN_EDGE)
    for keep in range(JACOBIAN_EDGE, 0, -1):  # fewer columns until a line fits
        shown_cols = _ends(len(columns), keep)
        cells = format_matrix(a[np.ix_([i for i in shown_rows if i is not None],
                                       [j for j in shown_cols if j is not None])], precision)
        table = [["", *(columns[j] if j is not None else "…" for j in shown_cols)]]
        numbers = iter(cells)
        for i in shown_rows:
            entries = iter(next(numbers) if i is not None else [])
            table.append([rows[i] if i is not None else "⋮",
                          *("" if i is None else "…" if j is None else next(entries) for j in shown_cols)])
        widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]
        lines = [" ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths)))
                 for row in table]
        if len(lines[0]) <= width:
            break
    span = max(len(title), len(lines[0]))
    return [title.ljust(span), *(line.ljust(span) for line in lines)]


def _ends(n: int, edge: int) -> list[int | None]:
    """All of range(n), or `edge` indices at each end with None between."""
    return list(range(n)) if n <= 2 * edge else [*range(edge), None, *range(n - edge, n)]
