"""The wall-clock budget of one command (`eval --timeout`, `derive --timeout`): SIGALRM, no threads.

A timer (`signal.setitimer`) raises `OutOfTime` in the main thread when the
budget is spent; `command_budget` turns it into one `gradcalc: error:` line (and
a JSON error document with --json), exit 2. Nothing keeps running afterwards:
no thread or process was started.

Python delivers the signal between bytecodes, so SymPy and the Python loops
of the engine and the finite differences stop within milliseconds; one long
call into C (a single huge NumPy matmul, a big-integer power) is finished
first -- which is why constants beyond float64 are refused before they are
computed (`lang.kernels.fold_power`) and sizes are capped (`--max-elements`).
The budget is a CLI concern: the job API (`run_eval`) stays free of signals,
so it can run in any thread; the batch's workers have their own `--timeout`.

>>> with command_budget(5.0, "eval", as_json=False, debug=False):
...     print("done")
done
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gradcalc.cli.app import fail
from gradcalc.errors import GradcalcError, InputError

DEFAULT_TIMEOUT = 60.0  # seconds for one eval or derive command
TIMEOUT_HELP = "Stop the command after S seconds: exit 2 with an error (default 60)."


class OutOfTime(BaseException):
    """Raised by the timer: a BaseException, so that no `except Exception` in the stages swallows it."""


class TimeLimit(GradcalcError):
    """The command ran past its --timeout.

    >>> TimeLimit("eval took longer than --timeout 1 s").kind
    'timeout'
    """

    kind = "timeout"


def checked_timeout(seconds: float) -> float:
    """A --timeout value, or InputError (the same rule and words as `batch --timeout`).

    >>> checked_timeout(2.5)
    2.5
    """
    if not seconds > 0:
        raise InputError(f"--timeout {seconds:g}: must be a positive number of seconds, e.g. --timeout 30")
    return seconds


@contextmanager
def command_budget(seconds: float, command: str, as_json: bool, debug: bool) -> Iterator[None]:
    """Run the block under a wall-clock budget of `seconds`; past it, one error line and exit 2.

    Outside the main thread (no signals there) and for an infinite budget the block runs unbounded.
    An outer timer that is due sooner (a test harness's own limit) is left in charge and re-armed after.

    >>> with command_budget(math.inf, "derive", as_json=False, debug=False):
    ...     print("unbounded")
    unbounded
    """
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    if (not math.isfinite(seconds) or threading.current_thread() is not threading.main_thread()
            or (outer_delay and outer_delay <= seconds)):
        yield
        return

    def alarm(signum: int, frame: Any) -> None:
        raise OutOfTime

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except OutOfTime:
        signal.setitimer(signal.ITIMER_REAL, 0)
        fail(TimeLimit(f"{command} took longer than --timeout {seconds:g} s and was stopped; give it more time "
                       f"(--timeout {max(2 * seconds, DEFAULT_TIMEOUT):g}) or smaller shapes"), as_json, debug)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            signal.setitimer(signal.ITIMER_REAL, max(1e-3, outer_delay - (time.monotonic() - started)),
                             outer_interval)
