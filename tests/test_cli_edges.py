"""CLI edges (issue 16): --wrt as a comma list, narrow terminals, shape errors of `-`, what an unknown name
means elsewhere, and the examples of `eval --help`."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from gradcalc.cli.main import app
from gradcalc.errors import ParseError
from gradcalc.lang.elsewhere import ATTRIBUTES, CALLS, OPERATORS
from gradcalc.lang.ops import function_names, method_names
from gradcalc.lang.parse import parse

RUNNER = CliRunner()


def run(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own (the terminal width is read at start-up)."""
    env = {**os.environ, **({"COLUMNS": str(columns)} if columns else {})}
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_wrt_takes_a_comma_list_as_well_as_repeated_options() -> None:
    shapes = ["--shape", "X=3x4", "--shape", "W=4x2", "--json"]
    listed = RUNNER.invoke(app, ["eval", "sum(X@W)", "--wrt", "W,X", *shapes])
    repeated = RUNNER.invoke(app, ["eval", "sum(X@W)", "--wrt", "W", "--wrt", "X", *shapes])
    assert listed.exit_code == repeated.exit_code == 0, listed.stdout + repeated.stdout
    assert list(json.loads(listed.stdout)["gradients"]) == list(json.loads(repeated.stdout)["gradients"]) == ["W", "X"]
    spaced = RUNNER.invoke(app, ["eval", "sum(X@W)", "--wrt", "W, X", *shapes])
    assert list(json.loads(spaced.stdout)["gradients"]) == ["W", "X"]


def test_a_narrow_terminal_shows_every_column_of_a_3x5_gradient() -> None:
    c = "[[1,2,3,4,5],[6,7,8,9,10],[11,12,13,14,15]]"
    done = run("eval", "sum(W*C)", "--wrt", "W", "--value", f"C={c}", "--shape", "W=3x5", "--precision", "1",
               columns=60)
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout, done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 60, done.stdout
    for k in range(1, 16):  # every entry of ∂f/∂W = C, in both the tape's matrix and the closed form's
        assert len(re.findall(rf"(?<![\d.]){k}\.0(?!\d)", done.stdout)) == 2, (k, done.stdout)


def test_a_wide_terminal_keeps_the_two_matrices_side_by_side() -> None:
    done = run("eval", "sum(W*W)", "--wrt", "W", "--shape", "W=3x5", columns=160)
    assert re.search(r"autograd \(tape\)\s+symbolic \(closed form\)", done.stdout), done.stdout


def test_a_shape_error_of_minus_says_subtraction_and_names_the_operands() -> None:
    result = RUNNER.invoke(app, ["eval", "sum(X-W)", "--shape", "X=3x4", "--shape", "W=4x5"])
    assert result.exit_code == 2
    assert "- (subtraction) cannot combine X (3x4), W (4x5)" in result.stderr, result.stderr
    assert "addition" not in result.stderr
    result = RUNNER.invoke(app, ["eval", "sum(X - 2*W)", "--shape", "X=3x4", "--shape", "W=4x5"])
    assert "- (subtraction) cannot combine X (3x4), 2*W (4x5)" in result.stderr, result.stderr
    result = RUNNER.invoke(app, ["eval", "sum(X+W)", "--shape", "X=3x4", "--shape", "W=4x5"])
    assert "+ (addition) cannot combine X (3x4), W (4x5)" in result.stderr, result.stderr


@pytest.mark.parametrize("text, says", [
    ("sum(X^2)", "X**2"),
    ("sum(X.data)", "X.detach()"),
    ("sum(X.grad)", "--wrt"),
    ("prod(X)", "exp(sum(log(X)))"),
    ("sum(cumsum(X))", "cumulative sum"),
    ("sum(X.cumsum(0))", "cumulative sum"),
    ("sum(np.einsum('ij->i', X))", "A@B"),
    ("sum(sort(X))", "max(X)"),
    ("argmax(X)", "max(X)"),
    ("sum(X.argmax())", "max(X)"),
    ("X.sum().item()", "drop .item()"),
    ("sum(X.numpy())", "drop .numpy()"),
    ("len(X)", "--shape"),
    ("sum(np.random.randn(3)*X)", "--seed"),
    ("sum(torch.randn(3))", "--seed"),
    ("sum(X//2)", "write / for division"),
])
def test_an_unknown_name_is_told_what_it_means_elsewhere(text: str, says: str) -> None:
    with pytest.raises(ParseError) as err:
        parse(text)
    assert says in err.value.message and "did you mean" not in err.value.message, err.value.message


def test_the_table_holds_no_name_gradcalc_reads_and_its_hints_parse() -> None:
    readable = set(function_names()) | set(method_names())
    assert not readable & set(CALLS), readable & set(CALLS)
    assert not {"T", "mT"} & set(ATTRIBUTES)
    for spelling in ("sum(np.matmul(X, X.T))", "sum(reshape(X, 12))", "sum(kron(X, X))",
                     "sum(where(X > 0, X, 0))", "sum(X.view(12))"):  # valid now: no stale hint
        parse(spelling)
    hints = " ".join([*CALLS.values(), *ATTRIBUTES.values(), *OPERATORS.values()])
    for proposal in ("exp(sum(log(X)))", "max(X)", "amax(X, axis=0)", "min(X)", "amin(X, axis=0)", "X.detach()",
                     "X**2", "(X > 0)*(X < 1)", "clip((X < 0) + (X > 1), 0, 1)", "sum(A*B)", "A@B"):
        assert proposal in hints
        parse(proposal)


def test_eval_help_shows_three_examples_that_run_and_points_to_ops() -> None:
    text = RUNNER.invoke(app, ["eval", "--help"], env={"COLUMNS": "120"}).stdout
    examples = [line.strip() for line in text.splitlines() if line.strip().startswith("gradcalc eval ")]
    assert len(examples) == 3, text
    assert "gradcalc ops" in text
    for example in examples:
        result = RUNNER.invoke(app, shlex.split(example)[1:])
        assert result.exit_code == 0, (example, result.stdout, result.stderr)
