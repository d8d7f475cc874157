"""One options object reaches every command: `--max-elements` is honoured by eval, --vjp, --jacobian, --steps,
derive and batch cases, each refusing an expression just over the limit and accepting it just under."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradcalc.batch.cases import case_from_table, read_file, run_case
from gradcalc.errors import InputError
from gradcalc.jobs.derive import run_derive
from gradcalc.jobs.evaluate import run_eval
from gradcalc.jobs.jacobian import run_jacobian
from gradcalc.jobs.vjp import run_vjp
from gradcalc.options import EvalOptions, from_text
from gradcalc.values.draw import Value

# X 3x2, W 2x2: X, W, X@W hold 6 + 4 + 6 = 16 numbers; sum(...) one more.
SHAPES = {"X": (3, 2), "W": (2, 2)}
OVER = "hold 17 numbers"


def gradcalc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def test_eval_honours_max_elements() -> None:
    with pytest.raises(InputError, match=OVER):
        run_eval("sum(X@W)", EvalOptions(shapes=SHAPES, max_elements=16))
    assert run_eval("sum(X@W)", EvalOptions(shapes=SHAPES, max_elements=17)).verdict == "equal"


def test_steps_honours_max_elements() -> None:
    with pytest.raises(InputError, match=OVER):
        run_eval("sum(X@W)", EvalOptions(shapes=SHAPES, steps=True, max_elements=16))
    assert run_eval("sum(X@W)", EvalOptions(shapes=SHAPES, steps=True, max_elements=17)).steps


def test_vjp_honours_max_elements() -> None:
    v = Value(np.ones((3, 2)), "inline")
    with pytest.raises(InputError, match="hold 16 numbers"):  # X, W and X@W; the weighted sum is checked after
        run_vjp("X@W", EvalOptions(shapes=SHAPES, vjp=v, max_elements=15))
    assert run_vjp("X@W", EvalOptions(shapes=SHAPES, vjp=v, max_elements=40)).verdict == "equal"


def test_vjp_max_elements_also_bounds_the_weighted_eval() -> None:
    v = Value(np.ones((3, 2)), "inline")  # sum(v*(X@W)) holds 16 + v 6 + v*(X@W) 6 + the sum 1 = 29
    with pytest.raises(InputError, match="hold 29 numbers"):
        run_vjp("X@W", EvalOptions(shapes=SHAPES, vjp=v, max_elements=28))


def test_jacobian_honours_max_elements() -> None:
    with pytest.raises(InputError, match="hold 16 numbers"):
        run_jacobian("X@W", EvalOptions(shapes=SHAPES, jacobian=True, max_elements=15))
    assert run_jacobian("X@W", EvalOptions(shapes=SHAPES, jacobian=True, max_elements=16)).verdict == "equal"


def test_derive_honours_max_elements_on_numeric_sizes_only() -> None:
    with pytest.raises(InputError, match=OVER):
        run_derive("sum(X@W)", EvalOptions(shapes=SHAPES, max_elements=16))
    assert run_derive("sum(X@W)", EvalOptions(shapes=SHAPES, max_elements=17)).gradients
    named = {"X": ("n", "k"), "W": ("k", "m")}  # named sizes hold no numbers
    assert run_derive("sum(X@W)", EvalOptions(shapes=named, max_elements=1)).gradients


def test_batch_case_key_and_batch_default_are_honoured(tmp_path: Path) -> None:
    table = {"name": "small", "expr": "sum(X@W)", "shape": {"X": "3x2", "W": "2x2"}, "expect": "equal"}
    outcome = run_case(case_from_table({**table, "max_elements": 16}))
    assert outcome.error is not None and OVER in outcome.error.message
    assert run_case(case_from_table(table, defaults=EvalOptions(max_elements=16))).error is not None
    assert run_case(case_from_table({**table, "max_elements": 17}, defaults=EvalOptions(max_elements=16))).passed
    sample = tmp_path / "s.toml"
    sample.write_text('[[case]]\nname = "small"\nexpr = "sum(X@W)"\nshape = { X = "3x2", W = "2x2" }\n'
                      'expect = "equal"\n')
    (case,) = read_file(sample, EvalOptions(max_elements=16))
    assert case.options.max_elements == 16


@pytest.mark.parametrize("args", [
    ["eval", "sum(X@W)"],
    ["eval", "sum(X@W)", "--steps"],
    ["eval", "X@W", "--vjp", "[[1, 1], [1, 1], [1, 1]]"],
    ["eval", "X@W", "--jacobian"],
    ["derive", "sum(X@W)"],
])
def test_every_command_line_honours_max_elements(args: list[str]) -> None:
    shapes = ["--shape", "X=3x2", "--shape", "W=2x2"]
    run = gradcalc(*args, *shapes, "--max-elements", "10", "--json")
    assert run.returncode == 2, run.stderr
    assert "above the limit of 10; raise it with --max-elements" in json.loads(run.stdout)["error"]["message"]
    assert gradcalc(*args, *shapes, "--max-elements", "100", "--json").returncode == 0


def test_batch_command_line_honours_max_elements(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('[[case]]\nname = "small"\nexpr = "sum(X@W)"\n'
                                     'shape = { X = "3x2", W = "2x2" }\nexpect = "equal"\n')
    refused = gradcalc("batch", "s.toml", "--json", "--max-elements", "10", cwd=tmp_path)
    report = json.loads(refused.stdout.splitlines()[0])
    assert (refused.returncode, report["outcome"]) == (2, "error")
    assert "above the limit of 10" in report["error"]["message"]
    assert gradcalc("batch", "s.toml", "--max-elements", "100", cwd=tmp_path).returncode == 0


def test_options_are_checked_once_for_every_command() -> None:
    for bad in ({"dtype": "float16"}, {"rng": "jax"}, {"rtol": -1.0}, {"max_elements": 0}):
        with pytest.raises(InputError):
            EvalOptions(**bad)
    with pytest.raises(InputError, match="--steps works with eval and eval --vjp"):
        from_text(jacobian=True, steps=True)
    options = from_text(wrt=["W", "X", "W"], shape=["X=3x2"], value=["W=[[1, 2], [3, 4]]"], vjp="g=[1, 2, 3]")
    assert (options.wrt, options.shapes["X"], options.values["W"].value.shape) == (("W", "X"), (3, 2), (2, 2))
    assert (options.vjp_name, options.vjp.value.tolist()) == ("g", [1.0, 2.0, 3.0])
