"""`gradcalc batch` as CI and a course use it: the sample library, failures, timeouts, JSON Lines, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradcalc.batch.cases import collect
from gradcalc.batch.select import keyword_filter
from gradcalc.errors import InputError

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed( \(\d+ timeouts?\))?(, \d+ errors?)? in [\d.]+ s")

GOOD = '''
[[case]]
name = "passes"
expr = "trace(A@B)"
expect = "equal"

[[case]]
name = "wrong expected number"
expr = "sum(x*x)"
value = { x = [1.0, 2.0] }
check = { x = [2.0, 4.5] }
expect = "equal"

[[case]]
name = "slow: finite differences through 1000x1000 products"
expr = "sum((relu(X@W)-Y)**2)"
shape = { X = "1000x1000", W = "1000x1000", Y = "1000x1000" }
wrt = ["W"]
expect = "equal"

[[case]]
name = "passes after the slow one"
expr = "sum(exp(X))"
expect = "equal"
'''


def gradcalc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}, timeout=300)


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    (tmp_path / "good.toml").write_text(GOOD)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "broken.toml").write_text('[[case]]\nname = "broken"\nexpr = sum(X)\n')
    return tmp_path


def test_the_sample_library_passes() -> None:
    run = gradcalc("batch", str(SAMPLES))
    assert run.returncode == 0, run.stdout[-2000:]
    last = run.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match and int(match.group(1)) >= 80 and match.group(2) == "0", last
    assert run.stderr == ""  # no progress bar when not on a terminal


def test_sample_library_as_json_lines() -> None:
    run = gradcalc("batch", str(SAMPLES), "--json")
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    cases, summary = lines[:-1], lines[-1]["summary"]
    assert run.returncode == 0 and summary["passed"] == len(cases) >= 80 and summary["failed"] == 0
    first = cases[0]
    assert {"file", "case", "expect", "passed", "seconds", "gradients", "verdict", "expression"} <= set(first)
    files = [Path(c["file"]).name for c in cases]
    assert files == sorted(files)  # the order of the files, whatever finished first


def test_a_failure_a_malformed_file_and_a_timeout_do_not_stop_the_others(mixed: Path) -> None:
    run = gradcalc("batch", ".", "--timeout", "1", "--jobs", "2", cwd=mixed)
    assert run.returncode == 2, run.stdout  # bad input wins over failures
    out = run.stdout
    assert SUMMARY.match(out.strip().splitlines()[-1]).group(0).startswith("2 passed, 2 failed (1 timeout), 1 error")
    assert "ERROR sub/broken.toml" in out and "not valid TOML: Invalid value (at line 3, column 8)" in out
    assert "FAILED good.toml: wrong expected number" in out
    assert "check x: autograd is 4 where 4.5 is expected (at [1], off by 0.5; tolerance 0.0001)" in out
    assert "TIMEOUT good.toml: slow" in out and "ran past --timeout 1 s and was stopped" in out
    rows = [line.split("│")[0].strip() for line in out.splitlines() if "│" in line]
    assert [row.rstrip("…")[:25] for row in rows] == [
        "good.toml: passes", "good.toml: wrong expected", "good.toml: slow: finite d", "good.toml: passes after t",
        "broken.toml: (file)"]


def test_json_lines_for_the_mixed_folder(mixed: Path) -> None:
    run = gradcalc("batch", "good.toml", "sub", "--timeout", "1", "--json", cwd=mixed)
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(x.get("case"), x.get("outcome")) for x in lines[:-1]] == [
        ("passes", "passed"), ("wrong expected number", "failed"),
        ("slow: finite differences through 1000x1000 products", "timeout"), ("passes after the slow one", "passed"),
        (None, "error")]
    assert lines[2]["verdict"] == "timeout" and lines[1]["failures"][0].startswith("check x: autograd is 4")
    assert lines[-1]["summary"] == {**lines[-1]["summary"], "passed": 2, "failed": 2, "timeouts": 1, "errors": 1}
    assert run.returncode == 2


def test_exit_1_when_a_case_fails_and_nothing_is_malformed(mixed: Path) -> None:
    run = gradcalc("batch", "good.toml", "-k", "not finite", cwd=mixed)
    assert run.returncode == 1
    assert run.stdout.strip().splitlines()[-1].startswith("2 passed, 1 failed in ")


def test_fail_fast_stops_at_the_first_failure(mixed: Path) -> None:
    run = gradcalc("batch", "good.toml", "--fail-fast", "--jobs", "1", "--json", cwd=mixed)
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [x.get("outcome") for x in lines[:-1]] == ["passed", "failed"]
    assert lines[-1]["summary"]["stopped_early"] is True and run.returncode == 1


def test_output_order_is_the_same_with_one_and_two_jobs() -> None:
    orders = []
    for jobs in ("1", "2"):
        run = gradcalc("batch", str(SAMPLES), "--json", "--jobs", jobs, "-k", "relu or trace")
        orders.append([(x.get("file"), x.get("case")) for x in map(json.loads, run.stdout.splitlines())][:-1])
    assert orders[0] == orders[1] and len(orders[0]) > 10


def test_interrupt_keeps_the_lines_written_and_prints_a_partial_summary(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(GOOD.replace('"passes after the slow one"', '"after"'))
    process = subprocess.Popen([sys.executable, "-m", "gradcalc", "batch", "s.toml", "--json", "--jobs", "1"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    first = process.stdout.readline()
    second = process.stdout.readline()
    time.sleep(0.5)  # the slow case is running
    os.killpg(process.pid, signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    lines = [json.loads(line) for line in [first, second, *rest.splitlines()]]
    assert [x.get("case") for x in lines[:-1]] == ["passes", "wrong expected number"]
    assert lines[-1]["summary"]["interrupted"] is True and lines[-1]["summary"]["cases"] == 2
    assert process.returncode == 130


@pytest.mark.parametrize(("args", "message"), [
    (["nowhere"], "gradcalc: error: nowhere: no such file or folder"),
    (["good.toml", "-k", "relu and"], "gradcalc: error: -k 'relu and': expected a word, 'not' or '(' at the end"),
    (["good.toml", "-k", "nothing-matches"], "gradcalc: error: -k 'nothing-matches': no case matches"),
    (["good.toml", "--jobs", "0"], "gradcalc: error: --jobs 0: must be at least 1, e.g. --jobs 2"),
    (["good.toml", "--timeout", "0"], ("gradcalc: error: --timeout 0.0: must be a positive number of seconds, "
                                      "e.g. --timeout 30")),
])
def test_bad_batch_options_exit_2_with_one_line(mixed: Path, args: list[str], message: str) -> None:
    run = gradcalc("batch", *args, cwd=mixed)
    assert (run.returncode, run.stderr.strip(), run.stdout) == (2, message, "")


def test_unknown_key_lists_the_allowed_keys(tmp_path: Path) -> None:
    (tmp_path / "typo.toml").write_text('[[case]]\nname = "t"\nexpr = "sum(X)"\nexpected = "equal"\n')
    run = gradcalc("batch", "typo.toml", cwd=tmp_path)
    assert run.returncode == 2
    assert ("typo.toml: case 1 ('t'): unknown key 'expected'; did you mean 'expect'? A case may have: name, expr, "
            "wrt, shape, value, seed, rng, dtype, rtol, atol, max_elements, expect, check") in " ".join(run.stdout.split())


def test_keyword_filter_reads_pytest_expressions() -> None:
    names = ["ml.toml::relu MLP", "core.toml::relu least squares", "cookbook.toml::(101) trace", "x::logdet"]
    pick = lambda pattern: [n for n in names if keyword_filter(pattern)(n)]
    assert pick("relu") == names[:2]
    assert pick("RELU and not mlp") == ["core.toml::relu least squares"]
    assert pick("(trace or logdet) and not relu") == names[2:]
    assert pick("cookbook") == ["cookbook.toml::(101) trace"]
    for bad in ("(relu", "relu or", "relu trace", "and"):
        with pytest.raises(InputError):
            keyword_filter(bad)


def test_collect_reads_folders_recursively_in_order(mixed: Path) -> None:
    items = collect([str(mixed)])
    assert [i.file.name for i in items] == ["good.toml"] * 4 + ["broken.toml"]
    assert items[-1].error and items[-1].case is None


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """stderr on a pseudo-terminal shows a progress bar; it is transient, so the summary stays clean."""
    import pty

    (tmp_path / "s.toml").write_text(GOOD.split("[[case]]\nname = \"slow")[0])
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "gradcalc", "batch", "s.toml", "--json"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=follower, env={**os.environ, "TERM": "xterm"})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    out, _ = process.communicate(timeout=120)
    os.close(leader)
    terminal = b"".join(chunks).decode()
    assert "2/2" in terminal and '"case"' not in terminal  # the bar on stderr, the JSON on stdout only
    assert [json.loads(line).get("case") for line in out.decode().splitlines()][:-1] == ["passes",
                                                                                         "wrong expected number"]


def test_a_derivation_shared_by_several_cases_is_derived_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradcalc.symbolic import adjoints as symbolic
    from gradcalc.batch.cases import case_from_table, run_case

    calls = []
    original = symbolic.gradients
    monkeypatch.setattr(symbolic, "gradients", lambda *a, **k: calls.append(a) or original(*a, **k))
    expr = "sum((tanh(X@W) - Y)**2) + 0.125*sum(W*W)"  # not derived by any other test
    for seed in (1, 2, 3):
        assert run_case(case_from_table({"name": "n", "expr": expr, "seed": seed, "expect": "equal"})).passed
    run_case(case_from_table({"name": "n", "expr": expr, "shape": {"X": "6x2"}, "expect": "equal"}))
    assert len(calls) == 2  # once for the default shapes, once for X 6x2
