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
class Expectation:
    """The user's own formula for one gradient (`--expect NAME=FORMULA`), its numbers and verdict.

    `diagnosis` names the likely mistake when it does not hold, `corrected`
    is the formula with that mistake fixed (checked on the numbers), or "".

    >>> Expectation("W", "2*W", np.ones(2), "equal", 0.0, 0.0, "", "").verdict
    'equal'
    """

    name: str
    formula: str
    value: np.ndarray | None  # None when the formula's own shapes do not fit
    verdict: str
    max_abs_diff: float
    max_rel_diff: float
    diagnosis: str
    corrected: str
    autograd: np.ndarray | None = None  # the engine's ∂f/∂NAME it was judged against


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
    expectations: list[Expectation] = field(default_factory=list)  # --expect: the user's own formulas


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
    hessian: list[Any] = field(default_factory=list)  # derive --hessian: HessianBlock per pair of --wrt variables
    hessian_code: str = ""  # one program with a function per block (the matrix, or its action on a direction)


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
    numpy: list[str] = field(default_factory=list)  # NumPy's spellings with their keywords and defaults
    torch: list[str] = field(default_factory=list)  # PyTorch's (torch., F., torch.nn.functional.)


@dataclass
class HessianBlock:
    """The closed form of one block ∂²f/∂a∂b: in matrix notation where it has one, and as its action on a direction.

    >>> from gradcalc.jobs.second import run_hessian
    >>> from gradcalc.options import EvalOptions
    >>> block = run_hessian("x@A@x", EvalOptions(wrt=["x"], shapes={"x": (3,)}, hessian=True)).blocks[0]
    >>> block.formula, block.action
    ('A + A.T', '(A + A.T)@v')
    """

    rows: str  # a: the block's rows are a's entries (row-major)
    columns: str  # b: its columns are b's entries, and the direction is shaped like b
    direction: str  # the direction's name in `action`
    formula: str  # the block in matrix notation, gradcalc syntax ("" when there is none)
    pretty: str
    latex: str
    action: str  # H_ab·direction, gradcalc syntax
    action_pretty: str
    action_latex: str


@dataclass
class HessianResult(Judgement):
    """`eval --hessian`: the Hessian over the `--wrt` variables' entries, three ways, judged as a gradient is.

    >>> from gradcalc.jobs.second import run_hessian
    >>> from gradcalc.options import EvalOptions
    >>> r = run_hessian("sum(x**3)", EvalOptions(shapes={"x": (2,)}, hessian=True))
    >>> r.labels, r.verdict, r.blocks[0].formula
    (['x[0]', 'x[1]'], 'equal', '6*diag(x)')
    """

    expression: str
    variables: list[Variable]
    value: float
    wrt: list[str]
    labels: list[str]  # one per row (and column): the entries in row-major order, variable after variable
    layout: str
    blocks: list[HessianBlock]
    rtol: float
    atol: float | None
    notes: list[str] = field(default_factory=list)
    dtype: str = "float64"


@dataclass
class Directional(Judgement):
    """A Hessian-vector product (∂/∂x of ∇f·v) or a Jacobian-vector product J v, three ways, judged.

    >>> from gradcalc.jobs.second import run_hvp
    >>> from gradcalc.options import EvalOptions
    >>> from gradcalc.values.draw import Value
    >>> d = run_hvp("sum(x**3)", EvalOptions(hvp=Value(np.ones(2), "inline"), shapes={"x": (2,)})).products[0]
    >>> d.name, d.formula, d.verdict
    ('x', '6*(v*x)', 'equal')
    """

    name: str  # the variable whose gradient is differentiated (hvp), or the output's name (jvp)
    shape: tuple[int, ...]
    formula: str
    pretty: str
    latex: str


@dataclass
class DirectionalResult:
    """`eval --hvp V` or `eval --jvp V`: the product along the direction V of one variable.

    >>> from gradcalc.jobs.second import run_jvp
    >>> from gradcalc.options import EvalOptions
    >>> from gradcalc.values.draw import Value
    >>> r = run_jvp("A@x", EvalOptions(jvp=Value(np.ones(3), "inline"), wrt=["x"], shapes={"A": (2, 3)}))
    >>> r.kind, r.variable, r.direction, r.products[0].formula, r.verdict
    ('jvp', 'x', 'v', 'A@v', 'equal')
    """

    kind: str  # "hvp" or "jvp"
    expression: str
    variables: list[Variable]
    value: np.ndarray  # the expression's value (f for hvp, y for jvp)
    variable: str  # the variable the direction belongs to
    direction: str  # the direction's name in the formulas
    direction_value: np.ndarray
    source: str  # where the direction came from
    products: list[Directional]
    verdict: str
    rtol: float
    atol: float | None
    notes: list[str] = field(default_factory=list)
    dtype: str = "float64"
