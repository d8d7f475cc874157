"""Notes for nan and inf: which op met which edge of its domain, read from the rows' domains and the tape's values.

Each row declares the domain of its inputs (`gradcalc.lang.domains`: log's
argument is positive, pow's base non-negative for a fractional exponent,
exp's argument below the overflow threshold); after an evaluation whose
value or gradient is not finite, `nan_notes` walks the recorded values and
counts, for every op input, the entries outside its domain.

>>> from gradcalc.lang.parse import parse
>>> from gradcalc.tape import record
>>> tree = parse("sum(log(X))")
>>> with np.errstate(invalid="ignore"):
...     _, tensors, _ = record(tree, {"X": np.array([[-1.0, 2.0]])})
>>> nan_notes(tree, tensors, "sum(log(X))")[0][:71]
'log(X): 1 of 2 entries of its argument X is negative (log of a negative'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcalc.lang.domains import Domain, Outside
from gradcalc.lang.ops import OPS, TABLE
from gradcalc.lang.tree import Node, postorder, variable_names


def nan_notes(tree: Node, tensors: dict[int, Any], expression: str,
              gradients: dict[str, np.ndarray] | None = None, explained: bool = False) -> list[str]:
    """A note per op whose input left its domain, when the value or a gradient is nan or inf; else none.

    Without such an op, the note names the first node whose value is not
    finite although its inputs are, or the gradients that are not finite
    (unless `explained`: another note, such as a singular matrix's, says why).

    >>> from gradcalc.lang.parse import parse
    >>> from gradcalc.tape import record
    >>> tree = parse("sum(X**0.5)")
    >>> _, tensors, _ = record(tree, {"X": np.array([4.0, 9.0])})
    >>> nan_notes(tree, tensors, "sum(X**0.5)")
    []
    """
    gradients = gradients or {}
    value_finite = bool(np.all(np.isfinite(tensors[id(tree)].value)))
    broken = [name for name, g in gradients.items() if not np.all(np.isfinite(g))]
    if value_finite and not broken:
        return []
    notes = []
    for node in postorder(tree):
        op = OPS.get(node.op)
        for i, (arg, domain) in enumerate(zip(node.args, op.domain if op else ())):
            if domain is not None:
                values = np.asarray(tensors[id(arg)].value)
                found = domain.violations(values, **node.kwargs)
                if found:
                    notes.append(_note(node, i, arg, domain, found, values.size, expression))
    if not notes and not explained:
        notes = _unexplained(tree, tensors, expression, broken)
    return list(dict.fromkeys(notes))


def _note(node: Node, index: int, arg: Node, domain: Domain, found: list[tuple[int, Outside]], size: int,
          expression: str) -> str:
    """One op's note: how many entries missed the domain and how, and what to do about it."""
    op = OPS[node.op]
    operand = "its argument" if op.arity == 1 else f"its operand {index + 1}"
    counts = [f"{count} of {size} entries of {operand} {_text(arg, node, expression)} "
              f"{'is' if count == 1 else 'are'} {way.entries} ({way.meaning.format(op=op.name)})"
              if n == 0 else f"{count} {'is' if count == 1 else 'are'} {way.entries} "
              f"({way.meaning.format(op=op.name)})" for n, (count, way) in enumerate(found)]
    names = variable_names(arg)
    advice = f"give {', '.join(names)} values inside the domain with --value" if names else "change the constants"
    remedies = list(dict.fromkeys(way.remedy or domain.remedy for _, way in found if way.remedy or domain.remedy))
    advice += "".join(f", or {remedy}" for remedy in remedies)
    if any(way.avoided_by_positive for _, way in found) and not (arg.op == "var" and domain.drawn):
        drawing = sorted({o.name for o in TABLE if any(d is not None and d.drawn and not d.invertible
                                                        for d in o.domain)})
        listed = ", ".join(drawing[:-1]) + f" or {drawing[-1]}" if len(drawing) > 1 else "".join(drawing)
        advice += f" (random values are drawn inside a domain only for a variable that feeds {listed} directly)"
    return f"{_text(node, None, expression)}: {', '.join(counts)}; {advice}"


def _unexplained(tree: Node, tensors: dict[int, Any], expression: str, broken: list[str]) -> list[str]:
    """Where nan or inf first appears when no op's domain says why."""
    finite = {id(n): bool(np.all(np.isfinite(tensors[id(n)].value))) for n in postorder(tree)}
    for node in postorder(tree):
        if finite[id(node)] or not all(finite[id(a)] for a in node.args):
            continue
        value = np.asarray(tensors[id(node)].value)
        count = int(np.count_nonzero(~np.isfinite(value)))
        if node.op == "var":
            return [f"{node.name}: {count} of {value.size} entries of its value are nan or inf; give finite values "
                    "with --value"]
        if node.op == "const":  # `sum(W) + inf`: the expression itself holds a non-finite number
            return [f"the constant {node.value!r} in the expression is not finite"]
        op = OPS[node.op]
        needs = "".join(f"; {op.name} needs {d.needs}" for d in dict.fromkeys(op.domain) if d is not None)
        return [f"{_text(node, None, expression)}: {count} of {value.size} entries are nan or inf although its "
                f"inputs are finite{needs}; try other values with --value or --seed"]
    if broken:
        return [f"the gradient with respect to {', '.join(broken)} has nan or inf entries although the value is "
                "finite and no op met the edge of its domain; try other values with --value or --seed"]
    return []


def _text(node: Node, parent: Node | None, expression: str) -> str:
    """The source text of a node; below an expansion with the parent's span (`a/b`), the text of what was written."""
    while parent is not None and node.span == parent.span and node.args:
        node = node.args[0]
    start, end = node.span
    return expression[start:end] if end > start else node.name or node.op
