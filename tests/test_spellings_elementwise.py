"""clamp/clip, minimum, activations, erf, comparisons and where: the spellings refused and why, the closed forms
as a person writes them, the kink verdicts, and erf against math.erf."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradcalc.errors import ParseError
from gradcalc.jobs.derive import run_derive
from gradcalc.jobs.evaluate import run_eval
from gradcalc.lang import special
from gradcalc.lang.parse import parse
from gradcalc.lang.tree import variable_names
from gradcalc.options import EvalOptions
from gradcalc.values.draw import Value

REFUSED = [  # (expression, a part of the message)
    ("sum(X*(0 < X < 1))", "a chained comparison (0 < X < 1) is not supported"),
    ("sum(X*(X < Y <= Z))", "multiply the masks for 'and'"),
    ("sum(X*(X is Y))", "unsupported comparison"),
    ("sum(where(X > 0, X))", "where() takes where(A, B, C), got 2 argument(s)"),
    ("sum(where(X > 0, X, Y, Z))", "where() takes where(A, B, C), got 4 argument(s)"),
    ("sum(torch.where(X, X, 0.1))", "torch.where needs a boolean condition, a comparison such as X > 0"),
    ("sum(np.clip(X))", "clip() needs a bound"),
    ("sum(clip(X, None, None))", "clip() needs a bound"),
    ("sum(np.clip(X, 0))", "takes both bounds, None for an open side: np.clip(X, 0, None)"),
    ("sum(np.clip(X, a_max=1))", "takes both bounds"),
    ("sum(np.clip(X, 0, 1, min=0))", "np.clip takes a_min= or min=, not both"),
    ("sum(torch.clamp(X))", "clamp() needs a bound: min, max or both"),
    ("sum(X.clamp(None, None))", "clamp() needs a bound"),
    ("sum(clamp(X, Y))", "'min' must be a number (a constant, not a variable)"),
    ("sum(F.gelu(X, 'tanh'))", "pass approximate= by keyword"),
    ("sum(F.gelu(X, approximate='exact'))", "'approximate' must be one of 'none', 'tanh'"),
    ("sum(F.leaky_relu(X, 0.2, inplace=True))", "unexpected keyword 'inplace'"),
]


@pytest.mark.parametrize("text, message", REFUSED, ids=[t for t, _ in REFUSED])
def test_refused_spellings_say_what_would_be_right(text: str, message: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse(text)
    assert message in raised.value.message, raised.value.message


SHAPES = {"X": (4, 3), "Y": (4, 3), "W": (3, 5)}


def _derive(text: str, wrt: str = "X") -> object:
    shapes = {n: s for n, s in SHAPES.items() if n in variable_names(parse(text))}
    derivation = run_derive(text, EvalOptions(wrt=[wrt], shapes=shapes))
    return next(g for g in derivation.gradients if g.name == wrt)


CLOSED_FORMS = [  # (expression, ∂/∂X in gradcalc syntax, the same in Unicode)
    ("sum(log(sigmoid(X)))", "1 - sigmoid(X)", "1 − sigmoid(X)"),  # σ⊙(1−σ) cancelled against /σ
    ("sum(log(1 - sigmoid(X)))", "-sigmoid(X)", "−sigmoid(X)"),
    ("sum(1.0*X@W)", "ones(4, 5)@W.T", "𝟏₄ₓ₅Wᵀ"),  # no 1.0 coefficient
    ("sum(0.5*X**2)", "X", "X"),
    ("sum(2.0*X)", "2*ones(4, 3)", "2·𝟏₄ₓ₃"),
    ("sum(where(X > 0, X, 0.1*X))", "where(X > 0, 1, 0.1)", "where(X > 0, 1, 0.1)"),
    ("sum(where(X > 0, X**2, -X))", "where(X > 0, 2*X, -1)", "where(X > 0, 2·X, -1)"),
    ("sum(leaky_relu(X)*Y)", "where(X > 0, Y, 0.01*Y)", "where(X > 0, Y, 0.01·Y)"),
    ("sum(elu(X))", "where(X > 0, 1, exp(X))", "where(X > 0, 1, exp(X))"),
    ("sum(X*(X >= Y))", "X >= Y", "[X ≥ Y]"),
    ("sum(2*X*(X != Y))", "2*(X != Y)", "2·[X ≠ Y]"),
    ("sum(erf(X))", "2*exp(-X**2)/sqrt(pi)", "2·exp(−X⊙²)/√π"),
    ("sum(clamp(X, -1, 1)*Y)", "Y*heaviside(X + 1, 1)*heaviside(1 - X, 1)", "Y ⊙ H(X + 1, 1) ⊙ H(1 − X, 1)"),
    ("sum(clamp(X, max=1)**2)", "2*(clamp(X, max=1)*heaviside(1 - X, 1))", "2·(clamp(X, max=1) ⊙ H(1 − X, 1))"),
    ("sum(minimum(X, Y))", "heaviside(Y - X, 0.5)", "H(Y − X, 0.5)"),
    ("sum(gelu(X, approximate='tanh')**2)", None, None),
]


@pytest.mark.parametrize("text, formula, pretty", CLOSED_FORMS, ids=[t for t, _, _ in CLOSED_FORMS])
def test_closed_forms_read_as_a_person_writes_them_and_reparse(text: str, formula: str | None,
                                                               pretty: str | None) -> None:
    g = _derive(text)
    if formula is not None:
        assert (g.formula, g.pretty) == (formula, pretty)
    parse(g.formula)  # gradcalc syntax, valid input again
    if "gelu" in text:
        assert "gelu(X, approximate='tanh')" in g.formula and "0.044715" in g.formula


def test_latex_of_masks_and_where() -> None:
    assert _derive("sum(where(X >= 0, X, 0.2*X))").latex == r"\operatorname{where}\left(X \geq 0, 1, 0.2\right)"
    assert _derive("sum(X*(X <= Y))").latex == r"\left[X \leq Y\right]"
    assert _derive("sum(erf(X))").latex == r"\frac{2 \exp\left(-X^{\circ 2}\right)}{\sqrt{\pi}}"


def test_generated_code_spells_masks_and_open_bounds_as_numpy() -> None:
    code = run_derive("sum((clamp(X, max=1) - Y)**2) + sum(where(X > Y, X, 0)) + sum((X < 0)*X)",
                      EvalOptions(wrt=["X"])).code
    assert "np.clip(X, -np.inf, 1)" in code and "np.where(X > Y, 1, 0)" in code
    assert "np.less(X, 0).astype(float)" in code


def test_generated_code_defines_erf_once_for_gelu_and_erf() -> None:
    code = run_derive("sum(gelu(X)*erf(X))", EvalOptions(wrt=["X"])).code
    assert code.count("def erf(") == 1 and code.count("def gelu(") == 1
    namespace: dict = {}
    exec(compile(code, "<derive --code>", "exec"), namespace)  # our own generated program
    x = np.random.default_rng(0).standard_normal((3, 4))
    expected = run_eval("sum(gelu(X)*erf(X))", EvalOptions(values={"X": Value(x, "test")})).gradients[0].autograd
    np.testing.assert_allclose(namespace["grad_X"](x), expected, rtol=1e-12)


def _eval(text: str, **values: list) -> object:
    given = {k: Value(np.array(v, dtype=float), "test") for k, v in values.items()}
    return run_eval(text, EvalOptions(wrt=list(values), values=given))


def test_minimum_ties_split_the_gradient_and_give_the_kink_verdict() -> None:
    """At a tie minimum gives 0.5 to each side, as torch.minimum; the entry is one finite differences cannot
    vouch for (they happen to agree with the split), so the verdict is kink."""
    result = _eval("sum(minimum(X, Y)*Y)", X=[[0.5, 1.0]], Y=[[0.5, 2.0]])
    gx, gy = result.gradients
    assert gx.autograd.tolist() == [[0.25, 2.0]] and gy.autograd.tolist() == [[0.75, 1.0]]
    assert result.verdict == "kink" and gx.untrusted == gy.untrusted == 1


@pytest.mark.parametrize("text, values, gradient", [
    ("sum(clamp(X, 0, 1))", [[0.0, 1.0, 0.5, 2.0]], [[1.0, 1.0, 1.0, 0.0]]),  # 1 at both bounds, as torch.clamp
    ("sum(np.clip(X, None, 0.5))", [[0.5, 1.0, -1.0]], [[1.0, 0.0, 1.0]]),
    ("sum(leaky_relu(X, 0.2))", [[0.0, 1.0, -1.0]], [[0.2, 1.0, 0.2]]),  # negative_slope at 0, as F.leaky_relu
    ("sum(elu(X, 0.5))", [[0.0, 1.0]], [[0.5, 1.0]]),  # alpha at 0, as F.elu
    ("sum((X > 0.5)*X)", [[0.5, 1.0]], [[0.0, 1.0]]),  # a mask has no gradient
    ("sum(where(X > 0, X, 3*X))", [[0.0, 1.0]], [[3.0, 1.0]]),  # a tie takes the else branch
])
def test_kinks_give_pytorchs_gradient_and_the_kink_verdict(text: str, values: list, gradient: list) -> None:
    result = _eval(text, X=values)
    g = result.gradients[0]
    np.testing.assert_array_equal(g.autograd, gradient)
    np.testing.assert_array_equal(g.symbolic, gradient)
    assert result.verdict == "kink" and g.untrusted >= 1


def test_elu_with_alpha_1_has_no_kink_at_0() -> None:
    result = _eval("sum(elu(X))", X=[[0.0, 1.0, -1.0]])
    assert result.verdict == "equal" and result.gradients[0].untrusted == 0


def test_erf_matches_math_erf_to_a_few_ulps() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(20000) * 3, rng.uniform(-7, 7, 20000), np.linspace(-30, 30, 6001),
                        rng.standard_normal(500) * 1e-12, [0.0, -0.0, 0.46875, 4.0, 6.0, 27.0, 1e300, -np.inf, np.inf]])
    expected = np.array([math.erf(v) for v in x])
    got = special.erf(x)
    assert np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)) < 1e-15
    assert np.isnan(special.erf(np.array([np.nan])))[0] and special.erf(np.float32(0.5)).dtype == np.float32


def test_gelu_matches_its_definitions() -> None:
    x = np.linspace(-5, 5, 101)
    np.testing.assert_allclose(special.gelu(x), x * 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x])),
                               rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(special.gelu(x, "tanh"),
                               0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))), rtol=1e-15)
