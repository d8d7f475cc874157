"""`gradcalc batch`: sample files run like a test suite, with progress, a summary table and an exit code.

>>> from typer.testing import CliRunner
>>> CliRunner().invoke(app, ["batch", "no/such/folder"]).exit_code
2
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Optional

import typer

from gradcalc.cli.app import app, console, fail
from gradcalc.errors import InputError


@app.command("batch")
def batch_command(
    paths: list[str] = typer.Argument(..., help="Sample files (.toml) or folders (searched recursively)."),
    as_json: bool = typer.Option(False, "--json", help="JSON Lines: one object per case, then a summary."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Worker processes, one BLAS thread "
                                      "each (default: one per idle core, measured as the batch starts)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Stop a case after S seconds: reported as "
                                                                     "timeout, the batch goes on (default: none)."),
    fail_fast: bool = typer.Option(False, "--fail-fast", "-x", help="Stop at the first case that does not pass."),
    keyword: Optional[str] = typer.Option(None, "-k", help="Run the cases whose file or name matches, as pytest "
                                                          "reads -k: words with and, or, not, parentheses."),
    max_elements: int = typer.Option(20_000_000, "--max-elements", help="Refuse cases whose values hold more "
                                     "numbers than this in all (a case's own max_elements key wins)."),
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
) -> None:
    """Run sample files like a test suite: progress, a summary table, failure details, exit code.

    Each case of a sample file has name, expr and expect: the verdict it must
    get (equal, kink, mismatch or undefined). Optionally check holds your own
    numbers or formulas for the value and the gradients, e.g.
    check = { value = 99.9048, W = "2*X.T@(X@W - Y)" }; the summary's check
    column says equal or mismatch, its result column passed or failed.
    \f

    Exit codes: 0 every case passed, 1 a case failed or timed out, 2 bad
    input (a path, a malformed file or case), 130 interrupted.
    """
    from gradcalc.batch import cpu

    busy_since = cpu.cpu_sample()  # the idle cores while the cases load choose the default --jobs
    try:
        # the cases bring NumPy and SymPy (~0.35 s), which `gradcalc --help` and `--version` do without
        from gradcalc.batch.cases import collect
        from gradcalc.batch.select import keyword_filter
        from gradcalc.options import EvalOptions

        if jobs is not None and jobs < 1:
            raise InputError(f"--jobs {jobs}: must be at least 1, e.g. --jobs 2")
        if timeout is not None and not timeout > 0:
            raise InputError(f"--timeout {timeout}: must be a positive number of seconds, e.g. --timeout 30")
        items = collect(paths, EvalOptions(max_elements=max_elements))
        if keyword:
            match = keyword_filter(keyword)
            items = [item for item in items if item.case is None or match(item.label)]
            if not any(item.case for item in items):
                raise InputError(f"-k {keyword!r}: no case matches")
        _warm_up()
    except Exception as err:  # noqa: BLE001 - every failure becomes one line and an exit code
        fail(err, as_json, debug)
    from gradcalc.batch import pool, report as reporting
    from gradcalc.render.batch_view import show_batch

    if jobs is None:
        jobs = cpu.default_jobs(idle=cpu.idle_cores(busy_since, cpu.usable_cores()))
    workers = min(jobs, max(1, sum(item.case is not None for item in items)))
    reports: list[dict[str, Any]] = []
    interrupted = stopped = False
    start = time.perf_counter()
    progress = _Progress(len(items), enabled=sys.stderr.isatty())
    try:
        for report in pool.run_batch(items, jobs=workers, timeout=timeout, on_tick=progress.tick):
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
    summary = reporting.summary(reports, time.perf_counter() - start, workers, len(items), interrupted, stopped)
    if as_json:
        print(json.dumps(summary), flush=True)
    else:
        show_batch(reports, summary["summary"], console())
    raise typer.Exit(130 if interrupted else reporting.exit_code(reports))


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
