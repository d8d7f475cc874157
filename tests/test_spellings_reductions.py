"""Reductions and the softmax family mean what NumPy and PyTorch mean, and a spelling that says too little (a
matrix's softmax without an axis, `X.var()`, `torch.logsumexp(X)`) is a clear exit-2 error, never a guess."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gradcalc.errors import GradcalcError, ParseError
from gradcalc.jobs.catalog import signature
from gradcalc.jobs.derive import run_derive
from gradcalc.jobs.evaluate import run_eval
from gradcalc.lang.ops import OPS
from gradcalc.lang.parse import parse
from gradcalc.options import EvalOptions
from gradcalc.values.draw import Value


def evaluate(text: str, **values: np.ndarray):
    return run_eval(text, EvalOptions(values={k: Value(np.asarray(v, dtype=float), "test") for k, v in values.items()}))


def refused(text: str, **values: np.ndarray) -> str:
    """The message of the exit-2 error the text gets (a ParseError, with the position of the call)."""
    with pytest.raises(ParseError) as err:
        evaluate(text, **values) if values else parse(text)
    return err.value.message


X34 = np.random.default_rng(13).standard_normal((3, 4))


def test_sum_of_np_max_over_axis_0_is_numpys_not_the_elementwise_maximum() -> None:
    """The issue's case: `sum(np.max(X, 0))` gave the sum of maximum(X, 0), exit 0."""
    x = np.random.default_rng(0).standard_normal((4, 3))
    for text in ("sum(np.max(X, 0))", "sum(max(X, 0))", "sum(X.max(axis=0))", "sum(torch.amax(X, dim=0))"):
        result = evaluate(text, X=x)
        assert result.value == pytest.approx(np.sum(np.max(x, 0)), rel=1e-12), text
        assert result.value != pytest.approx(np.sum(np.maximum(x, 0))), text
        assert result.verdict == "equal"


def test_max_of_a_1d_vector_with_an_axis_reduces_it() -> None:
    x = np.array([0.5, -2.0, 1.5])
    assert evaluate("max(x, 0)", x=x).value == 1.5 and evaluate("np.min(x, -1)", x=x).value == -2.0


def test_max_with_a_variable_second_argument_points_to_maximum() -> None:
    message = refused("sum(max(X, Y))")
    assert "'axis' must be an integer" in message and "write maximum(A, B)" in message
    assert "minimum(A, B)" in refused("sum(min(X, Y))")


def test_torch_max_of_two_tensors_is_the_elementwise_maximum() -> None:
    assert parse("torch.max(X, Y)").op == "maximum" and parse("torch.max(X, 1)").op == "max"
    assert parse("torch.max(X, 1, True)").kwargs == {"axis": 1, "keepdims": True}
    assert parse("torch.min(X, Y)").op == "minimum"


def test_torch_max_along_a_dim_says_it_uses_the_values() -> None:
    result = evaluate("sum(torch.max(X, 1))", X=X34)
    assert result.value == pytest.approx(np.sum(np.max(X34, 1)))
    assert any("torch.max(X, 1) returns (values, indices) in PyTorch; gradcalc uses the values" in n
               for n in result.notes), result.notes
    assert not any("values, indices" in n for n in evaluate("torch.max(X)", X=X34).notes)  # a tensor, no tuple


@pytest.mark.parametrize("text", ["sum(softmax(Z))", "sum(log_softmax(Z)*Z)",
                                  "sum(softmax(Z, axis=None)) + sum(softmax(Z))"])
def test_a_matrix_softmax_without_an_axis_is_refused(text: str) -> None:
    message = refused(text, Z=X34)
    assert "axis=1" in message and "axis=None" in message and "rows" in message


def test_a_matrix_softmax_without_an_axis_is_refused_when_inference_could_dodge_it() -> None:
    """Without --shape, Q as a 1-D vector would make the softmax unambiguous: inference does not choose that."""
    with pytest.raises(ParseError, match="say which axis"):
        run_eval("sum(softmax(Q@K.T)@V)", EvalOptions())


def test_the_cli_exits_2_for_a_matrix_softmax_without_an_axis() -> None:
    run = subprocess.run([sys.executable, "-m", "gradcalc", "eval", "sum(softmax(Z))", "--shape", "Z=3x4"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "axis=1" in run.stderr and "axis=None" in run.stderr


def test_softmax_of_a_1d_vector_needs_no_axis_and_axis_none_means_all_entries() -> None:
    x = np.array([0.1, -0.4, 2.0])
    assert evaluate("softmax(x) @ x", x=x).value == pytest.approx(np.exp(x) @ x / np.exp(x).sum())
    whole = evaluate("sum(softmax(Z, axis=None)*Z)", Z=X34).value
    assert whole == pytest.approx(np.sum(np.exp(X34) / np.exp(X34).sum() * X34))


@pytest.mark.parametrize("text", ["torch.softmax(Z)", "F.softmax(Z)", "F.log_softmax(Z)", "Z.softmax()",
                                  "torch.softmax(Z, dim=None)", "torch.logsumexp(Z)", "Z.logsumexp()",
                                  "torch.special.logsumexp(Z)"])
def test_pytorch_spellings_need_dim_as_pytorch_does(text: str) -> None:
    assert "needs dim=" in refused(text)


def test_bare_logsumexp_is_over_all_entries_as_scipy() -> None:
    assert evaluate("logsumexp(Z)", Z=X34).value == pytest.approx(np.log(np.exp(X34).sum()))


@pytest.mark.parametrize(("text", "wanted"), [
    ("sum(X, dim=1)", "bare names follow NumPy: write axis="), ("mean(X, keepdim=True)", "write keepdims="),
    ("var(X, correction=1)", "write ddof="), ("np.var(X, unbiased=False)", "write ddof="),
    ("np.max(X, dim=0)", "write axis="),
])
def test_pytorch_keywords_on_numpy_spellings_are_refused(text: str, wanted: str) -> None:
    assert wanted in refused(text)


def test_numpy_keywords_on_pytorch_spellings_are_refused() -> None:
    assert "PyTorch spells it correction=" in refused("torch.var(X, ddof=1)")
    assert "PyTorch spells it dim=" in refused("F.softmax(Z, axes=1)") or "unexpected keyword" in refused(
        "F.softmax(Z, axes=1)")


def test_pytorch_takes_numpys_axis_and_keepdims_too() -> None:
    assert parse("torch.sum(X, axis=1, keepdims=True)").kwargs == {"axis": 1, "keepdims": True}
    assert parse("torch.amax(X, axis=0)").kwargs == {"axis": 0}


def test_a_bare_name_numpy_lacks_takes_either_librarys_axis_keyword() -> None:
    """log_softmax is SciPy's (axis=) and PyTorch's (dim=): both mean the same here, as in the issue's
    cross-entropy `-sum(P*log_softmax(Z, dim=1))`."""
    assert parse("log_softmax(Z, dim=1)").kwargs == parse("log_softmax(Z, axis=1)").kwargs == {"axis": 1}


@pytest.mark.parametrize("text", ["X.var()", "X.std()", "X.var(1)", "X.var(axis=1)", "X.std(keepdims=True)"])
def test_a_variance_method_without_a_distinguishing_keyword_is_ambiguous(text: str) -> None:
    message = refused(text)
    assert "ddof=0 in NumPy but correction=1 in PyTorch" in message and "np." in message and "torch." in message


def test_variance_follows_the_namespace() -> None:
    x = X34
    assert evaluate("var(X)", X=x).value == pytest.approx(np.var(x))
    assert evaluate("np.var(X)", X=x).value == pytest.approx(np.var(x))
    assert evaluate("torch.var(X)", X=x).value == pytest.approx(np.var(x, ddof=1))
    assert evaluate("sum(torch.var(X, 1, False))", X=x).value == pytest.approx(np.sum(np.var(x, 1)))
    assert evaluate("sum(X.var(dim=0))", X=x).value == pytest.approx(np.sum(np.var(x, 0, ddof=1)))
    assert evaluate("X.std(ddof=1)", X=x).value == pytest.approx(np.std(x, ddof=1))


def test_unbiased_and_correction_together_are_refused_as_in_pytorch() -> None:
    assert "not both" in refused("torch.var(X, unbiased=False, correction=0)")


def test_numpy_takes_keepdims_by_keyword_only() -> None:
    assert "pass keepdims= by keyword" in refused("np.sum(X, 1, True)")
    assert parse("torch.sum(X, 1, True)").kwargs == {"axis": 1, "keepdims": True}


def test_cross_entropy_with_class_probabilities_has_the_p_minus_y_form() -> None:
    """∂/∂Z of -sum(P*log_softmax(Z, dim=1)) = softmax(Z) ⊙ (P𝟏𝟏ᵀ) − P: softmax − P when P's rows sum to 1."""
    shapes = {"Z": ("n", "k"), "P": ("n", "k")}
    derived = run_derive("-sum(P*log_softmax(Z, dim=1))", EvalOptions(shapes=shapes))
    z = next(g for g in derived.gradients if g.name == "Z")
    assert z.formula == "softmax(Z, axis=1)*(P@ones(k, k)) - P"
    assert z.pretty == "softmax(Z, axis=1) ⊙ (P𝟏ₖₓₖ) − P"
    assert r"\operatorname{softmax}\left(Z, \mathrm{axis}=1\right)" in z.latex
    p = np.random.default_rng(1).dirichlet(np.ones(4), size=3)
    result = evaluate("-sum(P*log_softmax(Z, dim=1))", Z=X34, P=p)
    grad = next(g for g in result.gradients if g.name == "Z").autograd
    np.testing.assert_allclose(grad, np.exp(X34) / np.exp(X34).sum(1, keepdims=True) - p, rtol=1e-12, atol=1e-12)


def test_row_wise_softmax_vjp_in_matrix_notation() -> None:
    derived = run_derive("sum(softmax(Z, axis=1)*G)", EvalOptions(shapes={"Z": ("n", "k"), "G": ("n", "k")}))
    z = next(g for g in derived.gradients if g.name == "Z")
    assert z.formula == "softmax(Z, axis=1)*(G - (G*softmax(Z, axis=1))@ones(k, k))"


def test_attention_derives_evaluates_and_its_code_runs() -> None:
    text = "sum(softmax(Q@K.T/sqrt(4), axis=1)@V)"
    rng = np.random.default_rng(5)
    values = {"Q": rng.standard_normal((3, 4)), "K": rng.standard_normal((5, 4)), "V": rng.standard_normal((5, 2))}
    result = evaluate(text, **values)
    assert result.verdict == "equal"
    program = run_derive(text, EvalOptions(shapes={k: v.shape for k, v in values.items()})).code
    namespace: dict = {}
    exec(compile(program, "<derive --code>", "exec"), namespace)  # our own generated code
    for g in result.gradients:
        np.testing.assert_allclose(namespace[f"grad_{g.name}"](**values), g.autograd, rtol=1e-10, atol=1e-12)


def test_printed_forms_reparse_with_the_axis_a_matrix_needs() -> None:
    matrix = run_derive("logsumexp(X)", EvalOptions(shapes={"X": (3, 4)})).gradients[0]
    vector = run_derive("logsumexp(x)", EvalOptions(shapes={"x": (4,)})).gradients[0]
    assert matrix.formula == "softmax(X, axis=None)" and vector.formula == "softmax(x)"
    kept = run_derive("sum(max(X, axis=1, keepdims=True)*X)", EvalOptions(shapes={"X": (3, 4)})).gradients[0]
    assert "max(X, axis=1, keepdims=True)" in kept.formula
    for text in (matrix.formula, kept.formula, "variance(X, axis=1, ddof=1)"):
        parse(text)


def test_ops_lists_the_library_signatures() -> None:
    assert signature(OPS["softmax"], "torch", "softmax") == "torch.softmax(A, dim)"
    assert signature(OPS["variance"], "numpy", "var") == "np.var(A, axis=None, keepdims=False, ddof=0)"
    assert "correction=1" in signature(OPS["variance"], "torch", "var")


def test_a_tie_of_three_gets_the_kink_verdict() -> None:
    result = evaluate("sum(max(X, axis=1))", X=[[1.0, 3.0, 3.0, 3.0], [2.0, 0.0, 1.0, -1.0]])
    assert result.verdict == "kink"
    np.testing.assert_allclose(result.gradients[0].autograd, [[0, 1 / 3, 1 / 3, 1 / 3], [1, 0, 0, 0]])


def test_errors_are_gradcalc_errors_with_a_position() -> None:
    with pytest.raises(GradcalcError) as err:
        evaluate("1 + sum(softmax(Z))", Z=X34)
    assert err.value.position == 8
