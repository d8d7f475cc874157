"""Oracle (b): exact gradients at small shapes, independent of gradcalc's matrix rules.

Every variable becomes an explicit `sympy.Matrix` of scalar symbols (`X_0_1`),
the expression is built entry by entry by a small interpreter written here from
each operator's mathematical definition (NumPy semantics), and the reference
gradient is scalar `sympy.diff` of the output with respect to each symbol,
taken at rational values. Our side is gradcalc's closed form
(`symbolic.gradients`), printed in gradcalc syntax, re-parsed, and evaluated by
the same interpreter on the same rational values — so neither gradcalc's
adjoint rules nor its NumPy code enter the reference or the evaluation of the
formula. Comparison is exact when the difference is rational, otherwise to
1e-25 at 50 significant digits.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import sympy as sp

from gradcalc.lang.ops import OPS, TABLE
from gradcalc.lang.parse import parse
from gradcalc.symbolic.printing import syntax
from gradcalc.lang.infer import infer
from gradcalc.symbolic.adjoints import gradients
from gradcalc.lang.tree import Node, postorder, variable_names

# ---------------------------------------------------------------------------
# The explicit interpreter: scalars, 1-D vectors and matrices of SymPy scalars.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class T:
    """A value with NumPy's rank: ndim 0 holds a SymPy scalar, ndim 1 an n×1 column, ndim 2 a matrix."""

    data: Any
    ndim: int

    @property
    def shape(self) -> tuple[int, ...]:
        if self.ndim == 0:
            return ()
        if self.ndim == 1:
            return (self.data.rows,)
        return (self.data.rows, self.data.cols)

    def entries(self) -> list[Any]:
        return [self.data] if self.ndim == 0 else list(self.data)

    def grid(self) -> sp.Matrix:
        """NumPy's view for broadcasting against a matrix: a scalar is 1×1, a 1-D vector a row."""
        if self.ndim == 0:
            return sp.Matrix([[self.data]])
        return self.data.T if self.ndim == 1 else self.data


def scalar(x: Any) -> T:
    return T(sp.sympify(x), 0)


def vector(items: list[Any]) -> T:
    return T(sp.Matrix(len(items), 1, list(items)), 1)


def matrix(m: sp.Matrix) -> T:
    return T(sp.Matrix(m), 2)


def from_grid(g: sp.Matrix, ndim: int) -> T:
    if ndim == 0:
        return scalar(g[0, 0])
    if ndim == 1:
        return vector(list(g))
    return matrix(g)


def elementwise(f: Any, *operands: T) -> T:
    """Apply a scalar function entry by entry, broadcasting as NumPy does (ranks 0-2)."""
    ndim = max(o.ndim for o in operands)
    if ndim == 0:
        return scalar(f(*(o.data for o in operands)))
    grids = [o.grid() for o in operands]
    rows = {g.rows for g in grids} - {1}
    cols = {g.cols for g in grids} - {1}
    assert len(rows) <= 1 and len(cols) <= 1, f"cannot broadcast {[o.shape for o in operands]}"
    n, m = (rows.pop() if rows else 1), (cols.pop() if cols else 1)
    out = sp.Matrix(n, m, lambda i, j: f(*(g[i if g.rows > 1 else 0, j if g.cols > 1 else 0] for g in grids)))
    return from_grid(out, ndim)


def whole(a: T, f: Any) -> T:
    """A function of all entries at once that keeps the shape (softmax)."""
    values = f(a.entries())
    if a.ndim == 0:
        return scalar(values[0])
    return T(sp.Matrix(a.data.rows, a.data.cols, values), a.ndim)


def matmul(a: T, b: T) -> T:
    assert a.ndim and b.ndim, "@ needs vectors or matrices"
    left = a.data.T if a.ndim == 1 else a.data  # a 1-D operand is a row on the left ...
    right = b.data  # ... and a column on the right
    assert left.cols == right.rows, f"matmul {a.shape} @ {b.shape}"
    product = left * right
    if a.ndim == 1 and b.ndim == 1:
        return scalar(product[0, 0])
    if a.ndim == 1:
        return vector(list(product))
    if b.ndim == 1:
        return vector(list(product))
    return matrix(product)


def reduce_axis(a: T, axis: Any, combine: Any) -> T:
    if axis is None:
        return scalar(combine(a.entries()))
    axis = int(axis) % max(a.ndim, 1)
    if a.ndim == 1:
        return scalar(combine(a.entries()))
    m = a.data
    if axis == 0:  # down the rows: one value per column
        return vector([combine(list(m[:, j])) for j in range(m.cols)])
    return vector([combine(list(m[i, :])) for i in range(m.rows)])


def square_matrix(a: T) -> sp.Matrix:
    assert a.ndim == 2 and a.data.rows == a.data.cols, f"needs a square matrix, got {a.shape}"
    return a.data


def number(x: Any) -> Any:
    """A constant from the text as an exact SymPy number (floats as the short decimal they print as)."""
    if isinstance(x, bool):
        raise TypeError(x)
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer()):
        return sp.Integer(int(x))
    if x == math.pi:  # `pi` in a printed formula (erf's 2/sqrt(pi)) is π, not its float
        return sp.pi
    if isinstance(x, float) and math.isinf(x):
        return sp.oo if x > 0 else -sp.oo
    return sp.Rational(repr(float(x)))


def _sum(xs: list[Any]) -> Any:
    return sp.Add(*xs)


def _mean(xs: list[Any]) -> Any:
    return sp.Add(*xs) / len(xs)


def _variance(ddof: Any) -> Any:
    """The variance with `ddof` (N - ddof in the denominator), as np.var."""
    return lambda xs: sp.Add(*((x - _mean(xs)) ** 2 for x in xs)) / (len(xs) - number(ddof))


def _softmax(xs: list[Any]) -> list[Any]:
    total = sp.Add(*(sp.exp(x) for x in xs))
    return [sp.exp(x) / total for x in xs]


def _log_softmax(xs: list[Any]) -> list[Any]:
    total = sp.log(sp.Add(*(sp.exp(x) for x in xs)))
    return [x - total for x in xs]


#: The reductions along an axis: for the node's parameters, the function of the entries reduced.
REDUCTIONS = {
    "sum": lambda kw: _sum,
    "mean": lambda kw: _mean,
    "variance": lambda kw: _variance(kw.get("ddof", 0)),
    "std": lambda kw: (lambda xs: sp.sqrt(_variance(kw.get("ddof", 0))(xs))),
    "max": lambda kw: (lambda xs: sp.Max(*xs)),
    "min": lambda kw: (lambda xs: sp.Min(*xs)),
    "logsumexp": lambda kw: (lambda xs: sp.log(sp.Add(*(sp.exp(x) for x in xs)))),
}


def kept(r: T, a: T, axis: Any, keepdims: Any) -> T:
    """A reduction's result with keepdims: the reduced axes kept as size 1 (NumPy's shapes)."""
    if not keepdims or a.ndim == 0:
        return r
    if axis is None or a.ndim == 1:
        return matrix(sp.Matrix([[r.data]])) if a.ndim == 2 else vector([r.data])
    column = sp.Matrix(r.data)
    return matrix(column.T if int(axis) % 2 == 0 else column)


def along(a: T, axis: Any, f: Any) -> T:
    """A function of entries to entries (softmax) of all entries, or of each row (axis 1) or column (axis 0)."""
    if axis is None or a.ndim < 2:
        return whole(a, f)
    m = a.data
    if int(axis) % 2 == 1:
        return matrix(sp.Matrix.vstack(*(sp.Matrix([f(list(m[i, :]))]) for i in range(m.rows))))
    return matrix(sp.Matrix.hstack(*(sp.Matrix(f(list(m[:, j]))) for j in range(m.cols))))


ELEMENTWISE = {
    "neg": lambda x: -x,
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
    "sign": sp.sign,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "tanh": sp.tanh,
    "sigmoid": lambda x: 1 / (1 + sp.exp(-x)),
    "softplus": lambda x: sp.log(1 + sp.exp(x)),
    "relu": lambda x: sp.Max(x, 0),
    "erf": sp.erf,
    "log1p": lambda x: sp.log(1 + x),
    "expm1": lambda x: sp.exp(x) - 1,
}


def explicit(node: Node, env: dict[str, T], frozen: dict[Any, Any]) -> T:
    """Evaluate a gradcalc tree with explicit SymPy values.

    `env` maps variable names to values; `frozen` maps every scalar symbol to its
    rational value, used by `detach` so that a detached part is a constant.
    """
    memo: dict[int, T] = {}
    for n in postorder(node):
        memo[id(n)] = _explicit_node(n, [memo[id(a)] for a in n.args], env, frozen)
    return memo[id(node)]


def _explicit_node(node: Node, args: list[T], env: dict[str, T], frozen: dict[Any, Any]) -> T:
    op, kw = node.op, node.kwargs
    if op == "var":
        return env[node.name]
    if op == "const":
        return scalar(number(node.value))
    if op in ELEMENTWISE:
        return elementwise(ELEMENTWISE[op], args[0])
    if op == "add":
        return elementwise(lambda x, y: x + y, *args)
    if op == "sub":
        return elementwise(lambda x, y: x - y, *args)
    if op == "mul":
        return elementwise(lambda x, y: x * y, *args)
    if op == "div":
        return elementwise(lambda x, y: x / y, *args)
    if op == "pow":
        p = number(kw["p"])
        return elementwise(lambda x: x**p, args[0])
    if op == "square":
        return elementwise(lambda x: x**2, args[0])
    if op == "heaviside":
        h0 = number(kw.get("h0", 0))
        return elementwise(lambda x: sp.Heaviside(x, h0), args[0])
    if op == "clamp":  # Max then Min: with min > max every entry is max, as torch.clamp
        lo, hi = number(kw.get("min", -math.inf)), number(kw.get("max", math.inf))
        return elementwise(lambda x: sp.Min(sp.Max(x, lo), hi), args[0])
    if op == "minimum":
        return elementwise(lambda x, y: sp.Min(x, y), *args)
    if op in COMPARISONS:
        return elementwise(lambda x, y: sp.Piecewise((1, COMPARISONS[op](x, y)), (0, True)), *args)
    if op == "where":  # nonzero is true, as np.where
        return elementwise(lambda c, x, y: sp.Piecewise((x, sp.Ne(c, 0)), (y, True)), *args)
    if op == "leaky_relu":
        slope = number(kw.get("negative_slope", 0.01))
        return elementwise(lambda x: sp.Piecewise((x, x > 0), (slope * x, True)), args[0])
    if op == "elu":
        alpha = number(kw.get("alpha", 1.0))
        return elementwise(lambda x: sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True)), args[0])
    if op == "gelu" and kw.get("approximate", "none") == "tanh":  # PyTorch's constants, exactly
        beta, kappa = sp.sqrt(2 / sp.pi), sp.Rational("0.044715")
        return elementwise(lambda x: x / 2 * (1 + sp.tanh(beta * (x + kappa * x**3))), args[0])
    if op == "gelu":
        return elementwise(lambda x: x / 2 * (1 + sp.erf(x / sp.sqrt(2))), args[0])
    if op == "maximum":
        return elementwise(lambda x, y: sp.Max(x, y), *args)
    if op == "detach":
        a = args[0]
        return T(a.data.xreplace(frozen), a.ndim)
    if op in ("matmul", "mm"):
        return matmul(*args)
    if op == "dot":
        a, b = args
        assert a.ndim == b.ndim == 1 and a.shape == b.shape
        return scalar(sp.Add(*(x * y for x, y in zip(a.entries(), b.entries()))))
    if op == "outer":
        a, b = args
        assert a.ndim == b.ndim == 1
        return matrix(sp.Matrix(a.shape[0], b.shape[0], lambda i, j: a.data[i] * b.data[j]))
    if op == "diag":
        a = args[0]
        if a.ndim == 1:
            return matrix(sp.diag(*a.entries()))
        m = square_matrix(a)
        return vector([m[i, i] for i in range(m.rows)])
    if op == "transpose":
        a = args[0]
        return matrix(a.data.T) if a.ndim == 2 else a
    if op in REDUCTIONS:
        combine = REDUCTIONS[op](kw)
        return kept(reduce_axis(args[0], kw.get("axis"), combine), args[0], kw.get("axis"), kw.get("keepdims"))
    if op in ("softmax", "log_softmax"):
        return along(args[0], kw.get("axis"), _softmax if op == "softmax" else _log_softmax)
    if op == "trace":
        m = square_matrix(args[0])
        return scalar(sp.Add(*(m[i, i] for i in range(m.rows))))
    if op == "norm":
        return scalar(sp.sqrt(sp.Add(*(x**2 for x in args[0].entries()))))
    if op == "det":
        return scalar(square_matrix(args[0]).det())
    if op == "logdet":
        return scalar(sp.log(square_matrix(args[0]).det()))
    if op == "inv":
        return matrix(square_matrix(args[0]).inv())
    if op == "eye":
        return matrix(sp.eye(int(kw["n"])))
    if op in ("ones", "zeros"):
        fill = 1 if op == "ones" else 0
        n, m = int(kw["n"]), kw.get("m")
        if m is None:
            return vector([sp.Integer(fill)] * n)
        return matrix(sp.Matrix(n, int(m), lambda i, j: sp.Integer(fill)))
    if op in SHAPING:
        return SHAPING[op](args, kw)
    raise NotImplementedError(f"explicit(): no branch for op {op!r}")


def as_array(v: T) -> np.ndarray:
    """NumPy's own view of a value, entries SymPy scalars: the reference semantics of indexing, reshape, kron."""
    if v.ndim == 0:
        return np.array(v.data, dtype=object)
    return np.array(list(v.data) if v.ndim == 1 else v.data.tolist(), dtype=object)


def from_array(a: Any) -> T:
    a = np.asarray(a, dtype=object)
    if a.ndim == 0:
        return scalar(a.item())
    return vector(list(a)) if a.ndim == 1 else matrix(sp.Matrix(a.tolist()))


def _numpy_key(key: Any) -> tuple:
    """A gradcalc key (an integer, or a tuple of integers and (start, stop, step) slices) as NumPy takes it."""
    return tuple(i if isinstance(i, int) else slice(*i) for i in ((key,) if isinstance(key, int) else key))


def _permute(a: np.ndarray, kw: dict[str, Any]) -> np.ndarray:
    given = [kw[d] for d in ("d0", "d1") if kw.get(d) is not None]
    assert not given or len(given) == a.ndim, f"permute {given} of a {a.ndim}-D operand"
    return np.transpose(a, given or None)


def _matrix_transpose(a: np.ndarray) -> np.ndarray:
    assert a.ndim == 2, "matrix_transpose needs a matrix"
    return a.T


def _reshape(a: np.ndarray, kw: dict[str, Any]) -> np.ndarray:
    return np.reshape(a, [kw["n"]] + ([kw["m"]] if kw.get("m") is not None else []))


SHAPING = {  # each op exactly as NumPy computes it, on arrays of SymPy scalars
    "index": lambda args, kw: from_array(as_array(args[0])[_numpy_key(kw["key"])]),
    "reshape": lambda args, kw: from_array(_reshape(as_array(args[0]), kw)),
    "permute": lambda args, kw: from_array(_permute(as_array(args[0]), kw)),
    "swapaxes": lambda args, kw: from_array(np.swapaxes(as_array(args[0]), kw["axis1"], kw["axis2"])),
    "matrix_transpose": lambda args, kw: from_array(_matrix_transpose(as_array(args[0]))),
    "kron": lambda args, kw: from_array(np.kron(as_array(args[0]), as_array(args[1]))),
}


COMPARISONS = {"greater": sp.Gt, "less": sp.Lt, "greater_equal": sp.Ge, "less_equal": sp.Le, "equal": sp.Eq,
               "not_equal": sp.Ne}

INTERPRETED = set(ELEMENTWISE) | set(COMPARISONS) | {
    "clamp_min", "clamp_max", "clip",  # composed: the parser makes them clamp
    "minimum", "where", "leaky_relu", "elu", "gelu",
    "add", "sub", "mul", "div", "pow", "square", "heaviside", "clamp", "maximum", "detach", "matmul", "mm", "dot",
    "outer", "diag", "transpose", "sum", "mean", "trace", "norm", "logsumexp", "softmax", "det", "logdet",
    "variance", "std", "max", "min", "amax", "amin", "log_softmax",  # amax, amin: the parser makes them max, min
    "inv", "eye", "ones", "zeros",
}
INTERPRETED |= set(SHAPING) | {"flatten"}  # flatten: the parser makes it reshape

# ---------------------------------------------------------------------------
# Variables: explicit symbols and rational values.
# ---------------------------------------------------------------------------


def symbols_for(name: str, shape: tuple[int, ...]) -> T:
    if shape == ():
        return scalar(sp.Symbol(name, real=True))
    if len(shape) == 1:
        return vector([sp.Symbol(f"{name}_{i}", real=True) for i in range(shape[0])])
    return matrix(sp.Matrix(shape[0], shape[1], lambda i, j: sp.Symbol(f"{name}_{i}_{j}", real=True)))


def draw(shape: tuple[int, ...], domain: str, rng: random.Random) -> T:
    """Rational values k/4, 1 <= |k| <= 8: any sign ("any"), positive ("pos"), negative ("neg"); or an SPD integer matrix ("spd")."""

    def one() -> Any:
        k = rng.randint(1, 8)
        if domain == "neg" or (domain == "any" and rng.random() < 0.5):
            k = -k
        return sp.Rational(k, 4)

    if domain == "spd":
        n = shape[0]
        assert shape == (n, n)
        b = sp.Matrix(n, n, lambda i, j: rng.randint(-2, 2))
        return matrix(b * b.T + sp.eye(n))
    if shape == ():
        return scalar(one())
    if len(shape) == 1:
        return vector([one() for _ in range(shape[0])])
    return matrix(sp.Matrix(shape[0], shape[1], lambda i, j: one()))


# ---------------------------------------------------------------------------
# Cases.
# ---------------------------------------------------------------------------


@dataclass
class Case:
    ops: tuple[str, ...]  # the table operators this case exercises
    expr: str
    shapes: dict[str, tuple[int, ...]]
    domains: dict[str, str] = field(default_factory=dict)
    wrt: tuple[str, ...] | None = None

    @property
    def id(self) -> str:
        given = ",".join(f"{k}={'x'.join(map(str, v)) or 'scalar'}" for k, v in self.shapes.items())
        return f"{self.ops[0]}: {self.expr} [{given}]"


def C(ops: str, expr: str, domains: dict[str, str] | None = None, wrt: tuple[str, ...] | None = None,
      **shapes: tuple[int, ...]) -> Case:
    return Case(tuple(ops.split()), expr, shapes, domains or {}, wrt)


M23, M32, M22, M33, M13, M21, V2, V3, S = (2, 3), (3, 2), (2, 2), (3, 3), (1, 3), (2, 1), (2,), (3,), ()
B11 = (1, 1)
POS, SPD = "pos", "spd"
S2 = sp.Rational(1, 2)

CASES: list[Case] = [
    # arithmetic and broadcasting
    C("add pow sum", "sum((X + Y)**2)", X=M23, Y=M23),
    C("add", "sum((X + v)**2)", X=M23, v=V3),
    C("add", "sum((X + c)**3)", X=M23, c=M21),
    C("add", "sum((X + r)*X)", X=M23, r=M13),
    C("add", "sum((X + a)**2)", X=M23, a=S),
    C("add", "sum((c + r)**2)", c=M21, r=M13),
    C("add", "sum((v + 2)*v)", v=V3),
    C("sub", "sum((X - Y)**2)", X=M23, Y=M23),
    C("sub", "sum((X - v)**2)", X=M23, v=V3),
    C("sub", "sum((1 - X)*X)", X=M23),
    C("neg", "sum(-X * Y)", X=M23, Y=M23),
    C("neg", "-(a*a) + sum(-v*v)", a=S, v=V2),
    C("mul", "sum(X * Y * X)", X=M23, Y=M23),
    C("mul", "sum(a * X * v)", a=S, X=M23, v=V3),
    C("mul", "sum(c * X * r)", c=M21, X=M23, r=M13),
    C("div", "sum(X / Y)", {"Y": POS}, X=M23, Y=M23),
    C("div", "sum(X / a)", X=M23, a=S),
    C("div", "sum(v / X)", X=M23, v=V3),
    C("div", "sum(1 / (X*X + 1))", X=M23),
    C("pow", "sum(X**3)", X=M23),
    C("pow", "sum(X**(-2))", X=M23),
    C("pow", "sum(X**0.5)", {"X": POS}, X=M23),
    C("pow", "sum(pow(X, 1.5)) + sum(X.pow(3))", {"X": POS}, X=M23),
    C("pow", "sum(X**2.5)", {"X": POS}, X=M23),
    C("pow", "a**3 + a**(-1)", a=S),
    C("square", "sum(square(X@W))", X=M23, W=M32),
    C("square", "sum(X.square() * Y)", X=M23, Y=M23),
    # products
    C("matmul", "sum((X@W)**2)", X=M23, W=M32),
    C("matmul", "v@A@v", v=V2, A=M22),
    C("matmul", "sum(X@v)", X=M23, v=V3),
    C("matmul", "sum((u@X)**2)", u=V2, X=M23),
    C("matmul", "(u@v)**2", u=V3, v=V3),
    C("mm", "sum(mm(X, W) * X.mm(W))", X=M23, W=M32),
    C("mm", "x.t().mm(W).mm(y)", x=M21, W=M23, y=(3, 1)),
    C("matmul", "sum(X@W@X)", X=M23, W=M32),
    C("dot", "dot(u, v)**2", u=V3, v=V3),
    C("dot", "dot(u, A@v) + u.dot(u)", u=V2, A=M22, v=V2),
    C("outer", "sum(outer(u, v) * X)", u=V2, v=V3, X=M23),
    C("outer", "sum(outer(u, u)**2)", u=V3),
    C("diag", "sum(diag(v) @ X)", v=V2, X=M23),
    C("diag", "sum(diag(A)**2)", A=M33),
    C("diag", "diag(A)@v + sum(diag(diag(v))*A)", A=M22, v=V2),
    C("transpose", "sum((X.T@Y)**2)", X=M23, Y=M23),
    C("transpose", "trace(A.t()@B)", A=M23, B=M23),
    C("transpose", "sum(transpose(X)*W)", X=M23, W=M32),
    C("transpose", "sum(v.T*v)", v=V3),
    # reductions
    C("sum", "sum(X**2)", X=M23),
    C("sum", "sum(sum(X, 0)**2)", X=M23),
    C("sum", "sum(sum(X, 1)**3)", X=M23),
    C("sum", "sum(sum(X, -1)*v)", X=M23, v=V2),
    C("sum", "sum(v, 0)**2 + X.sum()", v=V3, X=M23),
    C("sum", "sum(X, axis=0)@v", X=M23, v=V3),
    C("mean", "mean(X**2)", X=M23),
    C("mean", "sum(mean(X, 0)**2)", X=M23),
    C("mean", "sum(mean(X, 1)*v)", X=M23, v=V2),
    C("mean", "mean(v)**2 + X.mean()", v=V3, X=M23),
    C("trace", "trace(A@A)", A=M22),
    C("trace", "tr(X@W) + A.trace()", X=M23, W=M32, A=M33),
    C("norm", "norm(X)", X=M23),
    C("norm", "norm(v)", v=V3),
    C("norm", "norm(X@W) + a*X.norm()", X=M23, W=M32, a=S),
    C("logsumexp", "logsumexp(X)", X=M23),
    C("logsumexp", "logsumexp(X@W) + v.logsumexp(0)", X=M23, W=M32, v=V2),
    C("softmax", "sum(softmax(X, axis=None)*Y)", X=M23, Y=M23),
    C("softmax", "sum(softmax(v)*u)", v=V3, u=V3),
    C("softmax", "sum(log(X.softmax(dim=1))*Y)", X=M23, Y=M23),
    # reductions along an axis, keepdims, and the softmax family (issue 13)
    C("sum", "sum(sum(X, axis=1, keepdims=True)*Y) + sum(torch.sum(X, dim=0, keepdim=True)**2)", X=M23, Y=M23),
    C("mean", "sum((X - X.mean(axis=1, keepdims=True))**2) + sum(mean(v, keepdims=True)*v)", X=M23, v=V3),
    C("variance", "var(X) + sum(var(X, axis=1, ddof=1)*v)", X=M23, v=V2),
    C("variance", "sum(torch.var(X, 0)) + X.var(ddof=1) + var(v) + sum(var(X, 0, keepdims=True)*Y)",
      X=M23, v=V3, Y=M23),
    C("std", "std(X) + sum(std(X, axis=1)*v) + sum(torch.std(X, dim=0, keepdim=True)*Y)", X=M23, v=V2, Y=M23),
    C("max", "max(X) + sum(max(X, axis=1)*v) + sum(max(X, 0, keepdims=True)*Y)", X=M23, v=V2, Y=M23),
    C("max", "max(u)*sum(torch.max(X, dim=1)) + sum(np.max(X, 0))", u=V3, X=M23),
    C("min", "min(X) + sum(X.min(axis=0)**2) + min(u)", X=M23, u=V3),
    C("amax", "sum(amax(X, 1)**2) + sum(torch.amax(X, dim=0, keepdim=True)*Y)", X=M23, Y=M23),
    C("amin", "sum(np.amin(X, axis=1)*v) + amin(X)", X=M23, v=V2),
    C("logsumexp", "sum(logsumexp(X, axis=1)*v) + sum(torch.logsumexp(X, 0, True)*Y)", X=M23, v=V2, Y=M23),
    C("softmax", "sum(softmax(X, axis=1)*Y) + sum(torch.softmax(X, dim=0)*Y)", X=M23, Y=M23),
    C("log_softmax", "-sum(P*log_softmax(X, axis=1)) + sum(F.log_softmax(X, dim=0)*P)", X=M23, P=M23),
    C("log_softmax", "log_softmax(v)@u + sum(log_softmax(X, axis=None)*Y)", v=V3, u=V3, X=M23, Y=M23),
    C("matmul softmax", "sum(softmax(X@W/2, axis=1)@Y) + mean(-sum(P*log_softmax(X@W, axis=1), axis=1))",
      X=M23, W=M32, Y=M23, P=M22),
    # kinked functions, away from their kinks
    C("relu", "sum((relu(X@W) - Y)**2)", X=M23, W=M32, Y=M22),
    C("relu", "sum(relu(X)*Y) + sum(X.relu())", X=M23, Y=M23),
    C("clamp", "sum(clamp(X, 0.5)*Y)", X=M23, Y=M23),
    C("clamp", "sum(X.clamp(0)**2) + sum(clamp_min(X, -1))", X=M23),
    C("maximum", "sum(maximum(X, Y)**2)", X=M23, Y=M23),
    C("maximum", "sum(maximum(X, 0)*Y)", X=M23, Y=M23),
    C("maximum", "sum(maximum(X, v)*X)", X=M23, v=V3),
    C("maximum", "sum(X.maximum(a))", X=M23, a=S),
    C("heaviside", "sum(heaviside(X)*X)", X=M23),
    C("heaviside", "sum(heaviside(X, 0.5)*Y*X)", X=M23, Y=M23),
    C("abs", "sum(abs(X)*Y)", X=M23, Y=M23),
    C("abs", "sum(abs(X@W))", X=M23, W=M32),
    C("sign", "sum(sign(X)*X*Y)", X=M23, Y=M23),
    # smooth elementwise functions
    C("exp", "sum(exp(X@W))", X=M23, W=M32),
    C("exp", "sum(X.exp()*Y)", X=M23, Y=M23),
    C("log", "sum(log(X)*Y)", {"X": POS}, X=M23, Y=M23),
    C("log", "log(sum(exp(X)))", X=M23),
    C("sqrt", "sum(sqrt(X)*Y)", {"X": POS}, X=M23, Y=M23),
    C("sqrt", "sqrt(sum(X*X) + 1)", X=M23),
    C("sin", "sum(sin(X)*Y)", X=M23, Y=M23),
    C("cos", "sum(cos(X@W))", X=M23, W=M32),
    C("tan", "sum(tan(X)*Y)", X=M23, Y=M23),
    C("tanh", "sum(tanh(X@W)*Y)", X=M23, W=M32, Y=M22),
    C("sigmoid", "sum(sigmoid(X)*Y)", X=M23, Y=M23),
    C("sigmoid", "sum(log(sigmoid(X@W)))", X=M23, W=M32),
    C("softplus", "sum(softplus(X)*Y)", X=M23, Y=M23),
    C("detach", "sum(detach(X)*X)", X=M23),
    C("detach", "sum(X * (detach(X@W) @ W.T))", X=M23, W=M32),
    C("detach", "sum(stop_gradient(X*Y)*X) + sum(Y.detach())", X=M23, Y=M23),
    # linear algebra
    C("det", "det(A)", {"A": SPD}, A=M22),
    C("det", "det(A)", {"A": SPD}, A=M33),
    C("det", "det(A@B)", A=M22, B=M22),
    C("det", "det(X@X.T)", X=M23),
    C("logdet", "logdet(A)", {"A": SPD}, A=M22),
    C("logdet", "logdet(A)", {"A": SPD}, A=M33),
    C("logdet", "logdet(X@X.T)", X=M23),
    C("inv", "sum(inv(A)*B)", {"A": SPD}, A=M22, B=M22),
    C("inv", "trace(inv(A)@B)", {"A": SPD}, A=M22, B=M22),
    C("inv", "v@inv(A)@v", {"A": SPD}, v=V2, A=M22),
    C("inv", "sum(A.inverse()@X)", {"A": SPD}, A=M22, X=M23),
    C("eye", "sum((X - eye(2))**2)", X=M22),
    C("eye", "trace(A@eye(2)@A)", A=M22),
    C("ones", "sum(X@ones(3))", X=M23),
    C("ones", "ones(2)@X@v", X=M23, v=V3),
    C("ones", "sum((X - ones(2, 3))**2)", X=M23),
    C("zeros", "sum(maximum(X, zeros(2, 3))*Y)", X=M23, Y=M23),
    C("zeros", "sum((X + zeros(3))**2)", X=M23),
    # scalar variables, 1x1 matrices, 1-D vectors in every position
    C("mul", "a*a*sum(X)", a=S, X=M23),
    C("mul", "sum(a * v * v)", a=S, v=V3),
    C("mul", "sum(B*X)", B=B11, X=M23),
    C("mul", "sum(R * a) + sum(R * 2 * R)", R=M13, a=S),
    C("add", "sum((a + v)**2)", a=S, v=V3),
    C("add", "sum((K + v)**2) + sum((v + K)**2)", K=M21, v=V3),
    C("add", "sum((X@v + u)**2)", X=M23, v=V3, u=V2),
    C("add", "sum((v@X + u)**2)", X=M23, v=V2, u=V3),
    C("add", "sum((X@v + a)**2)", X=M23, v=V3, a=S),
    C("add", "sum((X@v + K.T)**2)", X=M23, v=V3, K=M21),
    C("add", "sum((outer(u, v) + v)**2)", u=V2, v=V3),
    C("add", "sum((diag(A) + A)**2)", A=M22),
    C("mul", "sum(diag(A)*A) + sum(sum(X, 1)*X.T) + sum(mean(X, 0)*X)", A=M22, X=M23),
    C("matmul", "v@X@u + sum(X.T@v)", v=V2, X=M23, u=V3),
    C("matmul", "v@X.T@u + sum(v@X.T)", X=M32, v=V2, u=V3),
    C("matmul", "sum(x.T@W) + (x.T@x)*a", x=M21, W=M23, a=S),
    C("matmul", "sum((x.T@x)*X)", x=M21, X=M23),
    C("matmul", "sum(A@A@A) + sum(A.T@A.T) + trace(A@A@A@A)", A=M22),
    C("matmul", "sum(X@X.T@X) + sum((X@X.T)**2)", X=M23),
    C("sum", "sum(sum(X, -2)**2) + sum(sum(K, 0)**2) + sum(sum(R, 1)**2)", X=M23, K=M21, R=M13),
    C("sum", "sum(X, 0)@sum(X, 0) + sum(sum(outer(u, v), 1))", X=M23, u=V2, v=V3),
    C("mean", "sum(mean(X, -2)**2) + mean(v, 0)*a + mean(v, -1)**2", X=M23, v=V3, a=S),
    C("mean", "mean(X, 0)@mean(X, 0) + mean(R, 1)@u", X=M23, R=M13, u=(1,)),
    C("diag", "sum(diag(v)) + diag(v)@u@u + sum(diag(B))", v=V3, u=V3, B=B11),
    C("outer", "sum(outer(u, u)@v) + outer(w, v)@v@w + sum(outer(z, v)@v)", u=V3, v=V3, w=V2, z=(1,)),
    C("dot", "dot(z, z)", z=(1,)),
    C("trace", "trace(outer(u, u)) + trace(X.T@X) + trace(B)*2", u=V3, X=M23, B=B11),
    C("transpose", "sum(X.T.T*X) + a.T*a + sum(outer(u, w).T@u)", X=M23, a=S, u=V2, w=V3),
    C("det", "det(A.T) + det(A@A) + det(2*A) + det(A)*det(A)", A=M22),
    C("det", "det(B)", B=B11),
    C("det", "det(inv(A))", {"A": SPD}, A=M22),
    C("logdet", "logdet(A.T@A) + logdet(A@A.T + eye(2))", A=M22),
    C("logdet", "logdet(inv(A)) + logdet(A@A)", {"A": SPD}, A=M22),
    C("inv", "trace(inv(A)@inv(A))", {"A": SPD}, A=M22),
    C("inv", "sum(inv(A).T@inv(A))", {"A": SPD}, A=M22),
    C("inv", "sum(inv(inv(A))) + sum(inv(A.T))", {"A": SPD}, A=M22),
    C("inv", "sum(inv(A@B))", A=M22, B=M22),
    C("inv", "sum(inv(B))", {"B": POS}, B=B11),
    C("softmax", "sum(softmax(X, axis=None)**2) + softmax(v)@u + sum(softmax(a)*X)", X=M23, v=V3, u=V3, a=S),
    C("logsumexp", "logsumexp(v)*a + logsumexp(a*X) + logsumexp(b)", v=V3, a=S, X=M23, b=S),
    C("norm", "norm(a*v) + norm(X)**2 + norm(B) + norm(z)", a=S, v=V3, X=M23, B=B11, z=(1,)),
    C("sum", "sum(a) + mean(b)", a=S, b=S),
    C("exp", "exp(a)*log(b)", {"b": POS}, a=S, b=S),
    C("detach", "sum(detach(a)*v) + detach(a)*a", a=S, v=V3),
    C("eye", "sum(eye(3)@v) + v@eye(3)@v", v=V3),
    C("ones", "ones(3)@v + sum(ones(2, 3)@X.T)", v=V3, X=M23),
    C("ones", "sum(ones(2, 3)*X*X) + sum(X@ones(3, 2))", X=M23),
    C("zeros", "sum((zeros(2, 3) + X)*X)", X=M23),
    C("clamp", "sum(clamp(a*X, 0.25)) + clamp(a, 0.5)*b", a=S, X=M23, b=S),
    C("relu", "relu(a)*b + abs(a)", a=S, b=S),
    C("maximum", "sum(maximum(a, X)) + maximum(a, b) + sum(maximum(a, v))", a=S, X=M23, b=S, v=V3),
    C("maximum", "sum(maximum(X, X*X)) + sum(maximum(K, X)) + sum(maximum(v, X))", X=M23, K=M21, v=V3),
    C("pow", "sum((X@W)**(1/3)) + sum(X**-1.5)", {"X": POS, "W": POS}, X=M23, W=M32),
    C("pow", "sum((X*X)**0.5) + sum(v**2)**0.5", X=M23, v=V3),
    C("pow", "(u@v)**(-1)", {"u": POS, "v": POS}, u=V3, v=V3),
    C("div", "a/b + sum(X/(a*a + 1)) + sum(X/v) + sum(X/K) + sum(1/X)", a=S, b=S, X=M23, v=V3, K=M21),
    C("div", "sum(X)/sum(Y) + sum(Y/sum(Y)) + sum(X/norm(X))", {"Y": POS}, X=M23, Y=M23),
    C("sqrt", "sum(sqrt(X*X)) + sum(log(X*X))", X=M23),
    C("heaviside", "sum(heaviside(X, 2)*Y)", X=M23, Y=M23),
    C("tanh", "sum(tan(X)) + sum(tanh(X)**2) + sum(sigmoid(-X))", X=M23),
    C("softplus", "sum(softplus(X@W))", X=M23, W=M32),
    C("abs", "sum(abs(v))*a + sum(sign(v)*v)", v=V3, a=S),
    C("exp", "sum(exp(X)*exp(X))", X=M23),
    # clamp and clip with either bound, minimum, the activations, comparisons and where
    C("clamp", "sum(clamp(X, -1, 1)*Y)", X=M23, Y=M23),
    C("clamp", "sum(X.clamp(max=0.5)**2) + sum(torch.clamp(X, min=-0.5)) + sum(X.clip(0, 1)*Y)", X=M23, Y=M23),
    C("clamp_min", "sum(X.clamp_min(0.25)*Y)", X=M23, Y=M23),
    C("clamp_max", "sum(torch.clamp_max(X, 0.5)**2)", X=M23),
    C("clip", "sum(np.clip(X, -0.5, 1)*Y) + sum(clip(X, None, 0.75)) + sum(np.clip(X, min=0)**2)", X=M23, Y=M23),
    C("minimum", "sum(minimum(X, Y)**2)", X=M23, Y=M23),
    C("minimum", "sum(minimum(X, v)*X) + sum(torch.min(X, Y)) + sum(np.minimum(a, X))", X=M23, v=V3, Y=M23, a=S),
    C("leaky_relu", "sum(leaky_relu(X@W)*Y)", X=M23, W=M32, Y=M22),
    C("leaky_relu", "sum(F.leaky_relu(X, 0.2)**2)", X=M23),
    C("elu", "sum(elu(X)*Y) + sum(F.elu(X, alpha=0.5)**2)", X=M23, Y=M23),
    C("gelu", "sum(gelu(X)*Y)", X=M23, Y=M23),
    C("gelu", "sum(F.gelu(X@W, approximate='tanh')) + sum(gelu(X, approximate='none')**2)", X=M23, W=M32),
    C("erf", "sum(erf(X)*Y) + sum(torch.special.erf(a*X))", X=M23, Y=M23, a=S),
    C("log1p", "sum(log1p(X**2)*Y) + sum(np.log1p(P))", {"P": POS}, X=M23, Y=M23, P=M23),
    C("expm1", "sum(expm1(X)*Y) + sum(torch.expm1(a*v))", X=M23, Y=M23, a=S, v=V3),
    C("greater less", "sum((X > Y)*X) + sum((X < 0.5)*Y)", X=M23, Y=M23),
    C("greater_equal less_equal", "sum(X*(X >= 0)) + sum(Y*(X <= Y))", X=M23, Y=M23),
    C("equal not_equal", "sum(X*(X == Y)) + sum(X*(X != Y)) + sum(torch.gt(X, 0)*Y)", X=M23, Y=M23),
    C("where", "sum(where(X > 0, X, 0.1*X))", X=M23),
    C("where", "sum(where(X > Y, X**2, Y*X))", X=M23, Y=M23),
    C("where", "sum(where(X, Y, X)**2) + sum(np.where(v > 0, X, a))", X=M23, Y=M23, v=V3, a=S),
    # a little of everything together
    C("mul exp log", "sum(log(1 + exp(-Y*(X@W))))", X=M23, W=M32, Y=M22),
    C("matmul softmax", "sum(softmax(X@W, axis=None)*Y) + norm(W)", X=M23, W=M32, Y=M22),
]

CASES += [  # indexing, reshape and flatten, axis orders, kron
    C("index", "sum(X[1]*v) + X[0, 2]*X[-1, 0]", X=M23, v=V3),
    C("index", "sum(X[:, 1:]**2) + sum(X[-1:, ::2]*Y)", X=M23, Y=(1, 2)),
    C("index", "v[0]*v[-1] + sum(v[1:]*u) + sum(X[:, -1]*u)", v=V3, u=V2, X=M23),
    C("reshape flatten", "sum(reshape(X, 3, 2)*W) + flatten(X)@z", X=M23, W=M32, z=(6,)),
    C("reshape", "sum(v.reshape(1, 3)*X) + sum(X.reshape(-1)**2) + sum(np.reshape(v, (3, 1))*W)", v=V3, X=M23,
      W=M32),
    C("permute swapaxes matrix_transpose", "sum(X.permute(1, 0)*W) + sum(np.swapaxes(X, 0, 1)@X) + trace(X.mT@Y)",
      X=M23, W=M32, Y=M23),
    C("permute swapaxes", "v.permute(0)@v + sum(X.transpose()@Y) + sum(torch.transpose(X, 1, 1)*Y)", v=V3, X=M23,
      Y=M23),
    C("kron", "sum(kron(X, Y)**2) + sum(kron(B, X)*Z)", X=M21, Y=M13, B=B11, Z=M21),
    C("kron", "kron(u, v)@z", u=V2, v=V3, z=(6,)),
]

# ---------------------------------------------------------------------------
# The check.
# ---------------------------------------------------------------------------


@dataclass
class Point:
    values: dict[str, T]
    frozen: dict[Any, Any]
    output: Any  # the explicit scalar output, in the symbols


def kink_free(expr: Any, frozen: dict[Any, Any]) -> bool:
    """No Max/Abs/sign/Heaviside sits on its kink at the chosen values."""
    for atom in expr.atoms(sp.Max, sp.Min):
        args = [a.xreplace(frozen) for a in atom.args]
        if any(sp.simplify(x - y) == 0 for i, x in enumerate(args) for y in args[i + 1:]):
            return False
    for atom in expr.atoms(sp.Abs, sp.sign, sp.Heaviside):
        if sp.N(atom.args[0].xreplace(frozen), 30) == 0:
            return False
    for atom in expr.atoms(sp.Piecewise):  # a comparison at a tie; where's condition (not a mask) at 0
        for _, cond in atom.args:
            if isinstance(cond, sp.core.relational.Relational) and not cond.lhs.has(sp.Piecewise):
                if sp.N((cond.lhs - cond.rhs).xreplace(frozen), 30) == 0:
                    return False
    return True


def as_scalar(v: T) -> Any:
    if v.ndim == 0:
        return v.data
    assert v.shape in ((1, 1),), f"not a scalar output: shape {v.shape}"
    return v.data[0, 0]


def choose_point(case: Case, symbols: dict[str, T], output: Any) -> Point:
    """Rational values inside the domains, off the kinks, where the output is finite."""
    rng = random.Random(case.id)
    for _ in range(50):
        values = {name: draw(shape, case.domains.get(name, "any"), rng) for name, shape in case.shapes.items()}
        frozen = {s: v for name in case.shapes for s, v in zip(symbols[name].entries(), values[name].entries())}
        at = sp.N(output.xreplace(frozen), 30)
        if not (at.is_finite and at.is_real):
            continue
        if kink_free(output, frozen):
            return Point(values, frozen, output)
    raise AssertionError(f"no kink-free point found for {case.expr}")


def reference_gradient(output: Any, var: T, frozen: dict[Any, Any]) -> T:
    """Scalar sympy.diff, entry by entry, at the rational point."""
    grads = [sp.diff(output, s).xreplace(frozen) for s in var.entries()]
    if var.ndim == 0:
        return scalar(grads[0])
    return T(sp.Matrix(var.data.rows, var.data.cols, grads), var.ndim)


STATS = {"zero": 0, "algebraic": 0, "numeric": 0}


def assert_same(ours: T, ref: T, label: str) -> None:
    """Exact when the difference is rational or algebraic (sqrt); otherwise 50 digits, to 1e-25 relative."""
    assert ours.shape == ref.shape, f"{label}: shape {ours.shape} of our formula, expected {ref.shape}"
    for k, (a, b) in enumerate(zip(ours.entries(), ref.entries())):
        difference = sp.sympify(a - b)
        if difference == 0:
            STATS["zero"] += 1
            continue
        assert not difference.is_Rational, f"{label}[{k}]: ours {a} != exact {b}"
        if not difference.atoms(sp.Function):  # algebraic numbers only: decide exactly
            assert sp.radsimp(difference) == 0 or sp.simplify(difference) == 0, \
                f"{label}[{k}]: ours {a} != exact {b}"
            STATS["algebraic"] += 1
            continue
        STATS["numeric"] += 1
        scale = max(1, abs(sp.N(b, 50)))
        err = abs(sp.N(difference, 50))
        assert err <= sp.Float("1e-25") * scale, f"{label}[{k}]: ours {sp.N(a, 20)} != exact {sp.N(b, 20)}"


def gradcalc_formulas(expr: str, shapes: dict[str, tuple[int, ...]], wrt: list[str]) -> dict[str, str]:
    tree = parse(expr)
    info = infer(tree, dict(shapes))
    assert info.variables == dict(shapes), (info.variables, shapes)
    return {name: syntax(g) for name, g in gradients(tree, info, wrt).items()}


def check_case(case: Case) -> None:
    tree = parse(case.expr)
    names = variable_names(tree)
    assert set(names) == set(case.shapes), f"case declares {set(case.shapes)}, expression uses {names}"
    symbols = {name: symbols_for(name, shape) for name, shape in case.shapes.items()}
    output = as_scalar(explicit(tree, symbols, {}))
    point = choose_point(case, symbols, output)
    # detach is evaluated now, with the frozen values, so that it is a constant for diff
    output = as_scalar(explicit(tree, symbols, point.frozen))
    wrt = list(case.wrt or names)
    formulas = gradcalc_formulas(case.expr, case.shapes, wrt)
    for name in wrt:
        ref = reference_gradient(output, symbols[name], point.frozen)
        ours = explicit(parse(formulas[name]), point.values, point.frozen)
        assert_same(ours, ref, f"d/d{name} of {case.expr} = {formulas[name]}")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_exact_gradient(case: Case) -> None:
    check_case(case)


# Regressions: bugs this oracle found (broadcasting a 1xn/nx1 matrix against a scalar or 1-D vector;
# a gradient SymPy folded into a MatPow the printer could not print; norm of a scalar taken as the scalar).
REGRESSIONS = [
    C("add", "sum((R + 1)*R)", R=M13),
    C("add", "sum(K + 1)", K=M21),
    C("clamp", "sum(clamp(R, 1))", R=M13),
    C("add", "sum((R + v)**2)", R=M13, v=V3),
    C("mul", "sum(B*v)", B=B11, v=V3),
    C("softmax", "sum(softmax(B, axis=None)) + sum(softmax(B, axis=1)) + max(B) + var(B)", B=B11),
    C("max", "sum(max(R, axis=1, keepdims=True)*R) + sum(min(K, 0)*K) + std(R)", R=M13, K=M21),
    C("inv", "sum(inv(A)@inv(A))", {"A": SPD}, A=M22),
    C("inv", "trace(inv(A)@B@inv(A))", {"A": SPD}, A=M22, B=M22),
    C("inv", "trace(inv(A)@inv(A)) + sum(inv(A).T@inv(A))", {"A": SPD}, A=M22),
    C("norm", "norm(a)", {"a": "neg"}, a=S),
    C("norm", "norm(a)*sum(X)", {"a": "neg"}, a=S, X=M23),
]


@pytest.mark.parametrize("case", REGRESSIONS, ids=[c.id for c in REGRESSIONS])
def test_regression(case: Case) -> None:
    check_case(case)


def test_every_table_op_has_an_exact_case() -> None:
    covered = {op for c in CASES for op in c.ops}
    missing = [op.name for op in TABLE if op.name not in covered]
    assert not missing, f"ops without an exact case: {missing}"


def test_case_tags_are_true() -> None:
    """A case tagged with an op really uses it (composed ops: their spelling appears in the text)."""
    for case in CASES:
        used = {n.op for n in postorder(parse(case.expr))}
        for name in case.ops:
            op = OPS[name]
            if op.expand is None:
                assert name in used, (name, case.expr)
            else:
                spellings = [op.name, *op.aliases, *op.methods] + ([op.symbol] if op.symbol else [])
                assert any(sp_ in case.expr for sp_ in spellings), (name, case.expr)


def test_interpreter_has_a_branch_for_every_op() -> None:
    assert {op.name for op in TABLE} <= INTERPRETED


# ---------------------------------------------------------------------------
# The interpreter agrees with gradcalc's NumPy forward values (so it implements
# the same semantics: axes, 1-D rules, broadcasting).
# ---------------------------------------------------------------------------


def numpy_forward(node: Node, values: dict[str, np.ndarray]) -> Any:
    memo: dict[int, Any] = {}
    for n in postorder(node):
        if n.op == "var":
            memo[id(n)] = values[n.name]
        elif n.op == "const":
            memo[id(n)] = float(n.value)
        else:
            memo[id(n)] = OPS[n.op].forward(*(memo[id(a)] for a in n.args), **n.kwargs)
    return memo[id(node)]


def to_numpy(v: T) -> np.ndarray:
    if v.ndim == 0:
        return np.array(float(sp.N(v.data, 30)))
    flat = np.array([float(sp.N(x, 30)) for x in v.data], dtype=np.float64)
    return flat if v.ndim == 1 else flat.reshape(v.data.rows, v.data.cols)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_interpreter_matches_gradcalc_forward(case: Case) -> None:
    tree = parse(case.expr)
    rng = random.Random("forward " + case.id)
    values = {name: draw(shape, case.domains.get(name, "any"), rng) for name, shape in case.shapes.items()}
    ours = explicit(tree, values, {})
    theirs = numpy_forward(tree, {k: to_numpy(v) for k, v in values.items()})
    np.testing.assert_allclose(to_numpy(ours).reshape(np.shape(theirs)), theirs, rtol=1e-12, atol=1e-12)
    assert ours.shape == np.shape(theirs) or (ours.shape == (1, 1) and np.shape(theirs) == (1, 1))


# ---------------------------------------------------------------------------
# Textbook identities, checked both as exact symbolic identities at 2x2 / 3x3 and
# at a rational point.
# ---------------------------------------------------------------------------


def symbolic_equal(ours: T, expected: sp.Matrix) -> None:
    got = ours.data if ours.ndim else sp.Matrix([[ours.data]])
    want = expected if ours.ndim != 1 else sp.Matrix(expected).reshape(len(expected), 1)
    assert got.shape == want.shape, (got.shape, want.shape)
    for a, b in zip(got, want):
        assert sp.cancel(sp.together(a - b)) == 0, (a, b)


@pytest.mark.parametrize("n", [2, 3])
def test_identity_logdet(n: int) -> None:
    X = symbols_for("X", (n, n))
    formula = gradcalc_formulas("logdet(X)", {"X": (n, n)}, ["X"])["X"]
    ours = explicit(parse(formula), {"X": X}, {})
    symbolic_equal(ours, X.data.inv().T)


@pytest.mark.parametrize("n", [2, 3])
def test_identity_det(n: int) -> None:
    X = symbols_for("X", (n, n))
    formula = gradcalc_formulas("det(X)", {"X": (n, n)}, ["X"])["X"]
    ours = explicit(parse(formula), {"X": X}, {})
    symbolic_equal(ours, X.data.det() * X.data.inv().T)
    # and the adjugate form, which needs no inverse
    symbolic_equal(ours, X.data.adjugate().T)


@pytest.mark.parametrize("n", [2, 3])
def test_identity_quadratic_form(n: int) -> None:
    v, A = symbols_for("v", (n,)), symbols_for("A", (n, n))
    formulas = gradcalc_formulas("v@A@v", {"v": (n,), "A": (n, n)}, ["v", "A"])
    env = {"v": v, "A": A}
    symbolic_equal(explicit(parse(formulas["v"]), env, {}), (A.data + A.data.T) * v.data)
    symbolic_equal(explicit(parse(formulas["A"]), env, {}), v.data * v.data.T)


def test_identity_trace_inv() -> None:
    X, A = symbols_for("X", (2, 2)), symbols_for("A", (2, 2))
    formulas = gradcalc_formulas("trace(inv(X)@A)", {"X": (2, 2), "A": (2, 2)}, ["X", "A"])
    env = {"X": X, "A": A}
    Xi = X.data.inv()
    symbolic_equal(explicit(parse(formulas["X"]), env, {}), -(Xi * A.data * Xi).T)
    symbolic_equal(explicit(parse(formulas["A"]), env, {}), Xi.T)


def test_identities_against_scalar_diff() -> None:
    """The identities themselves, once, against entrywise sympy.diff (so the oracle is checked too)."""
    X = symbols_for("X", (2, 2)).data
    for f, grad in [(sp.log(X.det()), X.inv().T), (X.det(), X.det() * X.inv().T)]:
        for (i, j), s in np.ndenumerate(np.array(X.tolist(), dtype=object)):
            assert sp.cancel(sp.diff(f, s) - grad[i, j]) == 0


# ---------------------------------------------------------------------------
# Kink conventions (SPEC section 6): our formula, evaluated exactly at the kink.
# ---------------------------------------------------------------------------

KINKS = [  # (expression, X, Y, expected gradient for X), 2x2 so that no size-1 broadcasting is involved
    ("sum(relu(X))", [[0, 1], [-1, 0]], None, [[0, 1], [0, 0]]),  # relu'(0) = 0
    ("sum(clamp(X, 1))", [[1, 2], [0, 1]], None, [[1, 1], [0, 1]]),  # gradient 1 at the bound
    ("sum(maximum(X, Y))", [[1, 2], [0, -1]], [[1, 0], [0, 3]], [[S2, 1], [S2, 0]]),  # ties split 0.5/0.5
    ("sum(maximum(Y, X))", [[1, 2], [0, -1]], [[1, 0], [0, 3]], [[S2, 1], [S2, 0]]),
    ("sum(maximum(X, 0))", [[0, 2], [-1, 0]], None, [[S2, 1], [0, S2]]),
    ("sum(max(X, axis=1))", [[1, 1], [0, 2]], None, [[S2, S2], [0, 1]]),  # ties share evenly, as torch.amax
    ("sum(min(X, 0))", [[1, 1], [1, 2]], None, [[S2, 1], [S2, 0]]),
    ("max(X)", [[2, 0], [2, 2]], None, [[sp.Rational(1, 3), 0], [sp.Rational(1, 3), sp.Rational(1, 3)]]),
    ("sum(abs(X))", [[0, -1], [2, 0]], None, [[0, -1], [1, 0]]),  # abs'(0) = 0
    ("sum(heaviside(X)*Y)", [[0, 1], [-1, 0]], [[1, 2], [3, 4]], [[0, 0], [0, 0]]),  # derivative 0
    ("sum(heaviside(X, 0.5)*Y)", [[0, 1], [-1, 0]], [[1, 2], [3, 4]], [[0, 0], [0, 0]]),
    ("sum(sign(X)*Y)", [[0, 1], [-1, 0]], [[1, 2], [3, 4]], [[0, 0], [0, 0]]),  # sign' = 0
    ("sum(clamp(X, -1, 1))", [[1, 2], [-1, 0]], None, [[1, 0], [1, 1]]),  # gradient 1 at either bound
    ("sum(np.clip(X, None, 0))", [[0, 2], [-1, 0]], None, [[1, 0], [1, 1]]),
    ("sum(minimum(X, Y))", [[1, 2], [0, -1]], [[1, 0], [0, 3]], [[S2, 0], [S2, 1]]),  # ties split 0.5/0.5
    ("sum(leaky_relu(X, 0.25))", [[0, 1], [-1, 0]], None, [[sp.Rational(1, 4), 1], [sp.Rational(1, 4)] * 2]),
    ("sum(elu(X, 0.5))", [[0, 1], [-1, 0]], None, [[S2, 1], [sp.exp(-1) / 2, S2]]),  # elu'(0) = alpha
    ("sum(where(X > Y, X, Y))", [[1, 2], [0, -1]], [[1, 0], [0, 3]], [[0, 1], [0, 0]]),  # a tie takes Y
    ("sum(X*(X >= Y))", [[1, 2], [0, -1]], [[1, 0], [0, 3]], [[1, 1], [1, 0]]),  # the mask's derivative is 0
]


@pytest.mark.parametrize("expr,at,other,expected", KINKS, ids=[k[0] for k in KINKS])
def test_kink_conventions(expr: str, at: list, other: list | None, expected: list) -> None:
    """SPEC section 6: at a kink our formula gives PyTorch's value (sympy.diff has no opinion there)."""
    shapes = {"X": (2, 2)} | ({"Y": (2, 2)} if other is not None else {})
    values = {"X": matrix(sp.Matrix(at))} | ({"Y": matrix(sp.Matrix(other))} if other is not None else {})
    formula = gradcalc_formulas(expr, shapes, ["X"])["X"]
    ours = explicit(parse(formula), values, {})
    assert ours.data == sp.Matrix(expected), f"{expr}: {formula} gives {ours.data.tolist()} at X={at}"
