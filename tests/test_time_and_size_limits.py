"""No input may hang (issue 16): constants beyond float64 are refused before they are computed, and
`eval`/`derive --timeout S` (default 60 s) stop any command past its budget with exit 2 and one line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from gradcalc.cli import main as cli
from gradcalc.cli.budget import DEFAULT_TIMEOUT, command_budget
from gradcalc.errors import ParseError
from gradcalc.lang.parse import parse

HUGE = [
    "sum(X)*9**9**9",
    "sum(X)/(2**10**10-2**10**10)",
    "sum(X, 10**400)",
    "sum(X**10**400)",
    "sum(X)*(10**300*10**300)",
    "sum(X)*(-3)**(5**20)",
    "sum(X)*0.5**(9**9**9)",
    "sum(X)*2.0**(10**10)",
    "sum(X)*2**1024",
    "np.sum(X, axis=9**9**9)",
    "X.pow(9**9**9).sum()",
]


def strict(text: str) -> Any:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["gradcalc", *args])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    out, err = capsys.readouterr()
    return stop.value.code or 0, out, err


@pytest.mark.parametrize("expr", HUGE)
def test_a_constant_beyond_float64_is_a_parse_error_before_it_is_computed(expr: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ParseError, match="number too large"):
        parse(expr)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("expr", HUGE[:3])
@pytest.mark.parametrize("command", ["eval", "derive"])
def test_huge_constants_exit_2_with_one_line_and_a_json_error(capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch, expr: str,
                                                              command: str) -> None:
    code, out, err = run(capsys, monkeypatch, command, "--", expr)
    assert code == 2 and out == "" and err.splitlines()[-1].startswith("gradcalc: error: number too large")
    assert "Traceback" not in err
    code, out, err = run(capsys, monkeypatch, command, "--json", "--", expr)
    doc = strict(out)
    assert code == 2 and doc["error"]["kind"] == "parse" and doc["error"]["message"].startswith("number too large")


@pytest.mark.parametrize("expr", ["sum(X)*2**1023", "sum(X)*2**-(10**10)", "sum(X*0.5**(10**10))",
                                  "sum(X)*2**(-3)", "sum(X**2)*3**600"])
def test_constants_within_range_or_underflowing_still_work(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch, expr: str) -> None:
    started = time.perf_counter()
    code, out, err = run(capsys, monkeypatch, "eval", "--json", "--", expr)
    assert code in (0, 1) and strict(out)["verdict"] in ("equal", "undefined"), err
    assert time.perf_counter() - started < 10


def test_the_default_timeout_is_documented_in_help(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for command in ("eval", "derive"):
        _, out, _ = run(capsys, monkeypatch, command, "--help")
        assert "--timeout" in out and f"default {DEFAULT_TIMEOUT:g}" in out


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_a_bad_timeout_is_an_input_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                         value: str) -> None:
    code, out, err = run(capsys, monkeypatch, "eval", "--timeout", value, "--json", "sum(X)")
    assert code == 2 and "must be a positive number of seconds" in err and strict(out)["error"]["kind"] == "input"


SLOW = ["eval", "sum(X@X@X@X@X@X@X@X)", "--shape", "X=600x600"]  # ~60 s of finite differences unbounded


@pytest.mark.parametrize("as_json", [False, True])
def test_a_slow_eval_is_stopped_by_timeout_well_within_its_budget(as_json: bool) -> None:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gradcalc", *SLOW, "--timeout", "1", *(["--json"] if as_json else [])],
                          capture_output=True, text=True, timeout=60, check=False)
    took = time.perf_counter() - started
    assert done.returncode == 2 and took < 5, (done.returncode, took, done.stderr)
    assert done.stderr.splitlines() == [
        "gradcalc: error: eval took longer than --timeout 1 s and was stopped; give it more time (--timeout 60) "
        "or smaller shapes"], done.stderr
    if as_json:
        assert strict(done.stdout)["error"] == {"kind": "timeout", "message": done.stderr[len("gradcalc: error: "):-1]}
    else:
        assert done.stdout == ""


def test_a_slow_derive_is_stopped_too(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import gradcalc.jobs.derive as job

    def forever(*args: Any, **kwargs: Any) -> None:
        while True:  # Python bytecode, as SymPy's own loops are
            pass

    monkeypatch.setattr(job, "run_derive", forever)
    started = time.perf_counter()
    code, out, err = run(capsys, monkeypatch, "derive", "--timeout", "0.5", "--json", "sum(X)")
    assert code == 2 and time.perf_counter() - started < 5
    assert strict(out)["error"]["kind"] == "timeout" and "derive took longer than --timeout 0.5 s" in err


def test_the_budget_leaves_an_outer_timer_armed() -> None:
    """A test harness's own SIGALRM limit survives a command run in-process, and a sooner one stays in charge."""
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 100)
        with command_budget(5.0, "eval", as_json=False, debug=False):
            assert signal.getitimer(signal.ITIMER_REAL)[0] <= 5.0
        assert 90 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with command_budget(5.0, "eval", as_json=False, debug=False):
            time.sleep(0.4)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
