"""Closed-form gradients: the tree as SymPy matrix expressions, differentiated by our own rules.

The forward pass builds each node's SymPy form from the operator table;
the reverse pass seeds the output's adjoint with 1 and hands each node's
adjoint to its op's symbolic adjoint rule, summing contributions per
variable. SymPy's own `MatrixExpr.diff` is not used (on SymPy 1.14 it fails
on `sum((relu(X@W)-Y)**2)` and returns 0 for d/dX log det X). `evaluate`
computes a formula's numbers with NumPy by walking the expression.

>>> from gradcalc.lang.parse import parse
>>> from gradcalc.lang.infer import infer
>>> from gradcalc.symbolic.printing import syntax
>>> tree = parse("sum((relu(X@W)-Y)**2)")
>>> syntax(gradients(tree, infer(tree), ["W"])["W"])
'2*X.T@((relu(X@W) - Y)*heaviside(X@W))'
"""

from __future__ import annotations

from typing import Any, Iterable

import sympy as sp
from sympy import Identity, MatrixSymbol

from gradcalc.symbolic import vocabulary as s
from gradcalc.symbolic.types import UNIT
from gradcalc.lang.ops import OPS
from gradcalc.lang.infer import ShapeInfo
from gradcalc.lang.tree import Node, depending, postorder


def size(n: Any) -> Any:
    """A size as SymPy sees it: a number, or for a named size (`derive`) a positive integer Symbol.

    >>> size(3), size("n"), size("n").is_positive
    (3, n, True)
    """
    return sp.Symbol(n, integer=True, positive=True) if isinstance(n, str) else n


def symbol(name: str, shape: tuple[Any, ...]) -> Any:
    """A variable as SymPy sees it: a MatrixSymbol, or a real Symbol for a scalar.

    >>> symbol("W", (3, 5)).shape, symbol("a", ()), symbol("X", ("n", 2)).shape
    ((3, 5), a, (n, 2))
    """
    shape = tuple(size(n) for n in shape)
    if len(shape) == 1:
        return MatrixSymbol(name, shape[0], UNIT)
    return MatrixSymbol(name, *shape) if shape else sp.Symbol(name, real=True)


def forward(root: Node, shapes: ShapeInfo) -> dict[int, Any]:
    """Every node's SymPy form, by `id(node)`.

    >>> from gradcalc.lang.parse import parse; from gradcalc.lang.infer import infer
    >>> tree = parse("sum(X@W)")
    >>> forward(tree, infer(tree))[id(tree)]
    Reduce(sum, X*W)
    """
    forms: dict[int, Any] = {}
    for node in postorder(root):
        if node.op == "var":
            forms[id(node)] = symbol(node.name, shapes.variables[node.name])
        elif node.op == "const":
            whole = isinstance(node.value, float) and node.value.is_integer()  # 2.0*X prints as 2*X
            forms[id(node)] = sp.Integer(int(node.value)) if whole else sp.sympify(node.value)
        else:
            args = [forms[id(a)] for a in node.args]
            forms[id(node)] = OPS[node.op].sym(s, *args, **node.kwargs)
    return forms


def gradients(root: Node, shapes: ShapeInfo, wrt: Iterable[str]) -> dict[str, Any]:
    """The closed-form gradient of a scalar (or 1x1) expression for each name in `wrt`.

    >>> from gradcalc.lang.parse import parse; from gradcalc.lang.infer import infer
    >>> tree = parse("trace(A@B)")
    >>> gradients(tree, infer(tree), ["A", "B"])
    {'A': B.T, 'B': A.T}
    """
    return adjoints(root, shapes, wrt)[1]


def adjoints(root: Node, shapes: ShapeInfo, wrt: Iterable[str]) -> tuple[dict[int, Any], dict[str, Any]]:
    """Every node's adjoint ∂f/∂node (by `id`, for the nodes that lead to `wrt`), and each variable's gradient.

    >>> from gradcalc.lang.parse import parse; from gradcalc.lang.infer import infer
    >>> from gradcalc.symbolic.printing import syntax
    >>> tree = parse("sum(relu(X@W))")
    >>> inner, _ = adjoints(tree, infer(tree), ["W"])
    >>> syntax(inner[id(tree.args[0].args[0])])  # the adjoint of X@W
    'heaviside(X@W)'
    """
    wrt = list(wrt)
    forms = forward(root, shapes)
    order = postorder(root)
    needs = depending(order, set(wrt))
    adjoint: dict[int, Any] = {id(root): Identity(1) if s.is_matrix(forms[id(root)]) else sp.Integer(1)}
    done: dict[int, Any] = {}
    by_name: dict[str, Any] = {}
    for node in reversed(order):
        g = adjoint.pop(id(node), None)
        if g is None:
            continue
        done[id(node)] = g
        if node.op == "var":
            by_name[node.name] = s.add(by_name[node.name], g) if node.name in by_name else g
            continue
        op, inputs = OPS[node.op], [forms[id(a)] for a in node.args]
        for i, arg in enumerate(node.args):
            if id(arg) not in needs:
                continue
            contribution = op.sym_vjp[i](s, g, forms[id(node)], *inputs, **node.kwargs)
            contribution = s.column(s.sum_to(contribution, inputs[i]))
            previous = adjoint.get(id(arg))
            adjoint[id(arg)] = contribution if previous is None else s.add(previous, contribution)
    grads = {name: by_name.get(name, s.zero_like(symbol(name, shapes.variables[name]))) for name in wrt}
    return done, grads
