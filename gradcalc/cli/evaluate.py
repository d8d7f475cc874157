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
from gradcalc.cli.budget import DEFAULT_TIMEOUT, TIMEOUT_HELP, checked_timeout, command_budget
from gradcalc.errors import InputError


@app.command("eval")
def evaluate_command(
    expr: Optional[str] = typer.Argument(None, help='The expression, e.g. "sum((relu(X@W)-Y)**2)", or statements '
                                         'with named intermediates: "Z = X@W; H = relu(Z); f = sum((H-Y)**2)".'),
    file: Optional[str] = typer.Option(None, "--file", "-f", help="Read the expression (or its statements, one a "
                                       "line) from FILE instead."),
    wrt: list[str] = typer.Option([], "--wrt", help="Differentiate with respect to NAME (repeatable, or x,y; default "
                                                    "all)."),
    shape: list[str] = typer.Option([], "--shape", help="NAME=DIMS, e.g. X=10x4, a=scalar (repeatable)."),
    value: list[str] = typer.Option([], "--value", help="NAME=SOURCE: a .npy, .npz:key, .csv, .json or .txt file, "
                                    "- for stdin, or inline JSON such as W=[[1,2],[3,4]] (repeatable)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random values."),
    order: Optional[str] = typer.Option(None, "--order", help="x,W,y: draw random values in this order (default: "
                                        "with --rng torch the order of the --shape options, then first appearance), "
                                        "as a notebook's torch.randn calls run."),
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
    hessian: bool = typer.Option(False, "--hessian", help="Show the Hessian of a scalar EXPR over the --wrt "
                                 "variables (--wrt x,y gives the blocks): dual-number engine, closed form, finite "
                                 "differences of the gradient."),
    hvp: Optional[str] = typer.Option(None, "--hvp", help="SOURCE: a direction v shaped like the --wrt variable; "
                                      "shows the Hessian-vector product H·v without forming H."),
    jvp: Optional[str] = typer.Option(None, "--jvp", help="SOURCE: a direction v shaped like the --wrt variable; "
                                      "shows the forward-mode directional derivative J·v of EXPR (any shape)."),
    expect: list[str] = typer.Option([], "--expect", help='NAME=FORMULA: check your own derivation of ∂f/∂NAME, '
                                     'e.g. --expect "W=2*X.T@(X@W - Y)" (repeatable; @FILE reads NAME = FORMULA '
                                     'lines); exit 1 and a diagnosis when it does not hold.'),
    max_elements: int = typer.Option(20_000_000, "--max-elements", help="Refuse expressions whose values hold "
                                                                        "more numbers than this in all."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    rtol: Optional[float] = typer.Option(None, "--rtol", help="Relative tolerance (default 1e-7)."),
    atol: Optional[float] = typer.Option(None, "--atol", help="Absolute tolerance (default 1e-9 x gradient scale)."),
    timeout: float = typer.Option(DEFAULT_TIMEOUT, "--timeout", help=TIMEOUT_HELP),
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
) -> None:
    """Evaluate EXPR and its gradients: autograd and closed form side by side, with a verdict.

    Examples:

      gradcalc eval "sum((relu(X@W)-Y)**2)" --wrt W
      gradcalc eval "trace(A@B)" --shape A=3x4 --wrt A,B --json
      gradcalc eval "sum(x**2)" --value x=[1,2,3] --expect x=2*x

    Every operator, its spellings (NumPy, PyTorch) and shapes: gradcalc ops
    \f

    `--help` shows the text above the form feed only.

    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(app, ["eval", "trace(A@B)", "--wrt", "A", "--json"])
    >>> result.exit_code, json.loads(result.stdout)["gradients"]["A"]["symbolic"]["formula"]
    (0, 'B.T')
    """
    with command_budget(_timeout(timeout, as_json, debug), "eval", as_json, debug):
        result = _evaluate(expr, file, wrt, shape, value, seed, order, rng, dtype, save, steps, precision, vjp,
                           jacobian, hessian, hvp, jvp, expect, max_elements, as_json, rtol, atol, debug)
        _show(result, as_json, precision)
    raise typer.Exit(exit_for(result.verdict))


def _timeout(seconds: float, as_json: bool, debug: bool) -> float:
    try:
        return checked_timeout(seconds)
    except InputError as err:
        fail(err, as_json, debug)


def _evaluate(expr: str | None, file: str | None, wrt: list[str], shape: list[str], value: list[str], seed: int,
              order: str | None, rng: str, dtype: str, save: list[str], steps: bool, precision: int,
              vjp: str | None, jacobian: bool, hessian: bool, hvp: str | None, jvp: str | None,
              expect: list[str], max_elements: int, as_json: bool, rtol: float | None, atol: float | None,
              debug: bool) -> Any:
    """The options become one EvalOptions and one job runs; any failure is one line and exit 2 (or 3)."""
    try:
        # the jobs bring NumPy and SymPy (~0.35 s), which `gradcalc --help` and `--version` do without
        from gradcalc.jobs.expect import parse_expect_option
        from gradcalc.options import from_text, parse_save_option

        expr = expression_text(expr, file)
        if not 0 <= precision <= 16:
            raise InputError(f"--precision {precision}: must be between 0 and 16 decimals, e.g. --precision 6")
        options = from_text(wrt=[n.strip() for w in wrt for n in w.split(",") if n.strip()], shape=shape,
                            value=value, vjp=vjp, jacobian=jacobian, hessian=hessian, hvp=hvp, jvp=jvp, seed=seed,
                            rng=rng,
                            dtype=dtype, rtol=rtol, atol=atol, steps=steps, max_elements=max_elements,
                            expect=tuple(pair for text in expect for pair in parse_expect_option(text)),
                            order=tuple(n.strip() for n in (order or "").split(",") if n.strip()))
        targets = dict(parse_save_option(s) for s in save)
        if targets and options.jacobian:
            raise InputError("--save works with eval and eval --vjp, not with --jacobian")
        return _run(expr, options, targets)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line and an exit code
        fail(err, as_json, debug)


def expression_text(expr: str | None, file: str | None) -> str:
    """The expression from the argument or from `-f FILE` (exactly one of them).

    >>> expression_text("sum(X)", None)
    'sum(X)'
    """
    if (expr is None) == (file is None):
        raise InputError("give the expression as an argument or with -f FILE (one of them), e.g. "
                         "gradcalc eval \"sum(X@W)\" or gradcalc eval -f loss.txt")
    if file is None:
        return expr  # type: ignore[return-value]
    try:
        with open(file, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as err:
        raise InputError(f"-f {file}: cannot read it ({err.strerror})") from None
    if not text.strip():
        raise InputError(f"-f {file}: the file is empty; write the expression in it, e.g. sum(X@W)")
    return text.strip()


def _run(expr: str, options: Any, targets: dict[str, Any]) -> Any:
    """The one job the options ask for (eval, --vjp or --jacobian), with `--save` written."""
    from gradcalc.jobs.evaluate import run_eval
    from gradcalc.jobs.jacobian import run_jacobian
    from gradcalc.jobs.second import run_second
    from gradcalc.jobs.vjp import run_vjp
    from gradcalc.render.save import save_gradients, save_second

    if options.jacobian:
        return run_jacobian(expr, options)
    if options.hessian or options.hvp is not None or options.jvp is not None:
        second = run_second(expr, options)
        save_second(second, targets)
        return second
    result = run_vjp(expr, options) if options.vjp is not None else run_eval(expr, options)
    save_gradients(getattr(result, "result", result), targets)
    return result


def _show(result: Any, as_json: bool, precision: int) -> None:
    """Print any of eval's three results, as JSON or in Rich tables."""
    from gradcalc.jobs.results import DirectionalResult, EvalResult, HessianResult, VjpResult

    if isinstance(result, EvalResult):
        from gradcalc.render.eval_view import show, to_json as json_of  # without rich.table: ~15 ms less
    elif isinstance(result, (HessianResult, DirectionalResult)):
        from gradcalc.render.second_view import show, to_json as json_of
    else:
        from gradcalc.render import nonscalar_view

        is_vjp = isinstance(result, VjpResult)
        json_of = nonscalar_view.vjp_json if is_vjp else nonscalar_view.jacobian_json
        show = nonscalar_view.show_vjp if is_vjp else nonscalar_view.show_jacobian
    if as_json:
        print_json(json_of(result))
    else:
        show(result, console(), precision)
