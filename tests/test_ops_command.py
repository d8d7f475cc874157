"""`gradcalc ops --json` lists every spelling of SPEC section 3, and each one gives verdict equal."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gradcalc.cli.main import app
from gradcalc.lang.parse import parse
from gradcalc.jobs.evaluate import run_eval
from gradcalc.lang.tree import variable_names
from gradcalc.options import EvalOptions
from gradcalc.jobs import catalog as table
from gradcalc.lang.ops import OPS

#: Function names and aliases of SPEC section 3, copied from the spec's text.
SPEC_FUNCTIONS = """exp log sqrt abs sin cos tan tanh sigmoid relu softplus heaviside sign square clamp maximum max
pow sum mean norm logsumexp softmax trace tr det logdet inv dot outer diag mm matmul detach stop_gradient eye ones
zeros transpose""".split()
#: Method spellings of SPEC section 3.
SPEC_METHODS = "mm t pow sum mean exp clamp".split()

#: A representative expression per op; {f} is replaced by each function spelling.
FUNCTION_FORMS = {
    "add": "sum({f}(A, B))", "sub": "sum({f}(A, B))", "neg": "sum({f}(A)*B)", "mul": "sum({f}(A, B))",
    "div": "sum({f}(A, exp(B)))", "pow": "sum({f}(exp(A), 3))", "square": "sum({f}(A)*B)",
    "mm": "sum({f}(A, C)*D)",
    "matmul": "sum({f}(A, C)*D)", "dot": "{f}(a, b)", "outer": "sum({f}(a, b)*S)", "diag": "sum({f}(S)*b)",
    "transpose": "sum({f}(A)@B)", "sum": "{f}(A*B)", "mean": "{f}(A*B)", "trace": "{f}(A@B.T)",
    "relu": "sum({f}(A)*B)", "clamp": "sum({f}(A, 0.1)*B)", "maximum": "sum({f}(A, B)*B)",
    "exp": "sum({f}(A)*B)", "log": "sum({f}(A)*B)", "heaviside": "sum({f}(A)*B + A*B)", "sqrt": "sum({f}(A)*B)",
    "abs": "sum({f}(A)*B)", "sign": "sum({f}(A)*B + A*B)", "sin": "sum({f}(A)*B)", "cos": "sum({f}(A)*B)",
    "tan": "sum({f}(A/4)*B)", "tanh": "sum({f}(A)*B)", "sigmoid": "sum({f}(A)*B)", "softplus": "sum({f}(A)*B)",
    "detach": "sum({f}(A)*B + A*B)", "norm": "{f}(A@C)", "logsumexp": "{f}(A@C)", "softmax": "sum({f}(A, axis=1)*B)",
    "log_softmax": "sum({f}(A, axis=1)*B)", "variance": "{f}(A@C)", "std": "{f}(A@C)", "max": "sum({f}(A, 1)*b)",
    "min": "sum({f}(A, 0)**2)", "amax": "{f}(A@C)", "amin": "{f}(A@C)",
    "det": "{f}(S)", "logdet": "{f}(S)", "inv": "sum({f}(S)@A)", "eye": "sum({f}(4)@A)",
    "ones": "sum({f}(4, 3)*A)", "zeros": "sum({f}(4, 3)*A + A*B)",
    "index": "sum({f}(A, -1)**2)", "reshape": "sum({f}(A, 2, 6)**2)", "flatten": "sum({f}(A)**2)",
    "permute": "sum({f}(A, 1, 0)@B)", "swapaxes": "sum({f}(A, 0, 1)@B)", "matrix_transpose": "sum({f}(A)@B)",
    "kron": "sum({f}(A, B)**2)",
    "clamp_min": "sum({f}(A, 0.1)*B)", "clamp_max": "sum({f}(A, 0.1)*B)", "clip": "sum({f}(A, -0.1, 0.1)*B)",
    "minimum": "sum({f}(A, B)*B)", "leaky_relu": "sum({f}(A)*B)", "elu": "sum({f}(A)*B)", "gelu": "sum({f}(A)*B)",
    "erf": "sum({f}(A)*B)", "log1p": "sum({f}(A*A)*B)", "expm1": "sum({f}(A)*B)", "greater": "sum({f}(A, B)*A)",
    "less": "sum({f}(A, B)*A)", "greater_equal": "sum({f}(A, B)*A)", "less_equal": "sum({f}(A, B)*A)",
    "equal": "sum({f}(A, B)*A)", "not_equal": "sum({f}(A, B)*A)", "where": "sum({f}(A > B, A, 0.1*A)*B)",
}
#: A representative expression per method spelling; {m} is replaced by the method.
METHOD_FORMS = {
    "matmul": "sum(A.{m}(C)*D)", "mm": "sum(A.{m}(C)*D)", "pow": "sum(exp(A).{m}(2))", "clamp": "sum(A.{m}(0.1)*B)",
    "sum": "A.{m}()", "mean": "A.{m}()", "trace": "(A@B.T).{m}()", "dot": "a.{m}(b)", "outer": "sum(a.{m}(b)*S)",
    "diag": "sum(S.{m}()*b)", "det": "S.{m}()", "logdet": "S.{m}()", "inv": "sum(S.{m}()@A)",
    "maximum": "sum(A.{m}(B)*B)", "minimum": "sum(A.{m}(B)*B)", "clamp_min": "sum(A.{m}(0.1)*B)",
    "clamp_max": "sum(A.{m}(0.1)*B)", "greater": "sum(A.{m}(B)*A)", "less": "sum(A.{m}(B)*A)",
    "greater_equal": "sum(A.{m}(B)*A)", "less_equal": "sum(A.{m}(B)*A)", "equal": "sum(A.{m}(B)*A)",
    "not_equal": "sum(A.{m}(B)*A)", "log1p": "sum((A*A).{m}()*B)", "norm": "A.{m}()", "logsumexp": "sum(A.{m}(1))", "softmax": "sum(A.{m}(dim=1)*B)",
    "log_softmax": "sum(A.{m}(dim=0)*B)", "variance": "A.{m}(ddof=1)", "std": "A.{m}(dim=0).sum()", "transpose": "sum(A.{m}()@B)",
    "heaviside": "sum(A.{m}()*B + A*B)", "sign": "sum(A.{m}()*B + A*B)", "detach": "sum(A.{m}()*B + A*B)",
    "reshape": "sum(A.{m}(2, 6)**2)", "flatten": "sum(A.{m}()**2)", "permute": "sum(A.{m}(1, 0)@B)",
    "swapaxes": "sum(A.{m}(0, 1)@B)", "kron": "sum(A.{m}(B)**2)",
}


@pytest.fixture(scope="module")
def catalog() -> list[dict]:
    """The operator list as `gradcalc ops --json` prints it."""
    run = CliRunner().invoke(app, ["ops", "--json"])
    assert run.exit_code == 0
    return json.loads(run.stdout)["ops"]


def test_every_spec_spelling_is_listed(catalog: list[dict]) -> None:
    functions = {f for op in catalog for f in op["functions"]}
    methods = {m for op in catalog for m in op["methods"]}
    assert set(SPEC_FUNCTIONS) <= functions
    assert set(SPEC_METHODS) <= methods


def test_every_op_has_a_representative_expression(catalog: list[dict]) -> None:
    assert {op["name"] for op in catalog} == set(FUNCTION_FORMS)


def spellings() -> list[tuple[str, str]]:
    """(op, expression) for every function and method spelling in the table."""
    from gradcalc.jobs.catalog import catalog as read_catalog

    cases = []
    for op in read_catalog():
        cases += [(op.name, FUNCTION_FORMS[op.name].format(f=f)) for f in op.functions]
        for m in op.methods:
            form = METHOD_FORMS.get(op.name, "sum(A.{m}()*B)")
            cases.append((op.name, form.format(m=m)))
    return cases


SHAPES = {"A": (4, 3), "B": (4, 3), "C": (3, 5), "D": (4, 5), "S": (4, 4), "a": (4,), "b": (4,)}


@pytest.mark.parametrize("op, expr", spellings(), ids=[e for _, e in spellings()])
def test_every_spelling_gives_equal(op: str, expr: str) -> None:
    names = variable_names(parse(expr))
    result = run_eval(expr, EvalOptions(shapes={n: SHAPES[n] for n in names}))
    assert result.verdict == "equal", [(g.name, g.formula, g.max_abs_diff) for g in result.gradients]


def test_ops_json_lists_each_library_spelling_with_its_keywords() -> None:
    entries = {e.name: e for e in table.catalog()}
    assert entries["det"].numpy == ["np.linalg.det(A)"]
    assert "torch.linalg.det(A)" in entries["det"].torch and "torch.det(A)" in entries["det"].torch
    for name, entry in entries.items():
        op = OPS[name]
        assert len(entry.numpy) == len(op.numpy_names) and len(entry.torch) == len(op.torch_names)
        for text in entry.torch:
            assert text.startswith("torch.") and all(p.keyword("torch") in text for p in op.params)
