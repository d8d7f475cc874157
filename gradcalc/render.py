"""Two views of one result: Rich tables for people, a JSON document for scripts.

>>> from gradcalc.pipeline import run_eval
>>> doc = to_json(run_eval("sum(x*x)", shapes={"x": (1, 2)}))
>>> doc["gradients"]["x"]["verdict"], doc["variables"]["x"]["shape"]
('equal', [1, 2])
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from gradcalc import __version__
from gradcalc.pipeline import EvalResult, Gradient
from gradcalc.shapes import format_shape

VERDICT_STYLE = {"equal": "bold green", "kink": "bold yellow", "mismatch": "bold red", "undefined": "bold red"}
MAX_ROWS, MAX_COLS = 12, 8
GAP = "   "


def plain(x: Any) -> Any:
    """Arrays and NumPy scalars as strict-JSON values: nested lists, non-finite as None.

    >>> plain(np.array([[1.0, np.nan]])), plain(np.array([0.1], dtype=np.float32))
    ([[1.0, None]], [0.1])
    """
    if isinstance(x, np.ndarray):
        if x.dtype != np.float32:
            return plain(x.tolist())
        return plain(x[()]) if x.ndim == 0 else [plain(v) for v in x]
    if isinstance(x, np.float32):  # the shortest digits that read back as the same float32
        x = float(str(x))
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def to_json(result: EvalResult) -> dict[str, Any]:
    """The SPEC section 6 document for `gradcalc eval --json`.

    >>> from gradcalc.pipeline import run_eval
    >>> doc = to_json(run_eval("trace(A@B)", wrt=["A"]))
    >>> doc["verdict"], doc["gradients"]["A"]["symbolic"]["formula"], doc["tolerance"]
    ('equal', 'B.T', {'rtol': 1e-07, 'atol': None})
    """
    return {
        "gradcalc": __version__,
        "expression": result.expression,
        "variables": {
            v.name: {"shape": list(v.shape), "source": v.source, "default_shape": v.default_shape}
            for v in result.variables
        },
        "dtype": result.dtype,
        "value": plain(np.asarray(result.value, dtype=result.dtype)),
        "gradients": {g.name: _gradient_json(g) for g in result.gradients},
        "tolerance": {"rtol": result.rtol, "atol": result.atol},
        "notes": result.notes,
        "verdict": result.verdict,
    }


def _gradient_json(g: Gradient) -> dict[str, Any]:
    return {
        "shape": list(g.shape),
        "autograd": plain(g.autograd),
        "symbolic": {"formula": g.formula, "pretty": g.pretty, "latex": g.latex, "value": plain(g.symbolic),
                     "shared": {"where": [{"name": n, "formula": f} for n, f in g.shared], "formula": g.compact}},
        "finite_difference": {"value": plain(g.finite_difference), "step": g.step,
                              "max_abs_diff": plain(g.fd_max_abs_diff), "untrusted_entries": g.untrusted},
        "max_abs_diff": plain(g.max_abs_diff),
        "max_rel_diff": plain(g.max_rel_diff),
        "verdict": g.verdict,
    }


def format_matrix(a: np.ndarray) -> list[list[str]]:
    """Entries as text with one format for the whole matrix; big matrices elided with '…'.

    >>> format_matrix(np.array([[1.5, -2.0]]))
    [['1.5000', '-2.0000']]
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    finite = np.abs(a[np.isfinite(a) & (a != 0)])
    fixed = finite.size == 0 or (finite.min() >= 1e-3 and finite.max() < 1e5)
    fmt = "{:.4f}" if fixed else "{:.3e}"
    rows = _elide(range(a.shape[0]), MAX_ROWS)
    cols = _elide(range(a.shape[1]), MAX_COLS)
    return [["⋮" if i is None else "…" if j is None else fmt.format(a[i, j]) for j in cols] for i in rows]


def _elide(indices: range, limit: int) -> list[int | None]:
    if len(indices) <= limit:
        return list(indices)
    half = limit // 2
    return [*indices[:half], None, *indices[-half:]]


def _number(x: float) -> str:
    return "nan" if x is None or not math.isfinite(x) else f"{x:.3g}"


def show(result: EvalResult, console: Any) -> None:
    """Print the side-by-side view of a result on a Rich console.

    >>> import io, rich.console; from gradcalc.pipeline import run_eval
    >>> console = rich.console.Console(file=io.StringIO(), width=100)
    >>> show(run_eval("trace(A@B)", wrt=["A"]), console); "∂f/∂A" in console.file.getvalue()
    True
    """
    from rich.table import Table
    from rich.text import Text

    precision = "" if result.dtype == "float64" else f"  ({result.dtype})"
    console.print(Text.assemble(("gradcalc eval  ", "dim"), (result.expression, "bold"), (precision, "dim")))
    header = Table(box=None, padding=(0, 2), show_header=True, header_style="dim")
    for column in ("variable", "shape", "values"):
        header.add_column(column)
    for v in result.variables:
        shape = format_shape(v.shape) + (" (default)" if v.default_shape else "")
        header.add_row(v.name, shape, v.source)
    console.print(header)
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))
    console.print(Text.assemble("f = ", (_value(result.value), "bold")))
    for g in result.gradients:
        console.print()
        _show_gradient(g, console, Text)
    console.print()
    console.print(Text.assemble("verdict: ", (result.verdict, VERDICT_STYLE[result.verdict])))


def _value(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else str(x)


def _show_gradient(g: Gradient, console: Any, text_type: Any) -> None:
    console.print(text_type.assemble(("∂f/∂" + g.name, "bold cyan"), f"  ({format_shape(g.shape)})"))
    blocks = [_block("autograd (tape)", g.autograd), _block("symbolic (closed form)", g.symbolic)]
    if sum(len(b[0]) for b in blocks) + len(GAP) <= console.width:
        blocks = [[GAP.join(lines) for lines in zip(*blocks)]]
    for lines in blocks:
        console.print(text_type(lines[0], style="dim"))
        for line in lines[1:]:
            console.print(line)
    console.print(text_type.assemble(("formula  ", "dim"), g.formula))
    console.print(text_type.assemble(("         ", "dim"), g.pretty))
    if g.shared and len(g.compact) + sum(len(f) for _, f in g.shared) < 0.75 * len(g.formula):
        console.print(text_type.assemble(("shared   ", "dim"), g.compact))
        for name, formula in g.shared:
            console.print(text_type.assemble(("  where  ", "dim"), f"{name} = {formula}"))
    fd_note = f"finite differences ±{_number(g.fd_max_abs_diff)} (h {g.step:.1e})"
    if g.untrusted:
        fd_note += f", {g.untrusted} entries at a kink"
    console.print(text_type.assemble(
        (g.verdict, VERDICT_STYLE[g.verdict]),
        f"  abs diff {_number(g.max_abs_diff)} · rel diff {_number(g.max_rel_diff)} · {fd_note}",
    ))


def _block(title: str, a: np.ndarray) -> list[str]:
    """A titled matrix as lines of equal width, columns right-aligned."""
    rows = format_matrix(a)
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    lines = [" ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    width = max(len(title), len(lines[0]))
    return [title.ljust(width), *(line.ljust(width) for line in lines)]


def show_ops(entries: list[Any], console: Any) -> None:
    """Print the operator catalogue as a Rich table (G is the adjoint of the output)."""
    from rich.table import Table

    table = Table(title="gradcalc operators (G: adjoint of the output; A, B: inputs)", show_lines=False,
                  header_style="bold", title_justify="left")
    for column in ("op", "spellings", "shapes", "derivative", "at a kink"):
        table.add_column(column, overflow="fold")
    for e in entries:
        spellings = [*(f"{f}(...)" for f in e.functions), *(f".{m}()" for m in e.methods)]
        if e.symbol:
            spellings.insert(0, e.symbol)
        rule = "; ".join(f"{k}: {v}" if k else v for k, v in e.derivative.items()) or "constant"
        table.add_row(e.name, ", ".join(spellings), e.shapes, rule, e.convention)
    console.print(table)


OUTCOME_STYLE = {"passed": "green", "failed": "bold red", "timeout": "bold red", "error": "bold red"}


def show_batch(reports: list[dict[str, Any]], summary: dict[str, Any], console: Any) -> None:
    """The batch summary table, then the details of every case that did not pass, then one line of counts.

    >>> import io, rich.console
    >>> console = rich.console.Console(file=io.StringIO(), width=100)
    >>> report = {"file": "s.toml", "case": "n", "expect": "equal", "verdict": "equal", "passed": True,
    ...           "outcome": "passed", "seconds": 0.01, "gradients": {}}
    >>> show_batch([report], {"passed": 1, "failed": 0, "errors": 0, "timeouts": 0, "seconds": 0.5,
    ...                       "cases": 1, "selected": 1, "interrupted": False, "stopped_early": False}, console)
    >>> console.file.getvalue().splitlines()[-1]
    '1 passed, 0 failed in 0.50 s'
    """
    from rich.table import Table
    from rich.text import Text

    from gradcalc.batch import summary_line

    table = Table(header_style="bold", show_edge=False, pad_edge=False)
    table.add_column("case", no_wrap=True, overflow="ellipsis", max_width=max(20, console.width - 50))
    for column, justify, width in (("verdict", "left", 9), ("expected", "left", 9), ("max diff", "right", 8),
                                   ("time", "right", 6)):
        table.add_column(column, justify=justify, no_wrap=True, min_width=width)
    for r in reports:
        shown = r.get("verdict") or r["outcome"]
        table.add_row(f"{Path(r['file']).name}: {r['case'] or '(file)'}",
                      Text(shown, style=OUTCOME_STYLE[r["outcome"]] if not r["passed"] else "green"),
                      r["expect"] or "", _number(_max_diff(r)) if r.get("gradients") else "",
                      f"{r['seconds']:.2f} s")
    console.print(table)
    for r in reports:
        if not r["passed"]:
            _show_failure(r, console, Text)
    style = "bold green" if summary["passed"] == summary["selected"] else "bold red"
    console.print(Text(summary_line(summary), style=style))


def _max_diff(report: dict[str, Any]) -> float | None:
    diffs = [g["max_abs_diff"] for g in report["gradients"].values()]
    return None if None in diffs else max(diffs, default=0.0)


def _show_failure(r: dict[str, Any], console: Any, text_type: Any) -> None:
    console.print()
    title = f"{r['outcome'].upper()} {r['file']}" + (f": {r['case']}" if r["case"] else "")
    console.print(text_type(title, style="bold red"))
    if "error" in r:
        console.print(f"  {r['error']['message']}")
    for failure in r.get("failures", []):
        console.print(f"  {failure}")
    for name, g in r.get("gradients", {}).items():
        if g["verdict"] == "equal":
            continue
        console.print(text_type.assemble(f"  ∂f/∂{name}: ", (g["verdict"], VERDICT_STYLE[g["verdict"]]),
                                          f"  formula {g['symbolic']['formula']}"))
        for line in _worst_entries(g):
            console.print(f"    {line}")


def _worst_entries(g: dict[str, Any], count: int = 3) -> list[str]:
    """The entries where autograd, the closed form and finite differences disagree most."""
    auto, sym, fd = (np.array(v, dtype=np.float64) for v in
                     (g["autograd"], g["symbolic"]["value"], g["finite_difference"]["value"]))
    spread = np.nan_to_num(np.maximum(np.abs(auto - sym), np.abs(auto - fd)), nan=np.inf)
    order = np.argsort(-spread, axis=None)[:count]
    lines = []
    for flat in order:
        index = np.unravel_index(flat, auto.shape) if auto.ndim else ()
        at = f"[{', '.join(map(str, index))}]" if auto.ndim else "value"
        lines.append(f"{at}: autograd {auto[index]:.6g}, symbolic {sym[index]:.6g}, "
                     f"finite differences {fd[index]:.6g}")
    return lines
