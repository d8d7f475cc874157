"""`gradcalc derive`: the closed form alone, in every printed form; sizes may stay symbolic.

>>> from typer.testing import CliRunner
>>> CliRunner().invoke(app, ["derive", "sum(X@W)", "--shape", "X=3000x2000", "--max-elements", "10"]).exit_code
2
"""

from __future__ import annotations

import json

import typer

from gradcalc.cli.app import app, console, fail, print_json
from gradcalc.cli.budget import DEFAULT_TIMEOUT, TIMEOUT_HELP, checked_timeout, command_budget
from gradcalc.errors import InputError


@app.command("derive")
def derive_command(
    expr: str = typer.Argument(..., help='The expression, e.g. "sum((relu(X@W)-Y)**2)".'),
    wrt: list[str] = typer.Option([], "--wrt", help="Differentiate with respect to NAME (repeatable; default all)."),
    shape: list[str] = typer.Option([], "--shape", help="NAME=DIMS, sizes numbers or names: X=n,k, W=k,10, "
                                                        "x=n, a=scalar (repeatable)."),
    latex: bool = typer.Option(False, "--latex", help="Also print the LaTeX form."),
    code: bool = typer.Option(False, "--code", help="Also print runnable NumPy code: a function grad_NAME per "
                                                    "variable."),
    hessian: bool = typer.Option(False, "--hessian", help="Also derive the Hessian's blocks over the --wrt "
                                 "variables (--wrt x,y): matrix notation where there is one, else the action on a "
                                 "direction; with --code, a function per block."),
    max_elements: int = typer.Option(20_000_000, "--max-elements", help="Refuse numeric shapes whose values would "
                                                                        "hold more numbers than this in all."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout (code included)."),
    timeout: float = typer.Option(DEFAULT_TIMEOUT, "--timeout", help=TIMEOUT_HELP),
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
) -> None:
    """Derive the closed-form gradient alone: formula, pretty form, LaTeX, NumPy code; sizes may stay symbolic.
    \f

    Free sizes are named n, k, m, ... rather than given numbers.

    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(app, ["derive", "mean(X)", "--shape", "X=n,k", "--json"])
    >>> result.exit_code, json.loads(result.stdout)["gradients"]["X"]["formula"]
    (0, 'ones(n, k)/(k*n)')
    """
    try:
        seconds = checked_timeout(timeout)
    except InputError as err:
        fail(err, as_json, debug)
    with command_budget(seconds, "derive", as_json, debug):
        try:
            # the job brings SymPy (~0.3 s), which `gradcalc --help` and `--version` do without
            from gradcalc.jobs.derive import run_derive
            from gradcalc.options import from_text

            result = run_derive(expr, from_text(wrt=[n.strip() for w in wrt for n in w.split(",") if n.strip()],
                                                shape=shape, symbolic=True, max_elements=max_elements,
                                                hessian=hessian))
        except Exception as err:  # noqa: BLE001 - every failure becomes one line and an exit code
            fail(err, as_json, debug)
        from gradcalc.render.derive_view import derive_json, show

        if as_json:
            print_json(derive_json(result))
        else:
            show(result, console(), latex=latex, code=code)
