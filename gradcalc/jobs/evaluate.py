"""`gradcalc eval`, the main job: prepare → tape ‖ closed form → referee → one `EvalResult`.

`run_eval` returns plain data that the Rich view and the JSON view both render.

>>> result = run_eval("sum((relu(X@W)-Y)**2)", EvalOptions(wrt=["W"]))
>>> result.gradients[0].formula, result.verdict
('2*X.T@((relu(X@W) - Y)*heaviside(X@W))', 'equal')
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from gradcalc.errors import InputError
from gradcalc.jobs.domain_notes import nan_notes
from gradcalc.jobs.expect import check_expectation, first_wrong_link
from gradcalc.jobs.prepare import Prepared, prepare
from gradcalc.jobs.results import EvalResult, Expectation, Gradient
from gradcalc.jobs.steps import backward_chain, node_finite_difference
from gradcalc.lang.ops import OPS
from gradcalc.lang.tree import Node, postorder
from gradcalc.options import EvalOptions
from gradcalc.referee import FiniteDifference, finite_difference, judge, worst
from gradcalc.symbolic import numeric
from gradcalc.symbolic import closed_form
from gradcalc.symbolic.closed_form import Derivation, derive
from gradcalc.tape import record


def run_eval(expression: str, options: EvalOptions = EvalOptions()) -> EvalResult:
    """Evaluate an expression and its gradients three ways, and judge them.

    Given values (`options.values`) fix their variables' shapes; the others
    are drawn. The engine and the formula compute in `options.dtype`;
    finite differences always use float64. `options.steps` adds the
    backward chain, node by node (`gradcalc.jobs.steps`).

    >>> result = run_eval("sum(a*x)", EvalOptions(wrt=["a"], shapes={"a": ()}))
    >>> result.gradients[0].formula, result.verdict
    ('sum(x)', 'equal')
    """
    p = prepare(expression, options)
    with np.errstate(all="ignore"):  # NaN and inf are reported by the verdict, not as warnings
        tape, tensors, leaves = record(p.tree, p.arrays, set(p.wrt), options.dtype)
        root = tensors[id(p.tree)]
        singular = singular_notes(p.tree, tensors, expression, options.dtype)
        labelled = {n.label: n for n in postorder(p.tree) if n.label}
        intermediate = any(name in labelled for name, _ in options.expect)
        grads = tape.backward(root, retain=options.steps or intermediate)  # every node's gradient, for --steps
        derived = derive(expression, p.tree, p.info, p.wrt)
        gradients, fds = [], {}
        for name in p.wrt:
            auto = grads[leaves[name].index]
            auto = np.zeros_like(p.arrays[name]) if auto is None else auto
            fds[name] = finite_difference(p.tree, p.arrays, name)
            gradients.append(_gradient(p, name, auto, derived[name], fds[name], options))
        forward = {key: t.value for key, t in tensors.items()}
        links = {name: (node, grads[tensors[id(node)].index]) for name, node in labelled.items()}
        expectations = _expectations(p, expression, gradients, fds, links, forward, options)
        domain = nan_notes(p.tree, tensors, expression, {g.name: np.asarray(g.autograd) for g in gradients},
                           explained=bool(singular))
        steps, chains = [], {}
        if options.steps:
            engine = {key: grads[t.index] for key, t in tensors.items() if grads[t.index] is not None}
            forward = {key: t.value for key, t in tensors.items()}
            steps, chains = backward_chain(p.tree, p.info, p.wrt, p.arrays, forward, engine, p.rtol, options.atol,
                                           options.dtype)
    if singular:  # the derivative does not exist at a singular matrix, whatever numbers came out
        gradients = [replace(g, verdict="undefined") for g in gradients]
    backward = [n.label or n.name for n in reversed(postorder(p.tree)) if n.label or n.op == "var"]
    notes = p.notes + _rushed(derived) + singular + first_wrong_link(expectations, backward) + domain
    verdicts = [g.verdict for g in gradients] + [s.verdict for s in steps] + [e.verdict for e in expectations]
    return EvalResult(expression, p.variables(), float(np.sum(root.value)), gradients, worst(verdicts), p.rtol,
                      options.atol, notes=notes, dtype=options.dtype, steps=steps, chains=chains,
                      expectations=expectations)


def _expectations(p: Prepared, expression: str, gradients: list[Gradient], fds: dict[str, FiniteDifference],
                  links: dict[str, tuple[Node, Any]], forward: dict[int, Any],
                  options: EvalOptions) -> list[Expectation]:
    """Each `--expect NAME=FORMULA`, judged against the engine's gradient with respect to NAME.

    NAME is a `--wrt` variable or a named intermediate (`H = relu(Z); ...`);
    the formula may use the intermediates' values by name (`H - Y`).
    """
    if not options.expect:
        return []
    truth = {g.name: np.asarray(g.autograd, dtype=np.float64) for g in gradients}
    values = {n: np.asarray(v, dtype=np.float64) for n, v in p.arrays.items()}
    for name, (node, grad) in links.items():
        values[name] = np.asarray(forward[id(node)], dtype=np.float64)
        if name in dict(options.expect):
            truth[name] = np.zeros_like(values[name]) if grad is None else np.asarray(grad, dtype=np.float64)
            fds[name] = node_finite_difference(p.tree, node, p.arrays)
    context = {"values": values, "tree": p.tree,
               "expression": expression, "rtol": p.rtol, "atol": options.atol, "dtype": options.dtype}
    seen: set[str] = set()
    for name, _ in options.expect:
        if name not in truth:
            known = ", ".join(truth) or "none"
            raise InputError(f"--expect {name}=...: {name} is not differentiated here (the --wrt variables are "
                             f"{known}); add --wrt {name}" if name in p.arrays else
                             f"--expect {name}=...: the expression has no variable {name} (it has "
                             f"{', '.join(p.arrays)})")
        if name in seen:
            raise InputError(f"--expect {name}=...: given twice; give one formula per variable")
        seen.add(name)
    return [check_expectation(name, formula, truth[name], fds[name], context) for name, formula in options.expect]


def _gradient(p: Prepared, name: str, auto: np.ndarray, derived: Derivation, fd: FiniteDifference,
              options: EvalOptions) -> Gradient:
    """Evaluate the closed form and judge the gradient with respect to one variable."""
    sym = numeric.evaluate(derived.formula, p.arrays, options.dtype)
    sym = sym.reshape(auto.shape) if sym.size == auto.size else np.broadcast_to(sym, auto.shape).astype(options.dtype)
    judged = judge(auto, sym, fd, p.rtol, options.atol, options.dtype)
    return Gradient(**vars(judged), name=name, shape=auto.shape, formula=derived.syntax, pretty=derived.pretty,
                    latex=derived.latex, shared=derived.shared, compact=derived.compact)


def _rushed(derived: dict[str, Derivation]) -> list[str]:
    if not any(d.rushed for d in derived.values()):
        return []
    return [f"symbolic simplification ran past its {closed_form.SIMPLIFY_BUDGET:g} s budget, so the closed form is shown as "
            "derived, without merging like terms (it is still exact)"]


def singular_notes(tree: Node, tensors: dict[int, Any], expression: str, dtype: str) -> list[str]:
    """A note for each op that needs an invertible matrix and got one singular to working precision.

    >>> from gradcalc.values.draw import Value
    >>> a, b = Value(np.array([[1.0], [0.0]]), "inline"), Value(np.array([[1.0, 0.0]]), "inline")
    >>> run_eval("logdet(A@B)", EvalOptions(values={"A": a, "B": b})).notes
    ['logdet(A@B): the matrix is singular (condition number inf), so the gradient is not defined there']
    """
    notes = []
    for node in postorder(tree):
        op = OPS.get(node.op)
        for arg, domain in zip(node.args, op.domain if op else ()):
            if domain is None or not domain.invertible:
                continue
            matrix = np.asarray(tensors[id(arg)].value, dtype=np.float64)
            if not np.all(np.isfinite(matrix)):
                continue
            cond = float(np.linalg.cond(matrix)) if matrix.size else 1.0
            if not cond < 1 / np.finfo(dtype).eps:
                start, end = node.span
                text = expression[start:end] if end > start else node.op
                notes.append(f"{text}: the matrix is singular (condition number {cond:.1e}), so the gradient is "
                             "not defined there" + (f" ({op.at_singular})" if op.at_singular else ""))
    return notes
