"""The Rich view of a batch run: a table of the cases, the details of each that did not pass, one line of counts.

It reads the same report dicts that `gradcalc batch --json` writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text

from gradcalc.render.eval_view import VERDICT_STYLE, number

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


    table = Table(header_style="bold", show_edge=False, pad_edge=False)
    table.add_column("case", no_wrap=True, overflow="ellipsis", max_width=max(12, console.width - 69))
    for column, justify, width in (("verdict", "left", 9), ("expected", "left", 9), ("check", "left", 8),
                                   ("result", "left", 7), ("max diff", "right", 8), ("time", "right", 6)):
        table.add_column(column, justify=justify, no_wrap=True, min_width=width)
    for r in reports:
        shown = r.get("verdict") or r["outcome"]
        check = r.get("check") or ""
        table.add_row(f"{Path(r['file']).name}: {r['case'] or '(file)'}",
                      Text(shown, style=VERDICT_STYLE.get(shown, "bold red")), r["expect"] or "",
                      Text(check, style=VERDICT_STYLE.get(check, "")),
                      Text(r["outcome"], style=OUTCOME_STYLE[r["outcome"]]),
                      number(_max_diff(r)) if r.get("gradients") else "", f"{r['seconds']:.2f} s")
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
    links = {**r.get("gradients", {}), **r.get("intermediates", {})}
    for name, g in links.items():
        mine = g.get("expect")
        if mine and mine["verdict"] != "equal":
            console.print(text_type.assemble(f"  your ∂f/∂{name}: ", (mine["verdict"], VERDICT_STYLE[mine["verdict"]]),
                                              f"  {mine['formula']}"))
            for label in ("diagnosis", "corrected"):
                if mine.get(label):
                    console.print(f"    {label}: {mine[label]}")


def _worst_entries(g: dict[str, Any], count: int = 3) -> list[str]:
    """The entries where autograd, the closed form and finite differences disagree most."""
    auto, sym, fd = (np.array(v, dtype=np.float64) for v in
                     (g["autograd"], g["symbolic"]["value"], g["finite_difference"]["value"]))
    spread = np.nan_to_num(np.fmax(np.abs(auto - sym), np.abs(auto - fd)), nan=np.inf)  # fmax: unchecked fd is NaN
    order = np.argsort(-spread, axis=None)[:count]
    lines = []
    for flat in order:
        index = np.unravel_index(flat, auto.shape) if auto.ndim else ()
        at = f"[{', '.join(map(str, index))}]" if auto.ndim else "value"
        lines.append(f"{at}: autograd {auto[index]:.6g}, symbolic {sym[index]:.6g}, "
                     f"finite differences {fd[index]:.6g}")
    return lines


# Non-scalar expressions (`eval --vjp`, `eval --jacobian`): views of `gradcalc.nonscalar`'s results.


def summary_line(s: dict[str, Any]) -> str:
    """`N passed, M failed` (plus errors and how the run ended).

    >>> summary_line({"passed": 3, "failed": 1, "errors": 2, "timeouts": 1, "seconds": 1.25,
    ...               "cases": 6, "selected": 6, "interrupted": False, "stopped_early": False})
    '3 passed, 1 failed (1 timeout), 2 errors in 1.25 s'
    """
    line = f"{s['passed']} passed, {s['failed']} failed"
    if s["timeouts"]:
        line += f" ({s['timeouts']} timeout{'s' * (s['timeouts'] > 1)})"
    if s["errors"]:
        line += f", {s['errors']} error{'s' * (s['errors'] > 1)}"
    line += f" in {s['seconds']:.2f} s"
    if s["interrupted"] or s["stopped_early"]:
        why = "interrupted" if s["interrupted"] else "stopped at the first failure (--fail-fast)"
        line += f"; {why}, {s['selected'] - s['cases']} of {s['selected']} not run"
    return line
