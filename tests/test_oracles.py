"""Every core operator against independent oracles, at rectangular shapes.

For each operator in `gradcalc.lang.ops.TABLE` there is at least one scalar test
expression. Both of gradcalc's gradients -- the numeric tape
(`tape.record` + `Tape.backward`) and the symbolic closed form
(`symbolic.gradients` + `symbolic.evaluate`) -- are compared with

  (a) HIPS autograd differentiating the same function, written here by hand
      in `autograd.numpy` (never derived from gradcalc's table), and
  (b) central finite differences computed by a small helper in this file
      (a detached part, `detach(...)`, is held at its unperturbed value, as
      gradcalc's own finite differences do).

Cases cover every operator at rectangular shapes (square only where the op
needs it), 1-D vectors with NumPy semantics (`w@A@u`, `A@u`, `dot`, `outer`,
`diag`), broadcasting of scalars, 1-D vectors and size-1 rows/columns against
matrices (the gradient summed back to the operand's shape), axis reductions,
detach, and det/logdet/inv on symmetric positive definite matrices (Z Z^T/n + I)
and on a non-symmetric positive definite one (so that a missing transpose
cannot hide).

Then: every alias/method spelling from the table parses to the same tree as
its canonical spelling; the kink conventions of SPEC section 6 hold at the
exact kink points (relu, clamp, maximum, heaviside, abs, sign); the acceptance
expressions get the verdict "equal" from `pipeline.run_eval`; and every printed
formula re-parses, reproduces the symbolic value, and shows no SymPy internals.
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass
from typing import Any, Callable

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.extend import defvjp, primitive
from autograd.tracer import getval

from gradcalc.symbolic import printing
from gradcalc.symbolic import adjoints as symbolic
from gradcalc.symbolic import numeric
from gradcalc.lang.ops import OPS, TABLE
from gradcalc.lang.parse import parse
from gradcalc.jobs.evaluate import run_eval
from gradcalc.lang.infer import infer
from gradcalc.tape import record
from gradcalc.lang.tree import Node, postorder
from gradcalc.options import EvalOptions

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


def _sigmoid(a: Any) -> Any:
    """Reference logistic function."""
    return 1.0 / (1.0 + anp.exp(-a))


def _softplus(a: Any) -> Any:
    """Reference softplus log(1 + e^a) (the test values are moderate, so no overflow guard)."""
    return anp.log(1.0 + anp.exp(a))


def _leaky(a: Any, slope: float) -> Any:
    """Reference leaky rectifier."""
    return anp.where(a > 0, a, slope * a)


@primitive
def _erf(a: Any) -> Any:
    """Reference error function: math.erf entry by entry, and the textbook derivative below."""
    return np.vectorize(math.erf, otypes=[float])(a)


defvjp(_erf, lambda ans, a: lambda g: g * 2 / np.sqrt(np.pi) * anp.exp(-a * a))


def _gelu(a: Any) -> Any:
    """Reference GELU: a times the standard normal CDF."""
    return a * 0.5 * (1 + _erf(a / np.sqrt(2)))


def _mask(test: Any) -> Any:
    """Reference mask of a comparison: 1.0 where it holds (a constant for autograd)."""
    return anp.where(test, 1.0, 0.0)


def _norm(a: Any) -> Any:
    """Reference Frobenius / Euclidean norm."""
    return anp.sqrt(anp.sum(a * a))


def _logsumexp(a: Any) -> Any:
    """Reference log-sum-exp over all entries."""
    return anp.log(anp.sum(anp.exp(a)))


def _softmax(a: Any, axis: int | None = None) -> Any:
    """Reference softmax over all entries, or along an axis."""
    e = anp.exp(a)
    return e / anp.sum(e, axis=axis, keepdims=True)


def _log_softmax(a: Any, axis: int | None = None) -> Any:
    """Reference log-softmax: a minus the log of the sum of exp (along an axis)."""
    return a - anp.log(anp.sum(anp.exp(a), axis=axis, keepdims=True))


def _gap(a: np.ndarray, axis: int | None = None) -> np.ndarray:
    """The distance between the largest and the second largest entry (along an axis): max's kink is a tie."""
    top = np.sort(a.ravel() if axis is None else np.moveaxis(a, axis, -1), axis=-1)
    return top[..., -1] - top[..., -2]


def _positive_definite(v: dict[str, Any]) -> Any:
    """Reference A A^T + I + C D - (C D)^T: positive definite, not symmetric."""
    cd = anp.dot(v["C"], v["D"])
    return anp.dot(v["A"], anp.transpose(v["A"])) + np.eye(3) + cd - anp.transpose(cd)


def _detach(a: Any) -> Any:
    """Reference stop-gradient: autograd sees a constant with a's value."""
    return getval(a)


@dataclass(frozen=True)
class Case:
    """One test expression: which op it exercises, its text, shapes and a hand-written reference.

    `ref` maps a dict of values to the scalar the expression denotes, written
    with autograd.numpy. `kinks` maps values to the arrays whose sign flips at
    a kink (they are kept away from zero); `positive` names variables that
    must be positive (log's domain, a fractional power's base) and `nonzero`
    those that must stay away from 0 (a divisor, a negative power's base);
    `spd` names square variables drawn symmetric positive definite (det,
    logdet, inv), `bounded` those kept inside (-1.2, 1.2) (tan, away from its
    poles). `square` says why a case needs a square variable when its op
    does not (a quadratic form).
    """

    id: str
    op: str
    text: str
    shapes: dict[str, tuple[int, ...]]
    ref: Callable[[dict[str, Any]], Any]
    kinks: Callable[[dict[str, np.ndarray]], list[np.ndarray]] = lambda v: []
    positive: tuple[str, ...] = ()
    nonzero: tuple[str, ...] = ()
    spd: tuple[str, ...] = ()
    bounded: tuple[str, ...] = ()
    square: str = ""


R35, R52, R32, R23, R53 = (3, 5), (5, 2), (3, 2), (2, 3), (5, 3)
V3, V5 = (3,), (5,)  # 1-D vectors
ROW5, COL3 = (1, 5), (3, 1)  # size-1 rows and columns that broadcast against a 3x5 matrix

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
    Case("matmul-1x1-as-scalar", "mm", "x.t().mm(W).mm(y)", {"x": (4, 1), "W": (4, 3), "y": (3, 1)},
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
    # -- elementwise functions
    Case("sqrt", "sqrt", "sum(sqrt(P) * C)", {"P": R35, "C": R35},
         lambda v: anp.sum(anp.sqrt(v["P"]) * v["C"]), positive=("P",)),
    Case("sqrt-of-product", "sqrt", "sum(sqrt(P @ Q) * C)", {"P": R35, "Q": R52, "C": R32},
         lambda v: anp.sum(anp.sqrt(anp.dot(v["P"], v["Q"])) * v["C"]), positive=("P", "Q")),
    Case("log-of-product", "log", "sum(log(P @ Q) * C)", {"P": R35, "Q": R52, "C": R32},
         lambda v: anp.sum(anp.log(anp.dot(v["P"], v["Q"])) * v["C"]), positive=("P", "Q")),
    Case("abs", "abs", "sum(abs(A) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.abs(v["A"]) * v["C"]), kinks=lambda v: [v["A"]]),
    Case("abs-of-product", "abs", "sum(abs(A @ B) * C)", {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(anp.abs(anp.dot(v["A"], v["B"])) * v["C"]), kinks=lambda v: [v["A"] @ v["B"]]),
    Case("sign", "sign", "sum(sign(A) * B * C)", {"A": R35, "B": R35, "C": R35},
         lambda v: anp.sum(anp.where(v["A"] > 0, 1.0, -1.0) * v["B"] * v["C"]), kinks=lambda v: [v["A"]]),
    Case("sin", "sin", "sum(sin(A @ B) * C)", {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(anp.sin(anp.dot(v["A"], v["B"])) * v["C"])),
    Case("cos", "cos", "sum(cos(A) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.cos(v["A"]) * v["C"])),
    Case("tan", "tan", "sum(tan(T) * C)", {"T": R35, "C": R35},
         lambda v: anp.sum(anp.sin(v["T"]) / anp.cos(v["T"]) * v["C"]), bounded=("T",)),
    Case("tanh", "tanh", "sum(tanh(A @ B) * C)", {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(anp.tanh(anp.dot(v["A"], v["B"])) * v["C"])),
    Case("sigmoid", "sigmoid", "sum(sigmoid(A @ B) * C)", {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(_sigmoid(anp.dot(v["A"], v["B"])) * v["C"])),
    Case("softplus", "softplus", "sum(softplus(A) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(_softplus(v["A"]) * v["C"])),
    Case("square", "square", "sum(square(A) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(v["A"] * v["A"] * v["C"])),
    Case("square-method-of-product", "square", "sum((A @ B).square() * C)", {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(anp.dot(v["A"], v["B"]) * anp.dot(v["A"], v["B"]) * v["C"])),
    # -- graph control: the gradient does not flow through detach
    Case("detach", "detach", "sum(A**2 + detach(A**3))", {"A": R35},
         lambda v: anp.sum(v["A"] ** 2 + _detach(v["A"] ** 3))),
    Case("detach-of-vector", "detach", "sum(x**2 + detach(x**3))", {"x": V5},
         lambda v: anp.sum(v["x"] ** 2 + _detach(v["x"] ** 3))),
    Case("detach-one-factor", "detach", "sum(detach(A) * A * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(_detach(v["A"]) * v["A"] * v["C"])),
    Case("stop-gradient-of-product", "detach", "sum(stop_gradient(A @ B) * (A @ B) * C)",
         {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(_detach(anp.dot(v["A"], v["B"])) * anp.dot(v["A"], v["B"]) * v["C"])),
    # -- reductions
    Case("sum-axis-0", "sum", "sum(sum(A, 0) * u)", {"A": R35, "u": V5},
         lambda v: anp.sum(anp.sum(v["A"], axis=0) * v["u"])),
    Case("sum-axis-1", "sum", "sum(sum(A, 1) * w)", {"A": R35, "w": V3},
         lambda v: anp.sum(anp.sum(v["A"], axis=1) * v["w"])),
    Case("sum-axis-method", "sum", "(A * C).sum(0) @ u", {"A": R35, "C": R35, "u": V5},
         lambda v: anp.dot(anp.sum(v["A"] * v["C"], axis=0), v["u"])),
    Case("sum-axis-0-of-vector", "sum", "sum(u * v, 0)", {"u": V5, "v": V5},
         lambda v: anp.sum(v["u"] * v["v"])),
    Case("mean-axis-0", "mean", "sum(mean(A, 0) * u)", {"A": R35, "u": V5},
         lambda v: anp.sum(anp.mean(v["A"], axis=0) * v["u"])),
    Case("mean-axis-last", "mean", "sum(mean(A, -1) * w)", {"A": R35, "w": V3},
         lambda v: anp.sum(anp.mean(v["A"], axis=1) * v["w"])),
    Case("mean-axis-1-of-product", "mean", "mean(A @ B, 1) @ w", {"A": R35, "B": R52, "w": V3},
         lambda v: anp.dot(anp.mean(anp.dot(v["A"], v["B"]), axis=1), v["w"])),
    Case("norm", "norm", "norm(A @ B - C)", {"A": R35, "B": R52, "C": R32},
         lambda v: _norm(anp.dot(v["A"], v["B"]) - v["C"])),
    Case("norm-of-vector", "norm", "norm(A @ u - w)", {"A": R35, "u": V5, "w": V3},
         lambda v: _norm(anp.dot(v["A"], v["u"]) - v["w"])),
    Case("norm-times-matrix", "norm", "sum(norm(A) * C)", {"A": R35, "C": R32},
         lambda v: _norm(v["A"]) * anp.sum(v["C"])),
    Case("logsumexp", "logsumexp", "logsumexp(A @ B)", {"A": R35, "B": R52},
         lambda v: _logsumexp(anp.dot(v["A"], v["B"]))),
    Case("logsumexp-of-vector", "logsumexp", "logsumexp(A @ u)", {"A": R35, "u": V5},
         lambda v: _logsumexp(anp.dot(v["A"], v["u"]))),
    Case("softmax", "softmax", "sum(softmax(A, axis=None) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(_softmax(v["A"]) * v["C"])),
    Case("softmax-rows", "softmax", "sum(softmax(A, axis=1) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(_softmax(v["A"], 1) * v["C"])),
    Case("softmax-columns-torch", "softmax", "sum(torch.softmax(A, dim=0) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(_softmax(v["A"], 0) * v["C"])),
    Case("softmax-attention", "softmax", "sum((softmax(Q @ K.T / sqrt(5), axis=1) @ V) * C)",
         {"Q": R35, "K": (4, 5), "V": (4, 2), "C": R32},
         lambda v: anp.sum(anp.dot(_softmax(anp.dot(v["Q"], anp.transpose(v["K"])) / np.sqrt(5.0), 1), v["V"])
                           * v["C"])),
    Case("log_softmax-cross-entropy", "log_softmax", "-sum(P * log_softmax(A @ B, axis=1))",
         {"A": R35, "B": R52, "P": R32}, lambda v: -anp.sum(v["P"] * _log_softmax(anp.dot(v["A"], v["B"]), 1))),
    Case("log_softmax-mean-cross-entropy", "log_softmax", "mean(-sum(P * F.log_softmax(A, dim=1), axis=1))",
         {"A": R35, "P": R35}, lambda v: anp.mean(-anp.sum(v["P"] * _log_softmax(v["A"], 1), axis=1))),
    Case("log_softmax-columns", "log_softmax", "sum(A.log_softmax(dim=0) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(_log_softmax(v["A"], 0) * v["C"])),
    Case("log_softmax-of-vector", "log_softmax", "log_softmax(A @ u) @ w", {"A": R35, "u": V5, "w": V3},
         lambda v: anp.dot(_log_softmax(anp.dot(v["A"], v["u"])), v["w"])),
    Case("logsumexp-rows", "logsumexp", "sum(logsumexp(A, axis=1) * w)", {"A": R35, "w": V3},
         lambda v: anp.sum(anp.log(anp.sum(anp.exp(v["A"]), axis=1)) * v["w"])),
    Case("logsumexp-keepdims-torch", "logsumexp", "sum(torch.logsumexp(A, dim=0, keepdim=True) * C)",
         {"A": R35, "C": R35}, lambda v: anp.sum(anp.log(anp.sum(anp.exp(v["A"]), axis=0, keepdims=True)) * v["C"])),
    # -- var, std, max, min along an axis or of all entries
    Case("variance", "variance", "var(A @ B)", {"A": R35, "B": R52},
         lambda v: anp.var(anp.dot(v["A"], v["B"]))),
    Case("variance-rows-ddof", "variance", "sum(var(A, axis=1, ddof=1) * w)", {"A": R35, "w": V3},
         lambda v: anp.sum(anp.var(v["A"], axis=1, ddof=1) * v["w"])),
    Case("variance-torch-unbiased", "variance", "sum(torch.var(A, 0) * u)", {"A": R35, "u": V5},
         lambda v: anp.sum(anp.var(v["A"], axis=0, ddof=1) * v["u"])),
    Case("variance-keepdims", "variance", "sum(A.var(axis=0, keepdims=True, ddof=0) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.var(v["A"], axis=0, keepdims=True) * v["C"])),
    Case("std", "std", "std(A @ B)", {"A": R35, "B": R52},
         lambda v: anp.std(anp.dot(v["A"], v["B"]))),
    Case("std-rows", "std", "sum(std(A, 1) * w)", {"A": R35, "w": V3},
         lambda v: anp.sum(anp.std(v["A"], axis=1) * v["w"])),
    Case("std-torch-biased", "std", "sum(torch.std(A, dim=0, unbiased=False) * u)", {"A": R35, "u": V5},
         lambda v: anp.sum(anp.std(v["A"], axis=0) * v["u"])),
    Case("max", "max", "max(A @ B)", {"A": R35, "B": R52},
         lambda v: anp.max(anp.dot(v["A"], v["B"])), kinks=lambda v: [_gap(v["A"] @ v["B"])]),
    Case("max-axis-0", "max", "sum(max(A, 0) * u)", {"A": R35, "u": V5},
         lambda v: anp.sum(anp.max(v["A"], axis=0) * v["u"]), kinks=lambda v: [_gap(v["A"], 0)]),
    Case("max-keepdims", "max", "sum(np.max(A, axis=1, keepdims=True) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.max(v["A"], axis=1, keepdims=True) * v["C"]), kinks=lambda v: [_gap(v["A"], 1)]),
    Case("max-torch-dim", "max", "sum(torch.max(A, dim=1) * w)", {"A": R35, "w": V3},
         lambda v: anp.sum(anp.max(v["A"], axis=1) * v["w"]), kinks=lambda v: [_gap(v["A"], 1)]),
    Case("max-of-vector", "max", "max(A @ u)", {"A": R35, "u": V5},
         lambda v: anp.max(anp.dot(v["A"], v["u"])), kinks=lambda v: [_gap(v["A"] @ v["u"])]),
    Case("min", "min", "min(A @ B)", {"A": R35, "B": R52},
         lambda v: anp.min(anp.dot(v["A"], v["B"])), kinks=lambda v: [_gap(-(v["A"] @ v["B"]))]),
    Case("min-rows", "min", "sum(A.min(axis=1) * w)", {"A": R35, "w": V3},
         lambda v: anp.sum(anp.min(v["A"], axis=1) * v["w"]), kinks=lambda v: [_gap(-v["A"], 1)]),
    Case("amax", "amax", "sum(amax(A, 0) * u)", {"A": R35, "u": V5},
         lambda v: anp.sum(anp.max(v["A"], axis=0) * v["u"]), kinks=lambda v: [_gap(v["A"], 0)]),
    Case("amax-torch-keepdim", "amax", "sum(torch.amax(A, dim=1, keepdim=True) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.max(v["A"], axis=1, keepdims=True) * v["C"]), kinks=lambda v: [_gap(v["A"], 1)]),
    Case("amin", "amin", "sum(np.amin(A, axis=1) * w)", {"A": R35, "w": V3},
         lambda v: anp.sum(anp.min(v["A"], axis=1) * v["w"]), kinks=lambda v: [_gap(-v["A"], 1)]),
    Case("sum-keepdims", "sum", "sum(sum(A, axis=1, keepdims=True) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.sum(v["A"], axis=1, keepdims=True) * v["C"])),
    Case("sum-keepdims-torch", "sum", "sum(torch.sum(A, dim=0, keepdim=True) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.sum(v["A"], axis=0, keepdims=True) * v["C"])),
    Case("mean-keepdims-centred", "mean", "sum((A - A.mean(axis=1, keepdims=True))**2 * C)", {"A": R35, "C": R35},
         lambda v: anp.sum((v["A"] - anp.mean(v["A"], axis=1, keepdims=True)) ** 2 * v["C"])),
    Case("mean-keepdims-all", "mean", "sum(mean(A, keepdims=True) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.mean(v["A"], keepdims=True) * v["C"])),
    Case("softmax-of-vector", "softmax", "softmax(A @ u) @ w", {"A": R35, "u": V5, "w": V3},
         lambda v: anp.dot(_softmax(anp.dot(v["A"], v["u"])), v["w"])),
    # -- linear algebra: det, logdet and inv on symmetric positive definite matrices
    Case("det", "det", "det(S)", {"S": (3, 3)},
         lambda v: anp.linalg.det(v["S"]), spd=("S",)),
    Case("det-of-gram", "det", "det(A @ A.T + eye(3)) * sum(C)", {"A": R35, "C": R32},
         lambda v: anp.linalg.det(anp.dot(v["A"], anp.transpose(v["A"])) + np.eye(3)) * anp.sum(v["C"])),
    Case("logdet", "logdet", "logdet(S)", {"S": (4, 4)},
         lambda v: anp.linalg.slogdet(v["S"])[1], spd=("S",)),
    Case("logdet-of-gram", "logdet", "logdet(A.T @ A + eye(5))", {"A": R35},
         lambda v: anp.log(anp.linalg.det(anp.dot(anp.transpose(v["A"]), v["A"]) + np.eye(5)))),
    Case("inv", "inv", "sum(inv(S) @ A * C)", {"S": (3, 3), "A": R35, "C": R35},
         lambda v: anp.sum(anp.dot(anp.linalg.inv(v["S"]), v["A"]) * v["C"]), spd=("S",)),
    Case("inv-of-gram", "inv", "sum(inverse(A @ A.T + eye(3)) @ C)", {"A": R35, "C": R32},
         lambda v: anp.sum(anp.dot(anp.linalg.inv(anp.dot(v["A"], anp.transpose(v["A"])) + np.eye(3)), v["C"]))),
    # A A^T + I + (F - F^T) with F = C @ D: x^T M x > 0, so invertible with det > 0, but not symmetric,
    # so a transpose missing from a rule cannot hide (it would for the symmetric cases above)
    Case("det-nonsymmetric", "det", "det(A @ A.T + eye(3) + C @ D - (C @ D).T)", {"A": R35, "C": R32, "D": R23},
         lambda v: anp.linalg.det(_positive_definite(v))),
    Case("logdet-nonsymmetric", "logdet", "logdet(A @ A.T + eye(3) + C @ D - (C @ D).T)",
         {"A": R35, "C": R32, "D": R23}, lambda v: anp.linalg.slogdet(_positive_definite(v))[1]),
    Case("inv-nonsymmetric", "inv", "sum(inv(A @ A.T + eye(3) + C @ D - (C @ D).T) @ C)",
         {"A": R35, "C": R32, "D": R23},
         lambda v: anp.sum(anp.dot(anp.linalg.inv(_positive_definite(v)), v["C"]))),
    Case("diag-of-vector", "diag", "sum(diag(u) @ A.T * C)", {"u": V5, "A": R35, "C": R53},
         lambda v: anp.sum(anp.dot(anp.diag(v["u"]), anp.transpose(v["A"])) * v["C"])),
    Case("diag-of-matrix", "diag", "diag(A @ B @ D) @ w", {"A": R35, "B": R52, "D": R23, "w": V3},
         lambda v: anp.dot(anp.diag(anp.dot(anp.dot(v["A"], v["B"]), v["D"])), v["w"])),
    Case("diag-of-square", "diag", "sum(diag(M) * w)", {"M": (3, 3), "w": V3},
         lambda v: anp.sum(anp.diag(v["M"]) * v["w"])),
    Case("dot", "dot", "dot(u, v)", {"u": V5, "v": V5},
         lambda v: anp.dot(v["u"], v["v"])),
    Case("dot-of-products", "dot", "dot(A @ u, w)", {"A": R35, "u": V5, "w": V3},
         lambda v: anp.dot(anp.dot(v["A"], v["u"]), v["w"])),
    Case("outer", "outer", "sum(outer(u, w) * C)", {"u": V5, "w": V3, "C": R53},
         lambda v: anp.sum(anp.outer(v["u"], v["w"]) * v["C"])),
    Case("outer-of-products", "outer", "sum(outer(A @ u, B.T @ u) * C)", {"A": R35, "u": V5, "B": R52, "C": R32},
         lambda v: anp.sum(anp.outer(anp.dot(v["A"], v["u"]), anp.dot(anp.transpose(v["B"]), v["u"])) * v["C"])),
    # -- @ with 1-D operands (NumPy semantics)
    Case("quadratic-form", "matmul", "x @ M @ x", {"x": V5, "M": (5, 5)},
         lambda v: anp.dot(anp.dot(v["x"], v["M"]), v["x"]), square="a quadratic form x@M@x needs a square M"),
    Case("bilinear-form-1d", "matmul", "w @ A @ u", {"w": V3, "A": R35, "u": V5},
         lambda v: anp.dot(anp.dot(v["w"], v["A"]), v["u"])),
    Case("matrix-at-vector", "matmul", "sum((A @ u) * w)", {"A": R35, "u": V5, "w": V3},
         lambda v: anp.sum(anp.dot(v["A"], v["u"]) * v["w"])),
    Case("vector-at-matrix", "matmul", "sum((w @ A) * u)", {"w": V3, "A": R35, "u": V5},
         lambda v: anp.sum(anp.dot(v["w"], v["A"]) * v["u"])),
    Case("vector-at-vector", "matmul", "u @ v", {"u": V5, "v": V5},
         lambda v: anp.dot(v["u"], v["v"])),
    Case("vector-at-matrix-at-matrix", "matmul", "sum(w @ A @ B)", {"w": V3, "A": R35, "B": R52},
         lambda v: anp.sum(anp.dot(anp.dot(v["w"], v["A"]), v["B"]))),
    Case("ones-vector", "ones", "sum((A @ ones(5)) * w)", {"A": R35, "w": V3},
         lambda v: anp.sum(anp.sum(v["A"], axis=1) * v["w"])),
    Case("ones-vector-plus-vector", "ones", "(u + ones(5)) @ v", {"u": V5, "v": V5},
         lambda v: anp.dot(v["u"] + 1.0, v["v"])),
    Case("zeros-vector", "zeros", "sum((u + zeros(5)) * v)", {"u": V5, "v": V5},
         lambda v: anp.sum(v["u"] * v["v"])),
    # -- broadcasting: the gradient is summed back to each operand's shape
    Case("add-1d-vector-as-row", "add", "sum((A + u) * C)", {"A": R35, "u": V5, "C": R35},
         lambda v: anp.sum((v["A"] + v["u"]) * v["C"])),
    Case("add-column-and-row", "add", "sum((c + r) * C)", {"c": COL3, "r": ROW5, "C": R35},
         lambda v: anp.sum((v["c"] + v["r"]) * v["C"])),
    Case("mul-row", "mul", "sum(A * r * C)", {"A": R35, "r": ROW5, "C": R35},
         lambda v: anp.sum(v["A"] * v["r"] * v["C"])),
    Case("mul-column", "mul", "sum(A * c * C)", {"A": R35, "c": COL3, "C": R35},
         lambda v: anp.sum(v["A"] * v["c"] * v["C"])),
    Case("mul-1d-vector-as-row", "mul", "sum(u * A * C)", {"u": V5, "A": R35, "C": R35},
         lambda v: anp.sum(v["u"] * v["A"] * v["C"])),
    Case("mul-scalar-variable-and-vector", "mul", "(a * u) @ v", {"a": (), "u": V5, "v": V5},
         lambda v: anp.dot(v["a"] * v["u"], v["v"])),
    Case("sub-column", "sub", "sum((A - c) * C)", {"A": R35, "c": COL3, "C": R35},
         lambda v: anp.sum((v["A"] - v["c"]) * v["C"])),
    Case("div-by-row", "div", "sum(A / r * C)", {"A": R35, "r": ROW5, "C": R35},
         lambda v: anp.sum(v["A"] / v["r"] * v["C"]), nonzero=("r",)),
    Case("div-by-1d-vector", "div", "sum(A / u * C)", {"A": R35, "u": V5, "C": R35},
         lambda v: anp.sum(v["A"] / v["u"] * v["C"]), nonzero=("u",)),
    Case("maximum-1d-vector-as-row", "maximum", "sum(maximum(A, u) * C)", {"A": R35, "u": V5, "C": R35},
         lambda v: anp.sum((v["u"] + _relu(v["A"] - v["u"])) * v["C"]), kinks=lambda v: [v["A"] - v["u"]]),
    Case("pow-of-column", "pow", "sum((A * c)**2 * C)", {"A": R35, "c": COL3, "C": R35},
         lambda v: anp.sum((v["A"] * v["c"]) ** 2 * v["C"])),
    Case("maximum-row", "maximum", "sum(maximum(A, r) * C)", {"A": R35, "r": ROW5, "C": R35},
         lambda v: anp.sum((v["r"] + _relu(v["A"] - v["r"])) * v["C"]), kinks=lambda v: [v["A"] - v["r"]]),
    Case("maximum-1d-vector-first", "maximum", "sum(maximum(u, A)**2)", {"u": V5, "A": R35},
         lambda v: anp.sum((v["u"] + _relu(v["A"] - v["u"])) ** 2), kinks=lambda v: [v["A"] - v["u"]]),
    Case("maximum-column-and-row", "maximum", "sum(maximum(c, r) * C)", {"c": COL3, "r": ROW5, "C": R35},
         lambda v: anp.sum((v["r"] + _relu(v["c"] - v["r"])) * v["C"]), kinks=lambda v: [v["c"] - v["r"]]),
    Case("add-1d-vector-then-matmul", "add", "sum((A + u) @ v)", {"A": R35, "u": V5, "v": V5},
         lambda v: anp.sum(anp.dot(v["A"] + v["u"], v["v"]))),
    # -- clamp with either bound, clip, minimum, activations, comparisons and where
    Case("clamp-both-bounds", "clamp", "sum(clamp(A, -0.5, 0.7) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.where(v["A"] < -0.5, -0.5, anp.where(v["A"] > 0.7, 0.7, v["A"])) * v["C"]),
         kinks=lambda v: [v["A"] + 0.5, v["A"] - 0.7]),
    Case("clamp-upper-bound-of-1d", "clamp", "sum(clamp(u, max=0.2)**2)", {"u": V5},
         lambda v: anp.sum(anp.where(v["u"] > 0.2, 0.2, v["u"]) ** 2), kinks=lambda v: [v["u"] - 0.2]),
    Case("clamp-min", "clamp_min", "sum(torch.clamp_min(A @ B, 0.1) * C)", {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(anp.where(anp.dot(v["A"], v["B"]) > 0.1, anp.dot(v["A"], v["B"]), 0.1) * v["C"]),
         kinks=lambda v: [v["A"] @ v["B"] - 0.1]),
    Case("clamp-max", "clamp_max", "sum(A.clamp_max(-0.2) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.where(v["A"] < -0.2, v["A"], -0.2) * v["C"]), kinks=lambda v: [v["A"] + 0.2]),
    Case("clip", "clip", "sum(np.clip(A, -1, None) * C) + sum(clip(A, 0, 0.5)**2)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.where(v["A"] > -1, v["A"], -1.0) * v["C"])
         + anp.sum(anp.where(v["A"] < 0, 0.0, anp.where(v["A"] > 0.5, 0.5, v["A"])) ** 2),
         kinks=lambda v: [v["A"] + 1, v["A"], v["A"] - 0.5]),
    Case("minimum", "minimum", "sum(minimum(A, B) * C)", {"A": R35, "B": R35, "C": R35},
         lambda v: anp.sum(anp.where(v["A"] < v["B"], v["A"], v["B"]) * v["C"]), kinks=lambda v: [v["A"] - v["B"]]),
    Case("minimum-row", "minimum", "sum(torch.minimum(A, r) * C)", {"A": R35, "r": ROW5, "C": R35},
         lambda v: anp.sum((v["r"] - _relu(v["r"] - v["A"])) * v["C"]), kinks=lambda v: [v["A"] - v["r"]]),
    Case("leaky-relu", "leaky_relu", "sum(F.leaky_relu(A @ B, 0.2) * C)", {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(_leaky(anp.dot(v["A"], v["B"]), 0.2) * v["C"]), kinks=lambda v: [v["A"] @ v["B"]]),
    Case("leaky-relu-default", "leaky_relu", "sum(leaky_relu(A)**2)", {"A": R35},
         lambda v: anp.sum(_leaky(v["A"], 0.01) ** 2), kinks=lambda v: [v["A"]]),
    Case("elu", "elu", "sum(F.elu(A, alpha=0.5) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.where(v["A"] > 0, v["A"], 0.5 * (anp.exp(v["A"]) - 1)) * v["C"]),
         kinks=lambda v: [v["A"]]),
    Case("elu-smooth", "elu", "sum(elu(A @ B) * C)", {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(anp.where(anp.dot(v["A"], v["B"]) > 0, anp.dot(v["A"], v["B"]),
                                     anp.exp(anp.dot(v["A"], v["B"])) - 1) * v["C"])),
    Case("gelu", "gelu", "sum(gelu(A @ B) * C)", {"A": R35, "B": R52, "C": R32},
         lambda v: anp.sum(_gelu(anp.dot(v["A"], v["B"])) * v["C"])),
    Case("gelu-tanh", "gelu", "sum(F.gelu(A, approximate='tanh') * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(0.5 * v["A"] * (1 + anp.tanh(np.sqrt(2 / np.pi) * (v["A"] + 0.044715 * v["A"] ** 3)))
                           * v["C"])),
    Case("erf", "erf", "sum(erf(A) * C) + sum(torch.special.erf(u))", {"A": R35, "C": R35, "u": V5},
         lambda v: anp.sum(_erf(v["A"]) * v["C"]) + anp.sum(_erf(v["u"]))),
    Case("log1p", "log1p", "sum(np.log1p(P @ Q) * C)", {"P": R35, "Q": R52, "C": R32},
         lambda v: anp.sum(anp.log(1 + anp.dot(v["P"], v["Q"])) * v["C"]), positive=("P", "Q")),
    Case("expm1", "expm1", "sum(expm1(A) * C) + sum(torch.expm1(u))", {"A": R35, "C": R35, "u": V5},
         lambda v: anp.sum((anp.exp(v["A"]) - 1) * v["C"]) + anp.sum(anp.exp(v["u"]) - 1)),
    Case("greater", "greater", "sum((A > B) * A * C)", {"A": R35, "B": R35, "C": R35},
         lambda v: anp.sum(_mask(v["A"] > v["B"]) * v["A"] * v["C"]), kinks=lambda v: [v["A"] - v["B"]]),
    Case("less", "less", "sum(torch.lt(A, u) * A)", {"A": R35, "u": V5},
         lambda v: anp.sum(_mask(v["A"] < v["u"]) * v["A"]), kinks=lambda v: [v["A"] - v["u"]]),
    Case("greater-equal", "greater_equal", "sum((A >= 0.1) * A * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(_mask(v["A"] >= 0.1) * v["A"] * v["C"]), kinks=lambda v: [v["A"] - 0.1]),
    Case("less-equal", "less_equal", "sum((c <= r) * C * A)", {"c": COL3, "r": ROW5, "C": R35, "A": R35},
         lambda v: anp.sum(_mask(v["c"] <= v["r"]) * v["C"] * v["A"]), kinks=lambda v: [v["c"] - v["r"]]),
    Case("equal", "equal", "sum((A == B) * C + A * C)", {"A": R35, "B": R35, "C": R35},
         lambda v: anp.sum(_mask(v["A"] == v["B"]) * v["C"] + v["A"] * v["C"]), kinks=lambda v: [v["A"] - v["B"]]),
    Case("not-equal", "not_equal", "sum((A != B) * A * C)", {"A": R35, "B": R35, "C": R35},
         lambda v: anp.sum(_mask(v["A"] != v["B"]) * v["A"] * v["C"]), kinks=lambda v: [v["A"] - v["B"]]),
    Case("where", "where", "sum(where(A > 0, A, 0.1 * A) * C)", {"A": R35, "C": R35},
         lambda v: anp.sum(anp.where(v["A"] > 0, v["A"], 0.1 * v["A"]) * v["C"]), kinks=lambda v: [v["A"]]),
    Case("where-broadcast", "where", "sum(torch.where(c > r, A * r, B) * C)",
         {"c": COL3, "r": ROW5, "A": R35, "B": R35, "C": R35},
         lambda v: anp.sum(anp.where(v["c"] > v["r"], v["A"] * v["r"], v["B"]) * v["C"]),
         kinks=lambda v: [v["c"] - v["r"]]),
    Case("where-any-condition", "where", "sum(np.where(A @ B, (A @ B)**2, u) * C)",
         {"A": R35, "B": R52, "u": (2,), "C": R32},
         lambda v: anp.sum(anp.where(anp.dot(v["A"], v["B"]) != 0, anp.dot(v["A"], v["B"]) ** 2,
                                     v["u"] * np.ones((3, 2))) * v["C"]),  # autograd's where does not broadcast
         kinks=lambda v: [v["A"] @ v["B"]]),
    Case("where-scalars", "where", "where(a > b, a * b, b**2) + sum(where(u > a, u, a))", {"a": (), "b": (), "u": V5},
         lambda v: anp.where(v["a"] > v["b"], v["a"] * v["b"], v["b"] ** 2)
         + anp.sum(anp.where(v["u"] > v["a"], v["u"], v["a"] * np.ones(5))),
         kinks=lambda v: [v["a"] - v["b"], v["u"] - v["a"]]),
]

CASES += [  # indexing and slicing, reshape and flatten, axis orders, kron (gradcalc/lang/rows/shaping.py)
    Case("index-row", "index", "sum(A[1] * u)", {"A": R35, "u": V5}, lambda v: anp.sum(v["A"][1] * v["u"])),
    Case("index-column", "index", "sum(A[:, 2] * w)", {"A": R35, "w": V3}, lambda v: anp.sum(v["A"][:, 2] * v["w"])),
    Case("index-slices", "index", "sum(A[1:3, :4] * D)", {"A": R35, "D": (2, 4)},
         lambda v: anp.sum(v["A"][1:3, :4] * v["D"])),
    Case("index-negative", "index", "sum(A[-1] * u) + sum(A[:, -2:] * C)", {"A": R35, "u": V5, "C": R32},
         lambda v: anp.sum(v["A"][-1] * v["u"]) + anp.sum(v["A"][:, -2:] * v["C"])),
    Case("index-entries", "index", "A[1, 2] * A[0, 4] + A[-1, -1]", {"A": R35},
         lambda v: v["A"][1, 2] * v["A"][0, 4] + v["A"][-1, -1]),
    Case("index-1d", "index", "u[2] * u[-1] + sum(u[1:4] * w)", {"u": V5, "w": V3},
         lambda v: v["u"][2] * v["u"][-1] + anp.sum(v["u"][1:4] * v["w"])),
    Case("index-step-and-keep-2d", "index", "sum(A[::2] * B.T) + sum(A[0:1] * A[2:3])", {"A": R35, "B": R52},
         lambda v: anp.sum(v["A"][::2] * anp.transpose(v["B"])) + anp.sum(v["A"][0:1] * v["A"][2:3])),
    Case("index-of-product", "index", "sum((A @ B)[0] ** 2) + index(A, -1) @ u", {"A": R35, "B": R52, "u": V5},
         lambda v: anp.sum(anp.dot(v["A"], v["B"])[0] ** 2) + anp.dot(v["A"][-1], v["u"])),
    Case("reshape", "reshape", "sum(reshape(A, 5, 3) * C)", {"A": R35, "C": R53},
         lambda v: anp.sum(anp.reshape(v["A"], (5, 3)) * v["C"])),
    Case("reshape-spellings", "reshape", "sum(np.reshape(A, (-1, 3)) @ w) + A.reshape(15) @ z + sum(A.view(1, 15))",
         {"A": R35, "w": V3, "z": (15,)},
         lambda v: anp.sum(anp.dot(anp.reshape(v["A"], (5, 3)), v["w"])) + anp.dot(anp.reshape(v["A"], 15), v["z"])
         + anp.sum(v["A"])),
    Case("reshape-of-1d", "reshape", "sum(u.reshape(1, 5) * A) + sum(u.reshape(-1, 1) * B)", {"u": V5, "A": R35,
                                                                                          "B": R52},
         lambda v: anp.sum(anp.reshape(v["u"], (1, 5)) * v["A"]) + anp.sum(anp.reshape(v["u"], (5, 1)) * v["B"])),
    Case("flatten", "flatten", "flatten(A) @ z + sum(ravel(A @ B) ** 2)", {"A": R35, "z": (15,), "B": R52},
         lambda v: anp.dot(anp.ravel(v["A"]), v["z"]) + anp.sum(anp.ravel(anp.dot(v["A"], v["B"])) ** 2)),
    Case("permute", "permute", "sum(A.permute(1, 0) * C) + sum(np.transpose(A, (0, 1)) * D)",
         {"A": R35, "C": R53, "D": R35},
         lambda v: anp.sum(anp.transpose(v["A"]) * v["C"]) + anp.sum(v["A"] * v["D"])),
    Case("permute-of-1d", "permute", "u.permute(0) @ z + sum(A.transpose() @ C)", {"u": V5, "z": V5, "A": R35,
                                                                                  "C": R32},
         lambda v: anp.dot(v["u"], v["z"]) + anp.sum(anp.dot(anp.transpose(v["A"]), v["C"]))),
    Case("swapaxes", "swapaxes", "sum(torch.transpose(A, 0, 1) @ C) + sum(np.swapaxes(A, 1, 1) * D)",
         {"A": R35, "C": R32, "D": R35},
         lambda v: anp.sum(anp.dot(anp.swapaxes(v["A"], 0, 1), v["C"])) + anp.sum(v["A"] * v["D"])),
    Case("matrix-transpose", "matrix_transpose", "sum(A.mT @ C) + sum((A @ B).mT * E)", {"A": R35, "C": R32,
                                                                                         "B": R52, "E": R23},
         lambda v: anp.sum(anp.dot(anp.transpose(v["A"]), v["C"])) + anp.sum(anp.transpose(anp.dot(v["A"], v["B"]))
                                                                              * v["E"])),
    Case("kron", "kron", "sum(kron(A, B) * K)", {"A": R35, "B": R52, "K": (15, 10)},
         lambda v: anp.sum(anp.kron(v["A"], v["B"]) * v["K"])),
    Case("kron-of-1d", "kron", "kron(u, w) @ z", {"u": V5, "w": V3, "z": (15,)},
         lambda v: anp.dot(anp.kron(v["u"], v["w"]), v["z"])),
    Case("kron-of-1x1", "kron", "sum(kron(a, A) * C) + sum(A.kron(a) ** 2)", {"a": (1, 1), "A": R35, "C": R35},
         lambda v: anp.sum(anp.kron(v["a"], v["A"]) * v["C"]) + anp.sum(anp.kron(v["A"], v["a"]) ** 2),
         square="a 1x1 factor, kron's neutral size"),
]


def _seed(text: str) -> int:
    """A stable per-case seed, so each case has its own values."""
    return zlib.crc32(text.encode())


def draw_values(case: Case) -> dict[str, np.ndarray]:
    """Standard normals for the case's variables, inside domains and away from kinks.

    Positive variables are mapped to 0.5 + |z|; `nonzero` ones to
    sign(z)(0.5 + |z|); `spd` ones to Z Z^T/n + I; `bounded` ones to
    1.2 tanh(z); values are redrawn until every kink argument is at least
    KINK_GAP away from its kink.
    """
    rng = np.random.default_rng(_seed(case.id))
    for _ in range(200):
        values = {name: np.asarray(rng.standard_normal(shape), dtype=np.float64)
                  for name, shape in case.shapes.items()}
        for name in case.positive:
            values[name] = 0.5 + np.abs(values[name])
        for name in case.nonzero:
            values[name] = np.asarray(np.where(values[name] < 0, -1.0, 1.0) * (0.5 + np.abs(values[name])))
        for name in case.spd:
            z = values[name]
            values[name] = z @ z.T / len(z) + np.eye(len(z))
        for name in case.bounded:
            values[name] = 1.2 * np.tanh(values[name])
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
    return {name: numeric.evaluate(f, values) for name, f in symbolic_formulas(text, shapes).items()}


def forward(text: str, values: dict[str, np.ndarray]) -> float:
    """gradcalc's forward value (the tape, no gradients)."""
    tree = parse(text)
    _, tensors, _ = record(tree, values)
    return float(np.sum(tensors[id(tree)].value))


def held_forward(text: str, at: dict[str, np.ndarray]) -> Callable[[dict[str, np.ndarray]], float]:
    """gradcalc's forward value as a function of the values, with every `detach(...)` part held
    at its value at `at` -- what a gradient that does not flow through detach is the derivative of.
    """
    tree = parse(text)
    _, tensors, _ = record(tree, at)

    def hold(node: Node) -> Node:
        if node.op == "detach":
            return Node("const", value=tensors[id(node)].value)
        if not node.args:
            return node
        return Node(node.op, tuple(hold(a) for a in node.args), node.params, node.name, node.value, node.span)

    held = hold(tree)

    def f(values: dict[str, np.ndarray]) -> float:
        _, moved, _ = record(held, values)
        return float(np.sum(moved[id(held)].value))

    return f


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
        f = held_forward(self.case.text, self.values)
        return {name: central_differences(f, self.values, name) for name in self.values}


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


SQUARE_OPS = {"trace", "det", "logdet", "inv", "diag"}  # ops whose operand may have to be square


def test_cases_use_rectangular_variables_except_where_an_op_needs_square():
    """Rectangular shapes keep a missing transpose from hiding behind a square matrix."""
    for case in CASES:
        square = [n for n, s in case.shapes.items() if len(s) == 2 and s[0] == s[1]]
        assert not square or case.op in SQUARE_OPS or case.square, (case.id, square)
        assert set(case.spd) <= set(square), case.id


def test_cases_cover_vectors_broadcasting_and_axes():
    """1-D vectors, scalar variables, size-1 rows/columns and axis reductions each have cases."""
    ranks = {len(s) for c in CASES for s in c.shapes.values()}
    assert ranks == {0, 1, 2}
    assert any(s in (ROW5, COL3) for c in CASES for s in c.shapes.values())
    for op in ("sum", "mean"):
        axes = {n.kwargs.get("axis") for c in CASES for n in postorder(parse(c.text)) if n.op == op}
        assert {None, 0} <= axes and axes & {1, -1}, (op, axes)


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


def test_finite_difference_helper_holds_detached_parts():
    """The referee of detach: d/dx sum(x**2 + detach(x**3)) = 2x, not 2x + 3x**2."""
    x = np.array([[1.0, -2.0, 0.5], [3.0, 0.1, -0.7]])
    fd = central_differences(held_forward("sum(x**2 + detach(x**3))", {"x": x}), {"x": x}, "x")
    np.testing.assert_allclose(fd, 2 * x, rtol=FD_RTOL, atol=FD_ATOL)


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
    ("x.mm(W)", "mm(x, W)", "mm"),
    ("torch.mm(x, W)", "mm(x, W)", "mm"),
    ("x.matmul(W)", "x @ W", "matmul"),
    ("matmul(x, W)", "x @ W", "matmul"),
    ("x.t()", "transpose(x)", "t"),
    ("x.transpose()", "np.permute_dims(x)", "transpose"),  # NumPy's method: axes in an order, reversed by default
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
    ("z.clip(0, 1)", "clamp(z, 0, 1)", "clip"),
    ("torch.clip(z, max=1)", "clamp(z, max=1)", "clip"),
    ("np.clip(z, None, 1)", "clamp(z, max=1)", "clip"),
    ("np.clip(z, min=0.5)", "clamp(z, 0.5)", "clip"),
    ("z.clamp_max(1)", "clamp(z, max=1)", "clamp_max"),
    ("torch.clamp(z, None, 1)", "clamp(z, -inf, 1)", "clamp"),
    ("z.minimum(x)", "minimum(z, x)", "minimum"),
    ("torch.min(z, x)", "minimum(z, x)", "minimum"),
    ("x.erf()", "erf(x)", "erf"),
    ("torch.special.erf(x)", "erf(x)", "erf"),
    ("x.log1p()", "log1p(x)", "log1p"),
    ("np.log1p(x)", "log1p(x)", "log1p"),
    ("x.expm1()", "expm1(x)", "expm1"),
    ("torch.special.expm1(x)", "expm1(x)", "expm1"),
    ("F.leaky_relu(x, negative_slope=0.2)", "leaky_relu(x, 0.2)", "leaky_relu"),
    ("F.elu(x, 1.5)", "elu(x, alpha=1.5)", "elu"),
    ("F.gelu(x, approximate='tanh')", "gelu(x, approximate='tanh')", "gelu"),
    ("z.gt(x)", "z > x", "gt"),
    ("z.lt(x)", "z < x", "lt"),
    ("z.ge(x)", "z >= x", "ge"),
    ("z.le(x)", "z <= x", "le"),
    ("z.eq(x)", "z == x", "eq"),
    ("z.ne(x)", "z != x", "ne"),
    ("np.greater_equal(z, x)", "z >= x", "greater_equal"),
    ("torch.not_equal(z, x)", "z != x", "not_equal"),
    ("torch.where(z > x, z, x)", "where(z > x, z, x)", "where"),
    ("max(z, 0)", "max(z, axis=0)", "max"),
    ("z.max(1)", "max(z, axis=1)", "max"),
    ("np.max(z, axis=1, keepdims=True)", "max(z, 1, keepdims=True)", "max"),
    ("torch.max(z, dim=1)", "max(z, axis=1)", "max"),
    ("torch.max(z, x)", "maximum(z, x)", "maximum"),
    ("z.min(axis=0)", "min(z, 0)", "min"),
    ("torch.min(z)", "min(z)", "min"),
    ("z.amax(1)", "max(z, 1)", "amax"),
    ("amax(z, 0)", "max(z, 0)", "amax"),
    ("torch.amax(z, dim=1, keepdim=True)", "max(z, 1, keepdims=True)", "amax"),
    ("z.amin(dim=0)", "min(z, 0)", "amin"),
    ("np.amin(z)", "min(z)", "amin"),
    ("z.var(ddof=1)", "var(z, ddof=1)", "var"),
    ("z.var(dim=0)", "var(z, 0, ddof=1)", "var"),
    ("torch.var(z, 1, False)", "var(z, 1, ddof=0)", "var"),
    ("variance(z)", "var(z)", "variance"),
    ("z.std(1, True, keepdim=True)", "std(z, 1, keepdims=True, ddof=1)", "std"),
    ("torch.std(z, correction=0)", "std(z, ddof=0)", "std"),
    ("z.maximum(x)", "maximum(z, x)", "maximum"),
    ("torch.maximum(z, x)", "maximum(z, x)", "maximum"),
    ("x.heaviside()", "heaviside(x)", "heaviside"),
    ("identity(3)", "eye(3)", "identity"),
    ("x - z", "x + -z", "-"),
    ("x / z", "x * z**-1", "/"),
    # elementwise functions
    ("x.sqrt()", "sqrt(x)", "sqrt"),
    ("torch.sqrt(x)", "sqrt(x)", "sqrt"),
    ("x.abs()", "abs(x)", "abs"),
    ("np.abs(x)", "abs(x)", "abs"),
    ("x.sign()", "sign(x)", "sign"),
    ("x.sin()", "sin(x)", "sin"),
    ("x.cos()", "cos(x)", "cos"),
    ("x.tan()", "tan(x)", "tan"),
    ("x.tanh()", "tanh(x)", "tanh"),
    ("np.tanh(x)", "tanh(x)", "tanh"),
    ("x.sigmoid()", "sigmoid(x)", "sigmoid"),
    ("torch.sigmoid(x)", "sigmoid(x)", "sigmoid"),
    ("x.softplus()", "softplus(x)", "softplus"),
    ("F.softplus(x)", "softplus(x)", "softplus"),
    ("A.square()", "A**2", "square"),
    ("square(A)", "A**2", "square"),
    ("torch.square(A)", "A**2", "square"),
    # graph control
    ("x.detach()", "detach(x)", "detach"),
    ("stop_gradient(x)", "detach(x)", "stop_gradient"),
    # reductions, with and without an axis
    ("A.sum(0)", "sum(A, 0)", "sum"),
    ("A.sum(axis=1)", "sum(A, 1)", "sum"),
    ("A.sum(dim=1, keepdim=True)", "sum(A, 1, keepdims=True)", "sum"),
    ("torch.sum(A, axis=1, keepdims=True)", "sum(A, 1, keepdims=True)", "sum"),
    ("torch.mean(A, 0, True)", "mean(A, 0, keepdims=True)", "mean"),
    ("np.sum(A, axis=-1)", "sum(A, -1)", "sum"),
    ("A.mean(1)", "mean(A, 1)", "mean"),
    ("A.mean(axis=0)", "mean(A, 0)", "mean"),
    ("A.norm()", "norm(A)", "norm"),
    ("torch.norm(A)", "norm(A)", "norm"),
    ("A.logsumexp(1)", "logsumexp(A, axis=1)", "logsumexp"),
    ("torch.logsumexp(A, dim=1, keepdim=True)", "logsumexp(A, 1, keepdims=True)", "logsumexp"),
    ("A.softmax(1)", "softmax(A, axis=1)", "softmax"),
    ("torch.softmax(A, dim=-1)", "softmax(A, axis=-1)", "softmax"),
    ("F.softmax(A, 0)", "softmax(A, axis=0)", "softmax"),
    ("torch.special.softmax(A, 1)", "softmax(A, 1)", "softmax"),
    ("A.log_softmax(dim=1)", "log_softmax(A, axis=1)", "log_softmax"),
    ("F.log_softmax(A, dim=1)", "log_softmax(A, 1)", "log_softmax"),
    ("log_softmax(A, dim=1)", "log_softmax(A, axis=1)", "log_softmax"),
    # linear algebra
    ("S.det()", "det(S)", "det"),
    ("torch.det(S)", "det(S)", "det"),
    ("S.logdet()", "logdet(S)", "logdet"),
    ("S.inverse()", "inv(S)", "inverse"),
    ("inverse(S)", "inv(S)", "inverse"),
    ("torch.inverse(S)", "inv(S)", "inverse"),
    ("S.inv()", "inv(S)", "inv"),
    ("S.diag()", "diag(S)", "diag"),
    ("u.diag()", "diag(u)", "diag"),
    ("np.diag(u)", "diag(u)", "diag"),
    ("u.dot(v)", "dot(u, v)", "dot"),
    ("np.dot(u, v)", "dot(u, v)", "dot"),
    ("u.outer(v)", "outer(u, v)", "outer"),
    ("torch.outer(u, v)", "outer(u, v)", "outer"),
    ("u.matmul(v)", "u @ v", "matmul"),
]
SPELLINGS += [  # indexing, reshape and flatten, axis orders, kron
    ("A.reshape(5, 3)", "reshape(A, 5, 3)", "reshape"),
    ("np.reshape(A, (5, 3))", "reshape(A, 5, 3)", "reshape"),
    ("A.reshape((15,))", "reshape(A, 15)", "reshape"),
    ("A.view(5, -1)", "reshape(A, 5, -1)", "view"),
    ("A.flatten()", "reshape(A, -1)", "flatten"),
    ("torch.flatten(A)", "flatten(A)", "flatten"),
    ("A.ravel()", "np.ravel(A)", "ravel"),
    ("ravel(A)", "flatten(A)", "ravel"),
    ("A.permute(1, 0)", "permute(A, 1, 0)", "permute"),
    ("A.permute((1, 0))", "np.transpose(A, (1, 0))", "permute"),
    ("A.transpose(1, 0)", "torch.permute(A, (1, 0))", "transpose"),
    ("A.swapaxes(0, 1)", "swapaxes(A, 0, 1)", "swapaxes"),
    ("A.swapdims(0, 1)", "torch.transpose(A, 0, 1)", "swapdims"),
    ("A.mT", "np.matrix_transpose(A)", "mT"),
    ("u.kron(v)", "torch.kron(u, v)", "kron"),
]

SPELLING_SHAPES = {"x": R35, "z": R35, "d": R35, "A": R35, "W": R52, "S": (3, 3), "u": V5, "v": V5}


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
    tree, twin = parse(spelling), parse(canonical)
    used = {n.name for n in postorder(tree) if n.op == "var"}
    infer(tree, {k: v for k, v in SPELLING_SHAPES.items() if k in used})
    rng = np.random.default_rng(_seed(spelling))
    values = {name: 0.5 + np.abs(rng.standard_normal(SPELLING_SHAPES[name])) for name in used}
    if "S" in values:  # symmetric positive definite, for det, logdet and inv
        values["S"] = values["S"] @ values["S"].T / 3 + np.eye(3)
    _, got, _ = record(tree, values)
    _, want, _ = record(twin, values)
    np.testing.assert_array_equal(got[id(tree)].value, want[id(twin)].value)


# --------------------------------------------------------------------------- kink conventions


A_AT_KINK = np.array([[0.0, 1.5, -0.5, 0.0, 2.0], [-1.0, 0.0, 0.7, -0.2, 0.0]])
C_WEIGHTS = np.arange(1.0, 11.0).reshape(2, 5)
A_TIES = np.array([[1.0, 3.0, 3.0, 0.0, 3.0], [2.0, 2.0, 0.0, -1.0, 3.0]])  # max: 3 of row 0; min: column 4

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
    ("clamp(A,-0.5,0.7)'=1 at both bounds", "sum(clamp(A, -0.5, 0.7) * C)", {"A": A_AT_KINK}, "A",
     C_WEIGHTS * ((A_AT_KINK >= -0.5) & (A_AT_KINK <= 0.7))),
    ("clamp(A, max=0)'=1 at the bound", "sum(clamp(A, max=0) * C)", {"A": A_AT_KINK}, "A", C_WEIGHTS * (A_AT_KINK <= 0)),
    ("minimum ties split 0.5 (A)", "sum(minimum(A, B) * C)", {"A": A_AT_KINK, "B": np.zeros((2, 5))}, "A",
     C_WEIGHTS * np.where(A_AT_KINK < 0, 1.0, np.where(A_AT_KINK == 0, 0.5, 0.0))),
    ("minimum ties split 0.5 (B)", "sum(minimum(A, B) * C)", {"A": A_AT_KINK, "B": np.zeros((2, 5))}, "B",
     C_WEIGHTS * np.where(A_AT_KINK > 0, 1.0, np.where(A_AT_KINK == 0, 0.5, 0.0))),
    ("leaky_relu'(0)=negative_slope", "sum(leaky_relu(A, 0.25) * C)", {"A": A_AT_KINK}, "A",
     C_WEIGHTS * np.where(A_AT_KINK > 0, 1.0, 0.25)),
    ("where(A > 0, A, B): a tie goes to B (A)", "sum(where(A > 0, A, B) * C)", {"A": A_AT_KINK, "B": np.ones((2, 5))},
     "A", C_WEIGHTS * (A_AT_KINK > 0)),
    ("where(A > 0, A, B): a tie goes to B (B)", "sum(where(A > 0, A, B) * C)", {"A": A_AT_KINK, "B": np.ones((2, 5))},
     "B", C_WEIGHTS * (A_AT_KINK <= 0)),
    ("(A >= B)'=0 at ties", "sum((A >= B) * C)", {"A": A_AT_KINK, "B": np.zeros((2, 5))}, "A", np.zeros((2, 5))),
    ("max along rows: ties share evenly", "sum(max(A, axis=1, keepdims=True) * C)", {"A": A_TIES}, "A",
     np.array([[0.0, 5.0, 5.0, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0, 40.0]])),
    ("min down columns: ties share evenly", "sum(min(A, 0, keepdims=True) * C)", {"A": A_TIES}, "A",
     np.array([[7.0, 0.0, 0.0, 0.0, 7.5], [0.0, 9.0, 11.0, 13.0, 7.5]])),
    ("torch.max of all entries: ties share evenly", "torch.max(A) * sum(C)", {"A": A_TIES}, "A",
     np.where(A_TIES == 3.0, 55.0 / 4, 0.0)),
    ("relu'(0)=0 inside a product", "sum(relu(x @ w) * C)",
     {"x": np.array([[1.0, 0.0], [0.0, 0.0]]), "w": np.array([[0.0, 1.0, -1.0, 0.0, 2.0], [3.0, 1.0, 1.0, 1.0, 1.0]])},
     "w", np.array([[1.0, 0.0], [0.0, 0.0]]).T @ (C_WEIGHTS * np.array([[0, 1, 0, 0, 1], [0, 0, 0, 0, 0]]))),
    ("abs'(0)=0", "sum(abs(A) * C)", {"A": A_AT_KINK}, "A", C_WEIGHTS * np.sign(A_AT_KINK)),
    ("abs'(0)=0 inside a product", "sum(abs(x @ w) * C)",
     {"x": np.array([[1.0, 0.0], [0.0, 0.0]]), "w": np.array([[0.0, 1.0, -1.0, 0.0, 2.0], [3.0, 1.0, 1.0, 1.0, 1.0]])},
     "w", np.array([[1.0, 0.0], [0.0, 0.0]]).T @ (C_WEIGHTS * np.array([[0, 1, -1, 0, 1], [0, 0, 0, 0, 0]]))),
    ("abs'(0)=0 of a 1-D vector", "sum(abs(u) * C)", {"u": A_AT_KINK[0]}, "u",
     np.sum(C_WEIGHTS, axis=0) * np.sign(A_AT_KINK[0])),
    ("sign'=0", "sum(sign(A) * C)", {"A": A_AT_KINK}, "A", np.zeros((2, 5))),
    ("sign'=0 of a 1-D vector", "sum(sign(u) * C)", {"u": A_AT_KINK[1]}, "u", np.zeros(5)),
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


def test_abs_and_sign_are_zero_at_zero():
    """abs(0) = sign(0) = 0, as in NumPy and PyTorch."""
    for text, expected in (("abs(A)", np.abs(A_AT_KINK)), ("sign(A)", np.where(A_AT_KINK > 0, 1.0, 0.0)
                                                             - np.where(A_AT_KINK < 0, 1.0, 0.0))):
        tree = parse(text)
        _, tensors, _ = record(tree, {"A": A_AT_KINK})
        np.testing.assert_array_equal(tensors[id(tree)].value, expected, err_msg=text)


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
    result = run_eval("sum((relu(X@W)-Y)**2)", EvalOptions(wrt=wrt))
    assert result.verdict == "equal"
    assert [g.verdict for g in result.gradients] == ["equal"] * len(wrt or "XWY")


def test_acceptance_headline_formula_and_default_shapes():
    """The W gradient prints exactly as in the issue, with distinct default sizes."""
    result = run_eval("sum((relu(X@W)-Y)**2)", EvalOptions(wrt=["W"]))
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
    result = run_eval("x.t().mm(W).mm(y)", EvalOptions(shapes={"x": (4, 1), "W": (4, 4), "y": (4, 1)}))
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


# --------------------------------------------------------------------------- acceptance: the new operators

NOT_IN_A_FORMULA = ("DiagMatrix", "ArrayContraction", "PermuteDims", "Lambda", "unit", "OneMatrix")

ISSUE_EXPRESSIONS = [  # (expression, --shape options): each must give the verdict "equal" (exit code 0)
    ("logdet(X)", {}),
    ("det(X)", {}),
    ("trace(inv(X)@A)", {}),
    ("x@A@x", {}),
    ("norm(A@x - b)", {}),
    ("norm(A@x - b)", {"x": (3,), "b": (4,)}),
    ("logsumexp(A@x)", {}),
    ("logsumexp(A@x)", {"x": (3,)}),
    ("sum(sigmoid(A@x))", {}),
    ("sum(softplus(X@W))", {}),
    ("a*sum(X)", {"a": ()}),
    ("sum(X + b)", {"b": (1, 3)}),
    ("sum(X + b)", {"b": (3,)}),
]


@functools.lru_cache(maxsize=None)
def _issue_result(expression: str, shapes: tuple[tuple[str, tuple[int, ...]], ...] = ()):
    """run_eval of one issue expression (cached: several tests read the same result)."""
    return run_eval(expression, EvalOptions(shapes=dict(shapes)))


def issue_result(expression: str, shapes: dict[str, tuple[int, ...]] | None = None):
    return _issue_result(expression, tuple(sorted((shapes or {}).items())))


def assert_formulas_are_clean(texts: dict[str, str]) -> None:
    """No SymPy internals and no placeholder sizes leak into a printed formula."""
    for where, text in texts.items():
        for word in NOT_IN_A_FORMULA:
            assert word not in text, (where, word, text)


@pytest.mark.parametrize("expression,shapes", ISSUE_EXPRESSIONS,
                         ids=[e + "".join(f",{k}={v}" for k, v in s.items()) for e, s in ISSUE_EXPRESSIONS])
def test_issue_expression_is_equal_and_prints_clean_formulas(expression, shapes):
    """Verdict equal for every variable, and every formula (syntax, pretty, LaTeX) is clean."""
    result = issue_result(expression, shapes)
    assert result.verdict == "equal"
    assert [g.verdict for g in result.gradients] == ["equal"] * len(result.gradients)
    for g in result.gradients:
        assert g.shape == next(v.shape for v in result.variables if v.name == g.name)
        assert_formulas_are_clean({f"{g.name} syntax": g.formula, f"{g.name} pretty": g.pretty,
                                   f"{g.name} latex": g.latex})


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_case_formulas_are_clean(case):
    """The same for the closed form of every oracle case."""
    for name, formula in symbolic_formulas(case.text, case.shapes).items():
        assert_formulas_are_clean({f"{name} syntax": printing.syntax(formula),
                                   f"{name} pretty": printing.pretty(formula),
                                   f"{name} latex": printing.latex(formula)})


def test_acceptance_logdet():
    """d/dX logdet(X) = inv(X).T, printed exactly so."""
    result = issue_result("logdet(X)")
    x = _values(result)["X"]
    assert result.gradients[0].formula == "inv(X).T"
    np.testing.assert_allclose(_gradient(result, "X"), np.linalg.inv(x).T, rtol=1e-10, atol=1e-12)


def test_acceptance_det():
    """d/dX det(X) = det(X) inv(X).T, printed exactly so."""
    result = issue_result("det(X)")
    x = _values(result)["X"]
    assert result.gradients[0].formula == "det(X)*inv(X).T"
    np.testing.assert_allclose(_gradient(result, "X"), np.linalg.det(x) * np.linalg.inv(x).T, rtol=1e-10, atol=1e-12)


def test_acceptance_trace_of_inverse_product():
    """trace(inv(X)@A): d/dX = -inv(X).T A.T inv(X).T, d/dA = inv(X).T."""
    result = issue_result("trace(inv(X)@A)")
    v = _values(result)
    xi = np.linalg.inv(v["X"])
    np.testing.assert_allclose(_gradient(result, "X"), -xi.T @ v["A"].T @ xi.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_gradient(result, "A"), xi.T, rtol=1e-10, atol=1e-12)


def test_acceptance_quadratic_form_infers_a_vector():
    """x@A@x: x is inferred 1-D, A square; d/dx = (A + A.T) x, d/dA = x x^T."""
    result = issue_result("x@A@x")
    shapes = {v.name: v.shape for v in result.variables}
    (n,) = shapes["x"]
    assert shapes["A"] == (n, n)
    v = _values(result)
    formula = next(g.formula for g in result.gradients if g.name == "x")
    assert formula in {"A.T@x + A@x", "A@x + A.T@x", "(A + A.T)@x", "(A.T + A)@x"}, formula
    np.testing.assert_allclose(_gradient(result, "x"), (v["A"] + v["A"].T) @ v["x"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_gradient(result, "A"), np.outer(v["x"], v["x"]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shapes", [{}, {"x": (3,), "b": (4,)}], ids=["matrices", "vectors"])
def test_acceptance_norm_of_residual(shapes):
    """norm(A@x - b): with r = A x - b, the gradients are r x^T/|r|, A^T r/|r| and -r/|r|."""
    result = issue_result("norm(A@x - b)", shapes)
    v = _values(result)
    r = v["A"] @ v["x"] - v["b"]
    norm = np.sqrt(np.sum(r * r))
    x_as_matrix = v["x"].reshape(len(v["x"]), -1)
    np.testing.assert_allclose(_gradient(result, "A"), r.reshape(len(r), -1) @ x_as_matrix.T / norm, rtol=1e-10)
    np.testing.assert_allclose(_gradient(result, "x"), v["A"].T @ r / norm, rtol=1e-10)
    np.testing.assert_allclose(_gradient(result, "b"), -r / norm, rtol=1e-10)


@pytest.mark.parametrize("shapes", [{}, {"x": (3,)}], ids=["matrix", "vector"])
def test_acceptance_logsumexp_gives_softmax(shapes):
    """logsumexp(A@x): d/dx = A^T softmax(A x), and the formula says softmax."""
    result = issue_result("logsumexp(A@x)", shapes)
    v = _values(result)
    z = v["A"] @ v["x"]
    softmax = np.exp(z - z.max()) / np.sum(np.exp(z - z.max()))
    assert "softmax" in next(g.formula for g in result.gradients if g.name == "x")
    np.testing.assert_allclose(_gradient(result, "x"), v["A"].T @ softmax, rtol=1e-10)


def test_acceptance_sigmoid_and_softplus_match_autograd():
    """sum(sigmoid(A@x)) and sum(softplus(X@W)) agree with HIPS autograd."""
    result = issue_result("sum(sigmoid(A@x))")
    v = _values(result)
    ref = grad(lambda A, x: anp.sum(_sigmoid(anp.dot(A, x))), argnum=(0, 1))(v["A"], v["x"])
    np.testing.assert_allclose(_gradient(result, "A"), ref[0], rtol=1e-10)
    np.testing.assert_allclose(_gradient(result, "x"), ref[1], rtol=1e-10)
    result = issue_result("sum(softplus(X@W))")
    v = _values(result)
    ref = grad(lambda X, W: anp.sum(_softplus(anp.dot(X, W))), argnum=(0, 1))(v["X"], v["W"])
    np.testing.assert_allclose(_gradient(result, "X"), ref[0], rtol=1e-10)
    np.testing.assert_allclose(_gradient(result, "W"), ref[1], rtol=1e-10)


def test_acceptance_scalar_variable_times_sum():
    """a*sum(X) with a scalar a: d/da = sum(X) (a scalar), d/dX = a everywhere."""
    result = issue_result("a*sum(X)", {"a": ()})
    v = _values(result)
    assert _gradient(result, "a").shape == ()
    np.testing.assert_allclose(_gradient(result, "a"), np.sum(v["X"]), rtol=1e-12)
    np.testing.assert_allclose(_gradient(result, "X"), np.full(v["X"].shape, float(v["a"])), rtol=1e-12)


@pytest.mark.parametrize("b_shape", [(1, 3), (3,)], ids=["row", "1-D"])
def test_acceptance_broadcast_row_gets_its_gradient_summed(b_shape):
    """sum(X + b) with a (1, 3) or 1-D b: d/db = (rows of X) in b's own shape, d/dX = ones."""
    result = issue_result("sum(X + b)", {"b": b_shape})
    rows = {v.name: v.shape for v in result.variables}["X"][0]
    np.testing.assert_array_equal(_gradient(result, "b"), np.full(b_shape, float(rows)))
    np.testing.assert_array_equal(_gradient(result, "X"), np.ones_like(_values(result)["X"]))


def test_detach_gradient_is_only_the_attached_part():
    """x**2 + detach(x**3): the gradient is exactly 2x in both engines, and gradcalc's finite
    differences (which hold the detached part constant) agree."""
    x = np.array([0.5, -1.5, 2.0, 3.0])
    text = "sum(x**2 + detach(x**3))"
    np.testing.assert_allclose(tape_gradients(text, {"x": x})[1]["x"], 2 * x, rtol=1e-15)
    np.testing.assert_allclose(symbolic_gradients(text, {"x": x.shape}, {"x": x})["x"], 2 * x, rtol=1e-15)
    result = run_eval("x**2 + detach(x**3)", EvalOptions(shapes={"x": ()}))
    assert result.verdict == "equal"
    assert result.gradients[0].formula == "2*x"
