"""The referee: verdicts, kinks, and a wrong backward rule caught end to end."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from gradcalc.lang import ops
from gradcalc.referee import FiniteDifference, finite_difference, verdict, worst
from gradcalc.cli.main import app
from gradcalc.lang.parse import parse
from gradcalc.jobs.evaluate import run_eval

G = np.array([[1.0, -2.0, 3.0]])


def fd_of(value: np.ndarray, untrusted: np.ndarray | None = None) -> FiniteDifference:
    """A finite-difference result with chosen entries marked as sitting at a kink."""
    return FiniteDifference(value, 1e-6, np.zeros(value.shape, bool) if untrusted is None else untrusted, 1.0)


def test_verdicts() -> None:
    assert verdict(G, G, fd_of(G + 1e-9), 1e-7, None) == "equal"
    assert verdict(G, G * 1.001, fd_of(G), 1e-7, None) == "mismatch"
    assert verdict(G, G, fd_of(G + [[0, 0, 1]]), 1e-7, None) == "mismatch"
    assert verdict(G, G, fd_of(G + [[0, 0, 1]], np.array([[False, False, True]])), 1e-7, None) == "kink"
    assert verdict(G, G, fd_of(G + [[0, 1, 1]], np.array([[False, False, True]])), 1e-7, None) == "mismatch"
    assert verdict(G * np.nan, G, fd_of(G), 1e-7, None) == "undefined"
    assert worst(["equal", "kink", "mismatch"]) == "mismatch" and worst(["equal", "kink"]) == "kink"


def test_finite_differences_flag_exactly_the_entries_at_a_kink() -> None:
    x = np.array([[0.0, 1.0, -1.0, 1e-8]])
    fd = finite_difference(parse("sum(relu(x))"), {"x": x}, "x")
    assert fd.untrusted.tolist() == [[True, False, False, True]]
    np.testing.assert_allclose(fd.value[~fd.untrusted], [1.0, 0.0], atol=1e-9)


def test_kink_verdict_instead_of_false_mismatch() -> None:
    # relu at exactly 0: autograd and symbolic say 0 (PyTorch's convention), finite differences see 1/2.
    tree = parse("sum(relu(x))")
    fd = finite_difference(tree, {"x": np.zeros((1, 2))}, "x")
    assert fd.untrusted.all() and np.allclose(fd.value, 0.5)
    assert verdict(np.zeros((1, 2)), np.zeros((1, 2)), fd, 1e-7, None) == "kink"


def test_wrong_backward_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break relu's numeric VJP (pass g through unmasked): the verdict must be mismatch, exit code 1."""
    broken = dataclasses.replace(ops.OPS["relu"], vjp=(lambda ans, a: lambda g: g,))
    monkeypatch.setitem(ops.OPS, "relu", broken)
    run = CliRunner().invoke(app, ["eval", "sum((relu(X@W)-Y)**2)", "--wrt", "W", "--json"])
    assert run.exit_code == 1
    doc = json.loads(run.stdout)
    assert doc["verdict"] == "mismatch" and doc["gradients"]["W"]["max_abs_diff"] > 1e-3


def test_wrong_symbolic_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break exp's symbolic adjoint (drop the factor exp(A)): mismatch."""
    broken = dataclasses.replace(ops.OPS["exp"], sym_vjp=(lambda s, g, ans, a: g,))
    monkeypatch.setitem(ops.OPS, "exp", broken)
    assert run_eval("sum(exp(X))").verdict == "mismatch"


def test_each_entry_gets_a_step_of_its_own() -> None:
    fd = finite_difference(parse("sum(x**2)"), {"x": np.array([100.0, 1.0, 1e-3])}, "x")
    cbrt_eps = np.cbrt(np.finfo(np.float64).eps)
    np.testing.assert_allclose(fd.steps, [cbrt_eps * 100, cbrt_eps, cbrt_eps])
    np.testing.assert_allclose(fd.value, [200.0, 2.0, 2e-3], rtol=1e-6, atol=1e-6)
    assert not fd.suspect.any()


def test_a_badly_scaled_entry_shrinks_its_step_or_is_untrusted_without_failing_the_verdict() -> None:
    x = np.array([1e12, 1.0])  # a step of 6e6, and a thousandth of it, still cross many periods
    fd = finite_difference(parse("sum(sin(x))"), {"x": x}, "x")
    assert fd.unsure.tolist() == [True, False] and not fd.untrusted.any()  # unsure, and no kink
    np.testing.assert_allclose(fd.value[1], np.cos(1.0), rtol=1e-9)
    assert verdict(np.cos(x), np.cos(x), fd, 1e-7, None) == "equal"  # the engine and the closed form decide
    assert verdict(np.cos(x), np.cos(x) + [0, 1e-3], fd, 1e-7, None) == "mismatch"
    fd = finite_difference(parse("sum(sin(3000*x))"), {"x": np.array([0.3])}, "x")  # shrinks, then settles
    assert not fd.unsure.any() and fd.steps[0] < np.cbrt(np.finfo(np.float64).eps)
    np.testing.assert_allclose(fd.value, 3000 * np.cos(900.0), rtol=1e-5)


def test_the_output_counts_untrusted_entries_that_sit_at_no_kink() -> None:
    result = CliRunner().invoke(app, ["eval", "sum(sin(x))", "--value", "x=[1e12, 1.0]", "--json"])
    g = json.loads(result.stdout)["gradients"]["x"]
    assert result.exit_code == 0 and json.loads(result.stdout)["verdict"] == "equal", result.stdout
    assert g["finite_difference"]["untrusted_entries"] == 1 and g["finite_difference"]["unsure_entries"] == 1
    text = " ".join(CliRunner().invoke(app, ["eval", "sum(sin(x))", "--value", "x=[1e12, 1.0]"]).stdout.split())
    assert "1 untrusted" in text and "at a kink" not in text, text
