"""What each command computes, as plain data: the views (Rich, JSON, .npy) read these and nothing else.

>>> from gradcalc.jobs.evaluate import run_eval
>>> from gradcalc.options import EvalOptions
>>> result = run_eval("sum(x*x)", EvalOptions(shapes={"x": (2,)}))
>>> isinstance(result, EvalResult), [type(g).__name__ for g in result.gradients]
(True, ['Gradient'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradcalc.lang.dims import Size
from gradcalc.referee import Judgement


@dataclass
class Variable:
    """One input: its shape, its values and where they came from.

    >>> from gradcalc.jobs.evaluate import run_eval
    >>> v = run_eval("sum(X)").variables[0]
    >>> v.name, v.shape, v.source, v.default_shape
    ('X', (4, 3), 'normal(seed=0)', True)
    """

    name: str
    shape: tuple[int, ...]
    value: np.ndarray
    source: str
    default_shape: bool = False


@dataclass
class Gradient(Judgement):
    """Everything known about the gradient with respect to one variable.

    >>> from gradcalc.jobs.evaluate import run_eval
    >>> from gradcalc.options import EvalOptions
    >>> g = run_eval("trace(A@B)", EvalOptions(wrt=["A"])).gradients[0]
    >>> g.name, g.shape, g.formula, g.pretty, g.verdict
    ('A', (4, 3), 'B.T', 'Bᵀ', 'equal')
    """

    name: str
    shape: tuple[int, ...]
    formula: str
    pretty: str
    latex: str
    shared: list[tuple[str, str]]  # common sub-expressions named once: (name, formula)
    compact: str  # the formula in terms of those names


@dataclass
class EvalResult:
    """The outcome of `gradcalc eval`.

    >>> from gradcalc.jobs.evaluate import run_eval
    >>> from gradcalc.options import EvalOptions
    >>> result = run_eval("sum(x*x)", EvalOptions(shapes={"x": (1, 2)}))
    >>> [g.name for g in result.gradients], result.verdict, result.rtol
    (['x'], 'equal', 1e-07)
    """

    expression: str
    variables: list[Variable]
    value: float
    gradients: list[Gradient]
    verdict: str
    rtol: float
    atol: float | None
    notes: list[str] = field(default_factory=list)
    dtype: str = "float64"
    steps: list[Any] = field(default_factory=list)  # gradcalc.jobs.steps.Step, with --steps
    chains: dict[str, tuple[str, str]] = field(default_factory=dict)  # gradient in the last adjoints (pretty, syntax)


@dataclass
class VjpResult:
    """`eval --vjp`: the result of `eval` on f = sum(v*(y)), and what v and y are.

    >>> from gradcalc.jobs.vjp import run_vjp
    >>> from gradcalc.values.draw import Value
    >>> from gradcalc.options import EvalOptions
    >>> r = run_vjp("2*x", EvalOptions(vjp=Value(np.array([1.0, 0.1]), "inline")))
    >>> r.weight, r.result.expression, r.result.gradients[0].formula, r.result.gradients[0].autograd
    ('v', 'sum(v*(2*x))', '2*v', array([2. , 0.2]))
    >>> r.output.shape, r.result.variables[0].shape
    ((2,), (2,))
    """

    expression: str  # y, as given
    weight: str  # v's name in the formulas
    weights: np.ndarray
    source: str  # where v came from
    output: np.ndarray  # y's value
    result: EvalResult  # eval of sum(v*(y)) with respect to the --wrt variables

    @property
    def verdict(self) -> str:
        """The verdict of the weighted eval.

        >>> from gradcalc.jobs.vjp import run_vjp
        >>> from gradcalc.values.draw import Value
        >>> from gradcalc.options import EvalOptions
        >>> run_vjp("x*x", EvalOptions(vjp=Value(np.ones(2), "inline"))).verdict
        'equal'
        """
        return self.result.verdict


@dataclass
class Jacobian(Judgement):
    """J[i, j] = ∂y_i/∂x_j for one variable x, three ways, judged as `eval` judges a gradient.

    >>> from gradcalc.jobs.jacobian import run_jacobian
    >>> from gradcalc.options import EvalOptions
    >>> j = run_jacobian("2*x", EvalOptions(shapes={"x": (2,)})).jacobians[0]
    >>> j.columns, j.symbolic.tolist(), j.formula, j.verdict
    (['x[0]', 'x[1]'], [[2.0, 0.0], [0.0, 2.0]], '2*v', 'equal')
    """

    name: str
    rows: list[str]  # output entries
    columns: list[str]  # input entries
    formula: str  # the VJP formula; row i is its value at v = one-hot(i)
    pretty: str
    latex: str


@dataclass
class JacobianResult:
    """`eval --jacobian`: the output, and one Jacobian per `--wrt` variable.

    >>> from gradcalc.jobs.jacobian import run_jacobian
    >>> from gradcalc.options import EvalOptions
    >>> r = run_jacobian("X@W", EvalOptions(shapes={"X": (2, 3), "W": (3, 2)}, wrt=["W"]))
    >>> r.output.shape, r.jacobians[0].autograd.shape, r.verdict
    ((2, 2), (4, 6), 'equal')
    """

    expression: str
    weight: str
    variables: list[Variable]
    output: np.ndarray
    jacobians: list[Jacobian]
    verdict: str
    rtol: float
    atol: float | None
    notes: list[str] = field(default_factory=list)
    dtype: str = "float64"


@dataclass
class Step(Judgement):
    """One node of the backward chain: its definition, its adjoint two ways, its numbers and verdict.

    >>> from gradcalc.jobs.evaluate import run_eval
    >>> from gradcalc.options import EvalOptions
    >>> step = run_eval("sum(exp(X@W))", EvalOptions(wrt=["W"], steps=True)).steps[-1]
    >>> step.name, step.definition, step.chain, step.formula
    ('Z', 'XW', 'exp(Z)', 'exp(X@W)')
    """

    name: str  # as shown, e.g. "Ŷ"
    label: str  # the same in gradcalc syntax, e.g. "Yhat"
    definition: str  # pretty, in terms of earlier names: "relu(Z)"
    definition_syntax: str
    chain: str  # the adjoint in terms of the adjoints already known, pretty: "∂f/∂Ŷ ⊙ H(Z)"
    chain_syntax: str  # the same with d-names: "dYhat*heaviside(Z)"
    formula: str  # the adjoint expanded in the variables (gradcalc syntax)
    pretty: str
    shape: tuple[int, ...]
    value: np.ndarray  # the node's value in the forward pass


@dataclass
class DerivedGradient:
    """The closed-form gradient with respect to one variable, in every printed form.

    >>> from gradcalc.jobs.derive import run_derive
    >>> from gradcalc.options import EvalOptions
    >>> g = run_derive("trace(A@B)", EvalOptions(wrt=["A"])).gradients[0]
    >>> g.name, g.shape, g.formula, g.pretty
    ('A', ('n', 'k'), 'B.T', 'Bᵀ')
    """

    name: str
    shape: tuple[Size, ...]
    formula: str
    pretty: str
    latex: str
    shared: list[tuple[str, str]]  # common sub-expressions named once: (name, formula)
    compact: str  # the formula in terms of those names
    code: str  # a self-contained NumPy program with one function, grad_NAME


@dataclass
class DeriveResult:
    """The outcome of `gradcalc derive`.

    >>> from gradcalc.jobs.derive import run_derive
    >>> result = run_derive("mean(X)")
    >>> result.gradients[0].formula, result.defaulted
    ('ones(n, k)/(k*n)', ['X'])
    """

    expression: str
    variables: dict[str, tuple[Size, ...]]
    gradients: list[DerivedGradient]
    code: str  # one program with a function per gradient
    defaulted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class OpEntry:
    """One operator as the catalogue describes it."""

    name: str
    doc: str
    functions: list[str]
    methods: list[str]
    symbol: str
    params: list[str]
    shapes: str
    derivative: dict[str, str] = field(default_factory=dict)
    convention: str = ""
