"""Property test: random well-typed expressions, three gradients that must agree.

Hypothesis builds expression TEXT from the core operators (depth up to 4)
over three rectangular matrix variables, and at the same time the same
function as a Python closure over autograd.numpy (no eval/exec). The text is
wrapped in sum(...). gradcalc's tape gradient, its symbolic closed form and
HIPS autograd on that closure must agree. Examples near a kink, outside a
domain, or with non-finite or huge numbers are skipped with `assume`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import autograd.numpy as anp
import numpy as np
from autograd import grad
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradcalc import symbolic
from gradcalc.parse import parse
from gradcalc.shapes import infer
from gradcalc.tape import record
from gradcalc.tree import variable_names

SHAPES = {"A": (3, 5), "B": (5, 2), "C": (3, 2)}
DIMS = (2, 3, 5)
MAX_DEPTH = 4
KINK_GAP = 1e-6
HUGE = 1e8
RTOL = 1e-8
ROUNDOFF = 1e-12  # absolute slack per unit of the largest intermediate value (cancellation error)


class Probe:
    """Collects, during one plain-NumPy evaluation, whatever decides if an example is safe to judge."""

    def __init__(self) -> None:
        self.safe = True
        self.biggest = 0.0  # the largest intermediate magnitude, which bounds cancellation error

    def kink(self, argument: Any) -> None:
        """A kink argument (relu, clamp, maximum, heaviside) must stay KINK_GAP away from 0."""
        self.safe &= bool(np.all(np.abs(argument) > KINK_GAP))

    def positive(self, argument: Any) -> None:
        """A domain argument (log, fractional power) must be positive."""
        self.safe &= bool(np.all(argument > KINK_GAP))

    def value(self, v: Any) -> Any:
        """Every intermediate value must be finite and not huge; passes the value through."""
        self.safe &= bool(np.all(np.isfinite(v)) and np.all(np.abs(v) < HUGE))
        if self.safe:
            self.biggest = max(self.biggest, float(np.max(np.abs(v), initial=0.0)))
        return v


class _NoProbe(Probe):
    """What autograd's trace sees: no checks."""

    def kink(self, argument: Any) -> None:
        pass

    def positive(self, argument: Any) -> None:
        pass

    def value(self, v: Any) -> Any:
        return v


NO_PROBE = _NoProbe()
Fn = Callable[[dict[str, Any], Probe], Any]


@dataclass(frozen=True)
class Expr:
    """Expression text and the same function as an autograd.numpy closure `fn(values, probe)`."""

    text: str
    fn: Fn


def apply(template: str, f: Callable[..., Any], *children: Expr,
          check: Callable[[Probe, list[Any]], None] = lambda p, xs: None) -> Expr:
    """A node: `template` formats the children's texts, `f` combines their values.

    `check(probe, child_values)` records kink and domain arguments.
    """

    def fn(values: dict[str, Any], probe: Probe) -> Any:
        xs = [c.fn(values, probe) for c in children]
        check(probe, xs)
        return probe.value(f(*xs))

    return Expr(template.format(*(c.text for c in children)), fn)


def variable(name: str) -> Expr:
    """A matrix variable."""
    return Expr(name, lambda values, probe: values[name])


def constant(text: str, value: Any) -> Expr:
    """A constant: a number or an eye/ones/zeros matrix."""
    return Expr(text, lambda values, probe: value)


# --------------------------------------------------------------------------- strategies

NUMBERS = [("2", 2.0), ("3", 3.0), ("0.5", 0.5), ("1", 1.0), ("(-1)", -1.0), ("1.5", 1.5)]
TRANSPOSES = ["({}).T", "({}).t()", "transpose({})"]
MATMULS = ["({} @ {})", "({}).mm({})", "mm({}, {})"]


def variable_leaf(shape: tuple[int, int]) -> st.SearchStrategy[Expr] | None:
    """A variable of this shape, or a transposed one, if there is one."""
    options = [st.just(variable(n)) for n, s in SHAPES.items() if s == shape]
    options += [st.sampled_from(TRANSPOSES).map(lambda t, n=n: apply(t, anp.transpose, variable(n)))
                for n, s in SHAPES.items() if s == shape[::-1]]
    return st.one_of(options) if options else None


def leaf(shape: tuple[int, int]) -> st.SearchStrategy[Expr]:
    """A depth-0 matrix: a variable (a product of two for square shapes) or a constant matrix."""
    n, m = shape
    options = [st.just(constant(f"ones({n}, {m})", np.ones(shape)))]
    if n == m:
        options.append(st.just(constant(f"eye({n})", np.eye(n))))
    direct = variable_leaf(shape)
    if direct is not None:
        options = [direct, direct, *options]
    else:
        for k in DIMS:
            left, right = variable_leaf((n, k)), variable_leaf((k, m))
            if left is not None and right is not None:
                options.insert(0, st.tuples(left, right).map(lambda lr: apply("({} @ {})", anp.matmul, *lr)))
    return st.one_of(options)


def _kink(shift: float = 0.0) -> Callable[[Probe, list[Any]], None]:
    return lambda probe, xs: probe.kink(xs[0] - shift)


def _positive(probe: Probe, xs: list[Any]) -> None:
    probe.positive(xs[0])


def _tie(probe: Probe, xs: list[Any]) -> None:
    probe.kink(xs[0] - xs[1])


@st.composite
def unary(draw: Any, shape: tuple[int, int], depth: int) -> Expr:
    """An elementwise function of one matrix."""
    x = draw(matrix(shape, depth - 1))
    kind = draw(st.sampled_from(["neg", "relu", "exp", "log", "pow", "clamp", "heaviside"]))
    if kind == "neg":
        return apply("(-{})", anp.negative, x)
    if kind == "relu":
        template = draw(st.sampled_from(["relu({})", "({}).relu()", "torch.relu({})"]))
        return apply(template, lambda a: anp.maximum(a, 0.0), x, check=_kink())
    if kind == "exp":
        return apply(draw(st.sampled_from(["exp({})", "np.exp({})", "({}).exp()"])), anp.exp, x)
    if kind == "log":
        if draw(st.booleans()):  # keep log mostly inside its domain
            x = apply("({} * {} + 0.5)", lambda a, b: a * b + 0.5, x, x)
        return apply("log({})", anp.log, x, check=_positive)
    if kind == "pow":
        p_text, p = draw(st.sampled_from([("2", 2.0), ("3", 3.0), ("-1", -1.0), ("0.5", 0.5)]))
        template = draw(st.sampled_from(["({})**" + p_text, "({}).pow(" + p_text + ")"]))
        return apply(template, lambda a: anp.power(a, p), x, check=_positive if p == 0.5 else lambda q, xs: None)
    if kind == "clamp":
        c_text, c = draw(st.sampled_from([("0", 0.0), ("0.5", 0.5), ("-1", -1.0)]))
        template = draw(st.sampled_from(["clamp({}, " + c_text + ")", "({}).clamp(" + c_text + ")",
                                         "clamp({}, min=" + c_text + ")"]))
        return apply(template, lambda a: anp.maximum(a, c), x, check=_kink(c))
    return apply("heaviside({})", lambda a: anp.where(a > 0, 1.0, 0.0), x, check=_kink())


BINARY = {
    "+": ("({} + {})", anp.add),
    "-": ("({} - {})", anp.subtract),
    "*": ("({} * {})", anp.multiply),
    "/": ("({} / {})", anp.divide),
    "maximum": ("maximum({}, {})", anp.maximum),
}


@st.composite
def binary(draw: Any, shape: tuple[int, int], depth: int) -> Expr:
    """An elementwise binary operator; one side may be a scalar, which broadcasts."""
    template, f = BINARY[draw(st.sampled_from(sorted(BINARY)))]
    left = draw(matrix(shape, depth - 1))
    side = draw(st.sampled_from(["matrix", "scalar right", "scalar left"]))
    if side == "matrix":
        operands = (left, draw(matrix(shape, depth - 1)))
    else:
        s = draw(scalar(depth - 1))
        operands = (left, s) if side == "scalar right" else (s, left)
    return apply(template, f, *operands, check=_tie if f is anp.maximum else lambda p, xs: None)


@st.composite
def matmul(draw: Any, shape: tuple[int, int], depth: int) -> Expr:
    """(n, k) @ (k, m) for a drawn inner size k."""
    k = draw(st.sampled_from(DIMS))
    a = draw(matrix((shape[0], k), depth - 1))
    b = draw(matrix((k, shape[1]), depth - 1))
    return apply(draw(st.sampled_from(MATMULS)), anp.matmul, a, b)


@st.composite
def transpose(draw: Any, shape: tuple[int, int], depth: int) -> Expr:
    """The transpose of a (m, n) matrix."""
    return apply(draw(st.sampled_from(TRANSPOSES)), anp.transpose, draw(matrix(shape[::-1], depth - 1)))


@st.composite
def matrix(draw: Any, shape: tuple[int, int], depth: int) -> Expr:
    """A matrix expression of exactly this shape, at most `depth` operators deep."""
    if depth <= 0 or draw(st.integers(0, 4)) == 0:
        return draw(leaf(shape))
    build = draw(st.sampled_from([unary, unary, binary, binary, matmul, transpose]))
    return draw(build(shape, depth))


@st.composite
def scalar(draw: Any, depth: int) -> Expr:
    """A scalar: a number, or a reduction (sum, mean, trace) of a matrix expression."""
    if depth <= 0 or draw(st.integers(0, 2)) == 0:
        text, value = draw(st.sampled_from(NUMBERS))
        return constant(text, value)
    kind = draw(st.sampled_from(["sum", "mean", "trace"]))
    if kind == "trace":
        n = draw(st.sampled_from(DIMS))
        return apply(draw(st.sampled_from(["trace({})", "tr({})"])), anp.trace, draw(matrix((n, n), depth - 1)))
    shape = draw(st.sampled_from([(n, m) for n in DIMS for m in DIMS]))
    template = draw(st.sampled_from([kind + "({})", "({})." + kind + "()"]))
    return apply(template, anp.sum if kind == "sum" else anp.mean, draw(matrix(shape, depth - 1)))


@st.composite
def expressions(draw: Any) -> Expr:
    """A random matrix expression of any shape, wrapped in sum(...) to make it scalar."""
    shape = draw(st.sampled_from([(n, m) for n in DIMS for m in DIMS]))
    return apply("sum({})", anp.sum, draw(matrix(shape, MAX_DEPTH)))


# --------------------------------------------------------------------------- the property


def gradcalc_gradients(text: str, values: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], ...]:
    """gradcalc's tape and symbolic gradients for every variable the text uses."""
    tree = parse(text)
    names = variable_names(tree)
    info = infer(tree, {n: SHAPES[n] for n in names}, text)
    tape, tensors, leaves = record(tree, values, set(names))
    grads = tape.backward(tensors[id(tree)])
    taped = {n: np.zeros(SHAPES[n]) if grads[leaves[n].index] is None else grads[leaves[n].index] for n in names}
    formulas = symbolic.gradients(tree, info, names)
    return taped, {n: symbolic.evaluate(formulas[n], values) for n in names}


def _max_examples() -> int:
    return 60 if os.environ.get("CI") else 300


@settings(max_examples=_max_examples(), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(expr=expressions(), seed=st.integers(0, 2**32 - 1))
def test_tape_symbolic_and_autograd_agree(expr, seed):
    """For a random expression and random values, all three gradients agree."""
    rng = np.random.default_rng(seed)
    values = {name: rng.standard_normal(shape) for name, shape in SHAPES.items()}
    probe = Probe()
    with np.errstate(all="ignore"):
        expr.fn(values, probe)
    assume(probe.safe)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # autograd warns when the output does not depend on a variable
        reference = grad(lambda v: expr.fn(v, NO_PROBE))(values)
    assume(all(np.all(np.isfinite(g)) and np.all(np.abs(g) < HUGE) for g in reference.values()))
    tape, closed_form = gradcalc_gradients(expr.text, values)
    for name in tape:
        expected = reference[name]
        atol = RTOL * max(1.0, float(np.max(np.abs(expected)))) + ROUNDOFF * probe.biggest
        for engine, got in (("tape", tape[name]), ("symbolic", closed_form[name])):
            assert got.shape == expected.shape, (engine, name, expr.text)
            np.testing.assert_allclose(got, expected, rtol=RTOL, atol=atol,
                                       err_msg=f"{engine} d/d{name} of {expr.text}")
