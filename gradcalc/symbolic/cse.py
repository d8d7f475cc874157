"""Common sub-expressions named once, so that a formula's size grows linearly with its expression.

>>> import sympy as sp
>>> from gradcalc.symbolic import vocabulary as s
>>> from gradcalc.symbolic.printing import syntax
>>> X, W = sp.MatrixSymbol("X", 4, 3), sp.MatrixSymbol("W", 3, 5)
>>> Z = s.fn("relu", s.matmul(X, W))
>>> definitions, formula = shared(s.mul(Z, Z))
>>> [(name, syntax(e)) for name, e in definitions], syntax(formula)
([('T1', 'relu(X@W)')], 'T1*T1')
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import Identity, MatrixSymbol, OneMatrix, Transpose, ZeroMatrix

from gradcalc.symbolic.types import called, is_matrix

LEAVES = (MatrixSymbol, sp.Symbol, sp.Number, Identity, OneMatrix, ZeroMatrix)


def shared(expr: Any, taken: set[str] = frozenset()) -> tuple[list[tuple[str, Any]], Any]:
    """Name the sub-expressions that occur more than once: (definitions in order, the rewritten formula).

    The printed size of the definitions plus the formula grows linearly with
    the expression, where the expanded formula can grow quadratically (a deep
    network's forward activations reappear in every layer's adjoint).

    >>> shared(sp.Symbol("a"))
    ([], a)
    """
    parents: dict[Any, int] = {}
    order: list[Any] = []
    stack, seen = [expr], set()
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        order.append(e)
        for child in _operands(e):
            parents[child] = parents.get(child, 0) + 1
            stack.append(child)
    repeated = [e for e in reversed(order) if parents.get(e, 0) > 1 and not _atomic(e)]
    names = (f"T{i}" for i in range(1, len(repeated) + len(taken) + 2) if f"T{i}" not in taken)
    mapping: dict[Any, Any] = {}
    definitions = []
    for e in sorted(repeated, key=_depth):
        name = next(names)
        definitions.append((name, e.xreplace(mapping)))
        mapping[e] = sp.MatrixSymbol(name, *e.shape) if is_matrix(e) else sp.Symbol(name)
    return definitions, expr.xreplace(mapping)


def _operands(e: Any) -> list[Any]:
    """The sub-expressions of `e` that could be named (not the names and tuples inside our own types)."""
    if called(e) is not None:
        return [*e.operands]
    if isinstance(e, LEAVES):
        return []
    return [a for a in e.args if isinstance(a, sp.Expr) or is_matrix(a)]


def _atomic(e: Any) -> bool:
    if isinstance(e, Transpose):
        e = e.arg
    if not is_matrix(e) and getattr(e, "is_number", False):  # sqrt(pi), 2*sqrt(2): a constant, not named
        return True
    return not _operands(e) or isinstance(e, sp.Number) or (isinstance(e, sp.Mul) and len(e.args) == 2
                                                             and any(isinstance(a, sp.Number) for a in e.args))


def _depth(e: Any) -> int:
    return 1 + max((_depth(c) for c in _operands(e)), default=0)
