"""Non-scalar expressions: the vector-Jacobian product (`--vjp`) and the whole Jacobian (`--jacobian`).

A non-scalar y has no gradient. `run_vjp` weights it, as PyTorch's
`y.backward(v)` does: it runs `eval` on the scalar f = sum(v*(y)), whose
gradient ∂f/∂x is vᵀJ, so the product comes with everything `eval` shows
(tape, closed form, finite differences, verdict). The weight is a given
variable named `v` (or `v_1`, `v_2`, ... if the expression uses `v`).

`run_jacobian` computes J[i, j] = ∂y_i/∂x_j three ways: one tape backward
per output entry with a one-hot seed; the closed-form VJP derived once with
a symbolic weight v and evaluated at each one-hot v; and central
differences of the whole output per input entry (the step rule of
`gradcalc.check`). It refuses more than `JACOBIAN_LIMIT` entries per variable.

>>> r = run_jacobian("x*x", values={"x": Value(np.array([1.0, 2.0]), "inline")})
>>> r.jacobians[0].autograd, r.jacobians[0].rows, r.verdict
(array([[2., 0.],
       [0., 4.]]), ['y[0]', 'y[1]'], 'equal')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from itertools import chain, count

import numpy as np

from gradcalc.referee import FiniteDifference, _Probe
from gradcalc.errors import GradcalcError, InputError
from gradcalc.lang.ops import OPS
from gradcalc.jobs.evaluate import (
    Derivation,
    EvalResult,
    _domain_notes,
    _prepare,
    derive,
    run_eval,
)
from gradcalc.lang.infer import ShapeInfo
from gradcalc.lang.dims import format_shape
from gradcalc.lang.tree import Node, variable_names
from gradcalc.values.draw import Value
from gradcalc.jobs.results import Jacobian, JacobianResult, Variable, VjpResult

#: The most entries (output size × input size) `--jacobian` computes for one variable.
JACOBIAN_LIMIT = 4096


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


def load_weights(text: str) -> tuple[str | None, Value]:
    """`--vjp SOURCE` (any `--value` source) or `--vjp NAME=SOURCE`, which names the weights in the formulas.

    >>> load_weights("[[1, 0.1]]")[1].value, load_weights("g=[1, 2]")[0]
    (array([[1. , 0.1]]), 'g')
    >>> load_weights("[1, true]")
    Traceback (most recent call last):
    gradcalc.errors.InputError: --vjp [1, true]: inline JSON: [1] is true (column 5); expected a number
    """
    from gradcalc.values.sources import load

    match = re.match(r"\s*([A-Za-z_]\w*)\s*=(.*)$", text, re.DOTALL)
    name, source = (match.group(1), match.group(2).strip()) if match else (None, text.strip())
    try:
        return name, load(name or "v", source)
    except InputError as err:
        detail = err.message.removeprefix(f"--value {name or 'v'}={source}: ")
        raise InputError(f"--vjp {text}: {detail}") from None


def run_vjp(expression: str, weights: Value, wrt: list[str] | None = None,
            shapes: dict[str, tuple[int, ...]] | None = None, seed: int = 0, rtol: float | None = None,
            atol: float | None = None, values: dict[str, Value] | None = None, rng: str = "numpy",
            dtype: str = "float64", steps: bool = False, name: str | None = None) -> VjpResult:
    """The vector-Jacobian product vᵀJ with given weights v shaped like the output (`--vjp`).

    Shapes are inferred without the scalar requirement; where that does not
    give v's shape, they are inferred again with the output tied to v's shape
    (`2*x` with a 1-D v makes x 1-D). v must have the output's shape, except
    that a row or column of the right size also serves a 1-D output (CSV and
    TXT tables are always matrices) and one number serves a 1x1 output. A
    scalar expression works too, with a scalar v: vᵀJ is v times the gradient.
    `name` names the weights (default `v`); `steps` is eval's `--steps`.

    >>> r = run_vjp("X@W", Value(np.ones((2, 2)), "inline"), wrt=["W"], shapes={"X": (2, 3)})
    >>> r.result.gradients[0].formula, r.result.verdict, r.result.variables[1].shape
    ('X.T@v', 'equal', (3, 2))
    >>> run_vjp("X@W", Value(np.ones(3), "inline"), shapes={"X": (2, 3), "W": (3, 2)})
    Traceback (most recent call last):
    gradcalc.errors.InputError: --vjp inline: the weights v are 3 but the expression is 2x2; v must have the shape of the output (as y.backward(v) needs)
    """
    given = dict(values or {})
    tree, info, wrt = _prepare(expression, wrt, shapes, given, scalar=False)
    name = _weight_name(name, variable_names(tree))
    fixed = {**(shapes or {}), **{n: x.value.shape for n, x in given.items()}}
    info = _tie_shapes(expression, tree, info, name, weights.value.shape, fixed)
    v = _fit(weights, info.of(tree), bool(info.defaulted))
    result = run_eval(weighted(expression, name), wrt=wrt, shapes=info.variables, seed=seed, rtol=rtol, atol=atol,
                      values={**given, name: Value(v, f"--vjp {weights.source}")}, rng=rng, dtype=dtype,
                      steps=steps)
    ordered = [*(x for x in result.variables if x.name != name), *(x for x in result.variables if x.name == name)]
    for x in ordered:
        x.default_shape = x.name in info.defaulted
    note = (f"{name} is the --vjp weights ({weights.source}): each ∂f/∂x = {name}ᵀJ is x.grad after "
            f"y.backward({name}) in PyTorch")
    result = replace(result, variables=ordered, notes=[note, *info.notes, *result.notes])
    return VjpResult(expression, name, v, weights.source, _output(tree, result.variables, dtype), result)


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
    from gradcalc.lang.parse import parse
    from gradcalc.lang.infer import infer

    if _fits(shape, info.of(tree)):
        return info
    tie = _TIES[len(shape)].format(v=weight, y=expression.strip())
    try:
        tied = infer(parse(tie), {**fixed, weight: shape}, tie, scalar=True)
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
    from gradcalc.tape import record

    with np.errstate(all="ignore"):
        _, tensors, _ = record(tree, {x.name: x.value for x in variables}, dtype=dtype)
    return tensors[id(tree)].value


def run_jacobian(expression: str, wrt: list[str] | None = None, shapes: dict[str, tuple[int, ...]] | None = None,
                 seed: int = 0, rtol: float | None = None, atol: float | None = None,
                 values: dict[str, Value] | None = None, rng: str = "numpy", dtype: str = "float64",
                 limit: int = JACOBIAN_LIMIT) -> JacobianResult:
    """The Jacobian of the expression for each `--wrt` variable: tape, closed form, finite differences.

    >>> r = run_jacobian("exp(A@x)", shapes={"A": (2, 3), "x": (3,)}, wrt=["x"])
    >>> r.jacobians[0].formula, r.jacobians[0].autograd.shape, r.verdict
    ('A.T@(v*exp(A@x))', (2, 3), 'equal')
    >>> run_jacobian("X@W", shapes={"X": (40, 30), "W": (30, 50)}, wrt=["W"])
    Traceback (most recent call last):
    gradcalc.errors.InputError: --jacobian: the output is 40x50 (2000 entries) and W is 30x50 (1500 entries), so its Jacobian would have 3000000 entries, more than the limit of 4096; use --vjp SOURCE for a weighted combination of its rows (vᵀJ), or smaller --shape
    """
    from gradcalc import referee as check
    from gradcalc.values.draw import draw

    if dtype not in check.DEFAULT_TOLERANCES:
        raise InputError(f"--dtype {dtype}: not supported; use float64 or float32")
    given = dict(values or {})
    tree, info, wrt = _prepare(expression, wrt, shapes, given, scalar=False)
    out, names = info.of(tree), variable_names(tree)
    _check_size(out, info.variables, wrt, limit)
    drawn = {**draw(tree, info.variables, seed, rng, skip=given), **given}
    with np.errstate(over="ignore"):  # 1e300 in float32 is inf, and the verdict says undefined
        arrays = {name: np.asarray(drawn[name].value, dtype=dtype) for name in names}
    weight, derived = _derive_vjps(expression, info, out, wrt)
    rtol = check.DEFAULT_TOLERANCES[dtype][0] if rtol is None else rtol
    rows = labels(free_name("y", names), out)
    jacobians = []
    with np.errstate(all="ignore"):  # NaN and inf are reported by the verdict, not as warnings
        numeric, y = _numeric(tree, arrays, wrt, dtype)
        for name in wrt:
            symbolic = _symbolic(derived[name].formula, arrays, weight, out, arrays[name].shape, dtype)
            fd = finite_jacobian(tree, arrays, name)
            jacobians.append(_judge(name, numeric[name], symbolic, fd, derived[name], rows,
                                    labels(name, arrays[name].shape), rtol, atol, dtype))
    variables = [Variable(name, info.variables[name], arrays[name], drawn[name].source, name in info.defaulted)
                 for name in names]
    return JacobianResult(expression, weight, variables, y, jacobians, check.worst([j.verdict for j in jacobians]),
                          rtol, atol, notes=info.notes + _domain_notes(tree, given, rng), dtype=dtype)


def _derive_vjps(expression: str, info: ShapeInfo, out: tuple[int, ...],
                 wrt: list[str]) -> tuple[str, dict[str, Derivation]]:
    """The closed-form VJP per variable, with a symbolic weight shaped like the output: its name and formulas."""
    from gradcalc.lang.parse import parse
    from gradcalc.lang.infer import infer

    weight = free_name("v", list(info.variables))
    text = weighted(expression, weight)
    tree = parse(text)
    return weight, derive(text, tree, infer(tree, {**info.variables, weight: out}, text, scalar=True), wrt)


def _check_size(out: tuple[int, ...], shapes: dict[str, tuple[int, ...]], wrt: list[str], limit: int) -> None:
    for name in wrt:
        m, n = math.prod(out), math.prod(shapes[name])
        if m * n > limit:
            raise InputError(
                f"--jacobian: the output is {format_shape(out)} ({m} entries) and {name} is "
                f"{format_shape(shapes[name])} ({n} entries), so its Jacobian would have {m * n} entries, more than "
                f"the limit of {limit}; use --vjp SOURCE for a weighted combination of its rows (vᵀJ), or smaller --shape")


def _numeric(tree: Node, values: dict[str, np.ndarray], wrt: list[str],
             dtype: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The tape's Jacobians: one backward per output entry, seeded with that entry's one-hot."""
    from gradcalc.tape import record

    tape, tensors, leaves = record(tree, values, set(wrt), dtype)
    root = tensors[id(tree)]
    rows: dict[str, list[np.ndarray]] = {name: [] for name in wrt}
    for i in range(root.value.size):
        grads = tape.backward(root, seed=_one_hot(root.value.shape, i, dtype))
        for name in wrt:
            g = grads[leaves[name].index]
            rows[name].append(np.zeros(values[name].size, dtype) if g is None else g.ravel())
    return {name: np.array(r, dtype=dtype).reshape(root.value.size, -1) for name, r in rows.items()}, root.value


def _one_hot(shape: tuple[int, ...], i: int, dtype: str) -> np.ndarray:
    e = np.zeros(math.prod(shape), dtype=dtype)
    e[i] = 1
    return e.reshape(shape)


def _symbolic(formula: object, values: dict[str, np.ndarray], weight: str, out: tuple[int, ...],
              shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """The closed-form VJP at each one-hot weight: the Jacobian's rows."""
    from gradcalc.symbolic import adjoints as symbolic
    from gradcalc.symbolic import numeric

    rows = []
    for i in range(math.prod(out)):
        row = numeric.evaluate(formula, {**values, weight: _one_hot(out, i, dtype)}, dtype)
        rows.append(row.reshape(shape) if row.size == math.prod(shape) else np.broadcast_to(row, shape))
    return np.array(rows, dtype=dtype).reshape(len(rows), -1)


class _OutputProbe(_Probe):
    """`check`'s probe (re-evaluates only the nodes that move; reads their kinks), giving the whole output."""

    def output(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        values = dict(self.base)
        values.update((key, x) for key in self.leaves)
        for node in self.moving:
            values[id(node)] = OPS[node.op].forward(*(values[id(a)] for a in node.args), **node.kwargs)
        kinks = [np.sign(OPS[n.op].kink(*(values[id(a)] for a in n.args), **n.kwargs)) for n in self.kinks]
        return np.asarray(values[id(self.root)], dtype=np.float64), kinks


def finite_jacobian(tree: Node, values: dict[str, np.ndarray], name: str) -> FiniteDifference:
    """Central differences of the whole output, one input entry at a time, in float64 (the step rule of `check`).

    The Jacobian is the result's `value`; `untrusted` marks every entry of a
    column whose step moves a kink argument across its kink; `f` is the
    output's largest magnitude (for the round-off allowance).

    >>> from gradcalc.lang.parse import parse
    >>> fd = finite_jacobian(parse("x*x"), {"x": np.array([1.0, 2.0])}, "x")
    >>> np.round(fd.value, 6), bool(fd.untrusted.any())
    (array([[2., 0.],
           [0., 4.]]), False)
    """

    values = {key: np.asarray(v, dtype=np.float64) for key, v in values.items()}
    x = values[name]
    step = float(np.cbrt(np.finfo(np.float64).eps) * max(1.0, float(np.max(np.abs(x), initial=0.0))))
    probe = _OutputProbe(tree, values, name)
    y0, kinks0 = probe.output(x)
    J = np.zeros((y0.size, x.size))
    untrusted = np.zeros(x.size, dtype=bool)
    for j, index in enumerate(np.ndindex(*x.shape)):
        sides = []
        for sign in (1.0, -1.0):
            moved = x.copy()
            moved[index] += sign * step
            sides.append(probe.output(moved))
        (y_plus, k_plus), (y_minus, k_minus) = sides
        J[:, j] = (y_plus - y_minus).ravel() / (2 * step)
        untrusted[j] = any(not (np.array_equal(k0, kp) and np.array_equal(k0, km))
                           for k0, kp, km in zip(kinks0, k_plus, k_minus))
    f = float(np.max(np.abs(y0), initial=0.0))
    return FiniteDifference(J, step, np.broadcast_to(untrusted, J.shape).copy(), f)


def _judge(name: str, auto: np.ndarray, sym: np.ndarray, fd: FiniteDifference, derived: Derivation,
           rows: list[str], columns: list[str], rtol: float, atol: float | None, dtype: str) -> Jacobian:
    """Compare the three Jacobians of one variable and give the verdict, as `check` does for a gradient."""
    from gradcalc import referee as check

    abs_diff, rel_diff = check.compare(auto, sym)
    return Jacobian(
        name=name, rows=rows, columns=columns,
        autograd=auto, formula=derived.syntax, pretty=derived.pretty, latex=derived.latex, symbolic=sym,
        finite_difference=fd.value, step=fd.step, untrusted=int(fd.untrusted.sum()),
        max_abs_diff=abs_diff, max_rel_diff=rel_diff, fd_max_abs_diff=check.compare(auto, fd.value)[0],
        verdict=check.verdict(auto, sym, fd, rtol, atol, dtype),
    )
