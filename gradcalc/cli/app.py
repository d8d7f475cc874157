"""The command line: options in, a result rendered, an exit code out.

Exit codes: 0 every verdict equal (or kink), 1 a mismatch or undefined,
2 bad input (one message line on stderr, never a traceback; `--debug`
shows one). NumPy and SymPy are imported only once a command runs, so
`--help` and `--version` stay fast.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn, Optional

import typer

from gradcalc import __version__
from gradcalc.errors import GradcalcError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Gradient calculator for matrix expressions: tape autograd vs. closed form, "
                       "refereed by finite differences.")

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def _version(value: bool) -> None:
    if value:
        print(f"gradcalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Gradient calculator for matrix expressions."""


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
        from gradcalc.jobs.evaluate import run_eval
        from gradcalc.render.save import parse_save_option, save_gradients
        from gradcalc.options import parse_shape_option
        from gradcalc.values.sources import load_all

        _check_choice("--rng", rng, ("numpy", "torch"))
        _check_choice("--dtype", dtype, ("float64", "float32"))
        _check_tolerances(rtol, atol)
        if not 0 <= precision <= 16:
            raise _input_error(f"--precision {precision}: must be between 0 and 16 decimals, e.g. --precision 6")
        shapes = dict(parse_shape_option(s) for s in shape)
        targets = dict(parse_save_option(s) for s in save)
        values = load_all(value)
        if vjp is not None or jacobian:
            result = _non_scalar(expr, vjp, jacobian, steps, targets, wrt=wrt or None, shapes=shapes, seed=seed,
                                 rtol=rtol, atol=atol, values=values, rng=rng, dtype=dtype)
        else:
            result = run_eval(expr, wrt=wrt or None, shapes=shapes, seed=seed, rtol=rtol, atol=atol,
                              values=values, rng=rng, dtype=dtype, steps=steps, max_elements=max_elements)
            save_gradients(result, targets)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line and an exit code
        fail(err, as_json, debug)
    if vjp is not None or jacobian:
        _show_non_scalar(result, as_json, precision)
    if as_json:
        from gradcalc.render.eval_view import to_json

        print(json.dumps(to_json(result), allow_nan=False))
    else:
        from gradcalc.render.eval_view import show

        show(result, _console(), precision)
    raise typer.Exit(EXIT_OK if result.verdict in ("equal", "kink") else EXIT_MISMATCH)


def _non_scalar(expr: str, vjp: str | None, jacobian: bool, steps: bool, targets: dict[str, Any],
                **options: Any) -> Any:
    """`eval --vjp` or `eval --jacobian`: options checked, `gradcalc.nonscalar` run, `--save` written."""
    from gradcalc.jobs import vjp as nonscalar
    from gradcalc.render.save import save_gradients

    if vjp is not None and jacobian:
        raise _input_error("--vjp and --jacobian: give one; --vjp SOURCE weights the output (vᵀJ), --jacobian "
                           "shows all of J")
    if jacobian:
        for option, used in (("--steps", steps), ("--save", targets)):
            if used:
                raise _input_error(f"{option} works with eval and eval --vjp, not with --jacobian")
        return nonscalar.run_jacobian(expr, **options)
    name, weights = nonscalar.load_weights(vjp or "")
    result = nonscalar.run_vjp(expr, weights, steps=steps, name=name, **options)
    save_gradients(result.result, targets)
    return result


def _show_non_scalar(result: Any, as_json: bool, precision: int) -> NoReturn:
    """Print a `VjpResult` or `JacobianResult` (Rich or JSON) and exit as eval does."""
    from gradcalc.render import nonscalar_view as render
    from gradcalc.jobs.results import VjpResult

    is_vjp = isinstance(result, VjpResult)
    if as_json:
        print(json.dumps(render.vjp_json(result) if is_vjp else render.jacobian_json(result), allow_nan=False))
    elif is_vjp:
        render.show_vjp(result, _console(), precision)
    else:
        render.show_jacobian(result, _console(), precision)
    raise typer.Exit(EXIT_OK if result.verdict in ("equal", "kink") else EXIT_MISMATCH)


@app.command("derive")
def derive_command(
    expr: str = typer.Argument(..., help='The expression, e.g. "sum((relu(X@W)-Y)**2)".'),
    wrt: list[str] = typer.Option([], "--wrt", help="Differentiate with respect to NAME (repeatable; default all)."),
    shape: list[str] = typer.Option([], "--shape", help="NAME=DIMS, sizes numbers or names: X=n,k, W=k,10, "
                                                        "x=n, a=scalar (repeatable)."),
    latex: bool = typer.Option(False, "--latex", help="Also print the LaTeX form."),
    code: bool = typer.Option(False, "--code", help="Also print runnable NumPy code: a function grad_NAME per "
                                                    "variable."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout (code included)."),
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
        from gradcalc.jobs.derive import run_derive
        from gradcalc.options import parse_shape_option

        shapes = dict(parse_shape_option(s, symbolic=True) for s in shape)
        result = run_derive(expr, wrt=wrt or None, shapes=shapes)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line and an exit code
        fail(err, as_json, debug)
    if as_json:
        from gradcalc.jobs.derive import to_json

        print(json.dumps(to_json(result), allow_nan=False))
    else:
        from gradcalc.jobs.derive import show

        show(result, _console(), latex=latex, code=code)


@app.command("batch")
def batch_command(
    paths: list[str] = typer.Argument(..., help="Sample files (.toml) or folders (searched recursively)."),
    as_json: bool = typer.Option(False, "--json", help="JSON Lines: one object per case, then a summary."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Worker processes (default: one per core)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Stop a case after S seconds (reported as "
                                                                     "timeout)."),
    fail_fast: bool = typer.Option(False, "--fail-fast", "-x", help="Stop at the first case that does not pass."),
    keyword: Optional[str] = typer.Option(None, "-k", help="Run the cases whose file or name matches, as pytest "
                                                          "reads -k: words with and, or, not, parentheses."),
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
) -> None:
    """Run sample files like a test suite: progress, a summary table, failure details, exit code.
    \f

    Exit codes: 0 every case passed, 1 a case failed or timed out, 2 bad
    input (a path, a malformed file or case), 130 interrupted.
    """
    import time

    try:
        from gradcalc.batch import pool as batch

        if jobs is not None and jobs < 1:
            raise _input_error(f"--jobs {jobs}: must be at least 1, e.g. --jobs 2")
        if timeout is not None and not timeout > 0:
            raise _input_error(f"--timeout {timeout}: must be a positive number of seconds, e.g. --timeout 30")
        items = batch.collect(paths)
        if keyword:
            match = batch.keyword_filter(keyword)
            items = [item for item in items if item.case is None or match(item.label)]
            if not any(item.case for item in items):
                raise _input_error(f"-k {keyword!r}: no case matches")
        _warm_up()
    except Exception as err:  # noqa: BLE001 - every failure becomes one line and an exit code
        fail(err, as_json, debug)
    workers = min(jobs or batch.default_jobs(), max(1, sum(item.case is not None for item in items)))
    reports: list[dict[str, Any]] = []
    interrupted = stopped = False
    start = time.perf_counter()
    progress = _Progress(len(items), enabled=sys.stderr.isatty())
    try:
        for report in batch.run_batch(items, jobs=workers, timeout=timeout, on_tick=progress.tick):
            reports.append(report)
            if as_json:
                print(json.dumps(report, allow_nan=False), flush=True)
            progress.advance(report)
            if fail_fast and not report["passed"]:
                stopped = True
                break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.stop()
    summary = batch.summary(reports, time.perf_counter() - start, workers, len(items), interrupted, stopped)
    if as_json:
        print(json.dumps(summary), flush=True)
    else:
        from gradcalc.render.batch_view import show_batch

        show_batch(reports, summary["summary"], _console())
    raise typer.Exit(130 if interrupted else batch.exit_code(reports))


def _warm_up() -> None:
    """Import and exercise every stage once, so that forked workers start ready."""
    from gradcalc.jobs.evaluate import run_eval
    from gradcalc.render.eval_view import to_json

    to_json(run_eval("sum((relu(X@W)-Y)**2) + trace(inv(A))"))


class _Progress:
    """A Rich progress bar on stderr when it is a terminal; otherwise nothing."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=Console(stderr=True), transient=True, auto_refresh=False,
                            redirect_stdout=False, redirect_stderr=False)
        self.task = self.bar.add_task("cases", total=total)
        self.bar.start()
        self.failed = 0

    def tick(self) -> None:
        if self.bar:
            self.bar.refresh()

    def advance(self, report: dict[str, Any]) -> None:
        if self.bar:
            self.failed += not report["passed"]
            label = f"{report['case'] or report['file']}"[:40]
            self.bar.update(self.task, advance=1, description=f"{self.failed} failed · {label}")
            self.bar.refresh()

    def stop(self) -> None:
        if self.bar:
            self.bar.stop()


def _input_error(message: str) -> Exception:
    from gradcalc.errors import InputError

    return InputError(message)


@app.command("ops")
def ops_command(as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """List every operator: spellings, accepted shapes, derivative rule and kink convention."""
    from gradcalc.jobs.catalog import as_json as catalog_json
    from gradcalc.jobs.catalog import catalog

    entries = catalog()
    if as_json:
        print(json.dumps({"gradcalc": __version__, "ops": catalog_json(entries)}))
    else:
        from gradcalc.render.eval_view import show_ops

        show_ops(entries, _console())


def _check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    from gradcalc.errors import InputError

    if value not in choices:
        raise InputError(f"{option} {value}: not one of {', '.join(choices)}; e.g. {option} {choices[-1]}")


def _check_tolerances(rtol: float | None, atol: float | None) -> None:
    from gradcalc.errors import InputError

    for name, value in (("--rtol", rtol), ("--atol", atol)):
        if value is not None and not (value >= 0 and value < float("inf")):
            raise InputError(f"{name} {value}: must be a non-negative number, e.g. {name} 1e-6")


def _console() -> Any:
    from rich.console import Console

    plain = {"color_system": None} if os.environ.get("NO_COLOR") else {}  # no colour and no bold/dim either
    return Console(highlight=False, markup=False, emoji=False, **plain)  # formulas are text, never markup


def fail(err: BaseException, as_json: bool, debug: bool) -> NoReturn:
    """Report an error in one line (after the expression and a caret, if any) and exit.

    The line goes to stderr; with `as_json` a JSON error document also goes to stdout.

    >>> from gradcalc.errors import InputError
    >>> try: fail(InputError("--seed x: not an integer"), as_json=True, debug=False)
    ... except typer.Exit as stop: print(stop.exit_code)
    {"error": {"kind": "input", "message": "--seed x: not an integer"}}
    2
    """
    if debug:
        import traceback

        traceback.print_exc()
    if isinstance(err, GradcalcError):
        kind, message, code = err.kind, err.message, EXIT_BAD_INPUT
    else:
        kind, message, code = "internal", f"internal error ({type(err).__name__}: {err}); please report it", \
            EXIT_INTERNAL
    position = getattr(err, "position", None)
    source = getattr(err, "source", None)
    shown = None if source is None else source.replace("\t", " ")  # a tab would shift the caret
    if shown is not None and position is not None and shown.isprintable():  # no line breaks, no escapes
        sys.stderr.write(f"  {shown}\n  {' ' * position}^\n")
    message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)  # one line, escapes shown
    sys.stderr.write(f"gradcalc: error: {message}\n")
    if as_json:
        body: dict[str, Any] = {"kind": kind, "message": message}
        if kind == "parse" and position is not None:
            body["position"] = position
        print(json.dumps({"error": body}))
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point: runs the app with one-line usage errors and quiet broken pipes.

    Installed as the `gradcalc` command; it reads `sys.argv` and exits, so it has
    no doctest. For example, `gradcalc eval "trace(A@B)" --wrt A --json` prints one
    JSON document and exits 0; a bad option prints one `gradcalc: error: ...` line
    on stderr and exits 2. See `evaluate_command` for an in-process example.
    """
    command = typer.main.get_command(app)
    try:
        code = command.main(args=sys.argv[1:], prog_name="gradcalc", standalone_mode=False)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    except Exception as err:  # Typer's vendored Click exceptions, matched by name across versions
        code = _usage_error(err)
    sys.exit(code or 0)


def _usage_error(err: Exception) -> int:
    kinds = {cls.__name__ for cls in type(err).__mro__}
    if kinds & {"NoArgsIsHelpError", "NoArgsIsHelp"}:
        return EXIT_OK  # Typer has printed the help
    if "Abort" in kinds:
        return 130
    if "UsageError" not in kinds:
        if "--debug" in sys.argv:
            raise err
        sys.stderr.write(f"gradcalc: error: internal error ({type(err).__name__}: {err}); please report it "
                         "(--debug shows the traceback)\n")
        return EXIT_INTERNAL
    message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in err.format_message())  # type: ignore
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None and ctx.command_path else ""
    sys.stderr.write(f"gradcalc: error: {message}{hint}\n")
    if "--json" in sys.argv:
        print(json.dumps({"error": {"kind": "usage", "message": message}}))
    return EXIT_BAD_INPUT
