"""`eval --vjp`: the vector-Jacobian product of a non-scalar expression, as PyTorch's `y.backward(v)`.

A non-scalar y has no gradient. `run_vjp` weights it: it runs `eval` on the
scalar f = sum(v*(y)), whose gradient ∂f/∂x is vᵀJ, so the product comes
with everything `eval` shows (tape, closed form, finite differences,
verdict). The weight is a given variable named `v` (or `v_1`, `v_2`, ... if
the expression uses `v`).

>>> from gradcalc.values.draw import Value
>>> r = run_vjp("2*x", EvalOptions(vjp=Value(np.array([1.0, 0.1]), "inline")))
>>> r.weight, r.result.expression, r.result.gradients[0].formula, r.result.gradients[0].autograd
('v', 'sum(v*(2*x))', '2*v', array([2. , 0.2]))
"""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import chain, count

import numpy as np

from gradcalc.errors import GradcalcError, InputError
from gradcalc.jobs.evaluate import run_eval
from gradcalc.jobs.prepare import infer_shapes
from gradcalc.jobs.results import Variable, VjpResult
from gradcalc.lang.dims import format_shape
from gradcalc.lang.infer import ShapeInfo, infer
from gradcalc.lang.parse import parse
from gradcalc.lang.tree import Node, variable_names
from gradcalc.options import EvalOptions
from gradcalc.tape import record
from gradcalc.values.draw import Value


def run_vjp(expression: str, options: EvalOptions) -> VjpResult:
    """The vector-Jacobian product vᵀJ with the weights v of `options.vjp`, shaped like the output.

    Shapes are inferred without the scalar requirement; where that does not
    give v's shape, they are inferred again with the output tied to v's shape
    (`2*x` with a 1-D v makes x 1-D). v must have the output's shape, except
    that a row or column of the right size also serves a 1-D output (CSV and
    TXT tables are always matrices) and one number serves a 1x1 output. A
    scalar expression works too, with a scalar v: vᵀJ is v times the gradient.
    `options.vjp_name` names the weights (default `v`).

    >>> from gradcalc.values.draw import Value
    >>> r = run_vjp("X@W", EvalOptions(vjp=Value(np.ones((2, 2)), "inline"), wrt=["W"], shapes={"X": (2, 3)}))
    >>> r.result.gradients[0].formula, r.result.verdict, r.result.variables[1].shape
    ('X.T@v', 'equal', (3, 2))
    >>> run_vjp("X@W", EvalOptions(vjp=Value(np.ones(3), "inline"), shapes={"X": (2, 3), "W": (3, 2)}))
    Traceback (most recent call last):
    gradcalc.errors.InputError: --vjp inline: the weights v are 3 but the expression is 2x2; v must have the shape of the output (as y.backward(v) needs)
    """
    weights = options.vjp
    if weights is None:
        raise InputError("--vjp: no weights given; e.g. --vjp \"[[1, 0], [0, 1]]\"")
    tree, info, wrt = infer_shapes(expression, options, scalar=False)
    name = _weight_name(options.vjp_name, variable_names(tree))
    fixed = {**options.shapes, **{n: x.value.shape for n, x in options.values.items()}}
    info = _tie_shapes(expression, tree, info, name, weights.value.shape, fixed)
    v = _fit(weights, info.of(tree), bool(info.defaulted))
    weighted_options = replace(options, wrt=tuple(wrt), shapes=info.variables, vjp=None, vjp_name=None,
                               values={**options.values, name: Value(v, f"--vjp {weights.source}")})
    result = run_eval(weighted(expression, name), weighted_options)
    ordered = [*(x for x in result.variables if x.name != name), *(x for x in result.variables if x.name == name)]
    for x in ordered:
        x.default_shape = x.name in info.defaulted
    note = (f"{name} is the --vjp weights ({weights.source}): each ∂f/∂x = {name}ᵀJ is x.grad after "
            f"y.backward({name}) in PyTorch")
    result = replace(result, variables=ordered, notes=[note, *info.notes, *result.notes])
    return VjpResult(expression, name, v, weights.source, _output(tree, result.variables, options.dtype), result)


def free_name(stem: str, taken: list[str]) -> str:
    """`stem`, or `stem_1`, `stem_2`, ... : the first that is not a variable of the expression.

    >>> free_name("v", ["X", "W"]), free_name("v", ["v", "v_1"])
    ('v', 'v_2')
    """
    return next(n for n in chain([stem], (f"{stem}_{i}" for i in count(1))) if n not in taken)


def weighted(expression: str, weight: str) -> str:
    """The scalar whose gradient is the vector-Jacobian product.

    >>> weighted(" X@W ", "v")
    'sum(v*(X@W))'
    """
    return f"sum({weight}*({expression.strip()}))"


def labels(name: str, shape: tuple[int, ...]) -> list[str]:
    """One label per entry, in row-major order.

    >>> labels("y", (2, 2)), labels("x", (2,)), labels("a", ())
    (['y[0,0]', 'y[0,1]', 'y[1,0]', 'y[1,1]'], ['x[0]', 'x[1]'], ['a'])
    """
    return [f"{name}[{','.join(map(str, index))}]" if shape else name for index in np.ndindex(*shape)]


def _weight_name(name: str | None, taken: list[str]) -> str:
    if name is None:
        return free_name("v", taken)
    if name in taken:
        raise InputError(f"--vjp {name}=...: {name} is a variable of the expression; give the weights another "
                         "name, or SOURCE alone (they are then called v)")
    return name


#: Expressions that are scalar only when y has v's shape (`*` alone would broadcast).
_TIES = {0: "{v}*({y})", 1: "dot({v}, {y})", 2: "trace({v}.T@({y}))"}


def _tie_shapes(expression: str, tree: Node, info: ShapeInfo, weight: str, shape: tuple[int, ...],
                fixed: dict[str, tuple[int, ...]]) -> ShapeInfo:
    """The shapes inferred again with the output tied to v's shape, if the first inference does not fit v."""
    if _fits(shape, info.of(tree)):
        return info
    tie = _TIES[len(shape)].format(v=weight, y=expression.strip())
    try:
        tied = infer(parse(tie, printed=True), {**fixed, weight: shape}, tie, scalar=True)
        refit = infer(tree, {n: s for n, s in tied.variables.items() if n != weight}, expression)
    except GradcalcError:
        return info
    if not _fits(shape, refit.of(tree)):
        return info
    refit.defaulted = [n for n in tied.defaulted if n != weight]
    refit.notes = [f"shapes inferred to give the expression the --vjp weights' shape ({format_shape(shape)})"]
    return refit


def _fits(shape: tuple[int, ...], out: tuple[int, ...]) -> bool:
    """v's shape serves the output: equal, or both a row, column or single entry of the same size."""
    vector_like = lambda s: sum(n != 1 for n in s) <= 1
    return shape == out or (math.prod(shape) == math.prod(out) and vector_like(shape) and vector_like(out))


def _fit(weights: Value, out: tuple[int, ...], defaulted: bool) -> np.ndarray:
    """v in the output's shape, or an error naming both shapes."""
    v = weights.value
    if _fits(v.shape, out):
        return v.reshape(out)
    hint = "; or fix the sizes with --shape" if defaulted else ""
    raise InputError(f"--vjp {weights.source}: the weights v are {format_shape(v.shape)} but the expression is "
                     f"{format_shape(out)}; v must have the shape of the output (as y.backward(v) needs){hint}")


def _output(tree: Node, variables: list[Variable], dtype: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        _, tensors, _ = record(tree, {x.name: x.value for x in variables}, dtype=dtype)
    return tensors[id(tree)].value
