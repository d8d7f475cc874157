"""`gradcalc batch`: sample files run like a test suite, in worker processes, results in file order.

Cases are collected from files and folders (recursively `*.toml`), selected
with `-k`, and run by `--jobs` worker processes through `cases.run_case`,
the same code path as `gradcalc eval`. Workers are forked after the parent
has imported NumPy, SymPy and gradcalc, so imports are paid once; a worker
keeps its derivations (`pipeline.derive`), and a free worker takes a case
whose expression it has already derived when one is waiting. A case that
runs past `--timeout` is reported as `timeout` and its worker replaced.
Reports come out in the order of the files and cases, each as soon as all
before it are done.

A report is one plain dict: the `gradcalc eval --json` document plus
`file`, `case`, `expect`, `passed`, `outcome` and `seconds`. The JSON Lines
and the Rich summary are both rendered from it.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "a.toml").write_text('[[case]]\\nname = "trace"\\nexpr = "trace(A@B)"\\nexpect = "equal"\\n')
>>> [(r["case"], r["outcome"]) for r in run_batch(collect([str(folder)]), jobs=1)]
[('trace', 'passed')]
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, Iterator

from gradcalc.batch.cases import Case, read_file, run_case
from gradcalc.errors import GradcalcError, InputError

OUTCOMES = ("passed", "failed", "timeout", "error")


@dataclass
class Item:
    """One thing to report: a case to run, or a file that could not be read (`error`).

    >>> Item(Path("x.toml"), error="x.toml: not valid TOML").label
    'x.toml'
    """

    file: Path
    case: Case | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.file}::{self.case.name}" if self.case else str(self.file)


def collect(paths: list[str]) -> list[Item]:
    """Every case of the given files and folders (folders searched recursively for *.toml), in order.

    A path that does not exist is bad input; a file that cannot be read
    becomes an error item, so that the other files still run.

    >>> collect(["no/such/folder"])
    Traceback (most recent call last):
    ...
    gradcalc.errors.InputError: no/such/folder: no such file or folder
    """
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.toml") if p.is_file())
            if not found:
                raise InputError(f"{text}: no sample files (*.toml) in this folder")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{text}: no such file or folder")
    items: list[Item] = []
    for file in dict.fromkeys(files):
        try:
            items += [Item(file, case) for case in read_file(file)]
        except InputError as err:
            items.append(Item(file, error=err.message))
    return items


def keyword_filter(pattern: str) -> Callable[[str], bool]:
    """A `-k` expression as pytest reads it: case-insensitive substrings with and, or, not and parentheses.

    >>> match = keyword_filter("relu and not (float32 or mlp)")
    >>> match("notebooks.toml::relu regression"), match("ml.toml::relu MLP")
    (True, False)
    """
    tokens = re.findall(r"\(|\)|[^\s()]+", pattern)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = peek()
        if token is None or token in ("and", "or", ")"):
            raise InputError(f"-k {pattern!r}: expected a word, 'not' or '(' "
                             f"{'at the end' if token is None else f'before {token!r}'}")
        position += 1
        return token

    def expression() -> Callable[[str], bool]:
        left = conjunction()
        while peek() == "or":
            advance()
            left = (lambda a, b: lambda s: a(s) or b(s))(left, conjunction())
        return left

    def conjunction() -> Callable[[str], bool]:
        left = negation()
        while peek() == "and":
            advance()
            left = (lambda a, b: lambda s: a(s) and b(s))(left, negation())
        return left

    def negation() -> Callable[[str], bool]:
        token = take()
        if token == "not":
            inner = negation()
            return lambda s: not inner(s)
        if token == "(":
            inner = expression()
            if peek() != ")":
                raise InputError(f"-k {pattern!r}: missing ')'")
            advance()
            return inner
        word = token.lower()
        return lambda s: word in s.lower()

    def advance() -> None:
        nonlocal position
        position += 1

    if not tokens:
        return lambda s: True
    match = expression()
    if position != len(tokens):
        raise InputError(f"-k {pattern!r}: unexpected {tokens[position]!r}; combine words with and, or, not")
    return match


def run_batch(items: list[Item], jobs: int = 1, timeout: float | None = None,
              on_tick: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
    """Reports for every item, in order, each as soon as it and all before it are done.

    Closing the iterator early (`--fail-fast`, Ctrl-C) stops the workers.
    `on_tick` is called about ten times a second while waiting (to redraw a
    progress bar).
    """
    done: dict[int, dict[str, Any]] = {}
    pending = deque(i for i, item in enumerate(items) if item.case is not None)
    for i, item in enumerate(items):
        if item.error is not None:
            done[i] = _file_error_report(item)
    pool = _Pool(min(jobs, len(pending)) if pending else 0)
    next_out = 0
    try:
        while next_out < len(items):
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
            if next_out >= len(items):
                break
            pool.assign(pending, items)
            for index, report in pool.collect(timeout, items):
                done[index] = report
            if on_tick:
                on_tick()
    finally:
        pool.close()


def summary(reports: list[dict[str, Any]], seconds: float, jobs: int, total: int,
            interrupted: bool = False, stopped: bool = False) -> dict[str, Any]:
    """Counts of the outcomes, for the last JSON line and the final line of the table.

    >>> summary([{"outcome": "passed"}, {"outcome": "timeout"}], 1.5, 2, 3)["summary"]["failed"]
    1
    """
    counts = {outcome: sum(r["outcome"] == outcome for r in reports) for outcome in OUTCOMES}
    return {"summary": {
        "passed": counts["passed"], "failed": counts["failed"] + counts["timeout"], "timeouts": counts["timeout"],
        "errors": counts["error"], "cases": len(reports), "selected": total, "seconds": round(seconds, 3),
        "jobs": jobs, "interrupted": interrupted, "stopped_early": stopped,
    }}


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


def exit_code(reports: list[dict[str, Any]]) -> int:
    """2 if a file or case was bad input, else 1 if any case failed or timed out, else 0.

    >>> exit_code([{"outcome": "passed"}, {"outcome": "failed"}])
    1
    """
    outcomes = {r["outcome"] for r in reports}
    return 2 if "error" in outcomes else 1 if outcomes - {"passed"} else 0


def _file_error_report(item: Item) -> dict[str, Any]:
    return {"file": str(item.file), "case": None, "expect": None, "passed": False, "outcome": "error",
            "seconds": 0.0, "error": {"kind": "input", "message": item.error}}


def run_one(item: Item) -> dict[str, Any]:
    """Run one case and build its report (what a worker sends back).

    >>> report = run_one(Item(Path("s.toml"), Case(name="n", expr="sum(X)", expect="mismatch")))
    >>> report["outcome"], report["verdict"], report["failures"]
    ('failed', 'equal', ["verdict 'equal', expected 'mismatch'"])
    """
    from gradcalc.render.eval_view import to_json

    case = item.case
    assert case is not None
    start = time.perf_counter()
    try:
        outcome = run_case(case)
        error = outcome.error
    except Exception as err:  # noqa: BLE001 - an internal error is reported, and the batch goes on
        outcome, error = None, err
    report: dict[str, Any] = {"file": str(item.file), "case": case.name, "expect": case.expect}
    if outcome is not None and outcome.result is not None:
        report.update(to_json(outcome.result))
        report["failures"] = outcome.failures
    if error is not None:
        kind = error.kind if isinstance(error, GradcalcError) else "internal"
        message = error.message if isinstance(error, GradcalcError) else f"{type(error).__name__}: {error}"
        report["error"] = {"kind": kind, "message": message}
    passed = outcome is not None and outcome.passed
    report.update(passed=passed, outcome="passed" if passed else "error" if error is not None else "failed",
                  seconds=round(time.perf_counter() - start, 4))
    return report


class _Pool:
    """Worker processes, each fed one case at a time over its own pipe."""

    def __init__(self, size: int) -> None:
        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.workers = [_Worker(self.context) for _ in range(size)]

    def assign(self, pending: deque[int], items: list[Item]) -> None:
        for worker in self.workers:
            if worker.task is None and pending:
                choice = next((i for i in pending if _key(items[i]) in worker.seen), pending[0])
                pending.remove(choice)
                worker.send(choice, items[choice])

    def collect(self, timeout: float | None, items: list[Item]) -> list[tuple[int, dict[str, Any]]]:
        busy = [w for w in self.workers if w.task is not None]
        if not busy:
            return []
        now = time.monotonic()
        wait_for = 0.1
        if timeout is not None:
            wait_for = max(0.0, min(wait_for, min(w.started + timeout - now for w in busy)))
        ready = wait([w.conn for w in busy], timeout=wait_for)
        finished = []
        for worker in busy:
            index = worker.task
            assert index is not None
            if worker.conn in ready:
                finished.append((index, worker.receive(items[index])))
                if worker.dead:
                    self.workers[self.workers.index(worker)] = _Worker(self.context)
                    worker.stop()
            elif timeout is not None and time.monotonic() - worker.started > timeout:
                finished.append((index, _timeout_report(items[index], timeout)))
                self.workers[self.workers.index(worker)] = _Worker(self.context)
                worker.stop()
        return finished

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()


class _Worker:
    def __init__(self, context: Any) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.task: int | None = None
        self.dead = False
        self.started = 0.0
        self.seen: set[Any] = set()

    def send(self, index: int, item: Item) -> None:
        self.task, self.started = index, time.monotonic()
        self.seen.add(_key(item))
        self.conn.send(item)

    def receive(self, item: Item) -> dict[str, Any]:
        self.task = None
        try:
            return self.conn.recv()
        except (EOFError, OSError):  # the worker died (killed from outside, out of memory)
            self.dead = True
            case = item.case
            assert case is not None
            return {"file": str(item.file), "case": case.name, "expect": case.expect, "passed": False,
                    "outcome": "error", "seconds": round(time.monotonic() - self.started, 4),
                    "error": {"kind": "internal", "message": "the worker process running this case died"}}

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


def _serve(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(run_one(item))


def _key(item: Item) -> tuple[Any, ...]:
    case = item.case
    if case is None:
        return ()
    shapes = {**case.shape, **{n: v.value.shape for n, v in case.value.items()}}
    return case.expr.strip(), tuple(sorted(shapes.items())), tuple(case.wrt or ())


def _timeout_report(item: Item, timeout: float) -> dict[str, Any]:
    case = item.case
    assert case is not None
    return {"file": str(item.file), "case": case.name, "expect": case.expect, "verdict": "timeout",
            "passed": False, "outcome": "timeout", "seconds": round(timeout, 4),
            "failures": [f"ran past --timeout {timeout:g} s and was stopped"]}


def default_jobs() -> int:
    """One worker per core.

    >>> default_jobs() >= 1
    True
    """
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
