"""`eval --expect NAME=FORMULA`: the user's own derivation, on the same numbers, judged and diagnosed.

The formula is parsed with the expression language, its shapes fixed by the
variables' values, evaluated by the engine's forward pass, and judged against
the engine's gradient and finite differences exactly as the closed form is
(`referee.judge`). When it does not hold, `gradcalc.jobs.diagnose` names the
likely mistake. A formula of the wrong shape is a finding (`mismatch`), not an
input error.

>>> from gradcalc.jobs.evaluate import run_eval
>>> from gradcalc.options import EvalOptions
>>> result = run_eval("sum((X@W - Y)**2)", EvalOptions(wrt=["W"], expect=(("W", "X.T@(X@W - Y)"),)))
>>> e = result.expectations[0]
>>> e.verdict, e.diagnosis
('mismatch', 'off by a constant factor: the gradient is 2 times your formula')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcalc.errors import InputError, ShapeError
from gradcalc.jobs.diagnose import agrees, diagnose
from gradcalc.jobs.formula import evaluate_formula
from gradcalc.jobs.results import Expectation
from gradcalc.lang.parse import parse
from gradcalc.referee import FiniteDifference, judge


def check_expectation(name: str, formula: str, truth: np.ndarray, fd: FiniteDifference,
                      context: dict[str, Any]) -> Expectation:
    """Judge the user's formula for ∂f/∂NAME against the engine's gradient `truth`, and diagnose a miss.

    `context` holds what the diagnosis reads: `values`, `tree` (the
    expression), `expression` (its text), `rtol`, `atol`, `dtype`.

    >>> from gradcalc.referee import finite_difference
    >>> from gradcalc.lang.parse import parse
    >>> x = {"x": np.array([1.0, -2.0])}
    >>> fd = finite_difference(parse("sum(x*x)"), x, "x")
    >>> ctx = {"values": x, "tree": parse("sum(x*x)"), "expression": "sum(x*x)", "rtol": 1e-7, "atol": None,
    ...        "dtype": "float64"}
    >>> check_expectation("x", "-2*x", np.array([2.0, -4.0]), fd, ctx).diagnosis
    'the sign: your formula is the negative of the gradient'
    """
    try:
        tree, value = evaluate_formula(formula, context["values"], f"--expect {name}={formula}")
    except ShapeError as err:
        text, corrected = diagnose(formula, parse(formula), None, truth, fd, context)
        if not corrected:
            text = f"your formula cannot be evaluated at these shapes ({err.message.split(': ', 1)[-1]})"
        return Expectation(name, formula, None, "mismatch", float("nan"), float("nan"), text, corrected, truth)
    if value.shape != truth.shape:
        text, corrected = diagnose(formula, tree, value, truth, fd, context)
        return Expectation(name, formula, value, "mismatch", float("nan"), float("nan"), text, corrected, truth)
    judged = judge(truth, value, fd, context["rtol"], context["atol"], context["dtype"])
    verdict = judged.verdict
    wrong = ~agrees(value, truth, context)
    if verdict == "mismatch" and wrong.any() and fd.untrusted[wrong].all():  # a convention at a kink, no more
        verdict = "kink"
    if verdict in ("equal", "undefined"):
        return Expectation(name, formula, value, verdict, judged.max_abs_diff, judged.max_rel_diff, "", "", truth)
    text, corrected = diagnose(formula, tree, value, truth, fd, context)
    return Expectation(name, formula, value, verdict, judged.max_abs_diff, judged.max_rel_diff, text, corrected,
                       truth)


def first_wrong_link(expectations: list[Expectation], backward: list[str]) -> list[str]:
    """A note naming the first link that does not hold, in the order the backward pass visits them.

    >>> e = [Expectation(n, "...", None, v, 0.0, 0.0, "", "") for n, v in (("W", "mismatch"), ("H", "mismatch"))]
    >>> first_wrong_link(e, ["f", "H", "Z", "W"])
    ['the first link of your backward pass that does not hold is ∂f/∂H (going back from f: H, W)']
    """
    wrong = [e.name for e in expectations if e.verdict in ("mismatch", "undefined")]
    if len(expectations) < 2 or not wrong:
        return []
    order = sorted({e.name for e in expectations}, key=lambda n: backward.index(n) if n in backward else len(backward))
    first = min(wrong, key=order.index)
    return [f"the first link of your backward pass that does not hold is ∂f/∂{first} (going back from f: "
            f"{', '.join(order)})"]


def parse_expect_option(text: str) -> list[tuple[str, str]]:
    """`--expect NAME=FORMULA`, or `--expect @file` with one `NAME = FORMULA` a line (# comments, blank lines).

    >>> parse_expect_option("W = 2*X.T@(X@W - Y)")
    [('W', '2*X.T@(X@W - Y)')]
    """
    if text.startswith("@"):
        path = text[1:]
        try:
            lines = open(path, encoding="utf-8").read().splitlines()
        except OSError as err:
            raise InputError(f"--expect {text}: cannot read {path}: {err.strerror}") from None
        pairs = [_pair(line, f"--expect {text}, line {i}") for i, line in enumerate(lines, 1)
                 if line.strip() and not line.lstrip().startswith("#")]
        if not pairs:
            raise InputError(f"--expect {text}: the file holds no NAME = FORMULA line")
        return pairs
    return [_pair(text, f"--expect {text}")]


def _pair(line: str, label: str) -> tuple[str, str]:
    name, sep, formula = line.partition("=")
    name, formula = name.strip(), formula.strip()
    if not sep or not name.isidentifier() or not formula:
        raise InputError(f"{label}: write NAME=FORMULA, e.g. --expect \"W=2*X.T@(X@W - Y)\"")
    return name, formula
