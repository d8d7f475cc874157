"""`eval --steps`: the backward chain, node by node, as one derives it by hand.

Every intermediate node that leads to a `--wrt` variable gets a name as a
user would write it — `Z` for a matrix product, `Ŷ` for the activation that
is compared with a target, `H` for other activations, `D` for a difference,
`T` otherwise, `f` for the result (numbered when repeated). Negations,
parts that do not depend on the `--wrt` variables, and an elementwise
function feeding the final sum (`sum(D²)`) stay inside the node they feed.

For each node, in the order the backward pass visits them: its adjoint
∂f/∂node in terms of the adjoints already known (`∂f/∂Z = ∂f/∂Ŷ ⊙ H(Z)`),
derived by the op's own symbolic rule with the consumer's adjoint as a
symbol; the same adjoint expanded in the variables; its value from the
engine (what PyTorch's `retain_grad()` shows) beside the expanded formula's
value; finite differences with respect to the node's value; a verdict.

>>> from gradcalc.jobs.evaluate import run_eval
>>> from gradcalc.options import EvalOptions
>>> chain = run_eval("sum((relu(X@W)-Y)**2)", EvalOptions(wrt=["W"], steps=True)).steps
>>> [(s.name, s.definition, s.chain, s.verdict) for s in chain]  # doctest: +NORMALIZE_WHITESPACE
[('f', 'sum(D⊙²)', '1', 'equal'), ('D', 'Ŷ − Y', '2·D', 'equal'), ('Ŷ', 'relu(Z)', '∂f/∂D', 'equal'),
 ('Z', 'XW', '∂f/∂Ŷ ⊙ H(Z)', 'equal')]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from gradcalc.symbolic import printing
from gradcalc.symbolic import adjoints as symbolic
from gradcalc.symbolic import numeric
from gradcalc.symbolic import vocabulary as s
from gradcalc.lang.ops import OPS
from gradcalc.lang.shape_rules import same
from gradcalc.lang.infer import ShapeInfo
from gradcalc.lang.tree import Node, depending, postorder, substitute
from gradcalc.jobs.results import Step
from gradcalc.referee import FiniteDifference, finite_difference, judge
from gradcalc.tape import record

PRETTY = {"Yhat": "Ŷ"}


def backward_chain(root: Node, info: ShapeInfo, wrt: list[str], values: dict[str, np.ndarray],
                   forward: dict[int, np.ndarray], engine: dict[int, np.ndarray], rtol: float, atol: float | None,
                   dtype: str) -> tuple[list[Step], dict[str, tuple[str, str]]]:
    """The steps of the chain, and each `--wrt` variable's gradient in terms of the last adjoints.

    `forward` and `engine` hold the tape's value and gradient of every node
    (by `id`). Returns the
    steps in backward order and, per variable, (pretty, syntax) of its
    gradient in terms of the named nodes' adjoints (`Xᵀ·∂f/∂Z`).
    """
    order = postorder(root)
    needs = depending(order, set(wrt))
    nodes = _chain_nodes(root, order, needs)
    labels = _labels(root, nodes, set(info.variables))
    chain = _local_adjoints(root, nodes, labels, needs, info)
    expanded, _ = symbolic.adjoints(root, info, wrt)
    steps = []
    for node in reversed(nodes):
        label = labels[id(node)]
        definition = _local_form(node, labels, info, top=True)
        adjoint = chain.get(id(node), sp.Integer(1))
        sym = _broadcast(numeric.evaluate(expanded[id(node)], values, dtype), info.of(node), dtype)
        auto = engine[id(node)]
        judged = judge(auto, sym, node_finite_difference(root, node, values), rtol, atol, dtype)
        steps.append(Step(
            **vars(judged), name=PRETTY.get(label, label), label=label,
            definition=_pretty(definition, labels), definition_syntax=printing.syntax(definition),
            chain=_pretty(adjoint, labels), chain_syntax=printing.syntax(adjoint),
            formula=printing.syntax(expanded[id(node)]), pretty=printing.pretty(expanded[id(node)]),
            shape=info.of(node), value=forward[id(node)]))
    leaves = {name: (_pretty(g, labels), printing.syntax(g)) for name, g in chain.items() if isinstance(name, str)}
    return steps, leaves


def _role(node: Node) -> str:
    """The node's op's role in the table (`activation`, `reduction`, ...), or "" for variables and constants."""
    op = OPS.get(node.op)
    return op.role if op else ""


def _chain_nodes(root: Node, order: list[Node], needs: set[int]) -> list[Node]:
    """The nodes that get a step, in tape order."""
    consumers: dict[int, list[Node]] = {}
    for node in order:
        for arg in node.args:
            consumers.setdefault(id(arg), []).append(node)

    def folded(node: Node) -> bool:
        users = consumers.get(id(node), [])
        if node.label and id(node) in needs:  # the user named it (`H = relu(Z)`): it gets its own step
            return False
        if node.op in ("var", "const") or id(node) not in needs or node.op == "neg":
            return True
        op = OPS[node.op]
        return (len(users) == 1 and users[0] is root and _role(root) == "reduction"
                and op.arity == 1 and op.shape is same)

    return [n for n in order if (n is root and n.op != "var") or not folded(n)]  # `eval x --steps`: no steps


def _labels(root: Node, nodes: list[Node], taken: set[str]) -> dict[int, str]:
    bases: dict[int, str] = {}
    for node in nodes:
        if node is root:
            bases[id(node)] = "f"
        elif node.op in ("matmul", "mm"):
            bases[id(node)] = "Z"
        elif node.op == "add" and any(a.op == "neg" for a in node.args):
            bases[id(node)] = "D"
            first = node.args[0]
            if _role(first) == "activation" and id(first) in bases:
                bases[id(first)] = "Yhat"
        elif _role(node) == "activation":
            bases[id(node)] = "H"
        else:
            bases[id(node)] = "T"
    named = {id(n): n.label for n in nodes if n.label}
    taken = taken | set(named.values())
    bases = {key: base for key, base in bases.items() if key not in named}
    counts: dict[str, int] = {}
    for base in bases.values():
        counts[base] = counts.get(base, 0) + 1
    seen: dict[str, int] = {}
    labels = {}
    for key, base in bases.items():
        seen[base] = seen.get(base, 0) + 1
        label = f"{base}{seen[base]}" if counts[base] > 1 and base != "f" else base
        while label in taken or f"d{label}" in taken:
            label += "_"
        labels[key] = label
    return {**labels, **named}


def _symbol(label: str, shape: tuple[int, ...]) -> Any:
    return symbolic.symbol(label, shape)


def _local_form(node: Node, labels: dict[int, str], info: ShapeInfo, top: bool = False) -> Any:
    """A node's SymPy form with named nodes and variables as symbols, folded nodes inline."""
    if not top and id(node) in labels:
        return _symbol(labels[id(node)], info.of(node))
    if node.op == "var":
        return symbolic.symbol(node.name, info.variables[node.name])
    if node.op == "const":
        return sp.sympify(node.value)
    args = [_local_form(a, labels, info) for a in node.args]
    return OPS[node.op].sym(s, *args, **node.kwargs)


def _local_adjoints(root: Node, nodes: list[Node], labels: dict[int, str], needs: set[int],
                    info: ShapeInfo) -> dict[Any, Any]:
    """Each named node's adjoint (by id) and each variable's gradient (by name), from the consumers' adjoints."""
    found: dict[Any, Any] = {}

    def push(node: Node, g: Any) -> None:
        if node.op == "var" or id(node) in labels:
            key = node.name if node.op == "var" else id(node)
            found[key] = s.add(found[key], g) if key in found else g
            return
        spread(node, g)

    def spread(node: Node, g: Any) -> None:
        op = OPS[node.op]
        inputs = [_local_form(a, labels, info) for a in node.args]
        ans = _local_form(node, labels, info, top=True)
        for i, arg in enumerate(node.args):
            if id(arg) in needs:
                push(arg, s.column(s.sum_to(op.sym_vjp[i](s, g, ans, *inputs, **node.kwargs), inputs[i])))

    for node in reversed(nodes):
        if node is root:
            g = sp.Integer(1)
        else:
            g = _symbol("d" + labels[id(node)], info.of(node))
        spread(node, g)
    return found


def _pretty(e: Any, labels: dict[int, str]) -> str:
    """Pretty form with Ŷ for Yhat and ∂f/∂Z for dZ."""
    names = {}
    for label in labels.values():
        shown = PRETTY.get(label, label)
        names[label] = shown
        names["d" + label] = "∂f/∂" + shown
    swap = {sym: sym.func(names[sym.name], *sym.args[1:]) if isinstance(sym, sp.MatrixSymbol)
            else sp.Symbol(names[sym.name], real=True)
            for sym in e.atoms(sp.MatrixSymbol, sp.Symbol) if getattr(sym, "name", None) in names}
    return printing.pretty(e.xreplace(swap) if swap else e)


def _broadcast(value: np.ndarray, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return value.reshape(shape) if value.size == int(np.prod(shape)) else np.broadcast_to(value, shape).astype(dtype)


def node_finite_difference(root: Node, node: Node, values: dict[str, np.ndarray]) -> FiniteDifference:
    """Central differences of f with respect to a node's value, the node held as an input.

    >>> from gradcalc.lang.parse import parse
    >>> tree = parse("sum(exp(x)*2)")
    >>> node_finite_difference(tree, tree.args[0].args[0], {"x": np.zeros(2)}).value.round(6).tolist()
    [2.0, 2.0]
    """
    name = "__node__"
    cut = substitute(root, node, Node("var", name=name))
    _, tensors, _ = record(root, {k: np.asarray(v, dtype=np.float64) for k, v in values.items()})
    return finite_difference(cut, {**values, name: tensors[id(node)].value}, name)
