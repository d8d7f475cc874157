"""Second order and forward mode: `eval --hessian`, `eval --hvp V`, `eval --jvp V`.

Each is computed three ways, as a gradient is. The engine runs the op
table's own rules on dual numbers (`gradcalc.dual`): forward over reverse
for Hessian-vector products (a full Hessian is one per entry), the forward
pass alone for JVPs. The closed form is derived by the first-order rules
(`gradcalc.symbolic.second`). The referee takes central differences of the
engine's gradient (of the expression itself for a JVP) and judges.

>>> from gradcalc.values.draw import Value
>>> r = run_hvp("sum(X*X*X)", EvalOptions(hvp=Value(np.ones((2, 2)), "inline"), shapes={"X": (2, 2)}))
>>> r.products[0].formula, r.verdict
('6*(v*X)', 'equal')
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from gradcalc.dual import engine
from gradcalc.errors import InputError
from gradcalc.jobs.evaluate import singular_notes
from gradcalc.jobs.prepare import Prepared, parse_named, prepare
from gradcalc.jobs.results import Directional, DirectionalResult, HessianBlock, HessianResult
from gradcalc.jobs.vjp import labels
from gradcalc.lang.dims import format_shape
from gradcalc.options import EvalOptions
from gradcalc.referee import FiniteDifference, judge, second_difference, worst
from gradcalc.symbolic import numeric
from gradcalc.symbolic.closed_form import derive
from gradcalc.symbolic.second import Block, along, free_name, hessian_blocks, jvp_formula, printed
from gradcalc.tape import record
from gradcalc.values.draw import Value

LAYOUT = ("rows and columns are the entries of {names} in row-major order (NumPy's ravel), one variable after "
          "another: H[i, j] = ∂²f/∂u_i∂u_j for u = the entries concatenated")


def run_second(expression: str, options: EvalOptions) -> HessianResult | DirectionalResult:
    """The one second-order job the options ask for (`hessian`, `hvp` or `jvp`).

    >>> run_second("sum(x*x)", EvalOptions(hessian=True, shapes={"x": (2,)})).autograd
    array([[2., 0.],
           [0., 2.]])
    """
    if options.hessian:
        return run_hessian(expression, options)
    return run_hvp(expression, options) if options.hvp is not None else run_jvp(expression, options)


def run_hessian(expression: str, options: EvalOptions) -> HessianResult:
    """The Hessian over the `--wrt` variables (all by default), by the engine, the closed form and the referee.

    >>> r = run_hessian("sum((X@w - y)**2)", EvalOptions(wrt=["w"], shapes={"w": (3,), "y": (5,)}, hessian=True))
    >>> r.blocks[0].formula, r.autograd.shape, r.verdict
    ('2*X.T@X', (3, 3), 'equal')
    >>> run_hessian("sum(X@W)", EvalOptions(wrt=["W"], shapes={"X": (2, 30), "W": (30, 4)}, max_elements=10000,
    ...                                     hessian=True))
    Traceback (most recent call last):
    gradcalc.errors.InputError: --hessian: W has 120 entries, so its Hessian has 14,400 entries, above the limit of 10,000 (--max-elements); use --hvp SOURCE for Hessian-vector products without forming it, or raise --max-elements
    """
    p = prepare(expression, options)
    sizes = {name: p.arrays[name].size for name in p.wrt}
    n = sum(sizes.values())
    if n * n > options.max_elements:
        what = f"{p.wrt[0]} has" if len(p.wrt) == 1 else f"{', '.join(p.wrt)} have"
        raise InputError(f"--hessian: {what} {n:,} entries, so its Hessian has {n * n:,} entries, above the limit of "
                         f"{options.max_elements:,} (--max-elements); use --hvp SOURCE for Hessian-vector products "
                         "without forming it, or raise --max-elements")
    with np.errstate(all="ignore"):  # NaN and inf are reported by the verdict, not as warnings
        value, notes = _value_and_notes(p, expression, options.dtype)
        auto = engine.hessian(p.tree, p.arrays, p.wrt, options.dtype)
        blocks = hessian_blocks(expression, p.tree, p.info, p.wrt)
        sym = np.block([[_block_numbers(blocks[(a, b)], p, options.dtype) for b in p.wrt] for a in p.wrt])
        fds = [second_difference(p.tree, p.arrays, b, wrt=p.wrt) for b in p.wrt]
        fd = FiniteDifference(np.hstack([f.value for f in fds]), min(f.step for f in fds),
                              np.hstack([f.untrusted for f in fds]), max(f.f for f in fds))
        judged = judge(auto, sym.astype(options.dtype), fd, p.rtol, options.atol, options.dtype)
    if notes[1]:
        judged.verdict = "undefined"
    names = " and ".join(p.wrt)
    return HessianResult(**vars(judged), expression=expression, variables=p.variables(), value=value,
                         wrt=list(p.wrt), labels=[label for name in p.wrt for label in labels(name, p.arrays[name].shape)],
                         layout=LAYOUT.format(names=names), blocks=[block_of(blocks[(a, b)]) for a in p.wrt for b in p.wrt],
                         rtol=p.rtol, atol=options.atol, notes=notes[0], dtype=options.dtype)


def run_hvp(expression: str, options: EvalOptions) -> DirectionalResult:
    """The Hessian-vector product along V (`options.hvp`, shaped like the one `--wrt` variable), without the Hessian.

    >>> from gradcalc.values.draw import Value
    >>> r = run_hvp("x@A@x", EvalOptions(hvp=Value(np.array([1.0, 0.0]), "inline"), shapes={"x": (2,)}))
    >>> r.products[0].formula, r.products[0].shape, r.verdict
    ('(A + A.T)@v', (2,), 'equal')
    """
    p, name = _prepared(expression, options, options.hvp, "--hvp", scalar=True)
    v, direction = _direction(options.hvp, options.hvp_name, p, name, "--hvp")
    with np.errstate(all="ignore"):
        value, notes = _value_and_notes(p, expression, options.dtype)
        auto = engine.hvp(p.tree, p.arrays, {name: v}, [name], options.dtype, gradient=False)[name][1]
        gradient = derive(expression, p.tree, p.info, [name])[name]
        derived = along(f"sum({direction}*({gradient.syntax}))", p.info.variables, direction, p.info.variables[name],
                        [name])[name]
        sym = _numbers(derived.formula, {**p.arrays, direction: v}, auto.shape, options.dtype)
        fd = second_difference(p.tree, p.arrays, name, v, wrt=[name])
        fd = FiniteDifference(fd.value.reshape(auto.shape), fd.step, fd.untrusted.reshape(auto.shape), fd.f)
        judged = judge(auto, sym, fd, p.rtol, options.atol, options.dtype)
    product = Directional(**vars(judged), name=name, shape=auto.shape, formula=derived.syntax,
                          pretty=derived.pretty, latex=derived.latex)
    return _directional("hvp", p, np.asarray(value), name, direction, v, options.hvp, [product], notes, options)


def run_jvp(expression: str, options: EvalOptions) -> DirectionalResult:
    """The directional derivative J v of any expression along V (`options.jvp`, shaped like the `--wrt` variable).

    >>> from gradcalc.values.draw import Value
    >>> r = run_jvp("sum(exp(x))", EvalOptions(jvp=Value(np.array([1.0, 2.0]), "inline")))
    >>> r.products[0].formula, r.verdict
    ('sum(v*exp(x))', 'equal')
    """
    p, name = _prepared(expression, options, options.jvp, "--jvp", scalar=False)
    v, direction = _direction(options.jvp, options.jvp_name, p, name, "--jvp")
    with np.errstate(all="ignore"):
        _, notes = _value_and_notes(p, expression, options.dtype)
        value, auto = engine.jvp(p.tree, p.arrays, {name: v}, options.dtype)
        _, derived = jvp_formula(expression, p.info, name, p.info.of(p.tree), direction)
        sym = _numbers(derived.formula, {**p.arrays, direction: v}, auto.shape, options.dtype)
        fd = second_difference(p.tree, p.arrays, name, v)
        fd = FiniteDifference(np.reshape(fd.value, auto.shape), fd.step, np.reshape(fd.untrusted, auto.shape), fd.f)
        judged = judge(auto, sym, fd, p.rtol, options.atol, options.dtype)
    product = Directional(**vars(judged), name=free_name("y", list(p.info.variables)), shape=auto.shape,
                          formula=derived.syntax, pretty=derived.pretty, latex=derived.latex)
    return _directional("jvp", p, value, name, direction, v, options.jvp, [product], notes, options)


def _directional(kind: str, p: Prepared, value: np.ndarray, name: str, direction: str, v: np.ndarray,
                 given: Value | None, products: list[Directional], notes: tuple[list[str], list[str]],
                 options: EvalOptions) -> DirectionalResult:
    verdicts = [d.verdict for d in products]
    verdict = "undefined" if notes[1] else worst(verdicts)
    what = "Hessian-vector product H·" if kind == "hvp" else "Jacobian-vector product J·"
    note = f"{direction} is the --{kind} direction ({given.source if given else ''}), shaped like {name}: the " \
           f"{what}{direction}"
    return DirectionalResult(kind, p.expression, p.variables(), value, name, direction, v,
                             given.source if given else "", products, verdict, p.rtol, options.atol,
                             notes=[note, *notes[0]], dtype=options.dtype)


def _value_and_notes(p: Prepared, expression: str, dtype: str) -> tuple[float, tuple[list[str], list[str]]]:
    """The expression's value (summed), and (all notes, the singular-matrix notes that make a verdict undefined)."""
    _, tensors, _ = record(p.tree, p.arrays, dtype=dtype)
    singular = singular_notes(p.tree, tensors, expression, dtype)
    return float(np.sum(tensors[id(p.tree)].value)), (p.notes + singular, singular)


def _prepared(expression: str, options: EvalOptions, given: Value | None, option: str, scalar: bool
              ) -> tuple[Prepared, str]:
    """The expression prepared, and the one variable the direction belongs to: `--wrt`, the only variable, or the
    only one whose shape the direction has. A variable whose shape nothing fixes takes the direction's."""
    assert given is not None
    _, names, _ = parse_named(expression, options.wrt, options.shapes)
    fixed = {*options.shapes, *options.values}
    if len(options.wrt) > 1:
        raise InputError(f"{option}: the direction belongs to one variable, but --wrt names "
                         f"{', '.join(options.wrt)}" + ("; for every block over several variables, use --hessian"
                                                        if option == "--hvp" else ""))
    name = options.wrt[0] if options.wrt else names[0] if len(names) == 1 else None
    p = prepare(expression, replace(options, wrt=(name,) if name else ()), scalar=scalar)
    if name is not None and name not in fixed and not _fits(np.shape(given.value), p.arrays[name].shape):
        p = prepare(expression, replace(options, wrt=(name,), shapes={**options.shapes, name: np.shape(given.value)}),
                    scalar=scalar)
    if name is None:
        fits = [n for n in names if _fits(np.shape(given.value), p.arrays[n].shape)]
        if len(fits) != 1:
            raise InputError(f"{option}: which variable is the direction for? Give it with --wrt, e.g. --wrt "
                             f"{(fits or names)[0]} (the expression has {', '.join(names)})")
        name = fits[0]
    return p, name


def _fits(given: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """The direction's shape serves the variable: equal, or a row or column of a vector's size."""
    return given == shape or (math.prod(given) == math.prod(shape) and sum(k != 1 for k in given) <= 1
                              and sum(k != 1 for k in shape) <= 1)


def _direction(given: Value | None, chosen: str | None, p: Prepared, name: str, option: str
               ) -> tuple[np.ndarray, str]:
    """The direction in the variable's shape (a row or column of the right size serves a 1-D variable), and its name."""
    assert given is not None
    shape = p.arrays[name].shape
    v = np.asarray(given.value, dtype=np.float64)
    if not _fits(v.shape, shape):
        raise InputError(f"{option} {given.source}: the direction is {format_shape(v.shape)} but {name} is "
                         f"{format_shape(shape)}; it must have {name}'s shape")
    taken = list(p.info.variables)
    if chosen is not None and chosen in taken:
        raise InputError(f"{option} {chosen}=...: {chosen} is a variable of the expression; give the direction "
                         "another name, or SOURCE alone (it is then called v)")
    return v.reshape(shape).astype(p.arrays[name].dtype), chosen or free_name("v", taken)


def _numbers(formula: Any, values: dict[str, np.ndarray], shape: tuple[int, ...], dtype: str) -> np.ndarray:
    out = numeric.evaluate(formula, values, dtype)
    return out.reshape(shape) if out.size == math.prod(shape) else np.broadcast_to(out, shape).astype(dtype)


def _block_numbers(block: Block, p: Prepared, dtype: str) -> np.ndarray:
    """A block's numbers: its matrix form evaluated, or else its action at each one-hot direction (a column each)."""
    rows, columns = p.arrays[block.rows].size, p.arrays[block.columns].size
    if block.matrix is not None:
        return _numbers(block.matrix, p.arrays, (rows, columns), dtype)
    shape = p.arrays[block.columns].shape
    out = np.zeros((rows, columns), dtype)
    for j in range(columns):
        e = np.zeros(columns, dtype)
        e[j] = 1
        values = {**p.arrays, block.direction: e.reshape(shape)}
        out[:, j] = _numbers(block.action.formula, values, p.arrays[block.rows].shape, dtype).ravel()
    return out


def block_of(block: Block) -> HessianBlock:
    """A block's printed forms, as the results hold them.

    >>> from gradcalc.symbolic.second import zero
    >>> block_of(Block("x", "x", "v", zero((2,)), None)).action
    'zeros(2)'
    """
    formula, pretty, latex = printed(block.matrix) if block.matrix is not None else ("", "", "")
    a = block.action
    return HessianBlock(block.rows, block.columns, block.direction, formula, pretty, latex, a.syntax, a.pretty,
                        a.latex)
