"""The operator table: every fact about one operator, declared once.

Each `Op` names its spellings (function aliases, method spellings, infix
symbol), its shape rule, its NumPy forward and curried vector-Jacobian
products (`(ans, *inputs) -> (g -> gradient)`, as in HIPS autograd), its
SymPy form and its symbolic adjoint rule (`(s, g, ans, *inputs) -> expr`,
written with the helpers of `gradcalc.matexpr`, passed in as `s`), the input
domain for random values, and its kink convention. The parser, the tape, the
symbolic side and `gradcalc ops` all read this table; the numeric and the
symbolic rules are written independently of each other.

Broadcasting is undone by the engines (`sum_to`), never in a rule.

>>> OPS["matmul"].title
'@ (matrix product)'
>>> lookup_function("tr") is OPS["trace"]
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from gradcalc import shapes
from gradcalc.tree import Node

REQUIRED = object()


@dataclass(frozen=True)
class Param:
    """A constant (non-differentiable) argument such as an exponent.

    >>> OPS["heaviside"].params
    (Param(name='h0', default=0, integer=False),)
    """

    name: str
    default: Any = REQUIRED
    integer: bool = False


@dataclass(frozen=True)
class Op:
    """One operator; see the module docstring for what each field means.

    >>> op = OPS["relu"]
    >>> op.forward(np.array([-1.0, 2.0])), op.convention
    (array([0., 2.]), "relu'(0) = 0, as torch.relu")
    """

    name: str
    doc: str
    arity: int = 1
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    symbol: str = ""
    shape: Callable[..., shapes.Shape] | None = None
    forward: Callable[..., Any] | None = None
    vjp: tuple[Callable[..., Callable[[Any], Any]], ...] = ()
    sym: Callable[..., Any] | None = None
    sym_vjp: tuple[Callable[..., Any], ...] = ()
    expand: Callable[..., Node] | None = None
    kink: Callable[..., Any] | None = None
    convention: str = ""
    domain: tuple[str | None, ...] = ()
    pretty: str = ""
    latex: str = ""

    @property
    def title(self) -> str:
        """How error messages name the operator.

        >>> OPS["mul"].title, OPS["relu"].title
        ('* (product)', 'relu')
        """
        return f"{self.symbol} ({self.doc.split(':')[0]})" if self.symbol else self.name


def call(name: str, *args: Node, **params: Any) -> Node:
    """Build a node for a composed operator's expansion.

    >>> call("neg", Node("var", name="x")).op
    'neg'
    """
    return Node(name, tuple(args), tuple(params.items()))


def _heaviside(a: Any, h0: float = 0.0) -> Any:
    return np.heaviside(a, h0)


TABLE: tuple[Op, ...] = (
    Op(
        "add", "addition: A + B, elementwise with scalar broadcasting", arity=2, symbol="+",
        shape=shapes.broadcast, forward=np.add,
        vjp=(lambda ans, a, b: lambda g: g, lambda ans, a, b: lambda g: g),
        sym=lambda s, a, b: s.add(a, b),
        sym_vjp=(lambda s, g, ans, a, b: g, lambda s, g, ans, a, b: g),
    ),
    Op(
        "sub", "subtraction: A - B, composed as A + (-B)", arity=2, symbol="-",
        expand=lambda a, b: call("add", a, call("neg", b)),
    ),
    Op(
        "neg", "negation: -A", symbol="-",
        shape=shapes.same, forward=np.negative,
        vjp=(lambda ans, a: np.negative,),
        sym=lambda s, a: s.neg(a),
        sym_vjp=(lambda s, g, ans, a: s.neg(g),),
    ),
    Op(
        "mul", "product: A * B, elementwise (Hadamard) with scalar broadcasting", arity=2, symbol="*",
        shape=shapes.broadcast, forward=np.multiply,
        vjp=(lambda ans, a, b: lambda g: g * b, lambda ans, a, b: lambda g: g * a),
        sym=lambda s, a, b: s.mul(a, b),
        sym_vjp=(lambda s, g, ans, a, b: s.mul(g, b), lambda s, g, ans, a, b: s.mul(g, a)),
    ),
    Op(
        "div", "quotient: A / B, composed as A * B**-1", arity=2, symbol="/",
        expand=lambda a, b: call("mul", a, call("pow", b, p=-1)),
    ),
    Op(
        "pow", "power: A ** p, elementwise, p a number", params=(Param("p"),), symbol="**",
        methods=("pow",),
        shape=shapes.same, forward=lambda a, p: np.power(a, float(p)),
        vjp=(lambda ans, a, p: (lambda d: lambda g: g * d)(p * np.power(a, float(p) - 1)),),
        sym=lambda s, a, p: s.pow(a, p),
        sym_vjp=(lambda s, g, ans, a, p: s.mul(g, s.scale(p, s.pow(a, p - 1))),),
    ),
    Op(
        "matmul", "matrix product: A @ B", arity=2, symbol="@",
        aliases=("mm",), methods=("mm", "matmul"),
        shape=shapes.matmul, forward=np.matmul,
        vjp=(lambda ans, a, b: lambda g: g @ b.T, lambda ans, a, b: lambda g: a.T @ g),
        sym=lambda s, a, b: s.matmul(a, b),
        sym_vjp=(
            lambda s, g, ans, a, b: s.matmul(g, s.T(b)),
            lambda s, g, ans, a, b: s.matmul(s.T(a), g),
        ),
    ),
    Op(
        "transpose", "transpose: A.T, A.t(), transpose(A)", methods=("t", "transpose"),
        shape=shapes.transpose, forward=np.transpose,
        vjp=(lambda ans, a: np.transpose,),
        sym=lambda s, a: s.T(a),
        sym_vjp=(lambda s, g, ans, a: s.T(g),),
    ),
    Op(
        "sum", "sum of all entries", methods=("sum",),
        shape=shapes.to_scalar, forward=np.sum,
        vjp=(lambda ans, a: lambda g: np.broadcast_to(g, a.shape),),
        sym=lambda s, a: s.reduce("sum", a),
        sym_vjp=(lambda s, g, ans, a: s.fill(g, a),),
    ),
    Op(
        "mean", "mean of all entries", methods=("mean",),
        shape=shapes.to_scalar, forward=np.mean,
        vjp=(lambda ans, a: lambda g: np.broadcast_to(g / a.size, a.shape),),
        sym=lambda s, a: s.reduce("mean", a),
        sym_vjp=(lambda s, g, ans, a: s.fill(s.scale(1 / s.size(a), g), a),),
    ),
    Op(
        "trace", "trace of a square matrix", aliases=("tr",), methods=("trace",),
        shape=shapes.square_to_scalar, forward=np.trace,
        vjp=(lambda ans, a: lambda g: g * np.eye(a.shape[0]),),
        sym=lambda s, a: s.trace(a),
        sym_vjp=(lambda s, g, ans, a: s.scale(g, s.eye(a.shape[0])),),
        pretty="tr", latex=r"\operatorname{tr}",
    ),
    Op(
        "relu", "rectified linear unit: max(A, 0) elementwise", methods=("relu",),
        shape=shapes.same, forward=lambda a: np.maximum(a, 0.0),
        vjp=(lambda ans, a: (lambda mask: lambda g: g * mask)(a > 0),),
        sym=lambda s, a: s.fn("relu", a),
        sym_vjp=(lambda s, g, ans, a: s.mul(g, s.fn("heaviside", a)),),
        kink=lambda a: a, convention="relu'(0) = 0, as torch.relu",
        latex=r"\operatorname{relu}",
    ),
    Op(
        "clamp", "clamp from below: clamp(A, min) = max(A, min) elementwise",
        params=(Param("min"),), methods=("clamp", "clamp_min"), aliases=("clamp_min",),
        shape=shapes.same, forward=lambda a, min: np.maximum(a, float(min)),
        vjp=(lambda ans, a, min: (lambda mask: lambda g: g * mask)(a >= min),),
        sym=lambda s, a, min: s.fn("clamp", a, params=(min,)),
        sym_vjp=(lambda s, g, ans, a, min: s.mul(g, s.fn("heaviside", s.add(a, -min), params=(1,))),),
        kink=lambda a, min: a - min, convention="gradient 1 at the bound, as torch.clamp",
        latex=r"\operatorname{clamp}",
    ),
    Op(
        "maximum", "elementwise maximum: maximum(A, B), max(A, 0)", arity=2, aliases=("max",),
        methods=("maximum",),
        shape=shapes.broadcast, forward=np.maximum,
        vjp=(
            lambda ans, a, b: (lambda w: lambda g: g * w)(_heaviside(a - b, 0.5)),
            lambda ans, a, b: (lambda w: lambda g: g * w)(_heaviside(b - a, 0.5)),
        ),
        sym=lambda s, a, b: s.fn("maximum", a, b),
        sym_vjp=(
            lambda s, g, ans, a, b: s.mul(g, s.fn("heaviside", s.add(a, s.neg(b)), params=(0.5,))),
            lambda s, g, ans, a, b: s.mul(g, s.fn("heaviside", s.add(b, s.neg(a)), params=(0.5,))),
        ),
        kink=lambda a, b: a - b, convention="ties split the gradient 0.5/0.5, as torch.maximum",
        latex=r"\max",
    ),
    Op(
        "exp", "exponential, elementwise", methods=("exp",),
        shape=shapes.same, forward=np.exp,
        vjp=(lambda ans, a: lambda g: g * ans,),
        sym=lambda s, a: s.fn("exp", a),
        sym_vjp=(lambda s, g, ans, a: s.mul(g, ans),),
        latex=r"\exp",
    ),
    Op(
        "log", "natural logarithm, elementwise", methods=("log",),
        shape=shapes.same, forward=np.log,
        vjp=(lambda ans, a: (lambda r: lambda g: g * r)(1.0 / a),),
        sym=lambda s, a: s.fn("log", a),
        sym_vjp=(lambda s, g, ans, a: s.mul(g, s.pow(a, -1)),),
        domain=("positive",), latex=r"\log",
    ),
    Op(
        "heaviside", "unit step: 1 where A > 0, h0 at 0 (default 0), else 0",
        params=(Param("h0", 0),), methods=("heaviside",),
        shape=shapes.same, forward=_heaviside,
        vjp=(lambda ans, a, h0=0: lambda g: np.zeros_like(a),),
        sym=lambda s, a, h0=0: s.fn("heaviside", a, params=(h0,)),
        sym_vjp=(lambda s, g, ans, a, h0=0: s.zero_like(a),),
        kink=lambda a, h0=0: a, convention="derivative 0 everywhere, including at 0",
        pretty="H", latex="H",
    ),
    Op(
        "eye", "identity matrix eye(n)", arity=0, params=(Param("n", integer=True),),
        aliases=("identity",),
        shape=shapes.square_of, forward=lambda n: np.eye(n),
        sym=lambda s, n: s.eye(n),
    ),
    Op(
        "ones", "matrix of ones ones(n, m)", arity=0,
        params=(Param("n", integer=True), Param("m", integer=True)),
        shape=shapes.rect_of, forward=lambda n, m: np.ones((n, m)),
        sym=lambda s, n, m: s.ones(n, m),
    ),
    Op(
        "zeros", "matrix of zeros zeros(n, m)", arity=0,
        params=(Param("n", integer=True), Param("m", integer=True)),
        shape=shapes.rect_of, forward=lambda n, m: np.zeros((n, m)),
        sym=lambda s, n, m: s.zeros(n, m),
    ),
)

OPS: dict[str, Op] = {op.name: op for op in TABLE}

_FUNCTIONS: dict[str, Op] = {}
for _op in TABLE:
    for _spelling in (_op.name, *_op.aliases):
        _FUNCTIONS.setdefault(_spelling, _op)
_METHODS: dict[str, Op] = {m: op for op in TABLE for m in op.methods}
_BINARY: dict[str, Op] = {op.symbol: op for op in TABLE if op.symbol and (op.arity == 2 or op.params)}
_UNARY: dict[str, Op] = {op.symbol: op for op in TABLE if op.symbol and op.arity == 1 and not op.params}


def lookup_function(name: str) -> Op | None:
    """The op for a function spelling (`tr`, `trace`, `mm`), or None.

    >>> lookup_function("mm").name
    'matmul'
    """
    return _FUNCTIONS.get(name)


def lookup_method(name: str) -> Op | None:
    """The op for a method spelling (`x.mm(W)`, `z.pow(2)`), or None.

    >>> lookup_method("t").name
    'transpose'
    """
    return _METHODS.get(name)


def lookup_symbol(symbol: str, binary: bool) -> Op:
    """The op for an infix (`binary`) or prefix operator symbol.

    >>> lookup_symbol("-", binary=False).name
    'neg'
    """
    return (_BINARY if binary else _UNARY)[symbol]


def function_names() -> list[str]:
    """Every function spelling, for suggestions.

    >>> "relu" in function_names()
    True
    """
    return sorted(_FUNCTIONS)


def method_names() -> list[str]:
    """Every method spelling, for suggestions.

    >>> "mm" in method_names(), "tr" in method_names()
    (True, False)
    """
    return sorted(_METHODS)
