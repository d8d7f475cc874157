"""The closed-form gradients of an expression in every printed form, derived once per expression and shapes.

A batch repeats expressions, so derivations are kept in a bounded cache
(`DERIVATIONS`, with `clear()`); a derivation whose simplification ran out
of its time budget is not kept, since the next run may have the time.

>>> from gradcalc.lang.parse import parse
>>> from gradcalc.lang.infer import infer
>>> tree = parse("trace(A@B)")
>>> derive("trace(A@B)", tree, infer(tree), ["A"])["A"].pretty
'Bᵀ'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from gradcalc.errors import InputError
from gradcalc.lang.infer import ShapeInfo
from gradcalc.lang.ops import OPS
from gradcalc.lang.tree import Node, postorder
from gradcalc.symbolic import adjoints, cse, printing
from gradcalc.symbolic.algebra import time_budget
from gradcalc.symbolic.types import called

#: Seconds of symbolic simplification per derivation; then the formula is kept as it stands (still correct).
SIMPLIFY_BUDGET = 5.0


@dataclass(frozen=True)
class Derivation:
    """A closed-form gradient and its printed forms, which depend only on the expression and the shapes.

    >>> from gradcalc.lang.parse import parse
    >>> from gradcalc.lang.infer import infer
    >>> tree = parse("sum(X*X)")
    >>> d = derive("sum(X*X)", tree, infer(tree), ["X"])["X"]
    >>> d.syntax, d.latex, d.rushed
    ('2*X', '2 X', False)
    """

    formula: Any
    syntax: str
    pretty: str
    latex: str
    shared: list[tuple[str, str]]
    compact: str
    rushed: bool = False  # the simplification budget ran out: the formula is correct but not simplified


class Cache:
    """A bounded map from (expression, shapes, wrt, rules) to derivations; full, it starts again empty.

    >>> cache = Cache(limit=1)
    >>> cache.put("a", {}); cache.put("b", {}); len(cache), cache.get("a")
    (1, None)
    """

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self.entries: dict[Any, dict[str, Derivation]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: Any) -> dict[str, Derivation] | None:
        """The derivations kept under `key`, or None.

        >>> Cache().get("x") is None
        True
        """
        return self.entries.get(key)

    def put(self, key: Any, derived: dict[str, Derivation]) -> None:
        """Keep `derived` under `key`, emptying the cache first when it is full.

        >>> cache = Cache(); cache.put("k", {}); cache.get("k")
        {}
        """
        if len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[key] = derived

    def clear(self) -> None:
        """Forget every derivation (benchmarks time a cold derivation).

        >>> cache = Cache(); cache.put("k", {}); cache.clear(); len(cache)
        0
        """
        self.entries.clear()


DERIVATIONS = Cache()


def derive(expression: str, tree: Node, info: ShapeInfo, wrt: list[str]) -> dict[str, Derivation]:
    """The symbolic gradients, derived once per expression, shapes and `--wrt` (a batch repeats them)."""
    rules = tuple(id(OPS[n.op]) for n in postorder(tree) if n.op in OPS)  # the very rules used, should they change
    key = (expression.strip(), tuple(sorted(info.variables.items())), tuple(wrt), rules)
    known = DERIVATIONS.get(key)
    if known is not None:
        return known
    with time_budget(SIMPLIFY_BUDGET) as ran_out:
        formulas = adjoints.gradients(tree, info, wrt)
    for name, formula in formulas.items():
        if _undefined(formula):
            raise InputError(f"the closed form of ∂f/∂{name} divides by a part of the expression that is zero for "
                             "every value, so the gradient is not defined anywhere; remove that division")
    derived = {name: _printed(formula, set(info.variables), ran_out()) for name, formula in formulas.items()}
    if not ran_out():
        DERIVATIONS.put(key, derived)
    return derived


def _undefined(formula: Any) -> bool:
    """zoo, nan or an infinity in the formula, outside the constant parameters of calls (clamp's open bound, -oo)."""
    stack, seen = [formula], set()
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if e in (sp.zoo, sp.nan, sp.oo, -sp.oo):
            return True
        stack.extend(e.operands if called(e) is not None else getattr(e, "args", ()))
    return False


def _printed(formula: Any, taken: set[str], rushed: bool) -> Derivation:
    definitions, compact = cse.shared(formula, taken=taken)
    return Derivation(formula, printing.syntax(formula), printing.pretty(formula), printing.latex(formula),
                      [(n, printing.syntax(d)) for n, d in definitions], printing.syntax(compact), rushed)
