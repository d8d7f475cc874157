"""The command line as a user meets it: exit codes, stderr lines, JSON, safety, start-up imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradcalc.lang.parse import parse
from gradcalc.lang.infer import infer
from gradcalc.tape import record

HEADLINE = "sum((relu(X@W)-Y)**2)"


def gradcalc(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter, as a user would."""
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=120)


def reevaluate(formula: str, variables: dict[str, dict]) -> np.ndarray:
    """Feed a printed formula back through the parser and the tape, on the same values."""
    tree = parse(formula)
    shapes = infer(tree, {k: tuple(v["shape"]) for k, v in variables.items()}, formula)
    values = {k: np.array(variables[k]["value"], dtype=float) for k in shapes.variables}
    _, tensors, _ = record(tree, values)
    return tensors[id(tree)].value


@pytest.mark.parametrize("wrt", [["W"], ["X"], ["Y"], []])
def test_headline_json(wrt: list[str]) -> None:
    args = [a for name in wrt for a in ("--wrt", name)]
    run = gradcalc("eval", HEADLINE, *args, "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["verdict"] == "equal"
    assert set(doc["gradients"]) == set(wrt or ["X", "W", "Y"])
    shapes = {k: tuple(v["shape"]) for k, v in doc["variables"].items()}
    assert shapes == {"X": (4, 3), "W": (3, 5), "Y": (4, 5)}  # distinct defaults
    values_needed = {k: {"shape": v["shape"]} for k, v in doc["variables"].items()}
    rng = np.random.default_rng(0)  # the documented default values, drawn in order of appearance
    for name in ("X", "W", "Y"):
        values_needed[name]["value"] = rng.standard_normal(shapes[name]).tolist()
    for name, g in doc["gradients"].items():
        assert g["verdict"] == "equal" and g["shape"] == list(shapes[name])
        assert np.array(g["autograd"]).shape == shapes[name]
        assert set(g["symbolic"]) >= {"formula", "pretty", "latex", "value"}
        assert set(g["finite_difference"]) >= {"value", "step"}
        np.testing.assert_allclose(reevaluate(g["symbolic"]["formula"], values_needed), g["symbolic"]["value"],
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g["autograd"], g["finite_difference"]["value"], rtol=1e-6, atol=1e-6)
    if wrt == ["W"]:
        assert doc["gradients"]["W"]["symbolic"]["formula"] == "2*X.T@((relu(X@W) - Y)*heaviside(X@W))"
        assert doc["gradients"]["W"]["symbolic"]["pretty"] == "2·Xᵀ((relu(XW) − Y) ⊙ H(XW))"


def test_headline_view_is_plain_when_piped() -> None:
    run = gradcalc("eval", HEADLINE, "--wrt", "W")
    assert run.returncode == 0
    assert "\x1b[" not in run.stdout
    for piece in ("autograd", "symbolic", "2·Xᵀ((relu(XW) − Y) ⊙ H(XW))", "verdict: equal", "4x3 (default)"):
        assert piece in run.stdout


@pytest.mark.parametrize("expr, shapes", [
    ("(clamp(x.mm(W), 0) - y).pow(2).sum()", []),
    ("x.t().mm(W).mm(y)", ["x=4x1", "W=4x4", "y=4x1"]),
    ("trace(W.mm(y).t().mm(x))", []),
    ("sum(x**2*exp(x))", []),
    ("mean(3*(x+2)*(x+2))", []),
    ("sum(log(exp(X)@exp(W)))", []),
])
def test_acceptance_expressions_are_equal(expr: str, shapes: list[str]) -> None:
    run = gradcalc("eval", expr, *[a for s in shapes for a in ("--shape", s)], "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["verdict"] == "equal"


def test_bilinear_form_gradients_are_textbook() -> None:
    doc = json.loads(gradcalc("eval", "x.t().mm(W).mm(y)", "--shape", "x=4x1", "--shape", "W=4x4",
                              "--shape", "y=4x1", "--json").stdout)
    g = doc["gradients"]
    assert (g["x"]["symbolic"]["formula"], g["W"]["symbolic"]["formula"], g["y"]["symbolic"]["formula"]) == (
        "W@y", "x@y.T", "W.T@x")


@pytest.mark.parametrize("expr, extra, caret", [
    ("sum((X@W", [], True),
    ("foo(X)", [], True),
    ("X@W", ["--shape", "X=2x3", "--shape", "W=2x3"], False),
    ("", [], True),
    ("__import__('os').system('touch hacked')", [], True),
    ("X@W", [], False),
    ("sum(X)", ["--wrt", "Q"], False),
    ("sum(X)", ["--shape", "X=0x3"], False),
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, expr: str, extra: list[str], caret: bool) -> None:
    run = gradcalc("eval", expr, *extra, cwd=tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and run.stdout == ""
    lines = run.stderr.splitlines()
    messages = [line for line in lines if line.startswith("gradcalc: error:")]
    assert len(messages) == 1 and lines[-1] == messages[0]
    assert len(lines) in (1, 3)
    if caret:
        assert len(lines) == 3 and lines[1].strip() == "^"
    assert not (tmp_path / "hacked").exists()


def test_messages_say_what_would_be_right() -> None:
    assert "did you mean relu" in gradcalc("eval", "sum(rleu(X))").stderr
    shape = gradcalc("eval", "X@W", "--shape", "X=2x3", "--shape", "W=2x3").stderr
    assert "2x3" in shape and "X@W" in shape and "@" in shape
    assert "sum(X@W)" in gradcalc("eval", "X@W").stderr


def test_syntax_error_caret_points_at_the_offender() -> None:
    lines = gradcalc("eval", "sum((X@W").stderr.splitlines()
    assert lines[0].index("(", lines[0].index("sum") + 4) == lines[1].index("^")


def test_error_as_json() -> None:
    run = gradcalc("eval", "sum((X@W", "--json")
    assert run.returncode == 2
    assert json.loads(run.stdout) == {"error": {"kind": "parse", "message": "syntax error: '(' was never closed",
                                                "position": 4}}


def test_usage_error_is_one_line() -> None:
    run = gradcalc("eval", "sum(X)", "--seed", "abc")
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1 and "--seed" in run.stderr


def test_version_does_not_import_numpy_or_sympy() -> None:
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "gradcalc", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "gradcalc 0.1.0"
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines()}
    assert not {"numpy", "sympy"} & imported


def test_broken_pipe_ends_quietly() -> None:
    command = f'"{sys.executable}" -m gradcalc eval "{HEADLINE}" | head -1'
    run = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
    assert run.stdout.startswith("gradcalc eval")
    assert "Traceback" not in run.stderr and "Broken pipe" not in run.stderr


def test_bad_tolerance_is_bad_input() -> None:
    assert gradcalc("eval", "sum(X*X)", "--rtol", "-1").returncode == 2


def run_on_terminal(*args: str, env: dict[str, str]) -> str:
    """Run the CLI with stdout on a pseudo-terminal, as when a person types the command."""
    import pty

    leader, follower = pty.openpty()
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS")}
    proc = subprocess.Popen([sys.executable, "-m", "gradcalc", *args], stdout=follower, stderr=subprocess.PIPE,
                            env={**base, "TERM": "xterm-256color", **env})
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
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_and_plain_with_no_color() -> None:
    assert "\x1b[" in run_on_terminal("eval", "sum(X*X)", env={})
    assert "\x1b[" not in run_on_terminal("eval", "sum(X*X)", env={"NO_COLOR": "1"})
