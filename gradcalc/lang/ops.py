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

from gradcalc.lang import kernels
from gradcalc.lang import shape_rules as rules
from gradcalc.lang.dims import Shape
from gradcalc.lang.tree import Node

REQUIRED = object()



@dataclass(frozen=True)
class Param:
    """A constant (non-differentiable) argument such as an exponent.

    >>> OPS["heaviside"].params
    (Param(name='h0', default=0, kind='number'),)
    """

    name: str
    default: Any = REQUIRED
    kind: str = "number"  # "number", "size" (a positive integer) or "axis" (an integer)


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
    shape: Callable[..., Shape] | None = None
    forward: Callable[..., Any] | None = None
    vjp: tuple[Callable[..., Callable[[Any], Any]], ...] = ()
    sym: Callable[..., Any] | None = None
    sym_vjp: tuple[Callable[..., Any], ...] = ()
    expand: Callable[..., Node] | None = None
    kink: Callable[..., Any] | None = None
    convention: str = ""
    domain: tuple[str | None, ...] = ()
    stops_gradient: bool = False
    ranks: tuple[int | None, ...] = ()
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


def _elementwise(name: str, doc: str, forward: Callable[..., Any], vjp: Callable[..., Any],
                 sym_vjp: Callable[..., Any], **facts: Any) -> Op:
    """An elementwise function of one operand: same shape out, method spelling `A.name()`."""
    return Op(name, doc, methods=(name,), shape=rules.same, forward=forward, vjp=(vjp,),
              sym=lambda s, a: s.fn(name, a), sym_vjp=(sym_vjp,), **facts)


TABLE: tuple[Op, ...] = (
    Op(
        "add", "addition: A + B, elementwise with scalar broadcasting", arity=2, symbol="+",
        shape=rules.broadcast, forward=np.add,
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
        shape=rules.same, forward=np.negative,
        vjp=(lambda ans, a: np.negative,),
        sym=lambda s, a: s.neg(a),
        sym_vjp=(lambda s, g, ans, a: s.neg(g),),
    ),
    Op(
        "mul", "product: A * B, elementwise (Hadamard) with scalar broadcasting", arity=2, symbol="*",
        shape=rules.broadcast, forward=np.multiply,
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
        shape=rules.same, forward=lambda a, p: np.square(a) if float(p) == 2.0 else np.power(a, float(p)),
        vjp=(kernels.pow_vjp,),
        sym=lambda s, a, p: s.pow(a, p),
        sym_vjp=(lambda s, g, ans, a, p: s.mul(g, s.scale(s.number(p), s.pow(a, s.number(p) - 1))),),
    ),
    Op(
        "matmul", "matrix product: A @ B", arity=2, symbol="@",
        aliases=("mm",), methods=("mm", "matmul"),
        shape=rules.matmul, forward=kernels.matmul,
        vjp=(kernels.matmul_vjp_left, kernels.matmul_vjp_right),
        sym=lambda s, a, b: s.matmul(a, b),
        sym_vjp=(kernels.sym_matmul_left, kernels.sym_matmul_right),
    ),
    Op(
        "dot", "inner product of two 1-D vectors", arity=2, methods=("dot",), ranks=(1, 1),
        shape=rules.vectors_to_scalar, forward=np.dot,
        vjp=(lambda ans, a, b: lambda g: g * b, lambda ans, a, b: lambda g: g * a),
        sym=lambda s, a, b: s.matmul(a, b),
        sym_vjp=(lambda s, g, ans, a, b: s.scale(g, b), lambda s, g, ans, a, b: s.scale(g, a)),
    ),
    Op(
        "outer", "outer product of two 1-D vectors", arity=2, methods=("outer",), ranks=(1, 1),
        shape=rules.vectors_to_matrix, forward=np.outer,
        vjp=(lambda ans, a, b: lambda g: g @ b, lambda ans, a, b: lambda g: g.T @ a),
        sym=lambda s, a, b: s.outer(a, b),
        sym_vjp=(lambda s, g, ans, a, b: s.matmul(g, b), lambda s, g, ans, a, b: s.matmul(s.T(g), a)),
    ),
    Op(
        "diag", "diagonal matrix of a vector, or the diagonal of a square matrix", methods=("diag",),
        shape=rules.diagonal, forward=np.diag,
        vjp=(lambda ans, a: np.diag,),
        sym=lambda s, a: s.diag(a),
        sym_vjp=(lambda s, g, ans, a: s.diag(g),),
    ),
    Op(
        "transpose", "transpose: A.T, A.t(), transpose(A)", methods=("t", "transpose"), symbol=".T",
        shape=rules.transpose, forward=np.transpose,
        vjp=(lambda ans, a: np.transpose,),
        sym=lambda s, a: s.T(a),
        sym_vjp=(lambda s, g, ans, a: s.T(g),),
    ),
    Op(
        "sum", "sum of all entries, or along an axis", params=(Param("axis", None, kind="axis"),),
        methods=("sum",),
        shape=rules.reduce, forward=lambda a, axis=None: np.add.reduce(a, axis=axis),
        vjp=(kernels.sum_vjp,),
        sym=lambda s, a, axis=None: s.reduce("sum", a, axis),
        sym_vjp=(lambda s, g, ans, a, axis=None: s.spread(g, a, axis),),
    ),
    Op(
        "mean", "mean of all entries, or along an axis", params=(Param("axis", None, kind="axis"),),
        methods=("mean",),
        shape=rules.reduce, forward=lambda a, axis=None: np.mean(a, axis=axis),
        vjp=(kernels.mean_vjp,),
        sym=lambda s, a, axis=None: s.reduce("mean", a, axis),
        sym_vjp=(lambda s, g, ans, a, axis=None: s.scale(s.size(ans) / s.size(a), s.spread(g, a, axis)),),
    ),
    Op(
        "trace", "trace of a square matrix", aliases=("tr",), methods=("trace",),
        shape=rules.square_to_scalar, forward=np.trace,
        vjp=(lambda ans, a: lambda g: g * np.eye(a.shape[0]),),
        sym=lambda s, a: s.trace(a),
        sym_vjp=(lambda s, g, ans, a: s.scale(g, s.eye(a.shape[0])),),
        pretty="tr", latex=r"\operatorname{tr}",
    ),
    Op(
        "relu", "rectified linear unit: max(A, 0) elementwise", methods=("relu",),
        shape=rules.same, forward=lambda a: np.maximum(a, 0.0),
        vjp=(kernels.relu_vjp,),
        sym=lambda s, a: s.fn("relu", a),
        sym_vjp=(lambda s, g, ans, a: s.mul(g, s.fn("heaviside", a)),),
        kink=lambda a: a, convention="relu'(0) = 0, as torch.relu",
        latex=r"\operatorname{relu}",
    ),
    Op(
        "clamp", "clamp from below: clamp(A, min) = max(A, min) elementwise",
        params=(Param("min"),), methods=("clamp", "clamp_min"), aliases=("clamp_min",),
        shape=rules.same, forward=lambda a, min: np.maximum(a, float(min)),
        vjp=(lambda ans, a, min: (lambda mask: lambda g: g * mask)(a >= min),),
        sym=lambda s, a, min: s.fn("clamp", a, params=(min,)),
        sym_vjp=(lambda s, g, ans, a, min: s.mul(g, s.fn("heaviside", s.add(a, -min), params=(1,))),),
        kink=lambda a, min: a - min, convention="gradient 1 at the bound, as torch.clamp",
        latex=r"\operatorname{clamp}",
    ),
    Op(
        "maximum", "elementwise maximum: maximum(A, B), max(A, 0)", arity=2, aliases=("max",),
        methods=("maximum",),
        shape=rules.broadcast, forward=np.maximum,
        vjp=(
            lambda ans, a, b: (lambda w: lambda g: g * w)(kernels.heaviside(a - b, 0.5)),
            lambda ans, a, b: (lambda w: lambda g: g * w)(kernels.heaviside(b - a, 0.5)),
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
        shape=rules.same, forward=np.exp,
        vjp=(lambda ans, a: lambda g: g * ans,),
        sym=lambda s, a: s.fn("exp", a),
        sym_vjp=(lambda s, g, ans, a: s.mul(g, ans),),
        latex=r"\exp",
    ),
    Op(
        "log", "natural logarithm, elementwise", methods=("log",),
        shape=rules.same, forward=np.log,
        vjp=(lambda ans, a: (lambda r: lambda g: g * r)(1.0 / a),),
        sym=lambda s, a: s.fn("log", a),
        sym_vjp=(lambda s, g, ans, a: s.mul(g, s.pow(a, -1)),),
        domain=("positive",), latex=r"\log",
    ),
    Op(
        "heaviside", "unit step: 1 where A > 0, h0 at 0 (default 0), else 0",
        params=(Param("h0", 0),), methods=("heaviside",),
        shape=rules.same, forward=kernels.heaviside,
        vjp=(lambda ans, a, h0=0: lambda g: np.zeros_like(a),),
        sym=lambda s, a, h0=0: s.fn("heaviside", a, params=(h0,)),
        sym_vjp=(lambda s, g, ans, a, h0=0: s.zero_like(a),),
        kink=lambda a, h0=0: a, convention="derivative 0 everywhere, including at 0",
        pretty="H", latex="H",
    ),
    _elementwise(
        "sqrt", "square root, elementwise", np.sqrt,
        lambda ans, a: (lambda d: lambda g: g * d)(0.5 / ans),
        lambda s, g, ans, a: s.mul(g, s.scale(s.rational(1, 2), s.pow(ans, -1))),
        domain=("positive",), latex=r"\sqrt",
    ),
    _elementwise(
        "abs", "absolute value, elementwise", np.abs,
        lambda ans, a: (lambda d: lambda g: g * d)(np.sign(a)),
        lambda s, g, ans, a: s.mul(g, s.fn("sign", a)),
        kink=lambda a: a, convention="abs'(0) = 0, as torch.abs", latex=r"\operatorname{abs}",
    ),
    _elementwise(
        "sign", "sign, elementwise: -1, 0 or 1", np.sign,
        lambda ans, a: lambda g: np.zeros_like(a),
        lambda s, g, ans, a: s.zero_like(a),
        kink=lambda a: a, convention="derivative 0 everywhere, including at 0, as torch.sign",
        latex=r"\operatorname{sign}",
    ),
    _elementwise(
        "sin", "sine, elementwise", np.sin,
        lambda ans, a: (lambda d: lambda g: g * d)(np.cos(a)),
        lambda s, g, ans, a: s.mul(g, s.fn("cos", a)), latex=r"\sin",
    ),
    _elementwise(
        "cos", "cosine, elementwise", np.cos,
        lambda ans, a: (lambda d: lambda g: g * d)(-np.sin(a)),
        lambda s, g, ans, a: s.neg(s.mul(g, s.fn("sin", a))), latex=r"\cos",
    ),
    _elementwise(
        "tan", "tangent, elementwise", np.tan,
        lambda ans, a: (lambda d: lambda g: g * d)(1.0 + ans * ans),
        lambda s, g, ans, a: s.mul(g, s.add(1, s.pow(ans, 2))), latex=r"\tan",
    ),
    _elementwise(
        "tanh", "hyperbolic tangent, elementwise", np.tanh,
        lambda ans, a: (lambda d: lambda g: g * d)(1.0 - ans * ans),
        lambda s, g, ans, a: s.mul(g, s.add(1, s.neg(s.pow(ans, 2)))), latex=r"\tanh",
    ),
    _elementwise(
        "sigmoid", "logistic sigmoid 1/(1 + exp(-A)), elementwise", kernels.sigmoid,
        lambda ans, a: (lambda d: lambda g: g * d)(ans * (1.0 - ans)),
        lambda s, g, ans, a: s.mul(g, s.mul(ans, s.add(1, s.neg(ans)))), latex=r"\sigma",
    ),
    _elementwise(
        "softplus", "softplus log(1 + exp(A)), elementwise", lambda a: np.logaddexp(0.0, a),
        lambda ans, a: (lambda d: lambda g: g * d)(kernels.sigmoid(a)),
        lambda s, g, ans, a: s.mul(g, s.fn("sigmoid", a)), latex=r"\operatorname{softplus}",
    ),
    Op(
        "square", "square A**2, composed as pow(A, 2)", methods=("square",),
        expand=lambda a: call("pow", a, p=2),
    ),
    _elementwise(
        "detach", "stop the gradient: the value of A, treated as a constant", lambda a: a,
        lambda ans, a: lambda g: np.zeros_like(a),
        lambda s, g, ans, a: s.zero_like(a),
        stops_gradient=True, aliases=("stop_gradient",), latex=r"\operatorname{detach}",
    ),
    Op(
        "norm", "Frobenius (Euclidean) norm sqrt(sum(A**2))", methods=("norm",),
        shape=rules.to_scalar, forward=lambda a: np.sqrt(np.sum(a * a)),
        vjp=(lambda ans, a: lambda g: g * a / ans,),
        sym=lambda s, a: s.reduce("norm", a),
        sym_vjp=(lambda s, g, ans, a: s.scale(g / ans, a),),
        latex=r"\operatorname{norm}",
    ),
    Op(
        "logsumexp", "log of the sum of exp over all entries", methods=("logsumexp",),
        shape=rules.to_scalar, forward=kernels.logsumexp,
        vjp=(lambda ans, a: (lambda w: lambda g: g * w)(np.exp(a - ans)),),
        sym=lambda s, a: s.reduce("logsumexp", a),
        sym_vjp=(lambda s, g, ans, a: s.scale(g, s.whole("softmax", a)),),
        latex=r"\operatorname{logsumexp}",
    ),
    Op(
        "softmax", "softmax over all entries: exp(A - logsumexp(A))", methods=("softmax",),
        shape=rules.same, forward=lambda a: np.exp(a - kernels.logsumexp(a)),
        vjp=(lambda ans, a: lambda g: ans * (g - np.sum(g * ans)),),
        sym=lambda s, a: s.whole("softmax", a),
        sym_vjp=(lambda s, g, ans, a: s.mul(ans, s.add(g, s.neg(s.reduce("sum", s.mul(g, ans))))),),
        latex=r"\operatorname{softmax}",
    ),
    Op(
        "det", "determinant of a square matrix", methods=("det",),
        shape=rules.square_to_scalar, forward=np.linalg.det,
        vjp=(lambda ans, a: (lambda d: lambda g: g * d)(ans * kernels.inv(a).T),),
        sym=lambda s, a: s.det(a),
        sym_vjp=(lambda s, g, ans, a: s.scale(g * ans, s.T(s.inv(a))),),
        domain=("spd",), latex=r"\det",
    ),
    Op(
        "logdet", "log of the determinant (NaN for a negative determinant, as torch.logdet)",
        methods=("logdet",),
        shape=rules.square_to_scalar, forward=kernels.logdet,
        vjp=(lambda ans, a: (lambda d: lambda g: g * d)(kernels.inv(a).T),),
        sym=lambda s, a: s.reduce("logdet", a),
        sym_vjp=(lambda s, g, ans, a: s.scale(g, s.T(s.inv(a))),),
        domain=("spd",), latex=r"\log\det",
    ),
    Op(
        "inv", "matrix inverse", aliases=("inverse",), methods=("inverse", "inv"),
        shape=rules.square, forward=kernels.inv,
        vjp=(lambda ans, a: lambda g: -ans.T @ g @ ans.T,),
        sym=lambda s, a: s.inv(a),
        sym_vjp=(lambda s, g, ans, a: s.neg(s.matmul(s.matmul(s.T(ans), g), s.T(ans))),),
        domain=("spd",), pretty="inv", latex=r"\operatorname{inv}",
    ),
    Op(
        "eye", "identity matrix eye(n)", arity=0, params=(Param("n", kind="size"),),
        aliases=("identity",),
        shape=rules.square_of, forward=lambda n: np.eye(n),
        sym=lambda s, n: s.eye(n),
    ),
    Op(
        "ones", "ones: a vector ones(n) or a matrix ones(n, m)", arity=0,
        params=(Param("n", kind="size"), Param("m", None, kind="size")),
        shape=rules.sized, forward=lambda n, m=None: np.ones((n,) if m is None else (n, m)),
        sym=lambda s, n, m=None: s.ones(n, m),
    ),
    Op(
        "zeros", "zeros: a vector zeros(n) or a matrix zeros(n, m)", arity=0,
        params=(Param("n", kind="size"), Param("m", None, kind="size")),
        shape=rules.sized, forward=lambda n, m=None: np.zeros((n,) if m is None else (n, m)),
        sym=lambda s, n, m=None: s.zeros(n, m),
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
