"""Every core operator against independent oracles, at rectangular shapes.

For each operator in `gradcalc.ops.TABLE` there is at least one scalar test
expression. Both of gradcalc's gradients -- the numeric tape
(`tape.record` + `Tape.backward`) and the symbolic closed form
(`symbolic.gradients` + `symbolic.evaluate`) -- are compared with

  (a) HIPS autograd differentiating the same function, written here by hand
      in `autograd.numpy` (never derived from gradcalc's table), and
  (b) central finite differences computed by a small helper in this file.

Then: every alias/method spelling from the table parses to the same tree as
its canonical spelling; the kink conventions of SPEC section 6 hold at the
exact kink points; the acceptance expressions get the verdict "equal" from
`pipeline.run_eval`; and every printed formula re-parses and reproduces the
symbolic value.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from typing import Any, Callable

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from gradcalc import printing, symbolic
from gradcalc.ops import OPS, TABLE
from gradcalc.parse import parse
from gradcalc.pipeline import run_eval
from gradcalc.shapes import infer
from gradcalc.tape import record
from gradcalc.tree import Node, postorder

AUTOGRAD_RTOL, AUTOGRAD_ATOL = 1e-10, 1e-12
FD_RTOL, FD_ATOL = 1e-5, 1e-6
KINK_GAP = 1e-2  # resample values until every kink argument is at least this far from its kink


# --------------------------------------------------------------------------- helpers


def _relu(a: Any) -> Any:
    """Reference relu: a where a > 0, else 0."""
    return anp.where(a > 0, a, 0.0)


def _step(a: Any) -> Any:
    """Reference unit step (a constant: no gradient flows through it)."""
    return anp.where(a > 0, 1.0, 0.0)


@dataclass(frozen=True)
class Case:
    """One test expression: which op it exercises, its text, shapes and a hand-written reference.

    `ref` maps a dict of values to the scalar the expression denotes, written
    with autograd.numpy. `kinks` maps values to the arrays whose sign flips at
    a kink (they are kept away from zero); `positive` names variables that
    must be positive (log's domain, a fractional power's base) and `nonzero`
    those that must stay away from 0 (a divisor, a negative power's base).
    """

    id: str
    op: str
    text: str
    shapes: dict[str, tuple[int, ...]]
    ref: Callable[[dict[str, Any]], Any]
    kinks: Callable[[dict[str, np.ndarray]], list[np.ndarray]] = lambda v: []
    positive: tuple[str, ...] = ()
    nonzero: tuple[str, ...] = ()


R35, R52, R32, R23, R53 = (3, 5), (5, 2), (3, 2), (2, 3), (5, 3)

CASES = [
    Case("add", "add", "sum((A + B) * C)", {"A": R35, "B": R35, "C": R35},
         lambda v: anp.sum((v["A"] + v["B"]) * v["C"])),
    Case("add-number", "add", "sum((A + 2) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum((v["A"] + 2.0) * v["C"])),
    Case("add-scalar-variable", "add", "sum((a + A) * C)", {"a": (), "A": R35, "C": R35},
         lambda v: anp.sum((v["a"] + v["A"]) * v["C"])),
    Case("sub", "sub", "sum((A - B) * C)", {"A": R35, "B": R35, "C": R35},
         lambda v: anp.sum((v["A"] - v["B"]) * v["C"])),
    Case("sub-number", "sub", "sum((3 - A) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum((3.0 - v["A"]) * v["C"])),
    Case("neg", "neg", "sum(-A * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(-v["A"] * v["C"])),
    Case("mul", "mul", "sum(A * B * C)", {"A": R35, "B": R35, "C": R35},
         lambda v: anp.sum(v["A"] * v["B"] * v["C"])),
    Case("mul-scalar-variable", "mul", "sum(a * A * C)", {"a": (), "A": R35, "C": R35},
         lambda v: anp.sum(v["a"] * v["A"] * v["C"])),
    Case("mul-number", "mul", "sum(3 * A * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(3.0 * v["A"] * v["C"])),
    Case("mul-decimal", "mul", "sum(0.5 * A * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(v["A"] * v["C"] / 2.0)),
    Case("div", "div", "sum(A / B * C)", {"A": R35, "B": R35, "C": R35},
         lambda v: anp.sum(v["A"] / v["B"] * v["C"]), nonzero=("B",)),
    Case("div-number", "div", "sum(A / 4 * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(v["A"] / 4.0 * v["C"])),
    Case("div-by-scalar-variable", "div", "sum(A / a * C)", {"a": (), "A": R35, "C": R35},
         lambda v: anp.sum(v["A"] / v["a"] * v["C"]), nonzero=("a",)),
    Case("pow", "pow", "sum(A**3 * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(v["A"] * v["A"] * v["A"] * v["C"])),
    Case("pow-negative", "pow", "sum(A**-2 * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(v["C"] / (v["A"] * v["A"])), nonzero=("A",)),
    Case("pow-fractional", "pow", "sum(P**1.5 * C)", {"P": R35, "C": R35},
         lambda v: anp.sum(v["P"] * anp.sqrt(v["P"]) * v["C"]), positive=("P",)),
    Case("pow-of-even-pow", "pow", "sum((A**2)**1.5 * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(v["A"] * v["A"] * anp.sqrt(v["A"] * v["A"]) * v["C"]), nonzero=("A",)),
    Case("matmul", "matmul", "sum((A @ B) * C)", {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(anp.dot(v["A"], v["B"]) * v["C"])),
    Case("matmul-chain", "matmul", "sum(A @ B @ D)", {"A": R35, "B": R52, "D": R23},
         lambda v: anp.sum(anp.dot(anp.dot(v["A"], v["B"]), v["D"]))),
    Case("matmul-1x1-as-scalar", "matmul", "x.t().mm(W).mm(y)", {"x": (4, 1), "W": (4, 3), "y": (3, 1)},
         lambda v: anp.dot(anp.dot(anp.transpose(v["x"]), v["W"]), v["y"])[0, 0]),
    Case("transpose", "transpose", "sum(A.T * C)", {"A": R35, "C": R53},
         lambda v: anp.sum(anp.transpose(v["A"]) * v["C"])),
    Case("transpose-of-product", "transpose", "sum((A @ B).T @ D)", {"A": R35, "B": R52, "D": (3, 4)},
         lambda v: anp.sum(anp.dot(anp.transpose(anp.dot(v["A"], v["B"])), v["D"]))),
    Case("sum", "sum", "sum(A) * sum(A * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(v["A"]) * anp.sum(v["A"] * v["C"])),
    Case("mean", "mean", "mean(A * C) * mean(A)", {"A": R35, "C": R35},
         lambda v: (anp.sum(v["A"] * v["C"]) / 15.0) * (anp.sum(v["A"]) / 15.0)),
    Case("trace", "trace", "trace(A @ B @ D)", {"A": R35, "B": R52, "D": R23},
         lambda v: anp.trace(anp.dot(anp.dot(v["A"], v["B"]), v["D"]))),
    Case("trace-times-scalar", "trace", "a * trace(S) + sum(S * S)", {"a": (), "S": (3, 3)},
         lambda v: v["a"] * (v["S"][0, 0] + v["S"][1, 1] + v["S"][2, 2]) + anp.sum(v["S"] * v["S"])),
    Case("trace-of-power", "trace", "trace(S @ S @ S)", {"S": (3, 3)},
         lambda v: anp.trace(anp.dot(anp.dot(v["S"], v["S"]), v["S"]))),
    Case("relu", "relu", "sum(relu(A) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(_relu(v["A"]) * v["C"]), kinks=lambda v: [v["A"]]),
    Case("relu-of-product", "relu", "sum(relu(A @ B) * C)", {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(_relu(anp.dot(v["A"], v["B"])) * v["C"]), kinks=lambda v: [v["A"] @ v["B"]]),
    Case("clamp", "clamp", "sum(clamp(A, 0.3) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.where(v["A"] > 0.3, v["A"], 0.3) * v["C"]), kinks=lambda v: [v["A"] - 0.3]),
    Case("clamp-zero", "clamp", "sum(clamp(A, 0) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(_relu(v["A"]) * v["C"]), kinks=lambda v: [v["A"]]),
    Case("maximum", "maximum", "sum(maximum(A, B) * C)", {"A": R35, "B": R35, "C": R35},
         lambda v: anp.sum(anp.where(v["A"] > v["B"], v["A"], v["B"]) * v["C"]),
         kinks=lambda v: [v["A"] - v["B"]]),
    Case("maximum-number", "maximum", "sum(maximum(A, -0.5) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.where(v["A"] > -0.5, v["A"], -0.5) * v["C"]), kinks=lambda v: [v["A"] + 0.5]),
    Case("maximum-scalar-variable", "maximum", "sum(maximum(A, a) * C)", {"A": R35, "a": (), "C": R35},
         lambda v: anp.sum((v["a"] + _relu(v["A"] - v["a"])) * v["C"]),
         kinks=lambda v: [v["A"] - v["a"]]),
    Case("exp", "exp", "sum(exp(A) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.exp(v["A"]) * v["C"])),
    Case("log", "log", "sum(log(P) * C)", {"P": R35, "C": R35},
         lambda v: anp.sum(anp.log(v["P"]) * v["C"]), positive=("P",)),
    Case("heaviside", "heaviside", "sum(heaviside(A) * B * C)", {"A": R35, "B": R35, "C": R35},
         lambda v: anp.sum(_step(v["A"]) * v["B"] * v["C"]), kinks=lambda v: [v["A"]]),
    Case("eye", "eye", "sum((A @ eye(5) + 2 * A) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(3.0 * v["A"] * v["C"])),
    Case("eye-in-trace", "eye", "trace(A @ B @ D + eye(3)) * sum(A)", {"A": R35, "B": R52, "D": R23},
         lambda v: (anp.trace(anp.dot(anp.dot(v["A"], v["B"]), v["D"])) + 3.0) * anp.sum(v["A"])),
    Case("ones", "ones", "sum((A @ ones(5, 2)) * C)", {"A": R35, "C": R32},
         lambda v: anp.sum(anp.sum(v["A"], axis=1, keepdims=True) * v["C"])),
    Case("zeros", "zeros", "sum((A + zeros(3, 5)) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(v["A"] * v["C"])),
]


def _seed(text: str) -> int:
    """A stable per-case seed, so each case has its own values."""
    return zlib.crc32(text.encode())


def draw_values(case: Case) -> dict[str, np.ndarray]:
    """Standard normals for the case's variables, inside domains and away from kinks.

    Positive variables are mapped to 0.5 + |z|; `nonzero` ones to
    sign(z)(0.5 + |z|); values are redrawn until every kink argument is at
    least KINK_GAP away from its kink.
    """
    rng = np.random.default_rng(_seed(case.id))
    for _ in range(200):
        values = {name: np.asarray(rng.standard_normal(shape), dtype=np.float64)
                  for name, shape in case.shapes.items()}
        for name in case.positive:
            values[name] = 0.5 + np.abs(values[name])
        for name in case.nonzero:
            values[name] = np.asarray(np.where(values[name] < 0, -1.0, 1.0) * (0.5 + np.abs(values[name])))
        if all(np.min(np.abs(k), initial=np.inf) >= KINK_GAP for k in case.kinks(values)):
            return values
    raise AssertionError(f"could not draw values away from the kinks of {case.text}")


def tape_gradients(text: str, values: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
    """gradcalc's numeric answer: the value and the tape gradient for every variable."""
    tree = parse(text)
    tape, tensors, leaves = record(tree, values, set(values))
    grads = tape.backward(tensors[id(tree)])
    out = {}
    for name, leaf in leaves.items():
        g = grads[leaf.index]
        out[name] = np.zeros_like(values[name]) if g is None else np.asarray(g, dtype=np.float64)
    return float(np.sum(tensors[id(tree)].value)), out


def symbolic_formulas(text: str, shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """gradcalc's closed-form gradients (SymPy expressions) for every variable."""
    tree = parse(text)
    return symbolic.gradients(tree, infer(tree, shapes, text), list(shapes))


def symbolic_gradients(text: str, shapes: dict[str, tuple[int, ...]],
                       values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The closed-form gradients evaluated on `values`."""
    return {name: symbolic.evaluate(f, values) for name, f in symbolic_formulas(text, shapes).items()}


def forward(text: str, values: dict[str, np.ndarray]) -> float:
    """gradcalc's forward value (the tape, no gradients)."""
    tree = parse(text)
    _, tensors, _ = record(tree, values)
    return float(np.sum(tensors[id(tree)].value))


def central_differences(f: Callable[[dict[str, np.ndarray]], float], values: dict[str, np.ndarray],
                        name: str, h: float = 1e-5) -> np.ndarray:
    """Central finite differences of a scalar function of `values`, with respect to one of them."""
    x = values[name]
    out = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        step = h * max(1.0, abs(float(x[index])))
        plus, minus = x.copy(), x.copy()
        plus[index] += step
        minus[index] -= step
        out[index] = (f({**values, name: plus}) - f({**values, name: minus})) / (2 * step)
    return out


class Answers:
    """Everything computed for one case, each part once and only when asked for.

    Lazy, so that a failure of one engine does not fail the other's tests.
    """

    def __init__(self, case: Case) -> None:
        self.case = case
        self.values = draw_values(case)

    @functools.cached_property
    def tape(self) -> dict[str, np.ndarray]:
        return tape_gradients(self.case.text, self.values)[1]

    @functools.cached_property
    def symbolic(self) -> dict[str, np.ndarray]:
        return symbolic_gradients(self.case.text, self.case.shapes, self.values)

    @functools.cached_property
    def autograd(self) -> dict[str, np.ndarray]:
        return grad(self.case.ref)(self.values)

    @functools.cached_property
    def fd(self) -> dict[str, np.ndarray]:
        return {name: central_differences(lambda v: forward(self.case.text, v), self.values, name)
                for name in self.values}


@functools.lru_cache(maxsize=None)
def answers(case_id: str) -> Answers:
    """The (cached) Answers of the case with this id."""
    return Answers(next(c for c in CASES if c.id == case_id))


def _ids(cases: list[Case]) -> list[str]:
    return [c.id for c in cases]


# --------------------------------------------------------------------------- coverage of the table


def test_every_core_op_has_a_case():
    """Each operator of the table is exercised, and its case's tree really contains it."""
    assert {c.op for c in CASES} == {op.name for op in TABLE}
    for case in CASES:
        if OPS[case.op].expand is None:  # composed ops (sub, div) are rewritten by the parser
            assert case.op in {n.op for n in postorder(parse(case.text))}, case.id


def test_cases_use_rectangular_variables_except_where_an_op_needs_square():
    """Rectangular shapes keep a missing transpose from hiding behind a square matrix."""
    for case in CASES:
        square = [n for n, s in case.shapes.items() if len(s) == 2 and s[0] == s[1]]
        assert not square or case.op == "trace", (case.id, square)


# --------------------------------------------------------------------------- oracles


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_forward_value_matches_reference(case):
    """The tape's value is the value of the hand-written reference."""
    a = answers(case.id)
    np.testing.assert_allclose(forward(case.text, a.values), case.ref(a.values), rtol=AUTOGRAD_RTOL,
                               atol=AUTOGRAD_ATOL)


@pytest.mark.parametrize("engine", ["tape", "symbolic"])
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_gradient_matches_autograd(case, engine):
    """Both engines agree with HIPS autograd on the hand-written reference."""
    a = answers(case.id)
    for name, expected in a.autograd.items():
        got = getattr(a, engine)[name]
        assert got.shape == case.shapes[name], (name, got.shape)
        np.testing.assert_allclose(got, expected, rtol=AUTOGRAD_RTOL, atol=AUTOGRAD_ATOL, err_msg=name)


@pytest.mark.parametrize("engine", ["tape", "symbolic"])
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_gradient_matches_finite_differences(case, engine):
    """Both engines agree with central differences of gradcalc's own forward value."""
    a = answers(case.id)
    for name, expected in a.fd.items():
        np.testing.assert_allclose(getattr(a, engine)[name], expected, rtol=FD_RTOL, atol=FD_ATOL, err_msg=name)


def test_finite_difference_helper_against_a_known_gradient():
    """The referee itself: d/dX sum(X**3) = 3 X**2."""
    x = np.array([[1.0, -2.0, 0.5], [3.0, 0.1, -0.7]])
    fd = central_differences(lambda v: float(np.sum(v["X"] ** 3)), {"X": x}, "X")
    np.testing.assert_allclose(fd, 3 * x**2, rtol=FD_RTOL, atol=FD_ATOL)


# --------------------------------------------------------------------------- printed formulas


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_printed_formula_reparses_to_the_same_numbers(case):
    """`syntax(formula)` is valid gradcalc input whose tape value equals the formula's value."""
    a = answers(case.id)
    for name, formula in symbolic_formulas(case.text, case.shapes).items():
        text = printing.syntax(formula)
        tree = parse(text)
        used = {n.name for n in postorder(tree) if n.op == "var"}
        infer(tree, {k: s for k, s in case.shapes.items() if k in used}, text)
        _, tensors, _ = record(tree, a.values)
        reparsed = np.broadcast_to(tensors[id(tree)].value, case.shapes[name])
        np.testing.assert_allclose(reparsed, a.symbolic[name], rtol=1e-12, atol=1e-12,
                                   err_msg=f"d/d{name}: {text}")


# --------------------------------------------------------------------------- spellings


def structure(node: Node) -> tuple:
    """A tree as nested tuples (op, params, name, value, children), ignoring source spans."""
    return (node.op, node.params, node.name, node.value, tuple(structure(a) for a in node.args))


SPELLINGS = [  # (spelling, canonical spelling, the table entry it spells)
    ("x.mm(W)", "x @ W", "mm"),
    ("mm(x, W)", "x @ W", "mm"),
    ("x.matmul(W)", "x @ W", "matmul"),
    ("matmul(x, W)", "x @ W", "matmul"),
    ("x.t()", "transpose(x)", "t"),
    ("x.transpose()", "transpose(x)", "transpose"),
    ("x.T", "transpose(x)", "T"),
    ("z.pow(2)", "z**2", "pow"),
    ("pow(z, 2)", "z**2", "pow"),
    ("d.sum()", "sum(d)", "sum"),
    ("d.mean()", "mean(d)", "mean"),
    ("S.trace()", "trace(S)", "trace"),
    ("tr(S)", "trace(S)", "tr"),
    ("x.exp()", "exp(x)", "exp"),
    ("np.exp(x)", "exp(x)", "exp"),
    ("numpy.exp(x)", "exp(x)", "exp"),
    ("x.log()", "log(x)", "log"),
    ("torch.log(x)", "log(x)", "log"),
    ("x.relu()", "relu(x)", "relu"),
    ("torch.relu(x)", "relu(x)", "relu"),
    ("F.relu(x)", "relu(x)", "relu"),
    ("z.clamp(0)", "clamp(z, 0)", "clamp"),
    ("clamp(z, min=0)", "clamp(z, 0)", "clamp"),
    ("z.clamp(min=0)", "clamp(z, 0)", "clamp"),
    ("z.clamp_min(0)", "clamp(z, 0)", "clamp_min"),
    ("clamp_min(z, 0)", "clamp(z, 0)", "clamp_min"),
    ("max(z, 0)", "maximum(z, 0)", "max"),
    ("z.maximum(x)", "maximum(z, x)", "maximum"),
    ("torch.maximum(z, x)", "maximum(z, x)", "maximum"),
    ("x.heaviside()", "heaviside(x)", "heaviside"),
    ("identity(3)", "eye(3)", "identity"),
    ("x - z", "x + -z", "-"),
    ("x / z", "x * z**-1", "/"),
]


def test_every_alias_and_method_in_the_table_is_spelled_here():
    """A new alias or method in the table must get a spelling test."""
    spelled = {s for _, _, s in SPELLINGS}
    for op in TABLE:
        missing = set(op.aliases) | set(op.methods)
        assert missing <= spelled, (op.name, missing - spelled)


@pytest.mark.parametrize("spelling,canonical,_", SPELLINGS, ids=[s for s, _, _ in SPELLINGS])
def test_spelling_parses_to_the_canonical_tree(spelling, canonical, _):
    """Aliases, method chains and prefixes are only spellings: same tree, same value."""
    assert structure(parse(spelling)) == structure(parse(canonical))
    shapes = {"x": R35, "z": R35, "d": R35, "W": R52, "S": (3, 3)}
    tree, twin = parse(spelling), parse(canonical)
    used = {n.name for n in postorder(tree) if n.op == "var"}
    infer(tree, {k: v for k, v in shapes.items() if k in used})
    rng = np.random.default_rng(_seed(spelling))
    values = {name: 0.5 + np.abs(rng.standard_normal(shapes[name])) for name in used}
    _, got, _ = record(tree, values)
    _, want, _ = record(twin, values)
    np.testing.assert_array_equal(got[id(tree)].value, want[id(twin)].value)


# --------------------------------------------------------------------------- kink conventions


A_AT_KINK = np.array([[0.0, 1.5, -0.5, 0.0, 2.0], [-1.0, 0.0, 0.7, -0.2, 0.0]])
C_WEIGHTS = np.arange(1.0, 11.0).reshape(2, 5)

KINKS = [  # (id, expression, values, variable, expected gradient) -- SPEC section 6
    ("relu'(0)=0", "sum(relu(A) * C)", {"A": A_AT_KINK}, "A",
     C_WEIGHTS * (A_AT_KINK > 0)),
    ("clamp(A,0)'=1 at the bound", "sum(clamp(A, 0) * C)", {"A": A_AT_KINK}, "A",
     C_WEIGHTS * (A_AT_KINK >= 0)),
    ("clamp(A,0.7)'=1 at the bound", "sum(clamp(A, 0.7) * C)", {"A": A_AT_KINK}, "A",
     C_WEIGHTS * (A_AT_KINK >= 0.7)),
    ("maximum ties split 0.5 (A)", "sum(maximum(A, B) * C)", {"A": A_AT_KINK, "B": np.zeros((2, 5))}, "A",
     C_WEIGHTS * np.where(A_AT_KINK > 0, 1.0, np.where(A_AT_KINK == 0, 0.5, 0.0))),
    ("maximum ties split 0.5 (B)", "sum(maximum(A, B) * C)", {"A": A_AT_KINK, "B": np.zeros((2, 5))}, "B",
     C_WEIGHTS * np.where(A_AT_KINK < 0, 1.0, np.where(A_AT_KINK == 0, 0.5, 0.0))),
    ("maximum(A,0) tie 0.5", "sum(maximum(A, 0) * C)", {"A": A_AT_KINK}, "A",
     C_WEIGHTS * np.where(A_AT_KINK > 0, 1.0, np.where(A_AT_KINK == 0, 0.5, 0.0))),
    ("maximum(A,a) ties give 0.5 to the scalar", "sum(maximum(A, a) * C)", {"A": A_AT_KINK, "a": np.array(0.0)},
     "a", np.sum(C_WEIGHTS * np.where(A_AT_KINK < 0, 1.0, np.where(A_AT_KINK == 0, 0.5, 0.0)))),
    ("heaviside'=0", "sum(heaviside(A) * C)", {"A": A_AT_KINK}, "A", np.zeros((2, 5))),
    ("relu'(0)=0 inside a product", "sum(relu(x @ w) * C)",
     {"x": np.array([[1.0, 0.0], [0.0, 0.0]]), "w": np.array([[0.0, 1.0, -1.0, 0.0, 2.0], [3.0, 1.0, 1.0, 1.0, 1.0]])},
     "w", np.array([[1.0, 0.0], [0.0, 0.0]]).T @ (C_WEIGHTS * np.array([[0, 1, 0, 0, 1], [0, 0, 0, 0, 0]]))),
]


@pytest.mark.parametrize("engine", ["tape", "symbolic"])
@pytest.mark.parametrize("text,values,name,expected", [k[1:] for k in KINKS], ids=[k[0] for k in KINKS])
def test_kink_convention_at_the_exact_point(text, values, name, expected, engine):
    """At exact kinks both engines follow PyTorch's convention (SPEC section 6)."""
    values = {**values, "C": C_WEIGHTS}
    if engine == "tape":
        got = tape_gradients(text, values)[1][name]
    else:
        got = symbolic_gradients(text, {k: v.shape for k, v in values.items()}, values)[name]
    np.testing.assert_array_equal(got, expected)


def test_heaviside_is_zero_at_zero_by_default():
    """heaviside(0) = 0 unless h0 is given; the forward value is part of the convention."""
    values = {"A": A_AT_KINK}
    tree = parse("heaviside(A)")
    _, tensors, _ = record(tree, values)
    np.testing.assert_array_equal(tensors[id(tree)].value, (A_AT_KINK > 0).astype(float))
    tree = parse("heaviside(A, 0.5)")
    _, tensors, _ = record(tree, values)
    np.testing.assert_array_equal(tensors[id(tree)].value, np.where(A_AT_KINK == 0, 0.5, A_AT_KINK > 0))


# --------------------------------------------------------------------------- acceptance (the issue)


def _values(result) -> dict[str, np.ndarray]:
    """The values run_eval drew, by name."""
    return {v.name: v.value for v in result.variables}


def _gradient(result, name: str) -> np.ndarray:
    """run_eval's tape gradient for one variable, after checking it agrees with its symbolic one."""
    g = next(g for g in result.gradients if g.name == name)
    np.testing.assert_allclose(g.symbolic, g.autograd, rtol=1e-10, atol=1e-12)
    return g.autograd


@pytest.mark.parametrize("wrt", [["X"], ["W"], ["Y"], None], ids=["X", "W", "Y", "all"])
def test_acceptance_headline_is_equal(wrt):
    """sum((relu(X@W)-Y)**2): verdict equal with respect to each variable and all of them."""
    result = run_eval("sum((relu(X@W)-Y)**2)", wrt=wrt)
    assert result.verdict == "equal"
    assert [g.verdict for g in result.gradients] == ["equal"] * len(wrt or "XWY")


def test_acceptance_headline_formula_and_default_shapes():
    """The W gradient prints exactly as in the issue, with distinct default sizes."""
    result = run_eval("sum((relu(X@W)-Y)**2)", wrt=["W"])
    assert {v.name: v.shape for v in result.variables} == {"X": (4, 3), "W": (3, 5), "Y": (4, 5)}
    assert result.gradients[0].formula == "2*X.T@((relu(X@W) - Y)*heaviside(X@W))"
    v = _values(result)
    z = v["X"] @ v["W"]
    np.testing.assert_allclose(_gradient(result, "W"), 2 * v["X"].T @ ((np.maximum(z, 0) - v["Y"]) * (z > 0)),
                               rtol=1e-12, atol=1e-12)


def test_acceptance_clamp_method_chain():
    """(clamp(x.mm(W), 0) - y).pow(2).sum() is equal and matches its closed form."""
    result = run_eval("(clamp(x.mm(W), 0) - y).pow(2).sum()")
    assert result.verdict == "equal"
    v = _values(result)
    z = v["x"] @ v["W"]
    r = np.maximum(z, 0) - v["y"]
    np.testing.assert_allclose(_gradient(result, "W"), 2 * v["x"].T @ (r * (z >= 0)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_gradient(result, "y"), -2 * r, rtol=1e-12, atol=1e-12)


def test_acceptance_bilinear_form_with_column_vectors():
    """x.t().mm(W).mm(y) with 4x1 columns: a 1x1 result counts as a scalar."""
    result = run_eval("x.t().mm(W).mm(y)", shapes={"x": (4, 1), "W": (4, 4), "y": (4, 1)})
    assert result.verdict == "equal"
    v = _values(result)
    np.testing.assert_allclose(_gradient(result, "W"), v["x"] @ v["y"].T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_gradient(result, "x"), v["W"] @ v["y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_gradient(result, "y"), v["W"].T @ v["x"], rtol=1e-12, atol=1e-12)


def test_acceptance_trace_of_chain():
    """trace(W.mm(y).t().mm(x)) = <W y, x>: gradients x y^T, W^T x, W y."""
    result = run_eval("trace(W.mm(y).t().mm(x))")
    assert result.verdict == "equal"
    v = _values(result)
    assert v["W"].shape[0] != v["W"].shape[1]
    np.testing.assert_allclose(_gradient(result, "W"), v["x"] @ v["y"].T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_gradient(result, "y"), v["W"].T @ v["x"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_gradient(result, "x"), v["W"] @ v["y"], rtol=1e-12, atol=1e-12)


def test_acceptance_product_rule():
    """sum(x**2*exp(x)): gradient 2x e^x + x^2 e^x."""
    result = run_eval("sum(x**2*exp(x))")
    assert result.verdict == "equal"
    x = _values(result)["x"]
    np.testing.assert_allclose(_gradient(result, "x"), 2 * x * np.exp(x) + x**2 * np.exp(x), rtol=1e-12)


def test_acceptance_mean_of_square():
    """mean(3*(x+2)*(x+2)): gradient 6(x+2)/n, at drawn values and at x = 0 (gradient 12/n)."""
    result = run_eval("mean(3*(x+2)*(x+2))")
    assert result.verdict == "equal"
    x = _values(result)["x"]
    np.testing.assert_allclose(_gradient(result, "x"), 6 * (x + 2) / x.size, rtol=1e-12)
    zero = {"x": np.zeros((2, 3))}
    np.testing.assert_allclose(tape_gradients("mean(3*(x+2)*(x+2))", zero)[1]["x"], np.full((2, 3), 2.0))
    np.testing.assert_allclose(symbolic_gradients("mean(3*(x+2)*(x+2))", {"x": (2, 3)}, zero)["x"],
                               np.full((2, 3), 2.0))


def test_acceptance_log_of_exp_product():
    """sum(log(exp(X)@exp(W))) is equal and matches autograd."""
    result = run_eval("sum(log(exp(X)@exp(W)))")
    assert result.verdict == "equal"
    v = _values(result)
    ref = grad(lambda X, W: anp.sum(anp.log(anp.dot(anp.exp(X), anp.exp(W)))), argnum=(0, 1))(v["X"], v["W"])
    np.testing.assert_allclose(_gradient(result, "X"), ref[0], rtol=1e-10)
    np.testing.assert_allclose(_gradient(result, "W"), ref[1], rtol=1e-10)
