"""The main job, stage by stage: text → tree → shapes → values → (tape | symbolic) → verdict.

`run_eval` returns an `EvalResult`: plain data that the Rich view and the
JSON view both render.

>>> result = run_eval("sum((relu(X@W)-Y)**2)", wrt=["W"])
>>> result.gradients[0].formula, result.verdict
('2*X.T@((relu(X@W) - Y)*heaviside(X@W))', 'equal')
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradcalc.errors import InputError, ShapeError
from gradcalc.lang.parse import parse
from gradcalc.lang.infer import infer, ShapeInfo
from gradcalc.lang.dims import format_shape
from gradcalc.lang.tree import Node, variable_names
from gradcalc.values.draw import Value
from gradcalc.jobs.results import EvalResult, Gradient, Variable

#: The most numbers all of an expression's values may hold together (--max-elements raises it).
MAX_ELEMENTS = 20_000_000


def run_eval(expression: str, wrt: list[str] | None = None, shapes: dict[str, tuple[int, ...]] | None = None,
             seed: int = 0, rtol: float | None = None, atol: float | None = None,
             values: dict[str, Value] | None = None, rng: str = "numpy", dtype: str = "float64",
             steps: bool = False, max_elements: int = MAX_ELEMENTS) -> EvalResult:
    """Evaluate an expression and its gradients three ways, and judge them.

    `values` are given values (`--value`), which fix their variables' shapes;
    the other variables are drawn with `rng` and `seed`. The engine and the
    formula compute in `dtype`; finite differences always use float64.
    `steps` adds the backward chain, node by node (`gradcalc.steps`).

    >>> result = run_eval("sum(a*x)", wrt=["a"], shapes={"a": ()})
    >>> result.gradients[0].formula, result.verdict
    ('sum(x)', 'equal')
    >>> run_eval("sum(x*x)", values={"x": Value(np.array([1.0, 2.0]), "inline")}).gradients[0].autograd
    array([2., 4.])
    """
    from gradcalc import referee as check
    from gradcalc.tape import record
    from gradcalc.values.draw import draw

    if dtype not in check.DEFAULT_TOLERANCES:
        raise InputError(f"--dtype {dtype}: not supported; use float64 or float32")
    given = dict(values or {})
    tree, info, wrt = _prepare(expression, wrt, shapes, given, max_elements=max_elements)
    drawn = {**draw(tree, info.variables, seed, rng, skip=given), **given}
    notes = info.notes + _domain_notes(tree, given, rng)
    with np.errstate(over="ignore"):  # 1e300 in float32 is inf, and the verdict says undefined
        values = {name: np.asarray(drawn[name].value, dtype=dtype) for name in variable_names(tree)}
    rtol = check.DEFAULT_TOLERANCES[dtype][0] if rtol is None else rtol
    with np.errstate(all="ignore"):  # NaN and inf are reported by the verdict, not as warnings
        tape, tensors, leaves = record(tree, values, set(wrt), dtype)
        root = tensors[id(tree)]
        singular = _singular_notes(tree, tensors, expression, dtype)
        grads = tape.backward(root, retain=steps)  # --steps shows every node's gradient
        derived = derive(expression, tree, info, wrt)
        if any(d.rushed for d in derived.values()):
            notes.append(f"symbolic simplification ran past its {SIMPLIFY_BUDGET:g} s budget, so the closed form is "
                         "shown as derived, without merging like terms (it is still exact)")
        gradients = []
        for name in wrt:
            auto = grads[leaves[name].index]
            auto = np.zeros_like(values[name]) if auto is None else auto
            gradients.append(_judge(tree, values, name, auto, derived[name], rtol, atol, dtype))
        chain: tuple[list[Any], dict[str, tuple[str, str]]] = ([], {})
        if steps:
            from gradcalc.jobs.steps import backward_chain

            engine = {key: grads[t.index] for key, t in tensors.items() if grads[t.index] is not None}
            forward = {key: t.value for key, t in tensors.items()}
            chain = backward_chain(tree, info, wrt, values, forward, engine, rtol, atol, dtype)
    variables = [Variable(name, info.variables[name], values[name], drawn[name].source,
                          name in info.defaulted) for name in variable_names(tree)]
    if singular:
        for g in gradients:
            g.verdict = "undefined"  # the derivative does not exist at a singular matrix, whatever numbers came out
    return EvalResult(expression, variables, float(np.sum(root.value)), gradients,
                      check.worst([g.verdict for g in gradients] + [s.verdict for s in chain[0]]), rtol, atol,
                      notes=notes + singular, dtype=dtype, steps=chain[0], chains=chain[1])


def _singular_notes(tree: Node, tensors: dict[int, Any], expression: str, dtype: str) -> list[str]:
    """A note for each inv/det/logdet whose matrix is singular to working precision.

    >>> from gradcalc.values.draw import Value
    >>> a, b = Value(np.array([[1.0], [0.0]]), "inline"), Value(np.array([[1.0, 0.0]]), "inline")
    >>> run_eval("logdet(A@B)", values={"A": a, "B": b}).notes
    ['logdet(A@B): the matrix is singular (condition number inf), so the gradient is not defined there']
    """
    from gradcalc.lang.tree import postorder

    notes = []
    for node in postorder(tree):
        if node.op not in ("inv", "det", "logdet"):
            continue
        matrix = np.asarray(tensors[id(node.args[0])].value, dtype=np.float64)
        if not np.all(np.isfinite(matrix)):
            continue
        cond = float(np.linalg.cond(matrix)) if matrix.size else 1.0
        if not cond < 1 / np.finfo(dtype).eps:
            start, end = node.span
            text = expression[start:end] if end > start else node.op
            notes.append(f"{text}: the matrix is singular (condition number {cond:.1e}), so the gradient is not "
                         "defined there" + (" (PyTorch would return the adjugate)" if node.op == "det" else ""))
    return notes


def _domain_notes(tree: Node, given: dict[str, Value], rng: str) -> list[str]:
    """Say so when PyTorch's numbers feed a restricted domain unmapped."""
    from gradcalc.values.draw import domains

    if rng != "torch":
        return []
    wanted = {name: d for name, d in domains(tree).items() if name not in given}
    what = {"positive": "positive values", "spd": "a positive-definite matrix"}
    return [f"{name} feeds a function that needs {what[d]}, but --rng torch gives torch.randn's numbers as they "
            f"are; pass --value {name}=... or use the default --rng numpy" for name, d in wanted.items()]


def check_size(tree: Node, info: ShapeInfo, limit: int = MAX_ELEMENTS) -> None:
    """Refuse an expression whose values would hold more than `limit` numbers, saying how much memory they need.

    >>> from gradcalc.lang.parse import parse
    >>> tree = parse("sum(X@W)")
    >>> check_size(tree, infer(tree, {"X": (1000, 1000), "W": (1000, 1000)}), limit=2_000_000)
    Traceback (most recent call last):
    ...
    gradcalc.errors.InputError: the values of this expression hold 3,000,001 numbers (about 48 MB with their gradients), above the limit of 2,000,000; raise it with --max-elements 4000000 if the machine has the memory
    """
    from gradcalc.lang.tree import postorder

    total = sum(math.prod(info.of(node)) for node in postorder(tree) if node.op != "const")
    if total > limit:
        memory = total * 8 * 2  # float64 values and their gradients
        suggest = 10 ** len(str(total)) // 10 * (int(str(total)[0]) + 1)
        raise InputError(f"the values of this expression hold {total:,} numbers (about {_bytes(memory)} with their "
                         f"gradients), above the limit of {limit:,}; raise it with --max-elements {suggest} if the "
                         "machine has the memory")


def _bytes(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}"
        n /= 1000
    return ""


def parse_named(expression: str, wrt: list[str] | None, shapes: dict[str, Any] | None
                ) -> tuple[Node, list[str], list[str]]:
    """Parse, and check that there are variables and that `--wrt` and `--shape` name them.

    Returns the tree, its variable names and the names to differentiate (all by default).

    >>> parse_named("trace(A@B)", None, {"A": (2, 3)})[1:]
    (['A', 'B'], ['A', 'B'])
    """
    tree = parse(expression)
    names = variable_names(tree)
    if not names:
        raise InputError(f"{expression.strip()!r} has no variables, so there is nothing to differentiate; "
                         "use names such as X or W")
    wrt = _check_names(list(dict.fromkeys(wrt or names)), names, "--wrt")
    _check_names(list(shapes or {}), names, "--shape")
    return tree, names, wrt


def _prepare(expression: str, wrt: list[str] | None, shapes: dict[str, tuple[int, ...]] | None,
             given: dict[str, Value], scalar: bool = True, max_elements: int = MAX_ELEMENTS
             ) -> tuple[Node, ShapeInfo, list[str]]:
    """Parse, check the names, infer shapes, and (with `scalar`) insist on a scalar (or 1x1) expression.

    `scalar=False` (for `--vjp` and `--jacobian`) infers the shapes without
    looking for a scalar reading and accepts any output shape.

    >>> _prepare("X@W", None, None, {}, scalar=False)[1].variables
    {'X': (4, 3), 'W': (3, 5)}
    """
    tree, names, wrt = parse_named(expression, wrt, shapes)
    _check_names(list(given), names, "--value")
    fixed = dict(shapes or {})
    for name, value in given.items():
        if name in fixed and fixed[name] != value.value.shape:
            raise InputError(f"--shape {name}={format_shape(fixed[name])} conflicts with --value {name}, which is "
                             f"{format_shape(value.value.shape)}; a value fixes the shape, so drop the --shape")
        fixed[name] = value.value.shape
    info = infer(tree, fixed, expression, scalar=scalar)
    check_size(tree, info, max_elements)
    out_shape = info.of(tree)
    if scalar and out_shape not in ((), (1, 1)):
        raise ShapeError(
            f"the expression is {format_shape(out_shape)}, not a scalar, so it has no gradient; give weights "
            "with --vjp SOURCE for the vector-Jacobian product (PyTorch's y.backward(v)), ask for --jacobian "
            f"(small outputs), or reduce it, e.g. sum({expression.strip()})", position=0, source=expression)
    return tree, info, wrt


@dataclass(frozen=True)
class Derivation:
    """A closed-form gradient and its printed forms, which depend only on the expression and the shapes.

    >>> from gradcalc.lang.parse import parse
    >>> tree = parse("trace(A@B)")
    >>> derive("trace(A@B)", tree, infer(tree), ["A"])["A"].pretty
    'Bᵀ'
    """

    formula: Any
    syntax: str
    pretty: str
    latex: str
    shared: list[tuple[str, str]]
    compact: str
    rushed: bool = False  # the simplification budget ran out: the formula is correct but not simplified


#: Seconds of symbolic simplification per derivation; then the formula is kept as it stands (still correct).
SIMPLIFY_BUDGET = 5.0
_DERIVED: dict[tuple[Any, ...], dict[str, Derivation]] = {}


def derive(expression: str, tree: Node, info: ShapeInfo, wrt: list[str]) -> dict[str, Derivation]:
    """The symbolic gradients, derived once per expression, shapes and `--wrt` (a batch repeats them)."""
    from gradcalc.symbolic import cse
    from gradcalc.symbolic import printing
    from gradcalc.symbolic import adjoints as symbolic
    from gradcalc.symbolic import numeric

    from gradcalc.lang.ops import OPS
    from gradcalc.lang.tree import postorder

    rules = tuple(id(OPS[n.op]) for n in postorder(tree) if n.op in OPS)  # the very rules used, should they change
    key = (expression.strip(), tuple(sorted(info.variables.items())), tuple(wrt), rules)
    if key in _DERIVED:
        return _DERIVED[key]
    from gradcalc.symbolic.algebra import time_budget

    with time_budget(SIMPLIFY_BUDGET) as ran_out:
        formulas = symbolic.gradients(tree, info, wrt)
    import sympy as sp

    for name, formula in formulas.items():
        if formula.has(sp.zoo, sp.nan, sp.oo):
            raise InputError(f"the closed form of ∂f/∂{name} divides by a part of the expression that is zero for "
                             "every value, so the gradient is not defined anywhere; remove that division")
    derived = {}
    for name, formula in formulas.items():
        definitions, compact = cse.shared(formula, taken=set(info.variables))
        derived[name] = Derivation(formula, printing.syntax(formula), printing.pretty(formula),
                                   printing.latex(formula), [(n, printing.syntax(d)) for n, d in definitions],
                                   printing.syntax(compact), ran_out())
    if not ran_out():  # a rushed derivation is not kept: the next run may have the time
        if len(_DERIVED) > 256:
            _DERIVED.clear()
        _DERIVED[key] = derived
    return derived


def _judge(tree: Node, values: dict[str, np.ndarray], name: str, auto: np.ndarray, derived: Derivation,
           rtol: float, atol: float | None, dtype: str) -> Gradient:
    """Evaluate the closed form, run finite differences, compare, and give the verdict for one variable."""
    from gradcalc import referee as check
    from gradcalc.symbolic import adjoints as symbolic
    from gradcalc.symbolic import numeric

    sym = numeric.evaluate(derived.formula, values, dtype)
    sym = sym.reshape(auto.shape) if sym.size == auto.size else np.broadcast_to(sym, auto.shape).astype(dtype)
    fd = check.finite_difference(tree, values, name)
    abs_diff, rel_diff = check.compare(auto, sym)
    return Gradient(
        name=name, shape=auto.shape, autograd=auto,
        formula=derived.syntax, pretty=derived.pretty, latex=derived.latex,
        symbolic=sym, shared=derived.shared, compact=derived.compact,
        finite_difference=fd.value, step=fd.step, untrusted=int(fd.untrusted.sum()),
        max_abs_diff=abs_diff, max_rel_diff=rel_diff, fd_max_abs_diff=check.fd_difference(auto, fd),
        fd_checked=int(fd.mask.sum()),
        verdict=check.verdict(auto, sym, fd, rtol, atol, dtype),
    )


def _check_names(asked: list[str], known: list[str], option: str) -> list[str]:
    for name in asked:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"variables: {', '.join(known) or 'none'}"
            raise InputError(f"{option} {name}: no variable {name!r} in the expression; {hint}")
    return asked
