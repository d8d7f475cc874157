"""`eval --steps` and the terminal view: the backward chain checked three ways, elision, wrapping, precision."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradcalc.batch.cases import read_file
from gradcalc.lang.parse import parse
from gradcalc.jobs.evaluate import run_eval
from gradcalc.render.eval_view import format_matrix, show
from gradcalc.tape import record
from gradcalc.options import EvalOptions

HEADLINE = "sum((relu(X@W)-Y)**2)"
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CASES = [case for path in sorted(SAMPLES.glob("*.toml")) for case in read_file(path)]


def gradcalc(*args: str, columns: int = 100) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": str(columns)})


def test_headline_chain_is_the_one_derived_by_hand() -> None:
    result = run_eval(HEADLINE, EvalOptions(wrt=["W"], steps=True))
    assert [(s.name, s.definition, s.chain) for s in result.steps] == [
        ("f", "sum(D⊙²)", "1"), ("D", "Ŷ − Y", "2·D"), ("Ŷ", "relu(Z)", "∂f/∂D"), ("Z", "XW", "∂f/∂Ŷ ⊙ H(Z)")]
    assert result.chains["W"] == ("Xᵀ·∂f/∂Z", "X.T@dZ")
    assert [s.verdict for s in result.steps] == ["equal"] * 4
    x, w, y = (v.value for v in result.variables)
    z = x @ w
    by_name = {s.name: s for s in result.steps}
    np.testing.assert_allclose(by_name["D"].autograd, 2 * (np.maximum(z, 0) - y), rtol=1e-12)  # ∂f/∂Ŷ = 2(Ŷ − Y)
    np.testing.assert_allclose(by_name["Z"].autograd, 2 * (np.maximum(z, 0) - y) * (z > 0), rtol=1e-12)
    np.testing.assert_allclose(by_name["Z"].value, z, rtol=1e-12)


def _check_chain(expr: str, **options) -> int:
    """Each step's chain formula, evaluated on the engine's node values and adjoints, gives its adjoint."""
    result = run_eval(expr, EvalOptions(steps=True, **options))
    tol = 1e-9 if result.dtype == "float64" else 1e-5
    env = {v.name: v.value for v in result.variables}
    for step in result.steps:
        env[step.label] = step.value
        env["d" + step.label] = step.autograd
    checked = 0
    for step in result.steps:
        assert step.verdict in ("equal", "kink"), (expr, step.name, step.verdict)
        if step.name == "f":
            continue
        tree = parse(step.chain_syntax)
        _, tensors, _ = record(tree, {n: np.asarray(env[n]) for n in _names(tree)})
        got = np.broadcast_to(tensors[id(tree)].value, step.autograd.shape)
        np.testing.assert_allclose(got, step.autograd, rtol=tol, atol=tol, err_msg=f"{expr}: {step.chain_syntax}")
        checked += 1
    for g in result.gradients:
        tree = parse(result.chains[g.name][1])
        _, tensors, _ = record(tree, {n: np.asarray(env[n]) for n in _names(tree)})
        got = np.broadcast_to(tensors[id(tree)].value, g.autograd.shape)
        np.testing.assert_allclose(got, g.autograd, rtol=tol, atol=tol, err_msg=f"{expr}: {g.name}")
    return checked


def _names(tree) -> list[str]:
    from gradcalc.lang.tree import variable_names

    return variable_names(tree)


@pytest.mark.parametrize("case", CASES, ids=[case.name[:60] for case in CASES])
def test_every_chain_formula_reproduces_the_engine(case) -> None:
    o = case.options
    _check_chain(case.expr, wrt=o.wrt, shapes=o.shapes, values=o.values, seed=o.seed, rng=o.rng, dtype=o.dtype)


def test_chain_covers_mlps_and_shared_nodes() -> None:
    assert _check_chain("sum((relu(relu(X@W1)@W2)-Y)**2)") == 5
    assert _check_chain("sum(sigmoid(X@W)*log(X@W+10))") == 6
    result = run_eval("sum((relu(relu(X@W1)@W2)-Y)**2)", EvalOptions(steps=True))
    assert [s.name for s in result.steps] == ["f", "D", "Ŷ", "Z2", "H", "Z1"]


def test_steps_in_json() -> None:
    run = gradcalc("eval", HEADLINE, "--wrt", "W", "--steps", "--json")
    doc = json.loads(run.stdout)
    assert [s["node"] for s in doc["steps"]] == ["f", "D", "Yhat", "Z"]
    assert [s["adjoint"]["chain"] for s in doc["steps"]] == ["1", "2*D", "dD", "dYhat*heaviside(Z)"]
    assert doc["steps"][3]["adjoint"]["formula"] == "2*((relu(X@W) - Y)*heaviside(X@W))"
    assert all(s["verdict"] == "equal" for s in doc["steps"])
    assert doc["gradients"]["W"]["chain"] == {"formula": "X.T@dZ", "pretty": "Xᵀ·∂f/∂Z"}


def test_steps_view() -> None:
    run = gradcalc("eval", HEADLINE, "--wrt", "W", "--steps")
    assert run.returncode == 0
    out = run.stdout
    for line in ("f = sum(D⊙²)  ∂f/∂f = 1", "D = Ŷ − Y     ∂f/∂D = 2·D", "Ŷ = relu(Z)   ∂f/∂Ŷ = ∂f/∂D",
                 "Z = XW        ∂f/∂Z = ∂f/∂Ŷ ⊙ H(Z)", "= 2·((relu(XW) − Y) ⊙ H(XW))", "chain    ∂f/∂W = Xᵀ·∂f/∂Z"):
        assert line in out, line
    assert out.count("engine (retain_grad)") == 3


def test_200x200_gradient_is_elided_within_the_terminal() -> None:
    for columns in (80, 120):
        run = gradcalc("eval", "sum(A*W)", "--shape", "A=200x200", "--shape", "W=200x200", "--wrt", "W",
                       columns=columns)
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert max(len(line) for line in lines) <= columns
        assert "autograd (tape) 200x200" in run.stdout and "…" in run.stdout and "⋮" in run.stdout
        matrix = [line for line in lines if "…" in line]
        assert len(matrix) == 6  # 3 rows at each edge, as NumPy


def test_format_matrix_elides_like_numpy() -> None:
    a = np.arange(40000.0).reshape(200, 200)
    rows = format_matrix(a, precision=1)
    assert len(rows) == 7 and rows[3] == ["⋮"] * 7 and rows[0][:3] == ["0.0", "1.0", "2.0"]
    assert rows[0][3] == "…" and rows[-1][-1] == "39999.0"
    assert format_matrix(np.arange(30.0).reshape(30, 1), precision=0)[-1] == ["29"]  # small: nothing elided
    assert format_matrix(np.array([[-0.0, 1e-7]]), precision=2) == [["0.0e+00", "1.0e-07"]]


def test_precision_controls_the_digits() -> None:
    out = gradcalc("eval", "sum(x*x)", "--value", "x=[[0.123456789, 2]]", "--precision", "7").stdout
    assert "0.2469136" in out and "f = 4.01524" in out
    assert "0.25 4.00         0.25 4.00" in gradcalc("eval", "sum(x*x)", "--value", "x=[[0.123456789, 2]]", "--precision", "2").stdout
    bad = gradcalc("eval", "sum(x)", "--precision", "40")
    assert (bad.returncode, bad.stderr.strip()) == (2, "gradcalc: error: --precision 40: must be between 0 and 16 "
                                                       "decimals, e.g. --precision 6")


def test_long_formulas_wrap_inside_their_column() -> None:
    import rich.console

    console = rich.console.Console(file=io.StringIO(), width=60, color_system=None)
    layers = "relu(relu(relu(X@W1)@W2)@W3)@W4"
    show(run_eval(f"sum(({layers} - Y)**2)", EvalOptions(wrt=["W1"])), console)
    lines = console.file.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 60
    start = next(i for i, line in enumerate(lines) if line.startswith("formula"))
    assert lines[start + 1].startswith("         ") and lines[start + 1].strip()  # continued under the formula
