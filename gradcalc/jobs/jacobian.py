"""`eval --jacobian`: the whole Jacobian J[i, j] = ∂y_i/∂x_j of a small non-scalar expression.

J is computed three ways: one tape backward per output entry with a one-hot
seed; the closed-form VJP derived once with a symbolic weight v and
evaluated at each one-hot v; and central differences of the whole output
per input entry (the referee's step rule). More than
`options.jacobian_limit` entries per variable are refused.

>>> from gradcalc.values.draw import Value
>>> r = run_jacobian("x*x", EvalOptions(values={"x": Value(np.array([1.0, 2.0]), "inline")}))
>>> r.jacobians[0].autograd, r.jacobians[0].rows, r.verdict
(array([[2., 0.],
       [0., 4.]]), ['y[0]', 'y[1]'], 'equal')
"""

from __future__ import annotations

import math

import numpy as np

from gradcalc.errors import InputError
from gradcalc.jobs.prepare import prepare
from gradcalc.jobs.results import Jacobian, JacobianResult
from gradcalc.jobs.vjp import free_name, labels, weighted
from gradcalc.lang.dims import format_shape
from gradcalc.lang.infer import ShapeInfo, infer
from gradcalc.lang.parse import parse
from gradcalc.lang.tree import Node
from gradcalc.options import EvalOptions
from gradcalc.referee import finite_difference, judge, worst
from gradcalc.symbolic import numeric
from gradcalc.symbolic.closed_form import Derivation, derive
from gradcalc.tape import record


def run_jacobian(expression: str, options: EvalOptions = EvalOptions(jacobian=True)) -> JacobianResult:
    """The Jacobian of the expression for each `--wrt` variable: tape, closed form, finite differences.

    >>> r = run_jacobian("exp(A@x)", EvalOptions(shapes={"A": (2, 3), "x": (3,)}, wrt=["x"]))
    >>> r.jacobians[0].formula, r.jacobians[0].autograd.shape, r.verdict
    ('A.T@(v*exp(A@x))', (2, 3), 'equal')
    >>> run_jacobian("X@W", EvalOptions(shapes={"X": (40, 30), "W": (30, 50)}, wrt=["W"]))
    Traceback (most recent call last):
    gradcalc.errors.InputError: --jacobian: the output is 40x50 (2000 entries) and W is 30x50 (1500 entries), so its Jacobian would have 3000000 entries, more than the limit of 4096; use --vjp SOURCE for a weighted combination of its rows (vᵀJ), or smaller --shape
    """
    p = prepare(expression, options, scalar=False)
    out = p.info.of(p.tree)
    _check_size(out, p.info.variables, p.wrt, options.jacobian_limit)
    weight, derived = _derive_vjps(expression, p.info, out, p.wrt)
    rows = labels(free_name("y", list(p.info.variables)), out)
    jacobians = []
    with np.errstate(all="ignore"):  # NaN and inf are reported by the verdict, not as warnings
        engine, y = _numeric(p.tree, p.arrays, p.wrt, options.dtype)
        for name in p.wrt:
            closed = _symbolic(derived[name].formula, p.arrays, weight, out, p.arrays[name].shape, options.dtype)
            fd = finite_difference(p.tree, p.arrays, name, jacobian=True)
            judged = judge(engine[name], closed, fd, p.rtol, options.atol, options.dtype)
            jacobians.append(Jacobian(**vars(judged), name=name, rows=rows, columns=labels(name, p.arrays[name].shape),
                                      formula=derived[name].syntax, pretty=derived[name].pretty,
                                      latex=derived[name].latex))
    return JacobianResult(expression, weight, p.variables(), y, jacobians, worst([j.verdict for j in jacobians]),
                          p.rtol, options.atol, notes=p.notes, dtype=options.dtype)


def _derive_vjps(expression: str, info: ShapeInfo, out: tuple[int, ...],
                 wrt: list[str]) -> tuple[str, dict[str, Derivation]]:
    """The closed-form VJP per variable, with a symbolic weight shaped like the output: its name and formulas."""
    weight = free_name("v", list(info.variables))
    text = weighted(expression, weight)
    tree = parse(text, printed=True)
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
    rows = []
    for i in range(math.prod(out)):
        row = numeric.evaluate(formula, {**values, weight: _one_hot(out, i, dtype)}, dtype)
        rows.append(row.reshape(shape) if row.size == math.prod(shape) else np.broadcast_to(row, shape))
    return np.array(rows, dtype=dtype).reshape(len(rows), -1)
