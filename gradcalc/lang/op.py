"""One row of the operator table: every fact about one operator, declared once.

An `Op` names its spellings (function aliases, method spellings, infix
symbol), its shape rule, its NumPy forward and curried vector-Jacobian
products (`(ans, *inputs) -> (g -> gradient)`, as in HIPS autograd), its
SymPy form and its symbolic adjoint rule (`(s, g, ans, *inputs) -> expr`,
written with the helpers of `gradcalc.symbolic.vocabulary`, passed in as
`s`), its NumPy spelling for generated code (and a helper where NumPy has
none), its role, the domain of each input, and its kink convention. The
numeric and the symbolic rules are written independently of each other.

>>> op = Op("twice", "twice A", role="elementwise", forward=lambda a: 2 * a)
>>> op.title, op.forward(3.0)
('twice', 6.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from gradcalc.lang import shape_rules as rules
from gradcalc.lang.dims import Shape
from gradcalc.lang.domains import Domain
from gradcalc.lang.tree import Node

REQUIRED = object()

#: What an op is, for the parts that name nodes (`--steps`: `H` for an activation) and group the docs.
ROLES = {
    "arithmetic": "elementwise arithmetic with broadcasting",
    "matrix": "linear algebra on vectors and matrices",
    "reduction": "a sum or mean over entries or an axis",
    "activation": "an elementwise function used as a network activation",
    "elementwise": "another elementwise function",
    "scalar": "a scalar function of a whole matrix",
    "constructor": "a constant matrix of a given size",
}


@dataclass(frozen=True)
class Param:
    """A constant (non-differentiable) argument such as an exponent.

    >>> Param("axis", None, kind="axis").kind
    'axis'
    """

    name: str
    default: Any = REQUIRED
    kind: str = "number"  # "number", "size" (a positive integer), "axis" (an integer), "flag", "choice"
    torch: str = ""  # PyTorch's keyword for it (`dim` for `axis`, `keepdim` for `keepdims`), if it differs
    torch_default: Any = REQUIRED  # PyTorch's default, where it differs from NumPy's (`correction=1` of var)
    choices: tuple[str, ...] = ()  # the strings a "choice" accepts (`approximate='tanh'`)

    def keyword(self, library: str) -> str:
        """The keyword a library spells this parameter with.

        >>> Param("axis", None, kind="axis", torch="dim").keyword("torch")
        'dim'
        """
        return self.torch or self.name if library == "torch" else self.name

    def default_in(self, library: str) -> Any:
        """The default a library uses when the parameter is not given.

        >>> Param("ddof", 0, torch_default=1).default_in("torch"), Param("ddof", 0).default_in("torch")
        (1, 0)
        """
        return self.torch_default if library == "torch" and self.torch_default is not REQUIRED else self.default


@dataclass(frozen=True)
class Op:
    """One operator; see the module docstring for what each field means.

    `numpy_names` and `torch_names` are the library spellings that mean
    this op (`linalg.det` under `np.`, `inverse` under `torch.`); one torch
    name may name two ops (`torch.max(X, 1)` reduces, `torch.max(X, Y)` is
    elementwise): the first whose extra arguments are constants wins.
    `torch_note` is said when a torch spelling is read (what it returns),
    `confused_with` names the op a user may have meant when a constant
    argument is not a constant (`max(X, Y)`: `maximum`).
    `numpy` is a template for generated code (`{0}`, `{1}`: operands, then
    parameters; `np` the module), `helper` the lines defining a function the
    template calls when NumPy has none, `fold` the exact arithmetic the
    parser uses on constants, `at_singular` what to add to the note when an
    input that must be invertible is singular.

    >>> Op("neg", "negation", symbol="-").title
    '- (negation)'
    """

    name: str
    doc: str
    arity: int = 1
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    symbol: str = ""
    numpy_names: tuple[str, ...] = ()
    torch_names: tuple[str, ...] = ()
    torch_note: str = ""
    confused_with: str = ""
    role: str = ""
    shape: Callable[..., Shape] | None = None
    forward: Callable[..., Any] | None = None
    vjp: tuple[Callable[..., Callable[[Any], Any]], ...] = ()
    sym: Callable[..., Any] | None = None
    sym_vjp: tuple[Callable[..., Any], ...] = ()
    expand: Callable[..., Node] | None = None
    fold: Callable[..., Any] | None = None
    kink: Callable[..., Any] | None = None
    convention: str = ""
    domain: tuple[Domain | None, ...] = ()
    at_singular: str = ""
    stops_gradient: bool = False
    ranks: tuple[int | None, ...] = ()
    numpy: str = ""
    helper: tuple[str, ...] = ()
    pretty: str = ""
    latex: str = ""

    @property
    def title(self) -> str:
        """How error messages name the operator.

        >>> Op("mul", "product: A * B", symbol="*").title, Op("relu", "rectifier").title
        ('* (product)', 'relu')
        """
        return f"{self.symbol} ({self.doc.split(':')[0]})" if self.symbol else self.name


def call(name: str, *args: Node, **params: Any) -> Node:
    """Build a node for a composed operator's expansion.

    >>> call("neg", Node("var", name="x")).op
    'neg'
    """
    return Node(name, tuple(args), tuple(params.items()))


def elementwise(name: str, doc: str, forward: Callable[..., Any], vjp: Callable[..., Any],
                sym_vjp: Callable[..., Any], **facts: Any) -> Op:
    """An elementwise function of one operand: same shape out, method spelling `A.name()`, `np.name` in code.

    >>> elementwise("sin", "sine", None, None, None, role="elementwise").numpy
    'np.sin({0})'
    """
    facts.setdefault("numpy", f"np.{name}({{0}})")
    return Op(name, doc, methods=(name,), shape=rules.same, forward=forward, vjp=(vjp,),
              sym=lambda s, a: s.fn(name, a), sym_vjp=(sym_vjp,), **facts)
