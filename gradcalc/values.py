"""Values for the variables: seeded standard normals, kept inside each op's domain.

Values are drawn from `numpy.random.default_rng(seed)`, one
`standard_normal(shape)` per variable in order of first appearance. A
variable that feeds a function with a restricted domain directly (`log(X)`)
is mapped into it: positive values are `0.5 + |z|`; a matrix that must be
invertible with a positive determinant (`logdet`, `inv`, `det`) is
`Z Zᵀ/n + I`, symmetric positive definite with eigenvalues at least 1.

>>> from gradcalc.parse import parse
>>> from gradcalc.shapes import infer
>>> tree = parse("sum(log(X))")
>>> drawn = draw(tree, infer(tree).variables, seed=0)
>>> bool((drawn["X"].value > 0).all()), drawn["X"].source
(True, '0.5+|normal(seed=0)|')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcalc.ops import OPS
from gradcalc.tree import Node, postorder, variable_names


@dataclass
class Value:
    """A variable's value and a short description of where it came from.

    >>> Value(np.zeros((1, 2)), "zeros")
    Value(value=array([[0., 0.]]), source='zeros')
    """

    value: np.ndarray
    source: str


def domains(root: Node) -> dict[str, str]:
    """Which variables feed a restricted-domain input directly.

    >>> from gradcalc.parse import parse
    >>> domains(parse("log(A) + B"))
    {'A': 'positive'}
    """
    found: dict[str, str] = {}
    for node in postorder(root):
        op = OPS.get(node.op)
        for arg, domain in zip(node.args, op.domain if op else ()):
            if domain and arg.op == "var":
                found.setdefault(arg.name, domain)
    return found


def draw(root: Node, shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, Value]:
    """Seeded random values for every variable, in order of first appearance.

    >>> from gradcalc.parse import parse
    >>> drawn = draw(parse("sum(Y*X)"), {"X": (1, 2), "Y": (1, 2)}, seed=1)
    >>> list(drawn), drawn["X"].source, drawn["X"].value.shape
    (['Y', 'X'], 'normal(seed=1)', (1, 2))
    """
    rng = np.random.default_rng(seed)
    wanted = domains(root)
    drawn = {}
    for name in variable_names(root):
        z = rng.standard_normal(shapes[name])
        source = f"normal(seed={seed})"
        if wanted.get(name) == "positive":
            z, source = 0.5 + np.abs(z), f"0.5+|{source}|"
        elif wanted.get(name) == "spd" and z.ndim == 2 and z.shape[0] == z.shape[1]:
            z, source = z @ z.T / len(z) + np.eye(len(z)), f"Z@Z.T/n+I, Z={source}"
        drawn[name] = Value(np.asarray(z, dtype=np.float64), source)
    return drawn
