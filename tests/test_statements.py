"""Tutorial notation: named intermediates give the same numbers as one expression; --steps and --expect speak
of them; and the draw order of --rng torch follows the notebook, however the loss is spelled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradcalc.errors import ParseError
from gradcalc.jobs.evaluate import run_eval
from gradcalc.lang.statements import parse_statements
from gradcalc.options import EvalOptions

SINGLE = "sum((relu(X@W)-Y)**2)"
PROGRAMS = ["Z = X@W; H = relu(Z); f = sum((H-Y)**2)", "Z = X@W\nH = relu(Z)\nf = sum((H - Y)**2)",
            "Z = X@W; H = relu(Z); sum((H-Y)**2)", "H = relu(X@W)\n\n# the loss\nf = (H - Y).pow(2).sum()\n"]


def gradcalc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


@pytest.mark.parametrize("program", PROGRAMS)
def test_statements_give_the_numbers_of_the_single_expression(program: str) -> None:
    one, many = run_eval(SINGLE), run_eval(program)
    assert many.value == one.value and many.verdict == "equal"
    for a, b in zip(one.gradients, many.gradients):
        assert a.name == b.name and np.array_equal(a.autograd, b.autograd) and a.formula == b.formula


def test_a_name_used_twice_is_computed_once_and_counts_twice() -> None:
    result = run_eval("Z = X@W; f = sum(Z*Z)", EvalOptions(wrt=["W"]))
    assert result.value == pytest.approx(run_eval("sum((X@W)*(X@W))").value, rel=1e-14)
    tree = parse_statements("Z = X@W; f = sum(Z*Z)")
    assert tree.args[0].args[0] is tree.args[0].args[1]  # one node, used twice


@pytest.mark.parametrize(("program", "message"), [
    ("Z = X@W; Z = relu(X); sum(Z)", "Z is assigned twice"),
    ("Z = X@W; H = relu(X); sum(Z)", "H is assigned but the result does not use it"),
    ("X = X@W; sum(X)", "X = ... uses X itself"),
    ("H = relu(W); W = X@X; sum(H*W)", "W is a variable of an earlier statement"),
    ("e = X@W; sum(e)", "e is a constant's name"),
    ("relu = X@W; sum(relu)", "relu is a function's name"),
    ("X@W; sum(X)", "every statement but the last assigns a name"),
    ("Z = X@W; f = sum(Z +)", "syntax error"),
])
def test_statement_errors_are_clear(program: str, message: str) -> None:
    with pytest.raises(ParseError, match=message) as err:
        parse_statements(program)
    assert err.value.source == program and 0 <= err.value.position <= len(program)


def test_a_syntax_error_points_into_the_whole_text() -> None:
    with pytest.raises(ParseError) as err:
        parse_statements("Z = X@W; f = sum(Z +)")
    assert err.value.position == "Z = X@W; f = sum(Z +)".index(")")


def test_file_input_and_its_errors(tmp_path: Path) -> None:
    (tmp_path / "loss.txt").write_text("Z = X@W\nH = relu(Z)\nf = sum((H - Y)**2)\n")
    doc = json.loads(gradcalc("eval", "-f", "loss.txt", "--wrt", "W", "--json", cwd=tmp_path).stdout)
    assert doc["value"] == pytest.approx(run_eval(SINGLE).value) and doc["verdict"] == "equal"
    (tmp_path / "bad.txt").write_text("Z = X@W\nf = sum(Z +)\n")
    bad = gradcalc("eval", "-f", "bad.txt", cwd=tmp_path)
    assert bad.returncode == 2 and "line 2: f = sum(Z +)" in bad.stderr
    assert gradcalc("eval", "sum(X)", "-f", "loss.txt", cwd=tmp_path).returncode == 2  # both
    assert gradcalc("eval", cwd=tmp_path).returncode == 2  # neither
    assert gradcalc("eval", "-f", "missing.txt", cwd=tmp_path).returncode == 2


def test_steps_use_the_statement_names() -> None:
    steps = run_eval(PROGRAMS[0], EvalOptions(wrt=["W"], steps=True)).steps
    chain = {s.label: s.chain for s in steps}
    assert chain["Z"] == "∂f/∂H ⊙ H(Z)" and "H" in chain and all(s.verdict == "equal" for s in steps)


def test_expect_checks_a_backward_pass_link_by_link_and_names_the_first_wrong_link() -> None:
    good = (("H", "2*(H - Y)"), ("Z", "2*(H - Y)*heaviside(Z)"), ("W", "X.T@(2*(H - Y)*heaviside(Z))"))
    result = run_eval(PROGRAMS[0], EvalOptions(wrt=["W"], expect=good))
    assert [e.verdict for e in result.expectations] == ["equal"] * 3 and result.verdict == "equal"
    bad = (("W", "X.T@(2*(H - Y))"), ("H", "2*(H - Y)"), ("Z", "2*(H - Y)"))
    result = run_eval(PROGRAMS[0], EvalOptions(wrt=["W"], expect=bad))
    verdicts = {e.name: e.verdict for e in result.expectations}
    assert verdicts == {"W": "mismatch", "H": "equal", "Z": "mismatch"} and result.verdict == "mismatch"
    assert any("the first link of your backward pass that does not hold is ∂f/∂Z" in n for n in result.notes)
    z = next(e for e in result.expectations if e.name == "Z")
    assert "heaviside(Z)" in z.corrected


TUTORIAL = ["--rng", "torch", "--seed", "0", "--shape", "x=10x4", "--shape", "W=4x4", "--shape", "y=10x4"]


@pytest.mark.parametrize("spelling", ["sum((relu(x@W)-y)**2)", "sum((y - relu(x.mm(W)))**2)",
                                      "y_pred = relu(x.mm(W)); loss = (y_pred - y).pow(2).sum()"])
def test_torch_draws_follow_the_shape_options_however_the_loss_is_spelled(spelling: str) -> None:
    doc = json.loads(gradcalc("eval", spelling, *TUTORIAL, "--wrt", "W", "--json").stdout)
    assert round(doc["value"], 4) == 99.9048
    assert [round(v, 4) for v in doc["gradients"]["W"]["autograd"][0]] == [18.2980, 2.7573, 2.3914, -0.1974]


def test_order_overrides_and_is_checked() -> None:
    shuffled = ["--rng", "torch", "--shape", "y=10x4", "--shape", "W=4x4", "--shape", "x=10x4"]
    doc = json.loads(gradcalc("eval", "sum((relu(x@W)-y)**2)", *shuffled, "--order", "x,W,y", "--json").stdout)
    assert round(doc["value"], 4) == 99.9048
    assert gradcalc("eval", "sum(x)", "--order", "x,q").returncode == 2


def test_the_notebooks_hand_derived_w_grad_as_the_notebook_writes_it() -> None:
    program = "y_pred = relu(x.mm(W)); loss = (y_pred - y).pow(2).sum()"
    done = gradcalc("eval", program, *TUTORIAL, "--wrt", "W", "--expect",
                    "W=x.t().mm(2*(y_pred - y)*heaviside(x.mm(W)))", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gradients"]["W"]["expect"]["verdict"] == "equal"
