"""Second order and forward mode (`eval --hessian`, `--hvp`, `--jvp`, `derive --hessian`), against references
independent of gradcalc's rules: exact SymPy second derivatives, finite differences, and the hand-derived
textbook Hessians; then the options, limits, views, `--save`, sample files and generated code.

PyTorch's `torch.autograd.functional` is the oracle of `tests/test_second_order_torch.py`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy as sp
from typer.testing import CliRunner

import test_exact as exact
from gradcalc.batch.cases import case_from_table, run_case
from gradcalc.cli.main import app
from gradcalc.dual.engine import DualTape, hessian, hvp, jvp
from gradcalc.dual.numbers import UFUNCS, Dual, DualError
from gradcalc.errors import GradcalcError, InputError
from gradcalc.jobs.derive import run_derive
from gradcalc.jobs.formula import evaluate_formula
from gradcalc.jobs.second import run_hessian, run_hvp, run_jvp
from gradcalc.lang.infer import infer
from gradcalc.lang.ops import TABLE
from gradcalc.lang.parse import parse
from gradcalc.lang.tree import postorder, variable_names
from gradcalc.options import EvalOptions
from gradcalc.referee import second_difference
from gradcalc.values.draw import Value

RUNNER = CliRunner()


# --------------------------------------------------------------------------- exact SymPy second derivatives


def _small(shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """The case at 1x1: matrices 1x1, vectors of one entry, scalars as they are."""
    return {name: (1,) * len(shape) for name, shape in shapes.items()}


def _exact_cases() -> list[exact.Case]:
    """test_exact's cases (every op of the table) at 1x1 where they still make sense, else at their own (small)
    shapes; their SymPy Hessians stay cheap."""
    chosen = []
    for case in exact.CASES:
        for shapes in (_small(case.shapes), case.shapes):
            if sum(math.prod(s) for s in shapes.values()) > 10:
                continue
            candidate = exact.Case(case.ops, case.expr, shapes, case.domains, case.wrt)
            try:
                infer(parse(case.expr), shapes, case.expr, scalar=True)
                symbols = {name: exact.symbols_for(name, shape) for name, shape in shapes.items()}
                exact.choose_point(candidate, symbols, exact.as_scalar(exact.explicit(parse(case.expr), symbols, {})))
            except (GradcalcError, AssertionError):  # no such shapes, or no finite point off the kinks there
                continue
            chosen.append(candidate)
            break
    return chosen


EXTRA = [exact.C("std", "std(x)*std(y)", x=(3,), y=(4,)),
         exact.C("reshape", "sum(reshape(X, 3, 2)@reshape(X*X, 2, 3))", X=(2, 3))]
EXACT = _exact_cases() + EXTRA


@pytest.mark.parametrize("case", EXACT, ids=[c.id for c in EXACT])
def test_hessian_equals_sympy_second_derivatives(case: exact.Case) -> None:
    tree = parse(case.expr)
    symbols = {name: exact.symbols_for(name, shape) for name, shape in case.shapes.items()}
    output = exact.as_scalar(exact.explicit(tree, symbols, {}))
    point = exact.choose_point(case, symbols, output)
    output = exact.as_scalar(exact.explicit(tree, symbols, point.frozen))
    names = variable_names(tree)
    flat = [s for name in names for s in symbols[name].entries()]
    reference = np.array([[float(sp.diff(output, a, b).xreplace(point.frozen)) for b in flat] for a in flat])
    values = {name: np.asarray(exact.as_array(point.values[name]), dtype=np.float64).reshape(case.shapes[name])
              for name in names}
    ours = hessian(tree, values, names)
    np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-10 * max(1.0, float(np.abs(reference).max())))


def test_the_exact_cases_cover_every_op_with_rules() -> None:
    covered = {node.op for case in EXACT for node in postorder(parse(case.expr))}
    rules = {op.name for op in TABLE if op.expand is None and op.arity > 0}
    assert rules <= covered, sorted(rules - covered)


# --------------------------------------------------------------------------- the dual numbers themselves


POSITIVE = {"log", "log2", "log10", "log1p", "sqrt", "arccosh", "reciprocal", "cbrt"}
BOUNDED = {"arcsin", "arccos", "arctanh"}


@pytest.mark.parametrize("ufunc", list(UFUNCS), ids=[u.__name__ for u in UFUNCS])
def test_every_ufunc_rule_matches_central_differences(ufunc: np.ufunc) -> None:
    rng = np.random.default_rng(3)
    xs = [rng.uniform(0.2, 0.9, 4) if ufunc.__name__ in POSITIVE | BOUNDED else rng.uniform(-2, 2, 4)
          for _ in range(ufunc.nin)]
    if ufunc.__name__ == "arccosh":
        xs = [x + 1.5 for x in xs]
    if ufunc is np.power:
        xs[0] = np.abs(xs[0]) + 0.5
    ts = [rng.standard_normal(4) for _ in xs]
    out = ufunc(*(Dual(x, t) for x, t in zip(xs, ts)))
    h = 1e-6
    central = (ufunc(*(x + h * t for x, t in zip(xs, ts))) - ufunc(*(x - h * t for x, t in zip(xs, ts)))) / (2 * h)
    np.testing.assert_allclose(out.tangent, central, rtol=1e-6, atol=1e-8)


def test_a_dual_refuses_what_would_drop_its_tangent() -> None:
    d = Dual(np.ones(2), np.ones(2))
    for refused in (lambda: np.asarray(d), lambda: float(d), lambda: np.frexp(d), lambda: np.sort(d)):
        with pytest.raises(DualError):
            refused()


def test_an_op_whose_rule_dual_numbers_cannot_follow_is_named() -> None:
    from gradcalc.lang import ops  # noqa: PLC0415 - the table, patched for one op

    real = ops.OPS["sin"]
    ops.OPS["sin"] = type(real)(**{**vars(real), "forward": lambda a: np.frexp(a)[0]})
    try:
        with pytest.raises(InputError, match=r"^sin: no second derivative by the engine: its NumPy rule calls "
                                             r"np.frexp"):
            DualTape(parse("sum(sin(x))"), {"x": np.ones(2)}, {"x": np.ones(2)}, {"x"})
    finally:
        ops.OPS["sin"] = real


def test_hvp_and_jvp_of_the_engine_against_finite_differences() -> None:
    tree = parse("sum(tanh(X@W)**2) + logsumexp(X@W)")
    rng = np.random.default_rng(1)
    values = {"X": rng.standard_normal((4, 3)), "W": rng.standard_normal((3, 2))}
    v = rng.standard_normal((3, 2))
    fd = second_difference(tree, values, "W", v, wrt=["W"])
    np.testing.assert_allclose(hvp(tree, values, {"W": v}, ["W"])["W"][1].ravel(), fd.value, rtol=1e-6, atol=1e-7)
    fd = second_difference(tree, values, "W", v)
    np.testing.assert_allclose(jvp(tree, values, {"W": v})[1], fd.value, rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------- textbook closed forms


TEXTBOOK = [
    ("x@A@x", {"x": (4,), "A": (4, 4)}, "x", "A + A.T"),
    ("sum((X@w - y)**2)", {"X": (9, 4), "w": (4,), "y": (9,)}, "w", "2*X.T@X"),
    ("sum(softplus(X@w) - y*(X@w))", {"X": (9, 4), "w": (4,), "y": (9,)}, "w",
     "X.T@diag(sigmoid(X@w)*(1 - sigmoid(X@w)))@X"),
    ("logsumexp(z) - y@z", {"z": (5,), "y": (5,)}, "z", "diag(softmax(z)) - outer(softmax(z), softmax(z))"),
    ("sum(x**3)", {"x": (3,)}, "x", "6*diag(x)"),
    ("norm(x)", {"x": (3,)}, "x", "eye(3)/norm(x) - outer(x, x)/norm(x)**3"),
]


@pytest.mark.parametrize("expr, shapes, name, formula", TEXTBOOK, ids=[t[0] for t in TEXTBOOK])
def test_textbook_hessians_print_in_matrix_notation_and_reparse(expr: str, shapes: dict[str, tuple[int, ...]],
                                                                name: str, formula: str) -> None:
    result = run_hessian(expr, EvalOptions(wrt=[name], shapes=shapes, hessian=True))
    assert result.verdict == "equal"
    assert result.blocks[0].formula == formula
    values = {v.name: v.value for v in result.variables}
    _, reparsed = evaluate_formula(result.blocks[0].formula, values, "test")
    np.testing.assert_allclose(reparsed, result.autograd, rtol=1e-10, atol=1e-12)
    assert "Matrix" not in result.blocks[0].pretty and "Hadamard" not in result.blocks[0].pretty


def test_log_det_is_shown_by_its_action_which_reparses() -> None:
    result = run_hessian("logdet(S)", EvalOptions(values={"S": Value(np.array([[2.0, 0.5], [0.3, 1.0]]), "inline")},
                                                  hessian=True))
    block = result.blocks[0]
    assert result.verdict == "equal" and block.formula == "" and block.action == "-inv(S).T@v.T@inv(S).T"
    v = np.array([[0.3, -1.0], [2.0, 0.5]])
    _, reparsed = evaluate_formula(block.action, {"S": result.variables[0].value, "v": v}, "test")
    np.testing.assert_allclose(reparsed.ravel(), result.autograd @ v.ravel(), rtol=1e-12)


def test_softmax_cross_entropy_hessian_with_log_softmax() -> None:
    y = Value(np.array([0.0, 1.0, 0.0, 0.0]), "inline")
    result = run_hessian("-sum(y*log_softmax(z))", EvalOptions(wrt=["z"], values={"y": y}, shapes={"z": (4,)},
                                                               hessian=True))
    z = result.variables[-1].value if result.variables[-1].name == "z" else result.variables[0].value
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert result.verdict == "equal"
    np.testing.assert_allclose(result.autograd, np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-14)
    assert "diag(softmax(z))" in result.blocks[0].formula


def test_blocks_of_two_variables_are_laid_out_row_major_and_symmetric() -> None:
    result = run_hessian("sum(x*x)*sum(Y)", EvalOptions(wrt=["x", "Y"], shapes={"x": (2,), "Y": (2, 2)},
                                                        hessian=True))
    assert result.labels == ["x[0]", "x[1]", "Y[0,0]", "Y[0,1]", "Y[1,0]", "Y[1,1]"]
    assert [(b.rows, b.columns) for b in result.blocks] == [("x", "x"), ("x", "Y"), ("Y", "x"), ("Y", "Y")]
    np.testing.assert_allclose(result.autograd, result.autograd.T)
    assert result.verdict == "equal" and "row-major" in result.layout


def test_relu_at_its_kink_gets_the_kink_verdict() -> None:
    x = Value(np.array([1.5, 0.0, -0.7]), "inline")
    assert run_hessian("sum(relu(x)**2)", EvalOptions(values={"x": x}, hessian=True)).verdict == "kink"
    hv = run_hvp("sum(relu(x)**2)", EvalOptions(values={"x": x}, hvp=Value(np.ones(3), "inline")))
    assert hv.verdict == "kink"
    assert run_hessian("sum(relu(x)**2)", EvalOptions(values={"x": Value(np.array([1.5, 0.2, -0.7]), "inline")},
                                                      hessian=True)).verdict == "equal"


# --------------------------------------------------------------------------- --hvp and --jvp


def test_hvp_has_the_closed_form_and_fits_a_1d_direction_to_the_variable() -> None:
    r = run_hvp("sum(softplus(X@w) - y*(X@w))", EvalOptions(shapes={"X": (6, 3), "y": (6,), "w": (3,)}, wrt=["w"],
                                                            hvp=Value(np.array([[1.0, 0.0, 2.0]]), "inline")))
    assert r.verdict == "equal" and r.products[0].shape == (3,)
    assert r.products[0].formula == "X.T@((X@v)*sigmoid(X@w)*(1 - sigmoid(X@w)))"


def test_jvp_of_a_non_scalar_expression_and_a_named_direction() -> None:
    r = run_jvp("tanh(X@W)", EvalOptions(shapes={"X": (3, 2)}, wrt=["W"],
                                         jvp=Value(np.ones((2, 4)), "inline"), jvp_name="dW"))
    assert r.verdict == "equal" and r.direction == "dW" and r.products[0].shape == (3, 4)
    assert "X@dW" in r.products[0].formula


@pytest.mark.parametrize("options, message", [
    (dict(hvp=Value(np.ones(2), "inline"), wrt=["x", "y"]), "--hvp: the direction belongs to one variable"),
    (dict(hvp=Value(np.ones(5), "inline"), wrt=["x"], shapes={"x": (2,)}), "the direction is 5 but x is 2"),
])
def test_hvp_refusals(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        run_hvp("sum(x*y)", EvalOptions(**options))


def test_hessian_honours_max_elements_and_points_to_hvp() -> None:
    with pytest.raises(InputError, match=r"its Hessian has 10,000 entries.*use --hvp SOURCE"):
        run_hessian("sum(x**4)", EvalOptions(shapes={"x": (100,)}, max_elements=9999, hessian=True))


@pytest.mark.parametrize("kwargs, message", [
    (dict(hessian=True, jacobian=True), "--hessian and --jacobian"),
    (dict(hessian=True, hvp=Value(np.ones(1), "x")), "--hessian and --hvp: give one"),
    (dict(jvp=Value(np.ones(1), "x"), steps=True), "--jvp and --steps"),
])
def test_second_order_options_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        EvalOptions(**kwargs)


# --------------------------------------------------------------------------- the CLI, views, --save, batch


def test_cli_hessian_json_document() -> None:
    out = RUNNER.invoke(app, ["eval", "x@A@x", "--wrt", "x", "--shape", "x=3", "--hessian", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    h = doc["hessian"]
    assert doc["verdict"] == "equal" and h["wrt"] == ["x"] and h["shape"] == [3, 3] and "row-major" in h["layout"]
    assert h["symbolic"]["blocks"][0]["formula"] == "A + A.T"
    assert h["symbolic"]["blocks"][0]["action"]["formula"] == "(A + A.T)@v"
    assert set(h["finite_difference"]) >= {"value", "step", "untrusted_entries"}


def test_cli_wrt_with_a_comma_gives_the_blocks_and_the_rich_view_names_them() -> None:
    out = RUNNER.invoke(app, ["eval", "sum(sin(a*x))", "--wrt", "a,x", "--shape", "a=scalar", "--shape", "x=2",
                              "--hessian"])
    assert out.exit_code == 0, out.output
    assert "∂²f/∂a∂x" in out.stdout and "∂²f/∂x∂x = −a²·diag(sin(a·x))" in out.stdout


def test_cli_hvp_and_jvp_json_and_save(tmp_path: Path) -> None:
    target = tmp_path / "hvp.npy"
    out = RUNNER.invoke(app, ["eval", "sum(x**3)", "--hvp", "[1, 2]", "--json", "--save", f"hvp={target}"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["hvp"]["direction"]["value"] == [1.0, 2.0] and doc["hvp"]["symbolic"]["formula"] == "6*(v*x)"
    np.testing.assert_allclose(np.load(target), doc["hvp"]["autograd"])
    out = RUNNER.invoke(app, ["eval", "A@x", "--wrt", "x", "--jvp", "d=[1, 0, 0]", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["jvp"]["symbolic"]["formula"] == "A@d"


def test_cli_save_of_the_hessian_and_a_wrong_name(tmp_path: Path) -> None:
    target = tmp_path / "H.npy"
    out = RUNNER.invoke(app, ["eval", "x@x", "--shape", "x=2", "--hessian", "--save", f"hessian={target}"])
    assert out.exit_code == 0 and np.allclose(np.load(target), 2 * np.eye(2))
    out = RUNNER.invoke(app, ["eval", "x@x", "--shape", "x=2", "--hessian", "--save", f"x={target}"])
    assert out.exit_code == 2 and "--save hessian=FILE.npy" in out.output


def test_cli_hessian_over_the_limit_exits_2() -> None:
    out = RUNNER.invoke(app, ["eval", "sum(x*x)", "--shape", "x=50", "--hessian", "--max-elements", "2000"])
    assert out.exit_code == 2 and "--hvp" in out.output


def test_batch_case_with_hessian_true_and_a_bad_value() -> None:
    case = case_from_table({"name": "q", "expr": "x@A@x", "wrt": ["x"], "shape": {"x": "3"}, "hessian": True,
                            "check": {"hessian": "A + A.T"}, "expect": "equal"})
    outcome = run_case(case)
    assert outcome.passed, outcome.failures
    with pytest.raises(InputError, match="hessian = 'yes': must be true or false"):
        case_from_table({"name": "q", "expr": "x@x", "hessian": "yes", "expect": "equal"})


def test_derive_hessian_code_runs_and_matches_the_engine() -> None:
    result = run_derive("sum(softplus(X@w) - y*(X@w)) + logdet(S)",
                        EvalOptions(shapes={"X": ("n", "k"), "w": ("k",), "y": ("n",), "S": ("m", "m")},
                                    wrt=["w", "S"], hessian=True))
    assert [(b.rows, b.columns, bool(b.formula)) for b in result.hessian] == [
        ("w", "w", True), ("w", "S", False), ("S", "w", False), ("S", "S", False)]
    namespace: dict[str, Any] = {}
    exec(compile(result.hessian_code, "<derive --hessian>", "exec"), namespace)  # noqa: S102 - our own program
    rng = np.random.default_rng(0)
    values = {"X": rng.standard_normal((5, 3)), "w": rng.standard_normal(3), "y": rng.standard_normal(5),
              "S": np.array([[2.0, 0.3], [0.1, 1.0]])}
    tree = parse("sum(softplus(X@w) - y*(X@w)) + logdet(S)")
    np.testing.assert_allclose(namespace["hessian_w_w"](**values), hessian(tree, values, ["w"]), rtol=1e-12)
    v = np.array([[0.5, -1.0], [1.0, 2.0]])
    engine = hvp(tree, values, {"S": v}, ["S"])["S"][1]
    assert result.hessian[3].direction == "v_S"
    np.testing.assert_allclose(namespace["hvp_S_S"](**values, v_S=v), engine, rtol=1e-12)


def test_cli_derive_hessian_json() -> None:
    out = RUNNER.invoke(app, ["derive", "x@A@x", "--shape", "x=n", "--wrt", "x", "--hessian", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["hessian"]["blocks"][0]["formula"] == "A + A.T" and "def hessian_x_x(x, A):" in doc["hessian"]["code"]
