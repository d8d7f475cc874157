"""`gradcalc eval`: the options become one `EvalOptions`, one job runs, its result is rendered, the verdict exits.

>>> from typer.testing import CliRunner
>>> CliRunner().invoke(app, ["eval", "sum(X)", "--max-elements", "5"]).exit_code
2
"""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from gradcalc.cli.app import app, console, exit_for, fail, print_json
from gradcalc.errors import InputError


@app.command("eval")
def evaluate_command(
    expr: str = typer.Argument(..., help='The expression, e.g. "sum((relu(X@W)-Y)**2)".'),
    wrt: list[str] = typer.Option([], "--wrt", help="Differentiate with respect to NAME (repeatable; default all)."),
    shape: list[str] = typer.Option([], "--shape", help="NAME=DIMS, e.g. X=10x4, a=scalar (repeatable)."),
    value: list[str] = typer.Option([], "--value", help="NAME=SOURCE: a .npy, .npz:key, .csv, .json or .txt file, "
                                    "- for stdin, or inline JSON such as W=[[1,2],[3,4]] (repeatable)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random values."),
    rng: str = typer.Option("numpy", "--rng", help="numpy, or torch: exactly torch.manual_seed(seed) and one "
                                                   "torch.randn per variable, without PyTorch."),
    dtype: str = typer.Option("float64", "--dtype", help="float64 or float32: the engine's and the formula's "
                                                         "precision, and the default tolerances."),
    save: list[str] = typer.Option([], "--save", help="NAME=path.npy: write the gradient with respect to NAME "
                                                      "(repeatable)."),
    steps: bool = typer.Option(False, "--steps", help="Also show the backward chain: every node's gradient, "
                                                       "numeric and symbolic (PyTorch's retain_grad())."),
    precision: int = typer.Option(4, "--precision", help="Decimals shown for matrix entries (the JSON keeps "
                                                         "every digit)."),
    vjp: Optional[str] = typer.Option(None, "--vjp", help="SOURCE: weights v shaped like a non-scalar EXPR y "
                                      "(any --value source); shows the vector-Jacobian product vᵀJ, PyTorch's "
                                      "y.backward(v)."),
    jacobian: bool = typer.Option(False, "--jacobian", help="Show the whole Jacobian of a non-scalar EXPR (at "
                                                            "most 4096 entries per variable)."),
    max_elements: int = typer.Option(20_000_000, "--max-elements", help="Refuse expressions whose values hold "
                                                                        "more numbers than this in all."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    rtol: Optional[float] = typer.Option(None, "--rtol", help="Relative tolerance (default 1e-7)."),
    atol: Optional[float] = typer.Option(None, "--atol", help="Absolute tolerance (default 1e-9 x gradient scale)."),
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
) -> None:
    """Evaluate EXPR and its gradients: autograd and closed form side by side, with a verdict.
    \f

    `--help` shows the text above the form feed only.

    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(app, ["eval", "trace(A@B)", "--wrt", "A", "--json"])
    >>> result.exit_code, json.loads(result.stdout)["gradients"]["A"]["symbolic"]["formula"]
    (0, 'B.T')
    """
    try:
        # the jobs bring NumPy and SymPy (~0.35 s), which `gradcalc --help` and `--version` do without
        from gradcalc.options import from_text, parse_save_option

        if not 0 <= precision <= 16:
            raise InputError(f"--precision {precision}: must be between 0 and 16 decimals, e.g. --precision 6")
        options = from_text(wrt=wrt, shape=shape, value=value, vjp=vjp, jacobian=jacobian, seed=seed, rng=rng,
                            dtype=dtype, rtol=rtol, atol=atol, steps=steps, max_elements=max_elements)
        targets = dict(parse_save_option(s) for s in save)
        if targets and options.jacobian:
            raise InputError("--save works with eval and eval --vjp, not with --jacobian")
        result = _run(expr, options, targets)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line and an exit code
        fail(err, as_json, debug)
    _show(result, as_json, precision)
    raise typer.Exit(exit_for(result.verdict))


def _run(expr: str, options: Any, targets: dict[str, Any]) -> Any:
    """The one job the options ask for (eval, --vjp or --jacobian), with `--save` written."""
    from gradcalc.jobs.evaluate import run_eval
    from gradcalc.jobs.jacobian import run_jacobian
    from gradcalc.jobs.vjp import run_vjp
    from gradcalc.render.save import save_gradients

    if options.jacobian:
        return run_jacobian(expr, options)
    result = run_vjp(expr, options) if options.vjp is not None else run_eval(expr, options)
    save_gradients(getattr(result, "result", result), targets)
    return result


def _show(result: Any, as_json: bool, precision: int) -> None:
    """Print any of eval's three results, as JSON or in Rich tables."""
    from gradcalc.jobs.results import EvalResult, VjpResult

    if isinstance(result, EvalResult):
        from gradcalc.render.eval_view import show, to_json as json_of  # without rich.table: ~15 ms less
    else:
        from gradcalc.render import nonscalar_view

        is_vjp = isinstance(result, VjpResult)
        json_of = nonscalar_view.vjp_json if is_vjp else nonscalar_view.jacobian_json
        show = nonscalar_view.show_vjp if is_vjp else nonscalar_view.show_jacobian
    if as_json:
        print_json(json_of(result))
    else:
        show(result, console(), precision)
