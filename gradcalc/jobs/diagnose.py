"""What is wrong with a hand-derived gradient: the likely mistake in words, and the corrected formula.

Tried in order, each on the numbers (the user's formula and the engine's
gradient at the same values): a transposed result, a missing sum over a
broadcast axis, the sign, a constant factor, a difference only at kinks, a
missing mask of a piecewise op (relu, abs, maximum, clamp: the formula agrees
once multiplied by the op's derivative somewhere inside), a transposed
operand. The corrected formula is the user's own text with one edit, checked
by evaluating it. "The difference has no simple form" is the honest fallback.

>>> from gradcalc.lang.parse import parse
>>> from gradcalc.referee import finite_difference
>>> v = {"W": np.array([[1.0, -2.0]]), "A": np.array([[3.0, 4.0]])}
>>> tree = parse("sum(relu(W)*A)")
>>> ctx = {"values": v, "tree": tree, "expression": "sum(relu(W)*A)", "rtol": 1e-7, "atol": None, "dtype": "float64"}
>>> diagnose("A", parse("A"), v["A"], np.array([[3.0, 0.0]]), finite_difference(tree, v, "W"), ctx)
('a missing mask: the derivative of relu(W) with respect to W, heaviside(W), is missing', '(A)*heaviside(W)')
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterator

import numpy as np

import sympy as sp

from gradcalc.errors import GradcalcError
from gradcalc.jobs.formula import evaluate_formula
from gradcalc.lang.ops import OPS
from gradcalc.lang.parse import parse
from gradcalc.lang.tree import Node, postorder
from gradcalc.referee import FiniteDifference
from gradcalc.symbolic import vocabulary as s
from gradcalc.symbolic.printing import syntax

FALLBACK = "the difference has no simple form"
def diagnose(text: str, tree: Node, value: np.ndarray | None, truth: np.ndarray, fd: FiniteDifference,
             context: dict[str, Any]) -> tuple[str, str]:
    """(the likely mistake in words, the corrected formula or "") for a formula that does not hold.

    See the module docstring for the order of the checks.
    """
    close = _closeness(truth, context)
    if value is None:  # the formula's own shapes do not fit: one edit may fix them
        return _edited(text, tree, truth, close, context)
    if value.shape != truth.shape:
        return _shape_mistake(text, value, truth, fd, context)
    if np.ndim(truth) == 2 and truth.shape[0] == truth.shape[1] > 1 and close(value.T):
        return "a transposed result: your formula is the transpose of the gradient", f"({text}).T"
    factor = _factor(value, truth, close)
    if factor is not None and factor[1] == "-{}":
        return factor[0], text[1:] if text.startswith("-") else f"-({text})"
    if factor is not None:
        return factor[0], factor[1].format(text)
    wrong = ~agrees(value, truth, context)
    if wrong.any() and fd.untrusted[wrong].all():
        return ("it differs only at kinks (entries where an op's argument is within a finite-difference step of "
                "its kink), where the derivative is a convention"), ""
    return _edited(text, tree, truth, close, context)


def _edited(text: str, tree: Node, truth: np.ndarray, close: Any, context: dict[str, Any]) -> tuple[str, str]:
    """The first single edit of the user's text that makes it the gradient, or the fallback."""
    for words, corrected in _edits(text, tree, context):
        try:
            _, fixed = evaluate_formula(corrected, context["values"], "--expect")
        except GradcalcError:
            continue
        if fixed.shape == truth.shape and close(fixed):
            return words, corrected
    return FALLBACK, ""


def _shape_mistake(text: str, value: np.ndarray, truth: np.ndarray, fd: FiniteDifference,
                   context: dict[str, Any]) -> tuple[str, str]:
    close = _closeness(truth, context)
    want = "x".join(map(str, truth.shape)) or "a scalar"
    have = "x".join(map(str, value.shape)) or "a scalar"
    if value.ndim == 2 and value.T.shape == truth.shape:
        words = f"a transposed result: your formula is {have}, the transpose of the gradient ({want})"
        if close(value.T):
            return words, f"({text}).T"
        flipped = f"({text}).T"
        more, corrected = diagnose(flipped, parse(flipped), value.T, truth, fd, context)
        if corrected:
            return f"{words}; and then {more}", corrected
    summed = _sum_to(value, truth.shape)
    if summed is not None and close(summed[0]):
        return (f"a missing sum over the broadcast axis: your formula is {have}, the gradient has the variable's "
                f"shape {want}"), summed[1].format(text)
    return f"the wrong shape: your formula is {have}, the gradient is {want}", ""


def _sum_to(value: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, str] | None:
    """`value` summed down to `shape` as broadcasting would have stretched it, and that sum as text."""
    if shape == ():
        return np.sum(value), "sum({})"
    if value.ndim == 2 and shape == (value.shape[1],):
        return value.sum(axis=0), "sum({}, axis=0)"
    if value.ndim == 2 and shape == (1, value.shape[1]):
        return value.sum(axis=0, keepdims=True), "ones(1, %d)@({})" % value.shape[0]
    if value.ndim == 2 and shape == (value.shape[0], 1):
        return value.sum(axis=1, keepdims=True), "({})@ones(%d, 1)" % value.shape[1]
    return None


def _factor(value: np.ndarray, truth: np.ndarray, close: Any) -> tuple[str, str] | None:
    """The sign or a constant factor between the formula and the gradient, when that is all that is wrong."""
    big = np.abs(truth) > 1e-8 * max(1.0, float(np.max(np.abs(truth), initial=0.0)))
    if not big.any() or not np.all(np.isfinite(value)):
        return None
    ratios = value[big] / truth[big]
    c = float(np.median(ratios))
    if c == 0 or not close(value / c):
        return None
    if abs(c + 1) < 1e-9:
        return "the sign: your formula is the negative of the gradient", "-{}"
    k = _nice(1 / c)
    sign = "the sign and " if c < 0 else ""
    return (f"{sign}off by a constant factor: the gradient is {k} times your formula",
            f"{k}*({{}})" if not k.startswith("-") else f"({k})*({{}})")


def _nice(x: float) -> str:
    """A factor as a short number: 2, 1/2, -3, 0.318..."""
    f = Fraction(x).limit_denominator(1000)
    if abs(float(f) - x) <= 1e-9 * max(1.0, abs(x)):
        return str(f)
    return f"{x:.6g}"


def _edits(text: str, tree: Node, context: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Single edits of the user's text: a piecewise op's mask multiplied in, or an operand transposed."""
    source, expression = context["expression"], context["tree"]
    parts = [n for n in postorder(tree) if n.span[1] > n.span[0]]
    for node in postorder(expression):
        for mask, call, operand in _masks(node, source):
            words = f"a missing mask: the derivative of {call} with respect to {operand}, {mask}, is missing"
            for part in sorted(parts, key=lambda n: n.span[0] - n.span[1]):  # the whole formula first
                start, end = part.span
                yield words, f"{text[:start]}({text[start:end]})*{mask}{text[end:]}"
    for part in parts:
        start, end = part.span
        if part.op == "transpose":
            inner = part.args[0].span
            yield (f"a transposed operand: {text[start:end]} should not be transposed",
                   f"{text[:start]}{text[inner[0]:inner[1]]}{text[end:]}")
    for part in parts:
        start, end = part.span
        if part.op == "var":
            yield (f"a transposed operand: {text[start:end]} should be transposed ({text[start:end]}.T)",
                   f"{text[:start]}{text[start:end]}.T{text[end:]}")


def _masks(node: Node, source: str) -> Iterator[tuple[str, str, str]]:
    """(derivative as text, the call, the operand) of a piecewise op (one with a kink), from its own rule."""
    op = OPS.get(node.op)
    if op is None or op.kink is None or not node.args or op.sym_vjp == ():
        return
    texts = [a.label or source[a.span[0]:a.span[1]] for a in node.args]  # a named intermediate by its name
    inputs = [sp.Number(a.value) if a.op == "const" else sp.MatrixSymbol(f"ARG{i}GRADCALC", 2, 3)
              for i, a in enumerate(node.args)]
    ans = op.sym(s, *inputs, **node.kwargs)
    g = sp.OneMatrix(2, 3)
    for i, rule in enumerate(op.sym_vjp):
        if node.args[i].op == "const":
            continue
        mask = syntax(rule(s, g, ans, *inputs, **node.kwargs))
        for j, t in enumerate(texts):
            mask = mask.replace(f"(ARG{j}GRADCALC)", f"({t})").replace(f"ARG{j}GRADCALC", t if t.isidentifier()
                                                                          else f"({t})")
        yield mask, source[node.span[0]:node.span[1]], texts[i]


def _closeness(truth: np.ndarray, context: dict[str, Any]) -> Any:
    """A test `close(x)`: x equals the gradient within the command's tolerances."""
    return lambda x: x.shape == truth.shape and bool(np.all(agrees(x, truth, context)))


def agrees(value: np.ndarray, truth: np.ndarray, context: dict[str, Any]) -> np.ndarray:
    """Entry by entry: the user's number equals the gradient's within the command's tolerances.

    >>> agrees(np.array([1.0, 2.0]), np.array([1.0, 2.5]), {"atol": None, "rtol": 1e-7}).tolist()
    [True, False]
    """
    scale = max(1.0, float(np.max(np.abs(truth), initial=0.0)))
    atol = context["atol"] if context["atol"] is not None else 1e-9 * scale
    with np.errstate(invalid="ignore"):
        return np.abs(value - truth) <= atol + 10 * context["rtol"] * np.abs(truth)
