"""The batch's workers: cases run in worker processes, with timeouts, reports in file order.

Cases (collected by `gradcalc.batch.cases.collect`, selected with `-k`) are
run by `--jobs` worker processes through `cases.run_case`,
the same code path as `gradcalc eval`. Workers are forked after the parent
has imported NumPy, SymPy and gradcalc, so imports are paid once; a worker
keeps its derivations (`symbolic.closed_form.DERIVATIONS`), and a free worker takes a case
whose expression it has already derived when one is waiting. Each worker
runs its BLAS on one thread (`gradcalc.batch.blas`): workers are the
parallelism, and BLAS threads on top of them fought for the cores (issue 16:
8 cases at 300x200 took 38 s with 2 workers, 13 s with 1, 1.6 s with one
BLAS thread; see docs/performance.md, "Batch"). A case that
runs past `--timeout` is reported as `timeout` and its worker replaced.
Reports come out in the order of the files and cases, each as soon as all
before it are done.

A report is one plain dict (`gradcalc.batch.report`).

>>> import tempfile
>>> from pathlib import Path
>>> from gradcalc.batch.cases import collect
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "a.toml").write_text('[[case]]\\nname = "trace"\\nexpr = "trace(A@B)"\\nexpect = "equal"\\n')
>>> [(r["case"], r["outcome"]) for r in run_batch(collect([str(folder)]), jobs=1)]
[('trace', 'passed')]
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterator

from gradcalc.batch.blas import blas_threads, limit_blas_threads
from gradcalc.batch.cases import Item
from gradcalc.batch.report import file_error_report, run_one, timeout_report



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
            done[i] = file_error_report(item)
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
                finished.append((index, timeout_report(items[index], timeout)))
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


PROBE = "blas-threads?"  # a message a worker answers with its BLAS thread count instead of running a case


def _serve(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    limit_blas_threads(1)
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(blas_threads() if isinstance(item, str) and item == PROBE else run_one(item))


def worker_blas_threads(size: int = 2) -> list[int | None]:
    """The BLAS thread count each of `size` fresh workers reports (None: BLAS not reachable).

    >>> worker_blas_threads(2) in ([1, 1], [None, None])
    True
    """
    pool = _Pool(size)
    try:
        answers = []
        for worker in pool.workers:
            worker.conn.send(PROBE)
            answers.append(worker.conn.recv())
        return answers
    finally:
        pool.close()


def _key(item: Item) -> tuple[Any, ...]:
    case = item.case
    if case is None:
        return ()
    shapes = {**case.options.shapes, **{n: v.value.shape for n, v in case.options.values.items()}}
    return case.expr.strip(), tuple(sorted(shapes.items())), case.options.wrt
