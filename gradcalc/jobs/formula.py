"""A formula the user wrote (an expected gradient, a check), evaluated on the expression's own values.

>>> evaluate_formula("x.sum()*x", {"x": np.array([1.0, 2.0])}, "check")[1]
array([3., 6.])
"""

from __future__ import annotations

import numpy as np

from gradcalc.errors import GradcalcError, InputError, ShapeError
from gradcalc.lang.infer import infer
from gradcalc.lang.parse import parse
from gradcalc.lang.tree import Node, variable_names
from gradcalc.tape import record


def evaluate_formula(text: str, values: dict[str, np.ndarray], label: str,
                     owner: str = "expression") -> tuple[Node, np.ndarray]:
    """A formula's tree and numbers at the variables' values (their shapes fixed); errors start with `label`.

    >>> evaluate_formula("2*x", {"x": np.array([1.0, 2.0])}, "--expect x=2*x")[1]
    array([2., 4.])
    """
    try:
        tree = parse(text)
    except GradcalcError as err:
        raise InputError(f"{label}: {err.message}") from None
    missing = [n for n in variable_names(tree) if n not in values]
    if missing:
        raise InputError(f"{label}: {', '.join(missing)} is not a variable of the {owner}"
                         + (f" (it has {', '.join(values) or 'none'})" if owner == "expression" else ""))
    try:
        infer(tree, {n: values[n].shape for n in variable_names(tree)}, text)
    except GradcalcError as err:  # the formula's shapes do not fit: a finding about it, not bad input
        raise ShapeError(f"{label}: {err.message}") from None
    with np.errstate(all="ignore"):
        _, tensors, _ = record(tree, {n: np.asarray(v, dtype=np.float64) for n, v in values.items()})
    return tree, np.asarray(tensors[id(tree)].value, dtype=np.float64)
