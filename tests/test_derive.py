"""`gradcalc derive`: symbolic sizes, every printed form, and NumPy code that runs and matches the engine."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gradcalc.batch.cases import read_file, run_case
from gradcalc.cli.main import app
from gradcalc.jobs.derive import run_derive
from gradcalc.errors import InputError, ShapeError
from gradcalc.lang.parse import parse
from gradcalc.jobs.evaluate import run_eval
from gradcalc.jobs.results import EvalResult
from gradcalc.lang.infer import infer
from gradcalc.options import parse_shape_option
from gradcalc.lang.tree import variable_names
from gradcalc.values.draw import Value
from gradcalc.options import EvalOptions
from test_ops_command import SHAPES, spellings
from test_random_expressions import HUGE, ROUNDOFF, ROUNDOFF2, RTOL, Probe, draw_values, expressions

HEADLINE = "sum((relu(X@W)-Y)**2)"
SAMPLES = Path(__file__).parent.parent / "samples"


def gradcalc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter, as a user would."""
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def symbolic_shapes(result: EvalResult) -> dict[str, tuple]:
    """The eval result's shapes with every size above 1 replaced by a fresh name (X_0, X_1, ...)."""
    return {v.name: tuple(f"{v.name}_{i}" if n > 1 else n for i, n in enumerate(v.shape)) for v in result.variables}


def assert_code_matches(result: EvalResult, symbolic: bool = True, atol: float = 1e-9) -> None:
    """derive --code's functions, run on the eval's values, give the engine's gradients (atol: per unit of scale)."""
    shapes = symbolic_shapes(result) if symbolic else {v.name: v.shape for v in result.variables}
    wrt = [g.name for g in result.gradients]
    try:
        derived = run_derive(result.expression, EvalOptions(wrt=wrt, shapes=shapes))
    except ShapeError as err:  # reshape and kron count entries: their sizes must be numbers
        assert symbolic and "give --shape with numbers" in err.message, err.message
        numeric = {v.name: v.shape for v in result.variables}
        derived = run_derive(result.expression, EvalOptions(wrt=wrt, shapes=numeric))
    namespace: dict = {}
    exec(compile(derived.code, "<derive --code>", "exec"), namespace)  # the code, as printed
    values = {v.name: v.value for v in result.variables}
    for g in result.gradients:
        got = namespace[f"grad_{g.name}"](**values)
        assert np.shape(got) == g.autograd.shape, (result.expression, g.name, derived.code)
        scale = max(1.0, float(np.max(np.abs(g.autograd), initial=0.0)))
        np.testing.assert_allclose(got, g.autograd, rtol=1e-7, atol=atol * scale,
                                   err_msg=f"{result.expression} d/d{g.name}\n{derived.code}")


# --- --shape with names -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("X=n,k", ("X", ("n", "k"))), ("X=(n, k)", ("X", ("n", "k"))), ("X=n×k", ("X", ("n", "k"))),
    ("X=n,4", ("X", ("n", 4))), ("X=10x4", ("X", (10, 4))), ("x=n", ("x", ("n",))), ("x=(nx,)", ("x", ("nx",))),
    ("a=scalar", ("a", ())), ("X=[batch, 3]", ("X", ("batch", 3))),
])
def test_shape_option_takes_names(text: str, expected: tuple) -> None:
    assert parse_shape_option(text, symbolic=True) == expected


@pytest.mark.parametrize("text", ["X=nxk", "X=n,k,m", "X=0,k", "X=n-1,k"])
def test_bad_symbolic_shape_option(text: str) -> None:
    with pytest.raises(InputError):
        parse_shape_option(text, symbolic=True)


def test_eval_refuses_symbolic_sizes() -> None:
    run = gradcalc("eval", "sum(X)", "--shape", "X=n,k")
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1
    assert "symbolic sizes are for `gradcalc derive`" in run.stderr


# --- symbolic sizes through unification -----------------------------------------------------------------------------

def test_free_sizes_get_names_not_used_by_variables() -> None:
    result = run_derive("sum(n@k) + sum(m)")
    assert result.variables == {"n": ("p", "r"), "k": ("r", "s"), "m": ("t", "u")}


def test_numeric_sizes_stay_numeric_and_mixed_shapes_work() -> None:
    result = run_derive("sum(X@W)", EvalOptions(shapes={"X": ("n", 4)}))
    assert result.variables == {"X": ("n", 4), "W": (4, "k")}
    assert [g.formula for g in result.gradients] == ["ones(n, k)@W.T", "X.T@ones(n, k)"]


def test_two_names_tied_together_keep_the_first_given() -> None:
    result = run_derive("sum(X@W)", EvalOptions(shapes={"W": ("m", "p"), "X": ("n", "k")}))
    assert result.variables == {"X": ("n", "m"), "W": ("m", "p")}
    assert result.notes == ["sizes m and k are tied together by the expression; both are shown as m"]


def test_a_name_tied_to_a_number_takes_the_number() -> None:
    result = run_derive("sum(X@W)", EvalOptions(shapes={"X": ("n", "k"), "W": (3, "m")}))
    assert result.variables == {"X": ("n", 3), "W": (3, "m")}
    assert result.notes == ["size k is 3 here: the expression ties it to that number"]


def test_same_name_twice_is_one_size() -> None:
    assert run_derive("logdet(X)", EvalOptions(shapes={"X": ("n", "n")})).gradients[0].formula == "inv(X).T"
    result = run_derive("sum(X@W)", EvalOptions(shapes={"X": ("n", "n"), "W": (4, "m")}))
    assert result.variables == {"X": (4, 4), "W": (4, "m")}


def test_numbers_that_differ_still_clash() -> None:
    with pytest.raises(ShapeError, match="sizes 4 and 5 differ"):
        run_derive("sum(X@W)", EvalOptions(shapes={"X": ("n", 4), "W": (5, "m")}))


def test_eval_keeps_numeric_defaults() -> None:
    assert infer(parse(HEADLINE)).variables == {"X": (4, 3), "W": (3, 5), "Y": (4, 5)}


@pytest.mark.parametrize("expr, shapes, wrt, formula, pretty", [
    ("mean(X)", {"X": ("n", "k")}, "X", "ones(n, k)/(k*n)", "𝟏ₙₓₖ/(k·n)"),
    ("sum(X@W)", {}, "X", "ones(n, m)@W.T", "𝟏ₙₓₘWᵀ"),
    ("trace(A@B)", {}, "A", "B.T", "Bᵀ"),
    ("logdet(X)", {}, "X", "inv(X).T", "inv(X)ᵀ"),
    ("x@A@x", {"x": ("n",)}, "x", "(A.T + A)@x", "(Aᵀ + A)x"),
    ("x@A@x", {"x": ("n",)}, "A", "outer(x, x)", "xxᵀ"),
    ("sum(X + b)", {"b": ("k",)}, "b", "n*ones(k)", "n·𝟏ₖ"),
    ("sum(eye(3)@X)", {}, "X", "ones(3, n)", "𝟏₃ₓₙ"),
    ("mean(X, 0)@v", {"v": ("k",)}, "v", "X.T@ones(n)/n", "Xᵀ𝟏ₙ/n"),
])
def test_symbolic_formulas(expr: str, shapes: dict, wrt: str, formula: str, pretty: str) -> None:
    g = next(g for g in run_derive(expr, EvalOptions(shapes=shapes)).gradients if g.name == wrt)
    assert (g.formula, g.pretty) == (formula, pretty)


def test_latex_of_a_symbolic_mean() -> None:
    assert run_derive("mean(X)").gradients[0].latex == r"\frac{\mathbf{1}_{n \times k}}{k n}"


def test_symbolic_formula_evaluates_with_sizes_from_the_values() -> None:
    from gradcalc.symbolic import adjoints as symbolic
    from gradcalc.symbolic import numeric

    tree = parse("mean(X@W)")
    info = infer(tree, {"X": ("n", "k")}, symbolic=True)
    formulas = symbolic.gradients(tree, info, ["X", "W"])
    X, W = np.arange(6.0).reshape(3, 2), np.ones((2, 5))
    np.testing.assert_allclose(numeric.evaluate(formulas["X"], {"X": X, "W": W}, sizes={"n": 3}),
                               np.ones((3, 5)) @ W.T / 15)
    np.testing.assert_allclose(numeric.evaluate(formulas["W"], {"X": X, "W": W}, sizes={"m": 5}),
                               X.T @ np.ones((3, 5)) / 15)


# --- the code runs and matches the engine ---------------------------------------------------------------------------

def test_headline_code_reads_sizes_only_when_needed() -> None:
    code = run_derive(HEADLINE, EvalOptions(wrt=["W"], shapes={"X": ("n", "k"), "W": ("k", "m")})).code
    assert code.startswith("import numpy as np\n\n\ndef grad_W(X, W, Y):\n")
    assert "    T1 = X @ W\n" in code
    assert "    return 2 * X.T @ ((np.maximum(T1, 0) - Y) * np.heaviside(T1, 0))\n" in code
    assert ".shape" not in code
    mean_code = run_derive("mean(X@W)", EvalOptions(wrt=["X"])).code
    assert "    n = X.shape[0]\n    m = W.shape[1]\n" in mean_code


@pytest.mark.parametrize("expr", [
    HEADLINE, "mean(X)", "sum(X@W)", "trace(A@B)", "logdet(X)", "x@A@x", "a@X@b", "sum(X + b)", "a*sum(X)",
    "sum(sigmoid(X)*softmax(Y, axis=1)) + logsumexp(X)", "norm(X@W) + det(S@S.T + eye(4))", "sum(softplus(X)*X)",
    "mean((X@W - Y)**2) + 0.1*sum(W*W)", "sum(mean(X, 0)) + sum(sum(X, 1)*mean(X, 1))", "sum(tanh(X)/(1 + exp(X)))",
    "sum(x*x) + dot(x, x)", "sum(outer(u, v)*X)", "sum(diag(S)) + sum(diag(u)*S)", "sum(inv(S)@X)",
    "sum(maximum(X, Y)) + sum(clamp(X, 0.5)*Y)", "sum(abs(X)*sign(Y) + sqrt(exp(X)))", "log(sum(exp(X)))",
    "sum(detach(X)*X)", "sum(X**3)/mean(Y*Y)", "sum((X@W)**2)**0.5", "x@x", "sum(X*c + d)", "trace(S)",
    "trace(S@S) + sum(heaviside(X)) + 0*sum(Y)",
    "-sum(P*log_softmax(Z, dim=1))", "sum(softmax(Q@K.T/8, axis=1)@V)", "sum(softmax(X, axis=None)*Y)",
    "sum(max(X, 1)) + var(X, ddof=1) + sum(std(X, axis=0, keepdims=True)*Y)", "sum(logsumexp(X, 1, keepdims=True)*X)",
    "sum(torch.amin(X, dim=0)) + torch.var(X) + sum(X.mean(axis=1, keepdims=True)*Y)",
])
def test_code_matches_the_engine_with_free_sizes(expr: str) -> None:
    """derive without --shape (every size a name) and eval at its default numbers agree."""
    result = run_eval(expr)
    assert_code_matches(result)
    assert_code_matches(result, symbolic=False)


@pytest.mark.parametrize("op, expr", spellings(), ids=[e for _, e in spellings()])
def test_code_matches_the_engine_for_every_spelling(op: str, expr: str) -> None:
    result = run_eval(expr, EvalOptions(shapes={n: SHAPES[n] for n in variable_names(parse(expr))}))
    assert_code_matches(result)


@pytest.mark.parametrize("expr, shapes", [
    ("sum(X*b)", {"X": (4, 3), "b": (3,)}),  # a 1-D row broadcast down the rows
    ("sum(X*c)", {"X": (4, 3), "c": (4, 1)}),  # a column broadcast across
    ("sum(X + r)", {"X": (4, 3), "r": (1, 3)}),
    ("sum(maximum(X, b))", {"X": (4, 3), "b": (3,)}),
    ("sum(a*X) + a", {"a": (), "X": (2, 5)}),
    ("x.t().mm(W).mm(y)", {"x": (3, 1), "W": (3, 2), "y": (2, 1)}),  # a 1x1 result
    ("x@A@y", {"x": (3,), "A": (3, 4), "y": (4,)}),
    ("sum(A@x)", {"A": (3, 4), "x": (4,)}),
    ("a*a*b + sum(x*a)", {"a": (), "b": (), "x": (3,)}),
])
def test_code_matches_the_engine_for_vectors_scalars_and_broadcasting(expr: str, shapes: dict) -> None:
    assert_code_matches(run_eval(expr, EvalOptions(shapes=shapes)))


SAMPLE_CASES = [case for path in sorted(SAMPLES.glob("*.toml")) for case in read_file(path)
                if not case.options.hessian]  # `hessian = true`: derive --hessian code, tests/test_second_order.py


@pytest.mark.parametrize("case", SAMPLE_CASES, ids=lambda case: f"{Path(case.file).stem}: {case.name}")
def test_code_matches_the_engine_for_sample_cases(case) -> None:
    """Every sample case (the Matrix Cookbook's identities among them) on its own shapes, seed and values."""
    outcome = run_case(case)
    assert outcome.result is not None, outcome.error
    assert_code_matches(outcome.result)


# --- the command line -----------------------------------------------------------------------------------------------

def test_acceptance_command_prints_every_form_and_runnable_code(tmp_path: Path) -> None:
    run = gradcalc("derive", HEADLINE, "--wrt", "W", "--shape", "X=n,k", "--shape", "W=k,m", "--latex", "--code")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "\x1b[" not in run.stdout  # plain text when piped
    assert any(line.split() == ["X", "n×k"] for line in lines)
    assert any(line.split() == ["Y", "n×m"] for line in lines)
    assert "formula  2*X.T@((relu(X@W) - Y)*heaviside(X@W))" in lines
    assert "pretty   2·Xᵀ((relu(XW) − Y) ⊙ H(XW))" in lines
    assert any(line.startswith("latex    2 X^{T} \\left(") for line in lines)
    code = "\n".join(lines[lines.index("import numpy as np"):]) + "\n"
    path = tmp_path / "grad.py"
    path.write_text(code, encoding="utf-8")
    assert subprocess.run([sys.executable, str(path)], capture_output=True, timeout=60).returncode == 0
    grad_W = runpy.run_path(str(path))["grad_W"]
    result = run_eval(HEADLINE, EvalOptions(wrt=["W"], shapes={"X": (7, 3), "W": (3, 2)}, seed=1))
    values = {v.name: v.value for v in result.variables}
    np.testing.assert_allclose(grad_W(**values), result.gradients[0].autograd, rtol=1e-10, atol=1e-12)


def test_long_code_lines_are_not_wrapped_when_piped() -> None:
    expr = "sum((relu(Input@Weights1)@Weights2 - Targets)**2) + sum(sigmoid(Input@Weights1@Weights2 - Targets))"
    run = gradcalc("derive", expr, "--wrt", "Weights1", "--code", env={"COLUMNS": "60"})
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    namespace: dict = {}
    exec("\n".join(lines[lines.index("import numpy as np"):]), namespace)
    assert "grad_Weights1" in namespace


def test_json_document() -> None:
    run = CliRunner().invoke(app, ["derive", HEADLINE, "--shape", "X=n,4", "--json"])
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    assert set(doc) == {"gradcalc", "expression", "variables", "gradients", "code", "notes"}
    assert doc["variables"] == {"X": {"shape": ["n", 4], "default_shape": False},
                                "W": {"shape": [4, "k"], "default_shape": True},
                                "Y": {"shape": ["n", "k"], "default_shape": True}}
    w = doc["gradients"]["W"]
    assert set(w) == {"shape", "formula", "pretty", "latex", "shared", "code"}
    assert w["formula"] == "2*X.T@((relu(X@W) - Y)*heaviside(X@W))" and w["shape"] == [4, "k"]
    assert w["shared"]["where"] == [{"name": "T1", "formula": "X@W"}]
    namespace: dict = {}
    exec(w["code"], namespace)
    assert set(namespace) >= {"np", "grad_W"} and "grad_X" not in namespace


def test_terminal_view_shows_shared_form_and_notes() -> None:
    run = CliRunner().invoke(app, ["derive", "sum(sigmoid(sigmoid(X@W)@V))", "--wrt", "W", "--shape", "W=3,m",
                                   "--shape", "V=p,2"], env={"NO_COLOR": "1"})
    assert run.exit_code == 0, run.output
    assert "note: sizes m and p are tied together by the expression; both are shown as m" in run.stdout
    assert "shared" in run.stdout and "  where  T1 = " in run.stdout
    assert "latex" not in run.stdout and "import numpy" not in run.stdout


@pytest.mark.parametrize("args, message", [
    (["sum(X@@W)"], "syntax error"),
    (["sum(X)", "--wrt", "Y"], "--wrt Y: no variable 'Y' in the expression"),
    (["sum(X@W)", "--shape", "X=n,4", "--shape", "W=5,m"], "sizes 4 and 5 differ"),
    (["X@W", "--shape", "X=n,k"], "the expression is n×m, not a scalar, so it has no gradient; derive needs a "
                                  "scalar, e.g. sum(X@W)"),
    (["sum(X)", "--shape", "X=X,k"], "the size name 'X' is a variable's name"),
    (["sum(X)", "--shape", "X=n,exp"], "the size name 'exp' is a function's name"),
    (["sum(X)", "--shape", "X=n,lambda"], "the size name 'lambda' is a Python keyword"),
    (["sum(X)", "--shape", "X=nxk"], "Write sizes with commas, e.g. X=n,k"),
    (["sum(X)", "--shape", "Z=n,k"], "--shape Z: no variable 'Z'"),
])
def test_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    run = gradcalc("derive", *args)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines()[-1].startswith("gradcalc: error: ") and message in run.stderr.splitlines()[-1]
    assert "Traceback" not in run.stderr
    doc = json.loads(gradcalc("derive", *args, "--json").stdout)
    assert message in doc["error"]["message"]


def test_parse_error_shows_the_caret() -> None:
    run = gradcalc("derive", "sum(X@@W)")
    assert run.stderr.splitlines()[:2] == ["  sum(X@@W)", "        ^"]


def test_derive_help_imports_neither_numpy_nor_sympy() -> None:
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "gradcalc", "derive", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "--code" in run.stdout
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines()}
    assert not {"numpy", "sympy"} & imported


@settings(max_examples=60 if os.environ.get("CI") else 120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(expr=expressions(), seed=st.integers(0, 2**32 - 1))
def test_code_matches_the_engine_for_random_expressions(expr, seed) -> None:
    """Random expressions over every operator, rank and broadcast: derive --code with named sizes agrees with eval."""
    values = draw_values(seed)
    probe = Probe()
    with np.errstate(all="ignore"):
        expr.fn(values, probe)
    assume(probe.safe)
    used = variable_names(parse(expr.text))
    assume(used)
    with np.errstate(all="ignore"):
        result = run_eval(expr.text, EvalOptions(values={n: Value(values[n], "test") for n in used}))
        assume(all(np.all(np.isfinite(g.autograd)) and np.all(np.abs(g.autograd) < HUGE) for g in result.gradients))
        assert_code_matches(result, atol=RTOL + ROUNDOFF * probe.biggest + ROUNDOFF2 * probe.biggest**2)
