"""Two views of one result: Rich tables for people, a JSON document for scripts.

>>> from gradcalc.jobs.evaluate import run_eval
>>> from gradcalc.options import EvalOptions
>>> doc = to_json(run_eval("sum(x*x)", EvalOptions(shapes={"x": (1, 2)})))
>>> doc["gradients"]["x"]["verdict"], doc["variables"]["x"]["shape"]
('equal', [1, 2])
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np
from rich.text import Text

from gradcalc import __version__
from gradcalc.jobs.results import EvalResult, Expectation, Gradient
from gradcalc.lang.dims import format_shape

VERDICT_STYLE = {"equal": "bold green", "kink": "bold yellow", "mismatch": "bold red", "undefined": "bold red"}
EDGE, THRESHOLD = 3, 1000  # NumPy's edgeitems and threshold
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

    >>> from gradcalc.jobs.evaluate import run_eval
    >>> from gradcalc.options import EvalOptions
    >>> doc = to_json(run_eval("trace(A@B)", EvalOptions(wrt=["A"])))
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
        "gradients": {g.name: {**_gradient_json(g), **_chain_json(result.chains.get(g.name)),
                               **_expect_json(result.expectations, g.name)}
                      for g in result.gradients},
        **_links_json(result),
        "tolerance": {"rtol": result.rtol, "atol": result.atol},
        "notes": result.notes,
        **({"steps": [_step_json(s) for s in result.steps]} if result.steps else {}),
        "verdict": result.verdict,
    }


def _expect_json(expectations: list[Expectation], name: str) -> dict[str, Any]:
    """The user's own formula for ∂f/∂name (`--expect`), its value, differences, verdict and diagnosis."""
    for e in expectations:
        if e.name == name:
            return {"expect": {"formula": e.formula, "value": plain(e.value), "max_abs_diff": plain(e.max_abs_diff),
                               "max_rel_diff": plain(e.max_rel_diff), "verdict": e.verdict,
                               "diagnosis": e.diagnosis or None, "corrected": e.corrected or None}}
    return {}


def _links_json(result: EvalResult) -> dict[str, Any]:
    """`--expect` for named intermediates (`H = relu(Z); ...`): the engine's ∂f/∂H and the user's formula."""
    variables = {g.name for g in result.gradients}
    links = {e.name: {"autograd": plain(e.autograd), **_expect_json([e], e.name)}
             for e in result.expectations if e.name not in variables}
    return {"intermediates": links} if links else {}


def _chain_json(chain: tuple[str, str] | None) -> dict[str, Any]:
    return {"chain": {"formula": chain[1], "pretty": chain[0]}} if chain else {}


def _step_json(step: Any) -> dict[str, Any]:
    return {
        "node": step.label, "pretty_node": step.name,
        "definition": {"formula": step.definition_syntax, "pretty": step.definition},
        "shape": list(step.shape), "value": plain(step.value),
        "adjoint": {"chain": step.chain_syntax, "chain_pretty": step.chain,
                    "formula": step.formula, "pretty": step.pretty},
        "autograd": plain(step.autograd), "symbolic": plain(step.symbolic),
        "finite_difference": {"value": plain(step.finite_difference), "max_abs_diff": plain(step.fd_max_abs_diff)},
        "max_abs_diff": plain(step.max_abs_diff),
        "verdict": step.verdict,
    }


def _gradient_json(g: Gradient) -> dict[str, Any]:
    return {
        "shape": list(g.shape),
        "autograd": plain(g.autograd),
        "symbolic": {"formula": g.formula, "pretty": g.pretty, "latex": g.latex, "value": plain(g.symbolic),
                     "shared": {"where": [{"name": n, "formula": f} for n, f in g.shared], "formula": g.compact}},
        "finite_difference": {"value": plain(g.finite_difference), "step": plain(g.step),
                              "max_abs_diff": plain(g.fd_max_abs_diff), "untrusted_entries": g.untrusted,
                              "unsure_entries": g.unsure, "checked_entries": g.fd_checked},
        "max_abs_diff": plain(g.max_abs_diff),
        "max_rel_diff": plain(g.max_rel_diff),
        "verdict": g.verdict,
    }


def format_matrix(a: np.ndarray, precision: int = 4, width: int | None = None) -> list[list[str]]:
    """Entries as text, one format for the whole matrix, elided as NumPy elides ('…', '⋮').

    Above NumPy's threshold (1000 entries) only 3 rows and columns at each
    edge are shown; and columns are dropped from the middle until a row fits
    in `width` characters.

    >>> format_matrix(np.array([[1.5, -2.0]]))
    [['1.5000', '-2.0000']]
    >>> format_matrix(np.arange(8.0).reshape(1, 8), precision=1, width=20)
    [['0.0', '1.0', '…', '6.0', '7.0']]
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64)) + 0.0  # + 0.0 turns -0.0 into 0.0
    fmt = _entry_format(a, precision)
    big = a.size > THRESHOLD
    rows = _elide(range(a.shape[0]), EDGE if big else a.shape[0])
    keep = EDGE if big else a.shape[1]

    def cells(cols: list[int | None]) -> list[list[str]]:
        return [["⋮" if i is None else "…" if j is None else fmt.format(a[i, j]) for j in cols] for i in rows]

    table = cells(_elide(range(a.shape[1]), keep))
    while width is not None and keep > 1 and _width(table) > width:
        keep = min(keep, (a.shape[1] + 1) // 2) - 1
        table = cells(_elide(range(a.shape[1]), keep))
    return table


def _entry_format(a: np.ndarray, precision: int) -> str:
    finite = np.abs(a[np.isfinite(a) & (a != 0)])
    fixed = finite.size == 0 or (finite.min() >= 10.0 ** -min(precision, 3) and finite.max() < 1e5)
    return f"{{:.{precision}f}}" if fixed else f"{{:.{max(precision - 1, 0)}e}}"


def _width(table: list[list[str]]) -> int:
    columns = len(table[0])
    return sum(max(len(row[j]) for row in table) for j in range(columns)) + columns - 1


def _elide(indices: range, edge: int) -> list[int | None]:
    """All indices, or `edge` at each end with None between."""
    if len(indices) <= 2 * edge:
        return list(indices)
    return [*indices[:edge], None, *indices[-edge:]]


def number(x: float | None) -> str:
    """A difference or size in 3 significant digits; a missing or non-finite one as nan.

    >>> number(1.23456e-9), number(None)
    ('1.23e-09', 'nan')
    """
    return "nan" if x is None or not math.isfinite(x) else f"{x:.3g}"


def show(result: EvalResult, console: Any, precision: int = 4) -> None:
    """Print the side-by-side view of a result on a Rich console, entries with `precision` decimals.

    >>> import io, rich.console; from gradcalc.jobs.evaluate import run_eval
    >>> console = rich.console.Console(file=io.StringIO(), width=100)
    >>> from gradcalc.options import EvalOptions
    >>> show(run_eval("trace(A@B)", EvalOptions(wrt=["A"])), console); "∂f/∂A" in console.file.getvalue()
    True
    """

    dtype_note = "" if result.dtype == "float64" else f"  ({result.dtype})"
    shown = "; ".join(line.strip() for line in result.expression.splitlines() if line.strip())  # statements
    console.print(Text.assemble(("gradcalc eval  ", "dim"), (shown, "bold"), (dtype_note, "dim")))
    rows = [("variable", "shape", "values"), *((v.name, format_shape(v.shape) + " (default)" * v.default_shape,
                                                  v.source) for v in result.variables)]
    lines = columns(rows)
    console.print(Text(lines[0], style="dim"))
    for line in lines[1:]:
        console.print(line, overflow="fold")
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))
    console.print(Text.assemble("f = ", (_value(result.value, precision), "bold")))
    if result.steps:
        _show_steps(result, console, precision)
    variables = {g.name for g in result.gradients}
    for e in result.expectations:
        if e.name not in variables:  # a named intermediate's link, before the variables' gradients
            console.print()
            _show_expectation(e, console, precision)
    for g in result.gradients:
        console.print()
        _show_gradient(g, console, precision, result.chains.get(g.name))
        for e in result.expectations:
            if e.name == g.name:
                console.print()
                _show_expectation(e, console, precision)
    console.print()
    console.print(Text.assemble("verdict: ", (result.verdict, VERDICT_STYLE[result.verdict])))


def _value(x: float, precision: int = 4) -> str:
    return f"{x:.{precision + 2}g}" if math.isfinite(x) else str(x)


def _show_gradient(g: Gradient, console: Any, precision: int, chain: tuple[str, str] | None) -> None:

    console.print(Text.assemble(("∂f/∂" + g.name, "bold cyan"), f"  ({format_shape(g.shape)})"))
    _show_pair(console, "autograd (tape)", g.autograd, "symbolic (closed form)", g.symbolic, precision)
    lines = [("formula", g.formula), ("", g.pretty)]
    if g.shared and len(g.compact) + sum(len(f) for _, f in g.shared) < 0.75 * len(g.formula):
        lines += [("shared", g.compact), *(("  where", f"{name} = {formula}") for name, formula in g.shared)]
    if chain:
        lines.append(("chain", f"∂f/∂{g.name} = {chain[0]}"))
    _show_lines(console, lines)
    fd_note = f"finite differences ±{number(g.fd_max_abs_diff)} (h {g.step:.1e})"
    if g.fd_checked < g.autograd.size:
        fd_note += f" on {g.fd_checked} of {g.autograd.size} entries"
    if g.untrusted - g.unsure:
        fd_note += f", {g.untrusted - g.unsure} entries at a kink"
    if g.unsure:
        fd_note += f", {g.unsure} untrusted (the estimate does not settle as h shrinks)"
    console.print(Text.assemble(
        (g.verdict, VERDICT_STYLE[g.verdict]),
        f"  abs diff {number(g.max_abs_diff)} · rel diff {number(g.max_rel_diff)} · {fd_note}",
    ))


def _show_expectation(e: Expectation, console: Any, precision: int) -> None:
    """The user's formula beside the engine's gradient, its verdict in words, and the diagnosis."""
    console.print(Text.assemble(("your ∂f/∂" + e.name, "bold cyan"), "  (--expect)  ", (e.formula, "bold")))
    truth = np.asarray(e.autograd)
    if e.value is not None and np.shape(e.value) == truth.shape:
        _show_pair(console, "autograd (tape)", truth, "your formula", e.value, precision)
    elif e.value is not None:
        _show_pair(console, f"autograd {format_shape(truth.shape)}", truth,
                   f"your formula {format_shape(np.shape(e.value))}", e.value, precision)
    diffs = "" if math.isnan(e.max_abs_diff) else (f"  abs diff {number(e.max_abs_diff)} · rel diff "
                                                   f"{number(e.max_rel_diff)}")
    console.print(Text.assemble((e.verdict, VERDICT_STYLE[e.verdict]), diffs))
    lines = [("diagnosis", e.diagnosis)] if e.diagnosis else []
    lines += [("corrected", e.corrected)] if e.corrected else []
    if lines:
        _show_lines(console, lines)


def _show_steps(result: EvalResult, console: Any, precision: int) -> None:
    """The backward chain: each node, its adjoint from the earlier ones, expanded, numbers, verdict."""

    console.print()
    console.print(Text.assemble(("backward chain", "bold cyan"),
                                ("  ∂f/∂node for every node, in the order the backward pass visits them "
                                 "(PyTorch's retain_grad())", "dim")))
    pad = max(len(f"{step.name} = {step.definition}") for step in result.steps)
    for step in result.steps:
        lines = [(f"{step.name} = {step.definition}".ljust(pad), f"∂f/∂{step.name} = {step.chain}")]
        if step.pretty != step.chain:
            lines.append(("", f"= {step.pretty}"))
        console.print()
        _show_lines(console, lines, left_style="bold")
        if step.name != "f":
            _show_pair(console, "engine (retain_grad)", step.autograd, "closed form", step.symbolic, precision)
        console.print(Text.assemble((step.verdict, VERDICT_STYLE[step.verdict]),
                                    f"  abs diff {number(step.max_abs_diff)} · finite differences "
                                    f"±{number(step.fd_max_abs_diff)}"))


def columns(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows of text cells as aligned lines, indented by two spaces, four between columns.

    >>> columns([("variable", "shape"), ("X", "4x3")])
    ['  variable    shape', '  X           4x3']
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "    ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def _show_lines(console: Any, lines: list[tuple[str, str]], left_style: str = "dim") -> None:
    """Label and text in two columns; long text wraps at spaces inside its own column."""


    left_width = max(len(left) for left, _ in lines)
    room = max(20, console.width - left_width - 2)
    for left, right in lines:
        wrapped = textwrap.wrap(right, room, break_on_hyphens=False) or [""]
        console.print(Text.assemble((left.ljust(left_width), left_style), "  ", wrapped[0]), no_wrap=True)
        for more in wrapped[1:]:
            console.print(" " * (left_width + 2) + more, no_wrap=True)


def _show_pair(console: Any, left_title: str, left: np.ndarray, right_title: str, right: np.ndarray,
               precision: int) -> None:
    """Two matrices side by side; one above the other where they do not fit side by side but each shows
    whole; else (a big matrix, elided anyway) each elided to half the terminal's width."""

    blocks = [_block(left_title, left, precision), _block(right_title, right, precision)]
    if max(len(b[0]) for b in blocks) > console.width or max(np.size(left), np.size(right)) > THRESHOLD:
        half = max(16, (console.width - len(GAP)) // 2)
        blocks = [_block(left_title, left, precision, half), _block(right_title, right, precision, half)]
    if sum(len(b[0]) for b in blocks) + len(GAP) <= console.width:
        blocks = [[GAP.join(lines) for lines in zip(*blocks)]]
    for lines in blocks:
        console.print(Text(lines[0], style="dim"), overflow="ellipsis", no_wrap=True)
        for line in lines[1:]:
            console.print(line, overflow="ellipsis", no_wrap=True, highlight=False)


def _block(title: str, a: np.ndarray, precision: int = 4, width: int | None = None) -> list[str]:
    """A titled matrix as lines of equal width, columns right-aligned; an elided one says its shape."""
    rows = format_matrix(a, precision, width)
    if any("…" in row or "⋮" in row for row in rows):
        title += f" {format_shape(np.shape(a))}"
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    lines = [" ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    width = max(len(title), len(lines[0]))
    return [title.ljust(width), *(line.ljust(width) for line in lines)]
