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
    "reduction": "a sum, mean, variance, max or logsumexp over all entries or along an axis",
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
    torch_aliases: tuple[str, ...] = ()  # more keywords PyTorch takes for it (its NumPy-style `axis`, `keepdims`)
    positional: str = "both"  # where it may be passed by position: "both", "numpy", "torch" or "none"
    library: str = ""  # "torch" for a parameter only PyTorch has (`unbiased`), "" for one both have
    torch_required: bool = False  # PyTorch has no default and no None for it (`torch.softmax(X)` needs dim)
    sets: str = ""  # for a flag that stands for another parameter: its name (`unbiased=True` is `correction=1`)
    example: Any = REQUIRED  # a required parameter's value where `gradcalc ops` shows the derivative (`X[0]`)

    def keywords(self, library: str) -> tuple[str, ...]:
        """Every keyword a library ("numpy", "torch", or "either" of them) accepts for this parameter.

        >>> Param("axis", None, kind="axis", torch="dim", torch_aliases=("axis",)).keywords("torch")
        ('dim', 'axis')
        >>> Param("unbiased", None, kind="flag", library="torch").keywords("numpy")
        ()
        """
        numpy = (self.name,) if self.library in ("", "numpy") else ()
        torch = (self.torch or self.name, *self.torch_aliases) if self.library in ("", "torch") else ()
        chosen = {"numpy": numpy, "torch": torch}.get(library, numpy + torch)
        return tuple(dict.fromkeys(chosen))

    def positional_in(self, library: str) -> bool:
        """Whether a library takes this parameter by position (`torch.sum(X, 1, True)`, not `np.sum(X, 1, True)`).

        >>> Param("keepdims", False, kind="flag", positional="torch").positional_in("numpy")
        False
        """
        if self.library and self.library != library:
            return False
        return self.positional == "both" or self.positional == library

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
        if library == "torch" and self.torch_required:
            return REQUIRED
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
    input that must be invertible is singular. With `tuple_params` the
    parameters may come as one tuple (`np.reshape(X, (2, 6))`); `refuse`
    returns why a call is refused, or "", given the spelling, the library
    ("numpy", "torch", or "either" for a method) and the parameters
    (`X.transpose(0, 1)`: NumPy and PyTorch read it differently);
    `refuse_operands` the same given the library and the operands' trees
    (`torch.where` wants a comparison as its condition).

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
    tuple_params: bool = False
    refuse: Callable[[str, str, dict[str, Any]], str] | None = None
    refuse_operands: Callable[[str, tuple[Node, ...]], str] | None = None

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
