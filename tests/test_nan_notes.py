"""A note for every nan and inf: which op met which edge of its domain, read from the rows (issue 13, point 4)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from gradcalc.jobs.evaluate import run_eval
from gradcalc.lang.domains import OVERFLOW, POSITIVE, POWER_BASE, Domain, Outside
from gradcalc.lang.ops import OPS, TABLE
from gradcalc.lang.parse import parse
from gradcalc.options import EvalOptions
from gradcalc.values.draw import Value, domains

#: (expression, what the note must say): each gives nan or inf with the default values.
CASES = [
    ("sum(log(X@W))", ["log(X@W): ", "entries of its argument X@W are negative (log of a negative entry)",
                       "--value", "write the argument so that it is positive",
                       "drawn inside a domain only for a variable that feeds log"]),
    ("sum(X**0.5)", ["X**0.5: ", "entries of its argument X are negative (fractional power of a negative entry)",
                     "--value", "keep the base non-negative"]),
    ("sum(1/(X-X))", ["1/(X-X): 12 of 12 entries of its argument X-X are zero (division by zero)",
                      "keep the divisor away from zero"]),
    ("sum(exp(1000*X))", ["exp(1000*X): ", "entries of its argument 1000*X are too large (exp overflowed",
                          "give X values inside the domain with --value", "logsumexp"]),
]


def gradcalc(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("expression,says", CASES, ids=[c[0] for c in CASES])
def test_the_job_result_has_the_note(expression: str, says: list[str]) -> None:
    result = run_eval(expression)
    assert not np.isfinite(result.value)
    (note,) = [n for n in result.notes if n.startswith(says[0])]
    for part in says:
        assert part in note, note


@pytest.mark.parametrize("expression,says", CASES, ids=[c[0] for c in CASES])
def test_json_and_human_output_show_the_note(expression: str, says: list[str]) -> None:
    run = gradcalc("eval", expression, "--json")
    doc = json.loads(run.stdout)
    assert any(all(part in note for part in says) for note in doc["notes"]), doc["notes"]
    human = gradcalc("eval", expression)
    flat = " ".join(human.stdout.split())
    assert "note: " + says[0] in flat and says[1] in flat


def test_the_count_of_entries_is_exact() -> None:
    x = Value(np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0]]), "inline")
    result = run_eval("sum(log(X))", EvalOptions(values={"X": x}))
    assert "log(X): 3 of 6 entries of its argument X are negative (log of a negative entry)" in result.notes[0]
    assert "drawn inside a domain" not in result.notes[0]  # X feeds log directly: it was given, not drawn


def test_zero_under_log_and_negative_power() -> None:
    x = Value(np.array([0.0, 1.0]), "inline")
    assert "1 of 2 entries of its argument X is zero (log at zero)" in run_eval("sum(log(X))", EvalOptions(
        values={"X": x})).notes[0]
    assert "is zero (division by zero)" in run_eval("sum(X**-2)", EvalOptions(values={"X": x})).notes[0]
    assert "(fractional power at zero" in run_eval("sum(X**0.5)", EvalOptions(values={"X": x})).notes[0]


def test_only_a_gradient_that_is_not_finite_also_gets_a_note() -> None:
    x = Value(np.array([0.0, 1.0]), "inline")
    result = run_eval("sum(sqrt(X))", EvalOptions(values={"X": x}))
    assert np.isfinite(result.value)
    assert result.notes and "sqrt(X): 1 of 2 entries of its argument X is zero (sqrt at zero)" in result.notes[0]


def test_finite_results_have_no_domain_note() -> None:
    for expression in ("sum((relu(X@W)-Y)**2)", "sum(log(X))", "sum(X**2)", "sum(exp(X))", "sum(X**-1)"):
        assert not any("entries" in n for n in run_eval(expression).notes), expression


def test_a_nan_no_domain_explains_names_where_it_starts() -> None:
    a = Value(np.array([[1.0, 2.0], [3.0, 1.0]]), "inline")  # det < 0: logdet is nan, as torch.logdet
    (note,) = run_eval("logdet(A)", EvalOptions(values={"A": a})).notes
    assert note.startswith("logdet(A): 1 of 1 entries are nan or inf although its inputs are finite")
    assert "logdet needs a positive-definite matrix" in note
    x = Value(np.array([np.nan, 1.0]), "inline")
    assert run_eval("sum(x*2)", EvalOptions(values={"x": x})).notes[0].startswith("x: 1 of 2 entries of its value")


def test_domains_are_declared_by_the_rows_and_checked_generically() -> None:
    assert OPS["log"].domain == (POSITIVE,) and OPS["pow"].domain == (POWER_BASE,)
    assert OPS["exp"].domain == (OVERFLOW,)
    for op in TABLE:  # every declared domain can check values
        for domain in op.domain:
            assert domain is None or isinstance(domain.violations(np.zeros(2)), list), op.name
    assert [(n, w.entries) for n, w in POWER_BASE.violations(np.array([-1.0, 0.0]), p=-0.5)] == [
        (1, "negative"), (1, "zero")]
    assert POWER_BASE.violations(np.array([-1.0, 0.0]), p=3) == []
    assert OVERFLOW.violations(np.array([100.0], dtype=np.float32))[0][0] == 1
    assert OVERFLOW.violations(np.array([100.0])) == []


def test_a_checked_only_domain_draws_nothing() -> None:
    assert not OVERFLOW.drawn and not POWER_BASE.drawn and POSITIVE.drawn
    assert set(domains(parse("sum(exp(X) + Y**0.5 + log(Z))"))) == {"Z"}
    made = Domain("bounded", "values below 1", outside=(Outside("above 1", "{op} beyond 1", lambda a: a > 1),))
    assert [(n, w.meaning.format(op="f")) for n, w in made.violations(np.array([0.5, 2.0]))] == [(1, "f beyond 1")]
