"""Property test: random well-typed expressions of mixed rank, three gradients that must agree.

Hypothesis builds expression TEXT from the whole operator table (depth up to
4) over leaves of every rank -- a scalar, 1-D vectors, rectangular matrices,
a size-1 row and column, and a symmetric positive definite square matrix --
and at the same time the same function as a Python closure over
autograd.numpy (no eval/exec). `@` joins every pair of ranks it accepts
(matrix@matrix, matrix@vector, vector@matrix, vector@vector); elementwise
operators broadcast scalars, 1-D vectors (as rows) and size-1 rows/columns
against matrices; det, logdet and inv only ever see the SPD leaf,
`E @ E.T + eye(n)` built from a random E, or that plus `F - F.T` (not
symmetric, still invertible with a positive determinant), so they stay inside
their domain.
The text is wrapped in sum(...). gradcalc's tape gradient, its symbolic closed
form and HIPS autograd on that closure must agree, and so must the closed form
printed in gradcalc syntax and fed back to gradcalc. Examples near a kink or a
pole, outside a domain, or with non-finite or huge numbers are skipped with
`assume`.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import autograd.numpy as anp
import numpy as np
from autograd import grad
from autograd.extend import defvjp, primitive
from autograd.tracer import getval
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradcalc.symbolic import printing
from gradcalc.symbolic import adjoints as symbolic
from gradcalc.symbolic import numeric
from gradcalc.lang.ops import TABLE
from gradcalc.lang.parse import MAX_LENGTH, parse
from gradcalc.lang.infer import infer
from gradcalc.tape import record
from gradcalc.lang.tree import postorder, variable_names
from gradcalc.options import EvalOptions

Shape = tuple[int, ...]

SHAPES: dict[str, Shape] = {
    "a": (),
    "u": (3,), "v": (5,),
    "A": (3, 5), "B": (5, 2), "C": (3, 2), "D": (2, 5),
    "M": (3, 3),  # a general square matrix (square products of the others, A@A.T, are symmetric)
    "r": (1, 5), "c": (3, 1),  # a size-1 row and column: they broadcast against 3x5 matrices
    "S": (5, 5),  # drawn symmetric positive definite (Z Z^T/5 + I): what det, logdet and inv get
}
SPD_LEAVES = {"S"}
DIMS = (2, 3, 5)
MAX_DEPTH = 4
KINK_GAP = 1e-6
POLE_GAP = 1e-3  # |cos| below this is too close to a pole of tan
HUGE = 1e8
RTOL = 1e-8
NOT_IN_A_FORMULA = ("DiagMatrix", "ArrayContraction", "PermuteDims", "Lambda", "unit", "OneMatrix")
ROUNDOFF = 1e-12  # absolute slack per unit of the largest intermediate value (cancellation error)
ROUNDOFF2 = 10 * np.finfo(np.float64).eps  # ... and per unit of its square: an eps|z| error in a large z
# times another large factor, e.g. softmax(z) of entries ~1e8 (its value is off by ~eps|z|) under det ~1e7


class Probe:
    """Collects, during one plain-NumPy evaluation, whatever decides if an example is safe to judge."""

    def __init__(self) -> None:
        self.safe = True
        self.biggest = 0.0  # the largest intermediate magnitude, which bounds cancellation error

    def kink(self, argument: Any) -> None:
        """A kink argument (relu, clamp, maximum, heaviside) must stay KINK_GAP away from 0."""
        self.safe &= bool(np.all(np.abs(argument) > KINK_GAP))

    def positive(self, argument: Any) -> None:
        """A domain argument (log, sqrt, fractional power, a norm) must be positive."""
        self.safe &= bool(np.all(argument > KINK_GAP))

    def no_pole(self, argument: Any) -> None:
        """tan's argument must stay away from its poles."""
        self.safe &= bool(np.all(np.abs(np.cos(argument)) > POLE_GAP))

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

    def no_pole(self, argument: Any) -> None:
        pass

    def value(self, v: Any) -> Any:
        return v


NO_PROBE = _NoProbe()
Fn = Callable[[dict[str, Any], Probe], Any]
Check = Callable[[Probe, list[Any]], None]


@dataclass(frozen=True)
class Expr:
    """Expression text and the same function as an autograd.numpy closure `fn(values, probe)`."""

    text: str
    fn: Fn


def _no_check(probe: Probe, xs: list[Any]) -> None:
    pass


def apply(template: str, f: Callable[..., Any], *children: Expr, check: Check = _no_check) -> Expr:
    """A node: `template` formats the children's texts, `f` combines their values.

    `check(probe, child_values)` records kink and domain arguments.
    """

    def fn(values: dict[str, Any], probe: Probe) -> Any:
        xs = [c.fn(values, probe) for c in children]
        check(probe, xs)
        return probe.value(f(*xs))

    return Expr(template.format(*(c.text for c in children)), fn)


def variable(name: str) -> Expr:
    """A variable of any rank."""
    return Expr(name, lambda values, probe: values[name])


def constant(text: str, value: Any) -> Expr:
    """A constant: a number, or an eye/ones/zeros vector or matrix."""
    return Expr(text, lambda values, probe: value)


# --------------------------------------------------------------------------- reference functions (by hand)


@primitive
def _erf(a: Any) -> Any:
    return np.vectorize(math.erf, otypes=[float])(a)


defvjp(_erf, lambda ans, a: lambda g: g * 2 / np.sqrt(np.pi) * anp.exp(-a * a))  # the textbook derivative


def _gelu_tanh(a: Any) -> Any:
    return 0.5 * a * (1 + anp.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a**3)))


def _bounds(lo: float, hi: float) -> Check:
    return lambda probe, xs: (probe.kink(xs[0] - lo), probe.kink(xs[0] - hi))


def _sigmoid(a: Any) -> Any:
    return 0.5 * (1.0 + anp.tanh(0.5 * a))  # = 1/(1 + e^-a), without overflow


def _logsumexp(a: Any) -> Any:
    top = getval(anp.max(a))  # a constant shift: it cancels in the value and in the gradient
    return top + anp.log(anp.sum(anp.exp(a - top)))


def _softmax(a: Any, axis: int | None = None, log: bool = False) -> Any:
    """softmax (or log_softmax) of all entries or along an axis, shifted by a constant max."""
    shifted = a - getval(anp.max(a, axis=axis, keepdims=True))
    if log:
        return shifted - anp.log(anp.sum(anp.exp(shifted), axis=axis, keepdims=True))
    e = anp.exp(shifted)
    return e / anp.sum(e, axis=axis, keepdims=True)


def _gap(a: Any, axis: int | None) -> Any:
    """The largest minus the second largest entry (along the axis): a max's tie is its kink."""
    top = np.sort(np.ravel(a) if axis is None or np.ndim(a) < 2 else np.moveaxis(a, axis, -1), axis=-1)
    if top.shape[-1] < 2:  # one entry along the axis: nothing to tie with
        return np.full(top.shape[:-1], np.inf)
    return top[..., -1] - top[..., -2]


def _no_tie(sign: float) -> Callable[[Probe, list[Any], int | None], None]:
    return lambda probe, xs, axis: probe.kink(_gap(sign * np.asarray(xs[0]), axis))


def _spread(probe: Probe, xs: list[Any], axis: int | None) -> None:
    probe.positive(np.std(xs[0], axis=axis))  # std's gradient divides by it


#: Reductions along an axis (or of all entries): the reference and what makes a value safe to judge.
REDUCTIONS = {
    "sum": (anp.sum, lambda probe, xs, axis: None), "mean": (anp.mean, lambda probe, xs, axis: None),
    "max": (anp.max, _no_tie(1.0)), "min": (anp.min, _no_tie(-1.0)),
    "var": (anp.var, lambda probe, xs, axis: None), "std": (anp.std, _spread),
    "logsumexp": (lambda a, axis=None: anp.log(anp.sum(anp.exp(a), axis=axis)), lambda probe, xs, axis: None),
}
MATRIX_SOFTMAXES = [("softmax({}, axis=None)", None, False), ("softmax({}, axis=1)", 1, False),
                    ("({}).softmax(dim=0)", 0, False), ("torch.softmax({}, -1)", 1, False),
                    ("log_softmax({}, axis=1)", 1, True), ("F.log_softmax({}, dim=0)", 0, True)]
VECTOR_SOFTMAXES = [("softmax({})", False), ("({}).softmax(dim=0)", False), ("log_softmax({})", True),
                    ("F.log_softmax({}, dim=-1)", True)]


def _norm(a: Any) -> Any:
    return anp.sqrt(anp.sum(a * a))


def _logdet(a: Any) -> Any:
    return anp.linalg.slogdet(a)[1]


def _kink(shift: float = 0.0) -> Check:
    return lambda probe, xs: probe.kink(xs[0] - shift)


def _positive(probe: Probe, xs: list[Any]) -> None:
    probe.positive(xs[0])


def _no_pole(probe: Probe, xs: list[Any]) -> None:
    probe.no_pole(xs[0])


def _tie(probe: Probe, xs: list[Any]) -> None:
    probe.kink(xs[0] - xs[1])


# --------------------------------------------------------------------------- leaves

NUMBERS = [("2", 2.0), ("3", 3.0), ("0.5", 0.5), ("1", 1.0), ("(-1)", -1.0), ("1.5", 1.5)]
TRANSPOSES = ["({}).T", "({}).t()", "transpose({})"]
MATMULS = ["({} @ {})", "({}).mm({})", "mm({}, {})", "({}).matmul({})", "matmul({}, {})"]
#: The spellings that take a 1-D operand (torch.mm takes two matrices only).
VECTOR_MATMULS = [m for m in MATMULS if "mm(" not in m]


def named(shape: Shape) -> list[str]:
    """The variables of exactly this shape."""
    return [n for n, s in SHAPES.items() if s == shape]


def variable_leaf(shape: Shape) -> st.SearchStrategy[Expr] | None:
    """A variable of this shape, or a transposed matrix one, if there is one."""
    options = [st.just(variable(n)) for n in named(shape)]
    if len(shape) == 2:
        options += [st.sampled_from(TRANSPOSES).map(lambda t, n=n: apply(t, anp.transpose, variable(n)))
                    for n in named(shape[::-1])]
    return st.one_of(options) if options else None


def leaf(shape: Shape) -> st.SearchStrategy[Expr]:
    """A depth-0 expression of this shape: a variable, a constant, or a product of two variables."""
    if shape == ():
        return st.one_of(st.sampled_from([constant(t, v) for t, v in NUMBERS]), st.just(variable("a")))
    if len(shape) == 1:
        (n,) = shape
        options = [st.just(constant(f"ones({n})", np.ones(n))), st.just(constant(f"zeros({n})", np.zeros(n)))]
        for k in DIMS:  # a vector variable times a matrix variable, either side
            vec, left, right = variable_leaf((k,)), variable_leaf((n, k)), variable_leaf((k, n))
            if vec is not None and left is not None:
                options.insert(0, st.tuples(left, vec).map(lambda mv: apply("({} @ {})", anp.matmul, *mv)))
            if vec is not None and right is not None:
                options.insert(0, st.tuples(vec, right).map(lambda vm: apply("({} @ {})", anp.matmul, *vm)))
    else:
        n, m = shape
        options = [st.just(constant(f"ones({n}, {m})", np.ones(shape)))]
        if n == m:
            options.append(st.just(constant(f"eye({n})", np.eye(n))))
        for k in DIMS:
            left, right = variable_leaf((n, k)), variable_leaf((k, m))
            if left is not None and right is not None:
                options.insert(0, st.tuples(left, right).map(lambda lr: apply("({} @ {})", anp.matmul, *lr)))
        column, row = variable_leaf((n,)), variable_leaf((m,))
        if column is not None and row is not None:
            options.insert(0, st.tuples(column, row).map(lambda cr: apply("outer({}, {})", anp.outer, *cr)))
    direct = variable_leaf(shape)
    if direct is not None:
        options = [direct, direct, *options]
    return st.one_of(options)


# --------------------------------------------------------------------------- operators of any rank

UNARY: dict[str, tuple[list[str], Callable[[Any], Any], Check]] = {  # templates, reference, safety check
    "neg": (["(-{})"], anp.negative, _no_check),
    "relu": (["relu({})", "({}).relu()", "torch.relu({})"], lambda a: anp.maximum(a, 0.0), _kink()),
    "heaviside": (["heaviside({})"], lambda a: anp.where(a > 0, 1.0, 0.0), _kink()),
    "exp": (["exp({})", "np.exp({})", "({}).exp()"], anp.exp, _no_check),
    "log": (["log({})", "({}).log()"], anp.log, _positive),
    "sqrt": (["sqrt({})", "({}).sqrt()", "torch.sqrt({})"], anp.sqrt, _positive),
    "abs": (["abs({})", "({}).abs()", "np.abs({})"], anp.abs, _no_check),  # abs'(0) = 0 in all three
    "sign": (["sign({})", "({}).sign()"], anp.sign, _no_check),  # derivative 0 everywhere, in all three
    "sin": (["sin({})", "({}).sin()"], anp.sin, _no_check),
    "cos": (["cos({})", "torch.cos({})"], anp.cos, _no_check),
    "tan": (["tan({})", "({}).tan()"], anp.tan, _no_pole),
    "tanh": (["tanh({})", "np.tanh({})", "({}).tanh()"], anp.tanh, _no_check),
    "sigmoid": (["sigmoid({})", "torch.sigmoid({})", "({}).sigmoid()"], _sigmoid, _no_check),
    "softplus": (["softplus({})", "F.softplus({})"], lambda a: anp.logaddexp(0.0, a), _no_check),
    "square": (["square({})", "({}).square()"], lambda a: a * a, _no_check),
    "detach": (["detach({})", "stop_gradient({})", "({}).detach()"], getval, _no_check),
    "clip": (["clamp({}, -1, 0.5)", "np.clip({}, -1, 0.5)", "({}).clip(-1, 0.5)", "torch.clamp({}, min=-1, max=0.5)"],
             lambda a: anp.minimum(anp.maximum(a, -1.0), 0.5), _bounds(-1.0, 0.5)),
    "clamp_max": (["clamp({}, max=0.5)", "({}).clamp_max(0.5)", "np.clip({}, None, 0.5)"],
                  lambda a: anp.minimum(a, 0.5), _kink(0.5)),
    "leaky_relu": (["leaky_relu({}, 0.2)", "F.leaky_relu({}, negative_slope=0.2)"],
                   lambda a: anp.where(a > 0, a, 0.2 * a), _kink()),
    "elu": (["elu({})", "F.elu({}, alpha=1.0)"], lambda a: anp.where(a > 0, a, anp.expm1(anp.minimum(a, 0.0))),
            _no_check),  # smooth to first order at 0 for alpha = 1
    "gelu": (["gelu({})", "F.gelu({})"], lambda a: a * 0.5 * (1 + _erf(a / np.sqrt(2))), _no_check),
    "gelu_tanh": (["F.gelu({}, approximate='tanh')"], _gelu_tanh, _no_check),
    "erf": (["erf({})", "torch.erf({})", "({}).erf()"], _erf, _no_check),
    "log1p": (["log1p({})", "np.log1p({})", "({}).log1p()"], anp.log1p, _positive),
    "expm1": (["expm1({})", "torch.expm1({})"], anp.expm1, _no_check),
}


@st.composite
def unary(draw: Any, shape: Shape, depth: int) -> Expr:
    """An elementwise function of one operand of any rank."""
    kind = draw(st.sampled_from(sorted(UNARY) + ["pow", "clamp"]))
    x = draw(expression(shape, depth - 1))
    if kind in ("log", "sqrt", "log1p"):  # keep them mostly inside their domain
        wrap = draw(st.sampled_from(["x*x+0.5", "exp", "none"]))
        if wrap == "x*x+0.5":
            x = apply("({} * {} + 0.5)", lambda a, b: a * b + 0.5, x, x)
        elif wrap == "exp":
            x = apply("exp({})", anp.exp, x)
    if kind == "pow":
        p_text, p = draw(st.sampled_from([("2", 2.0), ("3", 3.0), ("-1", -1.0), ("0.5", 0.5)]))
        template = draw(st.sampled_from(["({})**" + p_text, "({}).pow(" + p_text + ")"]))
        return apply(template, lambda a: anp.power(a, p), x, check=_positive if p == 0.5 else _no_check)
    if kind == "clamp":
        c_text, c = draw(st.sampled_from([("0", 0.0), ("0.5", 0.5), ("-1", -1.0)]))
        template = draw(st.sampled_from(["clamp({}, " + c_text + ")", "({}).clamp(" + c_text + ")",
                                         "clamp({}, min=" + c_text + ")"]))
        return apply(template, lambda a: anp.maximum(a, c), x, check=_kink(c))
    templates, f, check = UNARY[kind]
    return apply(draw(st.sampled_from(templates)), f, x, check=check)


BINARY = {
    "+": ("({} + {})", anp.add),
    "-": ("({} - {})", anp.subtract),
    "*": ("({} * {})", anp.multiply),
    "/": ("({} / {})", anp.divide),
    "maximum": ("maximum({}, {})", anp.maximum),
    "minimum": ("minimum({}, {})", anp.minimum),
    ">": ("({} > {})", lambda a, b: anp.where(a > b, 1.0, 0.0)),
    "<": ("({} < {})", lambda a, b: anp.where(a < b, 1.0, 0.0)),
    ">=": ("({} >= {})", lambda a, b: anp.where(a >= b, 1.0, 0.0)),
    "<=": ("torch.le({}, {})", lambda a, b: anp.where(a <= b, 1.0, 0.0)),
    "==": ("({} == {})", lambda a, b: anp.where(a == b, 1.0, 0.0)),
    "!=": ("np.not_equal({}, {})", lambda a, b: anp.where(a != b, 1.0, 0.0)),
    # autograd's where does not broadcast its gradient: the branches are broadcast by hand (+ 0*b)
    "where": ("where({0} > {1}, {0}, 0.5 * {1})", lambda a, b: anp.where(a > b, a + 0 * b, 0.5 * b + 0 * a)),
    "np.where": ("np.where({0} < {1}, {1} * {0}, {0})", lambda a, b: anp.where(a < b, b * a, a + 0 * b)),
}
TIES = {"maximum", "minimum", ">", "<", ">=", "<=", "==", "!=", "where", "np.where"}  # a kink where a = b


@st.composite
def binary(draw: Any, shape: Shape, depth: int) -> Expr:
    """An elementwise binary operator; the other side may be a scalar, or for a matrix a 1-D vector
    (a row) or a size-1 row/column variable, which broadcast."""
    op = draw(st.sampled_from(sorted(BINARY)))
    template, f = BINARY[op]
    full = draw(expression(shape, depth - 1))
    sides = ["same shape", "scalar"]
    size_one = [s for s in ((1, shape[-1]), (shape[0], 1)) if named(s)] if len(shape) == 2 else []
    if len(shape) == 2:
        sides += ["1-D row", "size-1"] if size_one else ["1-D row"]
    side = draw(st.sampled_from(sides))
    if side == "same shape":
        other = draw(expression(shape, depth - 1))
    elif side == "scalar":
        other = draw(expression((), depth - 1))
    elif side == "1-D row":
        other = draw(expression(shape[1:], depth - 1))
    else:
        other = variable(named(draw(st.sampled_from(size_one)))[0])
    operands = (full, other) if draw(st.booleans()) else (other, full)
    return apply(template, f, *operands, check=_tie if op in TIES else _no_check)


# --------------------------------------------------------------------------- indexing, reshape, axes, kron

AXES_SWAPPED = ["({}).permute(1, 0)", "np.transpose({}, (1, 0))", "torch.transpose({}, 0, 1)", "({}).mT",
                "np.swapaxes({}, -1, -2)", "({}).transpose(1, 0)", "np.matrix_transpose({})"]
AXES_KEPT = ["np.transpose({}, (0, 1))", "torch.transpose({}, 1, 1)", "({}).swapaxes(0, 0)"]
RESHAPES = ["reshape({{}}, {n}, {m})", "({{}}).reshape({n}, -1)", "np.reshape({{}}, ({n}, {m}))", "({{}}).view(-1, {m})",
            "torch.reshape({{}}, ({n}, {m}))"]
FLATTENS = ["flatten({})", "({}).flatten()", "np.ravel({})", "({}).reshape(-1)", "torch.flatten({})", "({}).ravel()"]
KRONS = ["kron({}, {})", "np.kron({}, {})", "torch.kron({}, {})", "({}).kron({})"]


def _rows(start: int, count: int, size: int, negative: bool) -> str:
    """A slice taking `count` entries from `start` of an axis of `size`, counted from the front or the end."""
    if not negative:
        return f"{start}:{start + count}"
    return f"{start - size}:" if start + count == size else f"{start - size}:{start + count - size}"


@st.composite
def shaped_matrix(draw: Any, shape: Shape, depth: int) -> Expr:
    """A matrix sliced out of a larger one, reshaped, with its axes swapped (or kept), or a kron."""
    n, m = shape
    kind = draw(st.sampled_from(["slice", "reshape", "swapped", "kept", "kron", "mT"]))
    if kind == "mT":
        return apply("({}).mT", anp.transpose, draw(expression((m, n), depth - 1)))
    if kind == "slice":
        p = draw(st.sampled_from([d for d in DIMS if d >= n]))
        q = draw(st.sampled_from([d for d in DIMS if d >= m]))
        r, c = draw(st.integers(0, p - n)), draw(st.integers(0, q - m))
        rows, cols = (_rows(r, n, p, draw(st.booleans())), _rows(c, m, q, draw(st.booleans())))
        return apply(f"({{}})[{rows}, {cols}]", lambda a: a[r:r + n, c:c + m], draw(expression((p, q), depth - 1)))
    if kind == "reshape":
        return apply(draw(st.sampled_from(RESHAPES)).format(n=n, m=m), lambda a: anp.reshape(a, (n, m)),
                     draw(expression((m, n), depth - 1)))
    if kind == "swapped":
        return apply(draw(st.sampled_from(AXES_SWAPPED)), anp.transpose, draw(expression((m, n), depth - 1)))
    if kind == "kept":
        return apply(draw(st.sampled_from(AXES_KEPT)), lambda a: a, draw(expression(shape, depth - 1)))
    return apply(draw(st.sampled_from(KRONS)), anp.kron, draw(expression((n, 1), depth - 1)),
                 draw(expression((1, m), depth - 1)))


@st.composite
def shaped_vector(draw: Any, shape: Shape, depth: int) -> Expr:
    """A 1-D vector: a row or a column of a matrix, a slice of a longer vector, or a flattened row/column."""
    (n,) = shape
    kind = draw(st.sampled_from(["row", "column", "slice", "flatten"]))
    k = draw(st.sampled_from(DIMS))
    if kind == "row":
        i = draw(st.integers(-k, k - 1))
        return apply(f"({{}})[{i}]", lambda a: a[i], draw(expression((k, n), depth - 1)))
    if kind == "column":
        j = draw(st.integers(-k, k - 1))
        return apply(f"({{}})[:, {j}]", lambda a: a[:, j], draw(expression((n, k), depth - 1)))
    if kind == "slice":
        k = draw(st.sampled_from([d for d in DIMS if d >= n]))
        s = draw(st.integers(0, k - n))
        return apply(f"({{}})[{_rows(s, n, k, draw(st.booleans()))}]", lambda a: a[s:s + n],
                     draw(expression((k,), depth - 1)))
    source = draw(st.sampled_from([(n, 1), (1, n)]))
    return apply(draw(st.sampled_from(FLATTENS)), anp.ravel, draw(expression(source, depth - 1)))


@st.composite
def entry(draw: Any, depth: int) -> Expr:
    """One entry of a matrix or a 1-D vector, by constant (possibly negative) indices."""
    p, q = draw(st.sampled_from(DIMS)), draw(st.sampled_from(DIMS))
    i, j = draw(st.integers(-p, p - 1)), draw(st.integers(-q, q - 1))
    if draw(st.booleans()):
        return apply(f"({{}})[{i}]", lambda a: a[i], draw(expression((p,), depth - 1)))
    return apply(f"({{}})[{i}, {j}]", lambda a: a[i, j], draw(expression((p, q), depth - 1)))


# --------------------------------------------------------------------------- matrices, vectors, scalars


@st.composite
def positive_definite(draw: Any, n: int, depth: int) -> Expr:
    """An n x n matrix M with x^T M x > 0: the SPD leaf, E @ E.T + eye(n) for a random E, or that plus
    F - F.T for a random square F. All are invertible with det > 0; the last is not symmetric, so
    a transpose missing from a det/logdet/inv rule cannot hide."""
    kind = draw(st.sampled_from(["gram+skew", "gram", "leaf"] if n == 5 else ["gram+skew", "gram"]))
    if kind == "leaf":
        return variable("S")
    k = draw(st.sampled_from(DIMS))
    e = draw(expression((n, k), depth - 1))
    gram = apply("({} @ ({}).T + eye(" + str(n) + "))", lambda x, y: x @ y.T + np.eye(n), e, e)
    if kind == "gram":
        return gram
    f = draw(expression((n, n), depth - 1))
    return apply("({} + {} - ({}).T)", lambda g, x, y: g + x - y.T, gram, f, f)


@st.composite
def matrix(draw: Any, shape: Shape, depth: int) -> Expr:
    """A matrix expression of exactly this shape."""
    n, m = shape
    kinds = ["unary", "unary", "binary", "binary", "matmul", "transpose", "outer", "softmax", "shaped"]
    kinds += ["diag", "inv"] if n == m else []
    kind = draw(st.sampled_from(kinds))
    if kind == "shaped":
        return draw(shaped_matrix(shape, depth))
    if kind == "unary":
        return draw(unary(shape, depth))
    if kind == "binary":
        return draw(binary(shape, depth))
    if kind == "matmul":
        k = draw(st.sampled_from(DIMS))
        return apply(draw(st.sampled_from(MATMULS)), anp.matmul, draw(expression((n, k), depth - 1)),
                     draw(expression((k, m), depth - 1)))
    if kind == "transpose":
        return apply(draw(st.sampled_from(TRANSPOSES)), anp.transpose, draw(expression((m, n), depth - 1)))
    if kind == "outer":
        return apply(draw(st.sampled_from(["outer({}, {})", "({}).outer({})"])), anp.outer,
                     draw(expression((n,), depth - 1)), draw(expression((m,), depth - 1)))
    if kind == "softmax":  # a matrix's softmax says its axis (None: all entries)
        template, axis, log = draw(st.sampled_from(MATRIX_SOFTMAXES))
        return apply(template, lambda a: _softmax(a, axis, log), draw(expression(shape, depth - 1)))
    if kind == "diag":
        return apply(draw(st.sampled_from(["diag({})", "({}).diag()"])), anp.diag, draw(expression((n,), depth - 1)))
    return apply(draw(st.sampled_from(["inv({})", "inverse({})", "({}).inverse()"])), anp.linalg.inv,
                 draw(positive_definite(n, depth)))


@st.composite
def vector(draw: Any, shape: Shape, depth: int) -> Expr:
    """A 1-D vector expression of exactly this shape."""
    (n,) = shape
    kind = draw(st.sampled_from(["unary", "unary", "binary", "matrix@vector", "vector@matrix", "axis", "diag",
                                 "softmax", "transpose", "shaped"]))
    if kind == "shaped":
        return draw(shaped_vector(shape, depth))
    if kind == "unary":
        return draw(unary(shape, depth))
    if kind == "binary":
        return draw(binary(shape, depth))
    k = draw(st.sampled_from(DIMS))
    if kind == "matrix@vector":
        return apply(draw(st.sampled_from(VECTOR_MATMULS)), anp.matmul, draw(expression((n, k), depth - 1)),
                     draw(expression((k,), depth - 1)))
    if kind == "vector@matrix":
        return apply(draw(st.sampled_from(VECTOR_MATMULS)), anp.matmul, draw(expression((k,), depth - 1)),
                     draw(expression((k, n), depth - 1)))
    if kind == "axis":
        reduction = draw(st.sampled_from(sorted(REDUCTIONS)))
        axis = draw(st.sampled_from([0, 1, -1, -2]))
        source = (k, n) if axis in (0, -2) else (n, k)
        library = "torch.logsumexp" if reduction == "logsumexp" else f"np.{reduction}"
        method = f"axis={axis}, ddof=0" if reduction in ("var", "std") else str(axis)  # X.var(1) is ambiguous
        template = draw(st.sampled_from([f"{reduction}({{}}, {axis})", f"({{}}).{reduction}({method})",
                                         f"{reduction}({{}}, axis={axis})", f"{library}({{}}, {axis})"]))
        f, check = REDUCTIONS[reduction]
        return apply(template, lambda a: f(a, axis=axis), draw(expression(source, depth - 1)),
                     check=lambda probe, xs: check(probe, xs, axis))
    if kind == "diag":
        return apply(draw(st.sampled_from(["diag({})", "({}).diag()"])), anp.diag, draw(expression((n, n), depth - 1)))
    if kind == "softmax":
        template, log = draw(st.sampled_from(VECTOR_SOFTMAXES))
        return apply(template, lambda a: _softmax(a, None, log), draw(expression(shape, depth - 1)))
    return apply("({}).T", anp.transpose, draw(expression(shape, depth - 1)))  # NumPy: a 1-D transpose is itself


@st.composite
def scalar(draw: Any, depth: int) -> Expr:
    """A scalar: a reduction of a vector or matrix, a vector product, det/logdet/trace, or arithmetic."""
    kind = draw(st.sampled_from(["det", "logdet", "dot", "trace", "sum", "norm", "logsumexp", "axis", "all",
                                 "unary", "binary", "entry"]))
    if kind == "entry":
        return draw(entry(depth))
    if kind == "unary":
        return draw(unary((), depth))
    if kind == "binary":
        return draw(binary((), depth))
    n = draw(st.sampled_from(DIMS))
    any_shape = st.sampled_from([(n,), *((n, m) for m in DIMS)])
    if kind == "sum":
        reduction = draw(st.sampled_from(["sum", "mean"]))
        template = draw(st.sampled_from([reduction + "({})", "({})." + reduction + "()", "np." + reduction + "({})"]))
        f = anp.sum if reduction == "sum" else anp.mean
        return apply(template, f, draw(expression(draw(any_shape), depth - 1)))
    if kind == "norm":
        template = draw(st.sampled_from(["norm({})", "({}).norm()"]))
        return apply(template, _norm, draw(expression(draw(any_shape), depth - 1)),
                     check=lambda probe, xs: probe.positive(_norm(xs[0])))
    if kind == "logsumexp":
        return apply(draw(st.sampled_from(["logsumexp({})", "logsumexp({}, axis=None)"])), _logsumexp,
                     draw(expression(draw(any_shape), depth - 1)))
    if kind == "all":  # max, min, var, std of all entries
        reduction = draw(st.sampled_from(["max", "min", "var", "std"]))
        template = draw(st.sampled_from([f"{reduction}({{}})", f"np.{reduction}({{}})"]))
        f, check = REDUCTIONS[reduction]
        return apply(template, f, draw(expression(draw(any_shape), depth - 1)),
                     check=lambda probe, xs: check(probe, xs, None))
    if kind == "axis":  # a 1-D vector reduced along its only axis
        reduction, axis = draw(st.sampled_from(["sum", "mean"])), draw(st.sampled_from([0, -1]))
        f = anp.sum if reduction == "sum" else anp.mean
        return apply(f"{reduction}({{}}, {axis})", lambda a: f(a, axis=axis), draw(expression((n,), depth - 1)))
    if kind == "dot":
        template = draw(st.sampled_from(["dot({}, {})", "({}).dot({})", *VECTOR_MATMULS]))
        return apply(template, anp.dot, draw(expression((n,), depth - 1)), draw(expression((n,), depth - 1)))
    if kind == "trace":
        return apply(draw(st.sampled_from(["trace({})", "tr({})", "({}).trace()"])), anp.trace,
                     draw(expression((n, n), depth - 1)))
    if kind == "det":
        template = draw(st.sampled_from(["det({})", "({}).det()"]))
        return apply(template, anp.linalg.det, draw(positive_definite(n, depth)))
    return apply(draw(st.sampled_from(["logdet({})", "({}).logdet()"])), _logdet, draw(positive_definite(n, depth)))


def expression(shape: Shape, depth: int) -> st.SearchStrategy[Expr]:
    """An expression of exactly this shape, at most `depth` operators deep (leaves aside)."""
    build = scalar(depth) if shape == () else vector(shape, depth) if len(shape) == 1 else matrix(shape, depth)
    if depth <= 0:
        return leaf(shape)
    return st.integers(0, 4).flatmap(lambda stop: leaf(shape) if stop == 0 else build)


@st.composite
def term(draw: Any) -> Expr:
    """A random expression of any rank and shape, wrapped in sum(...) to make it scalar."""
    rank = draw(st.sampled_from([0, 1, 2]))
    shape = draw(st.sampled_from([[()], [(n,) for n in DIMS], [(n, m) for n in DIMS for m in DIMS]][rank]))
    return apply("sum({})", anp.sum, draw(expression(shape, MAX_DEPTH)))


@st.composite
def expressions(draw: Any) -> Expr:
    """One to three random terms added up: more operators checked per example (a failing example
    shrinks to the one term that fails)."""
    terms = draw(st.lists(term(), min_size=1, max_size=3))
    return apply(" + ".join(["{}"] * len(terms)), lambda *xs: sum(xs[1:], xs[0]), *terms)


# --------------------------------------------------------------------------- the property


def draw_values(seed: int) -> dict[str, np.ndarray]:
    """Standard normal values for every variable; the SPD leaves are Z Z^T/n + I."""
    rng = np.random.default_rng(seed)
    values = {name: np.asarray(rng.standard_normal(shape)) for name, shape in SHAPES.items()}
    for name in SPD_LEAVES:
        z = values[name]
        values[name] = z @ z.T / len(z) + np.eye(len(z))
    return values


def gradcalc_gradients(text: str, values: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], ...]:
    """gradcalc's tape gradient, its symbolic one, and the symbolic one printed in gradcalc syntax,
    re-parsed and evaluated on the tape, for every variable the text uses."""
    tree = parse(text)
    names = variable_names(tree)
    info = infer(tree, {n: SHAPES[n] for n in names}, text)
    tape, tensors, leaves = record(tree, {n: values[n] for n in names}, set(names))
    grads = tape.backward(tensors[id(tree)])
    taped = {n: np.zeros(SHAPES[n]) if grads[leaves[n].index] is None else grads[leaves[n].index] for n in names}
    formulas = symbolic.gradients(tree, info, names)
    return taped, {n: numeric.evaluate(formulas[n], values) for n in names}, {
        n: reparsed(formulas[n], values, SHAPES[n]) for n in names}


def reparsed(formula: Any, values: dict[str, np.ndarray], shape: Shape) -> np.ndarray:
    """The value of a printed formula fed back to gradcalc; its pretty and LaTeX forms must print
    without SymPy internals or placeholder sizes."""
    for form in (printing.pretty(formula), printing.latex(formula)):
        assert not any(word in form for word in NOT_IN_A_FORMULA), form
    text = printing.syntax(formula)
    tree = parse(text, printed=True)  # a closed form may outgrow what a user may type
    used = variable_names(tree)
    infer(tree, {n: SHAPES[n] for n in used}, text)
    _, tensors, _ = record(tree, {n: values[n] for n in used})
    return np.broadcast_to(tensors[id(tree)].value, shape)


def _max_examples() -> int:
    return 200 if os.environ.get("CI") else 400


@settings(max_examples=_max_examples(), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(expr=expressions(), seed=st.integers(0, 2**32 - 1))
def test_tape_symbolic_and_autograd_agree(expr, seed):
    """For a random expression and random values, all three gradients agree (and so does the
    printed closed form, re-parsed)."""
    assume(len(expr.text) <= MAX_LENGTH)  # gradcalc reads at most 10,000 characters
    values = draw_values(seed)
    probe = Probe()
    with np.errstate(all="ignore"):
        expr.fn(values, probe)
    assume(probe.safe)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # autograd warns when the output does not depend on a variable
        reference = grad(lambda v: expr.fn(v, NO_PROBE))(values)
    assume(all(np.all(np.isfinite(g)) and np.all(np.abs(g) < HUGE) for g in reference.values()))
    with np.errstate(all="ignore"):
        tape, closed_form, printed = gradcalc_gradients(expr.text, values)
    for name in tape:
        expected = np.asarray(reference[name])
        atol = (RTOL * max(1.0, float(np.max(np.abs(expected))))
                + ROUNDOFF * probe.biggest + ROUNDOFF2 * probe.biggest**2)
        for engine, got in (("tape", tape[name]), ("symbolic", closed_form[name]), ("printed formula", printed[name])):
            got = np.asarray(got)
            assert got.shape == expected.shape, (engine, name, got.shape, expr.text)
            np.testing.assert_allclose(got, expected, rtol=RTOL, atol=atol,
                                       err_msg=f"{engine} d/d{name} of {expr.text}")


def test_the_generator_reaches_every_operator_rank_pair_and_leaf():
    """A fixed sample of the strategy uses every operator of the table (composed ones are rewritten by
    the parser), every variable, @ between every pair of ranks, and broadcasting of scalars, 1-D vectors
    and size-1 rows/columns against matrices -- so the property above really covers all of them."""
    ops, names, matmuls, broadcasts = set(), set(), set(), set()

    @settings(max_examples=300, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(expr=expressions())
    def collect(expr: Expr) -> None:
        assume(len(expr.text) <= MAX_LENGTH)
        tree = parse(expr.text)
        info = infer(tree, {n: SHAPES[n] for n in variable_names(tree)}, expr.text)
        names.update(variable_names(tree))
        for node in postorder(tree):
            ops.add(node.op)
            shapes = [info.of(a) for a in node.args]
            if node.op == "matmul":
                matmuls.add(tuple(len(s) for s in shapes))
            if node.op in ("add", "mul") and len(set(shapes)) > 1 and 2 in map(len, shapes):
                small = min(shapes, key=lambda s: (len(s), s))
                broadcasts.add("scalar" if not small else "1-D" if len(small) == 1 else "size-1")

    collect()
    assert ops >= {op.name for op in TABLE if op.expand is None}, {op.name for op in TABLE} - ops
    assert names == set(SHAPES)
    assert matmuls == {(2, 2), (2, 1), (1, 2), (1, 1)}
    assert broadcasts == {"scalar", "1-D", "size-1"}


@settings(max_examples=60 if os.environ.get("CI") else 150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(expr=expressions(), seed=st.integers(0, 2**32 - 1))
def test_backward_chain_formulas_reproduce_the_engine(expr, seed):
    """`--steps`: each node's adjoint, written in terms of the adjoints before it, evaluated on the engine's
    node values and adjoints, gives the engine's adjoint of that node."""
    from gradcalc.jobs.evaluate import run_eval
    from gradcalc.values.draw import Value

    assume(len(expr.text) <= MAX_LENGTH)
    values = draw_values(seed)
    probe = Probe()
    with np.errstate(all="ignore"):
        expr.fn(values, probe)
    assume(probe.safe)
    used = variable_names(parse(expr.text))
    assume(used)
    with np.errstate(all="ignore"):
        result = run_eval(expr.text, EvalOptions(values={n: Value(values[n], "test") for n in used}, steps=True))
    env = {v.name: v.value for v in result.variables}
    for step in result.steps:
        env[step.label], env["d" + step.label] = step.value, step.autograd
    for step in result.steps[1:]:
        tree = parse(step.chain_syntax)
        with np.errstate(all="ignore"):
            _, tensors, _ = record(tree, {n: np.asarray(env[n]) for n in variable_names(tree)})
        got = np.broadcast_to(tensors[id(tree)].value, step.autograd.shape)
        assume(np.all(np.isfinite(step.autograd)) and np.all(np.abs(step.autograd) < HUGE))
        atol = RTOL * max(1.0, float(np.max(np.abs(step.autograd))))
        np.testing.assert_allclose(got, step.autograd, rtol=RTOL, atol=atol,
                                   err_msg=f"{step.name} = {step.chain_syntax} in {expr.text}")
