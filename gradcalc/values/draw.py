"""Values for the variables: seeded random numbers, kept inside each op's domain.

By default values are drawn from `numpy.random.default_rng(seed)`, one
`standard_normal(shape)` per variable in order of first appearance. A
variable that feeds a function with a restricted domain directly (`log(X)`)
is mapped into it: positive values are `0.5 + |z|`; a matrix that must be
invertible with a positive determinant (`logdet`, `inv`, `det`) is
`Z Zᵀ/n + I`, symmetric positive definite with eigenvalues at least 1.
With `rng="torch"` the numbers are PyTorch's instead (`gradcalc.torch_rng`),
unmapped. Variables given a value (`--value`, `gradcalc.sources`) draw
nothing; the next variable takes the numbers that come next.

>>> from gradcalc.lang.parse import parse
>>> from gradcalc.lang.infer import infer
>>> tree = parse("sum(log(X))")
>>> drawn = draw(tree, infer(tree).variables, seed=0)
>>> bool((drawn["X"].value > 0).all()), drawn["X"].source
(True, '0.5+|normal(seed=0)|')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Sequence

import numpy as np

from gradcalc.errors import InputError
from gradcalc.lang.domains import Domain
from gradcalc.lang.ops import OPS
from gradcalc.lang.tree import Node, postorder, variable_names


@dataclass
class Value:
    """A variable's value and a short description of where it came from.

    >>> Value(np.zeros((1, 2)), "zeros")
    Value(value=array([[0., 0.]]), source='zeros')
    """

    value: np.ndarray
    source: str


def domains(root: Node) -> dict[str, Domain]:
    """Which variables feed a restricted-domain input directly, and that domain.

    >>> from gradcalc.lang.parse import parse
    >>> {name: d.name for name, d in domains(parse("log(A) + B")).items()}
    {'A': 'positive'}
    """
    found: dict[str, Domain] = {}
    for node in postorder(root):
        op = OPS.get(node.op)
        for arg, domain in zip(node.args, op.domain if op else ()):
            if domain and domain.drawn and arg.op == "var":  # a checked-only domain (exp's) draws nothing
                found.setdefault(arg.name, domain)
    return found


RNGS = ("numpy", "torch")


def draw(root: Node, shapes: dict[str, tuple[int, ...]], seed: int = 0, rng: str = "numpy",
         skip: Collection[str] = (), order: Sequence[str] = ()) -> dict[str, Value]:
    """Seeded random values for every variable not in `skip`: those in `order` first, in that order, then the
    others in order of first appearance.

    `rng="torch"` gives exactly `torch.manual_seed(seed)` followed by one
    `torch.randn(shape)` per variable (float32 numbers, held in float64), with
    no mapping into domains: PyTorch's numbers, whatever they feed.

    >>> from gradcalc.lang.parse import parse
    >>> drawn = draw(parse("sum(Y*X)"), {"X": (1, 2), "Y": (1, 2)}, seed=1)
    >>> list(drawn), drawn["X"].source, drawn["X"].value.shape
    (['Y', 'X'], 'normal(seed=1)', (1, 2))
    >>> draw(parse("sum(x)"), {"x": (10, 4)}, rng="torch")["x"].value[0].round(4).tolist()
    [-1.1258, -1.1524, -0.2506, -0.4339]
    """
    appearance = variable_names(root)
    names = [name for name in dict.fromkeys([*(n for n in order if n in appearance), *appearance])
             if name not in skip]
    if rng == "torch":
        from gradcalc.values.torch_rng import TorchGenerator  # only for --rng torch: its constants cost ~2 ms

        try:
            generator = TorchGenerator(seed)
        except ValueError as err:
            raise InputError(f"--seed {seed}: {err}") from None
        return {name: Value(generator.randn(shapes[name]).astype(np.float64), f"torch.randn(seed={seed})")
                for name in names}
    if seed < 0:
        raise InputError(f"--seed {seed}: must be a non-negative integer, e.g. --seed 0")
    normal = np.random.default_rng(seed)
    wanted = domains(root)
    drawn = {}
    for name in names:
        z = normal.standard_normal(shapes[name])
        source = f"normal(seed={seed})"
        if name in wanted:
            z, source = wanted[name].draw(z, source)
        drawn[name] = Value(np.asarray(z, dtype=np.float64), source)
    return drawn
