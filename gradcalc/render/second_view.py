"""Views of `eval --hessian`, `eval --hvp` and `eval --jvp`: the JSON documents and the Rich listing.

>>> from gradcalc.jobs.second import run_hessian
>>> from gradcalc.options import EvalOptions
>>> doc = to_json(run_hessian("x@A@x", EvalOptions(shapes={"x": (2,)}, wrt=["x"], hessian=True)))
>>> doc["hessian"]["blocks"][0]["formula"], doc["hessian"]["labels"], doc["verdict"]
('A + A.T', ['x[0]', 'x[1]'], 'equal')
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.text import Text

from gradcalc import __version__
from gradcalc.jobs.results import DirectionalResult, HessianResult, Variable
from gradcalc.lang.dims import format_shape
from gradcalc.referee import Judgement
from gradcalc.render.eval_view import GAP, VERDICT_STYLE, columns, format_matrix, number, plain
from gradcalc.render.nonscalar_view import labelled_block

#: What each product is, in words.
TITLES = {"hvp": "Hessian-vector product", "jvp": "Jacobian-vector product (forward mode)"}


def to_json(result: HessianResult | DirectionalResult) -> dict[str, Any]:
    """The JSON document of any second-order result.

    >>> from gradcalc.jobs.second import run_jvp
    >>> from gradcalc.options import EvalOptions
    >>> from gradcalc.values.draw import Value
    >>> doc = to_json(run_jvp("2*x", EvalOptions(jvp=Value(np.ones(2), "inline"))))
    >>> doc["jvp"]["symbolic"]["formula"], doc["jvp"]["autograd"], doc["jvp"]["direction"]["name"]
    ('2*v', [2.0, 2.0], 'v')
    """
    return hessian_json(result) if isinstance(result, HessianResult) else directional_json(result)


def _head(expression: str, variables: list[Variable], dtype: str, value: Any) -> dict[str, Any]:
    return {"gradcalc": __version__, "expression": expression,
            "variables": {v.name: {"shape": list(v.shape), "source": v.source, "default_shape": v.default_shape}
                          for v in variables},
            "dtype": dtype, "value": plain(np.asarray(value, dtype=dtype))}


def _judged_json(j: Judgement) -> dict[str, Any]:
    return {"finite_difference": {"value": plain(j.finite_difference), "step": plain(j.step),
                                  "max_abs_diff": plain(j.fd_max_abs_diff), "untrusted_entries": j.untrusted},
            "max_abs_diff": plain(j.max_abs_diff), "max_rel_diff": plain(j.max_rel_diff), "verdict": j.verdict}


def hessian_json(r: HessianResult) -> dict[str, Any]:
    """`eval --hessian --json`: the Hessian, its layout, each block's closed form, finite differences, the verdict.

    >>> from gradcalc.jobs.second import run_hessian
    >>> from gradcalc.options import EvalOptions
    >>> doc = hessian_json(run_hessian("a*b*b", EvalOptions(shapes={"a": (), "b": ()}, hessian=True)))
    >>> np.round(doc["hessian"]["autograd"], 4).tolist(), [b["formula"] for b in doc["hessian"]["blocks"]]
    ([[0.0, -0.2642], [-0.2642, 0.2515]], ['0', '2*b', '2*b', '2*a'])
    """
    blocks = [{"rows": b.rows, "columns": b.columns, "formula": b.formula or None, "pretty": b.pretty or None,
               "latex": b.latex or None,
               "action": {"direction": b.direction, "formula": b.action, "pretty": b.action_pretty,
                          "latex": b.action_latex}} for b in r.blocks]
    return {**_head(r.expression, r.variables, r.dtype, r.value),
            "hessian": {"wrt": r.wrt, "layout": r.layout, "shape": list(r.autograd.shape), "labels": r.labels,
                        "autograd": plain(r.autograd),
                        "symbolic": {"value": plain(r.symbolic), "blocks": blocks},
                        "blocks": blocks, **_judged_json(r)},
            "tolerance": {"rtol": r.rtol, "atol": r.atol}, "notes": r.notes, "verdict": r.verdict}


def directional_json(r: DirectionalResult) -> dict[str, Any]:
    """`eval --hvp --json` or `eval --jvp --json`: the product along the direction, three ways, and the verdict.

    >>> from gradcalc.jobs.second import run_hvp
    >>> from gradcalc.options import EvalOptions
    >>> from gradcalc.values.draw import Value
    >>> doc = directional_json(run_hvp("sum(x*x)", EvalOptions(hvp=Value(np.ones(2), "inline"))))
    >>> doc["hvp"]["variable"], doc["hvp"]["autograd"], doc["hvp"]["symbolic"]["formula"], doc["verdict"]
    ('x', [2.0, 2.0], '2*v', 'equal')
    """
    d = r.products[0]
    return {**_head(r.expression, r.variables, r.dtype, r.value),
            r.kind: {"variable": r.variable, "name": d.name,
                     "direction": {"name": r.direction, "shape": list(r.direction_value.shape),
                                   "value": plain(r.direction_value), "source": r.source},
                     "shape": list(d.shape), "autograd": plain(d.autograd),
                     "symbolic": {"formula": d.formula, "pretty": d.pretty, "latex": d.latex,
                                  "value": plain(d.symbolic)}, **_judged_json(d)},
            "tolerance": {"rtol": r.rtol, "atol": r.atol}, "notes": r.notes, "verdict": r.verdict}


def show(result: HessianResult | DirectionalResult, console: Any, precision: int = 4) -> None:
    """The Rich view of any second-order result.

    >>> import io, rich.console; from gradcalc.jobs.second import run_hessian
    >>> from gradcalc.options import EvalOptions
    >>> console = rich.console.Console(file=io.StringIO(), width=100)
    >>> show(run_hessian("x@A@x", EvalOptions(shapes={"x": (2,)}, wrt=["x"], hessian=True)), console)
    >>> text = console.file.getvalue(); "∂²f/∂x∂x = A + Aᵀ" in text, text.splitlines()[-1]
    (True, 'verdict: equal')
    """
    if isinstance(result, HessianResult):
        show_hessian(result, console, precision)
    else:
        show_directional(result, console, precision)


def _header(command: str, expression: str, variables: list[Variable], notes: list[str], dtype: str,
            console: Any) -> None:
    dtype_note = "" if dtype == "float64" else f"  ({dtype})"
    console.print(Text.assemble((f"gradcalc eval {command}  ", "dim"), (expression.strip(), "bold"),
                                (dtype_note, "dim")))
    lines = columns([("variable", "shape", "values"),
                     *((v.name, format_shape(v.shape) + " (default)" * v.default_shape, v.source) for v in variables)])
    console.print(Text(lines[0], style="dim"))
    for line in lines[1:]:
        console.print(line, overflow="fold")
    for note in notes:
        console.print(Text(f"note: {note}", style="dim"))


def _pair(console: Any, blocks: list[list[str]]) -> None:
    """Titled blocks of lines side by side when they fit the terminal, else one under the other."""
    if sum(len(b[0]) for b in blocks) + len(GAP) * (len(blocks) - 1) <= console.width:
        blocks = [[GAP.join(lines) for lines in zip(*blocks)]]
    for lines in blocks:
        console.print(Text(lines[0], style="dim"), overflow="ellipsis", no_wrap=True)
        for line in lines[1:]:
            console.print(line, overflow="ellipsis", no_wrap=True, highlight=False)


def _verdict_line(j: Judgement, console: Any, of: str = " of the gradient") -> None:
    fd_note = f"finite differences{of} ±{number(j.fd_max_abs_diff)} (h {j.step:.1e})"
    if j.untrusted:
        fd_note += f", {j.untrusted} entries at a kink"
    console.print(Text.assemble((j.verdict, VERDICT_STYLE[j.verdict]),
                                f"  abs diff {number(j.max_abs_diff)} · rel diff {number(j.max_rel_diff)} · "
                                f"{fd_note}"))


def show_hessian(r: HessianResult, console: Any, precision: int = 4) -> None:
    """The Hessian as labelled matrices (engine beside closed form), each block's formula, and the verdict.

    >>> import io, rich.console; from gradcalc.jobs.second import run_hessian
    >>> from gradcalc.options import EvalOptions
    >>> console = rich.console.Console(file=io.StringIO(), width=100)
    >>> show_hessian(run_hessian("logdet(X)", EvalOptions(shapes={"X": (2, 2)}, hessian=True)), console)
    >>> [line for line in console.file.getvalue().splitlines() if "H·v" in line]
    ['∂²f/∂X∂X  H·v = −inv(X)ᵀvᵀinv(X)ᵀ']
    """
    _header("--hessian", r.expression, r.variables, r.notes, r.dtype, console)
    console.print(Text.assemble("f = ", (f"{r.value:.{precision + 2}g}", "bold")))
    console.print()
    n = len(r.labels)
    console.print(Text.assemble(("Hessian", "bold cyan"), f"  {n}x{n}: {r.layout}"))
    _pair(console, [labelled_block(title, a, r.labels, r.labels, precision, console.width)
                    for title, a in (("autograd (dual numbers)", r.autograd), ("symbolic (closed form)", r.symbolic))])
    for b in r.blocks:
        name = f"∂²f/∂{b.rows}∂{b.columns}"
        if b.formula:
            console.print(Text.assemble((name, "bold"), f" = {b.pretty}", ("   formula ", "dim"), b.formula),
                          soft_wrap=True)
        else:
            console.print(Text.assemble((name, "bold"), f"  H·{b.direction} = {b.action_pretty}"), soft_wrap=True)
            console.print(Text.assemble(("  formula ", "dim"), b.action, (f"   (its action on a direction "
                                        f"{b.direction} shaped like {b.columns})", "dim")), soft_wrap=True)
    _verdict_line(r, console)
    console.print()
    console.print(Text.assemble("verdict: ", (r.verdict, VERDICT_STYLE[r.verdict])))


def show_directional(r: DirectionalResult, console: Any, precision: int = 4) -> None:
    """The product along the direction: engine beside closed form, its formula, and the verdict.

    >>> import io, rich.console; from gradcalc.jobs.second import run_jvp
    >>> from gradcalc.options import EvalOptions
    >>> from gradcalc.values.draw import Value
    >>> console = rich.console.Console(file=io.StringIO(), width=100)
    >>> show_directional(run_jvp("sin(x)", EvalOptions(jvp=Value(np.ones(2), "inline"))), console)
    >>> [line for line in console.file.getvalue().splitlines() if line.startswith("formula")]
    ['formula  v*cos(x)']
    """
    _header(f"--{r.kind}", r.expression, r.variables, r.notes, r.dtype, console)
    shown = "f" if r.kind == "hvp" else "y"
    value = np.asarray(r.value)
    console.print(Text.assemble(f"{shown} = ", (f"{float(value):.{precision + 2}g}" if value.size == 1 and
                                                not value.shape else format_shape(value.shape), "bold")))
    for d in r.products:
        console.print()
        what = (f"∂/∂{d.name} (∇f·{r.direction})" if r.kind == "hvp" else f"J·{r.direction} = d/dt {d.name}"
                f"({r.variable} + t·{r.direction})")
        console.print(Text.assemble((TITLES[r.kind], "bold cyan"), f"  {what}  ({format_shape(d.shape)})"))
        _pair(console, [_titled(title, a, precision, console.width // 2 - 2) for title, a in
                        (("autograd (dual numbers)", d.autograd), ("symbolic (closed form)", d.symbolic))])
        console.print(Text.assemble(("formula  ", "dim"), d.formula), soft_wrap=True)
        console.print(Text.assemble(("         ", "dim"), d.pretty), soft_wrap=True)
        _verdict_line(d, console, " of the gradient" if r.kind == "hvp" else "")
    console.print()
    console.print(Text.assemble("verdict: ", (r.verdict, VERDICT_STYLE[r.verdict])))


def _titled(title: str, a: np.ndarray, precision: int, width: int) -> list[str]:
    """A titled matrix (or vector, or number) as lines of equal width."""
    rows = format_matrix(np.asarray(a), precision, width)
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    lines = [" ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    span = max(len(title), max(len(line) for line in lines))
    return [title.ljust(span), *(line.ljust(span) for line in lines)]

