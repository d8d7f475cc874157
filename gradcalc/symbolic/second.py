"""Closed forms of second order, by the first-order rules: Hessian-vector products, Hessians, JVPs.

The closed-form gradient G prints as gradcalc syntax that re-parses, so the
Hessian along a direction V (shaped like the variable) is the closed-form
gradient of sum(V*(G)): the Hessian-vector product, derived with the same
rules as every gradient. Read as a linear operator in V it is the Hessian
itself, where matrix notation can say so: for vectors x and V, HVP = H@V
with H in matrix notation (`u*(M@V)` is `diag(u)@M@V`); for scalars H is
the HVP at V = 1; otherwise H is shown by its action on V. A JVP along V is
J V = ∂/∂u sum(V*(R)), R the vector-Jacobian product (closed form) of
sum(u*(y)) — the VJP of the VJP.

>>> from gradcalc.lang.parse import parse
>>> from gradcalc.lang.infer import infer
>>> from gradcalc.symbolic.printing import syntax
>>> tree = parse("x@A@x"); info = infer(tree, {"x": (3,)}, scalar=True)
>>> block = hessian_blocks("x@A@x", tree, info, ["x"])[("x", "x")]
>>> block.action.syntax, syntax(block.matrix)
('(A + A.T)@v', 'A + A.T')
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, count
from typing import Any

import sympy as sp
from sympy import HadamardProduct, Identity, MatAdd, MatMul, OneMatrix, Transpose, ZeroMatrix

from gradcalc.lang.infer import ShapeInfo, infer
from gradcalc.lang.parse import parse
from gradcalc.lang.tree import Node, variable_names
from gradcalc.symbolic import printing
from gradcalc.symbolic import vocabulary as s
from gradcalc.symbolic.adjoints import symbol
from gradcalc.symbolic.closed_form import Derivation, derive
from gradcalc.symbolic.types import UNIT, Diag, Entry, Reduce


@dataclass(frozen=True)
class Block:
    """One block ∂²f/∂a∂b of a Hessian: its action on a direction `direction` shaped like b, and, where matrix
    notation says it, the block itself (`matrix`, a SymPy expression; None otherwise).

    >>> Block("x", "x", "v", None, None).matrix is None
    True
    """

    rows: str  # a: the block's rows are a's entries
    columns: str  # b: its columns are b's entries, and the direction is shaped like b
    direction: str
    action: Derivation | None
    matrix: Any


def free_name(stem: str, taken: set[str] | list[str]) -> str:
    """`stem`, or `stem_1`, `stem_2`, ... : the first name not taken.

    >>> free_name("v", ["v", "x"])
    'v_1'
    """
    return next(n for n in chain([stem], (f"{stem}_{i}" for i in count(1))) if n not in taken)


def along(expression_of_v: str, shapes: dict[str, tuple[Any, ...]], direction: str, shape: tuple[Any, ...],
          wrt: list[str], symbolic: bool = False) -> dict[str, Derivation]:
    """The closed-form gradients of a scalar text in the variables (of `shapes`) and a direction of `shape`.

    >>> along("sum(v*(2*x))", {"x": (2,)}, "v", (2,), ["x"])["x"].syntax
    '2*v'
    """
    tree = parse(expression_of_v, printed=True)
    known = {**shapes, direction: shape}
    present = [n for n in wrt if n in variable_names(tree)]  # ∂f/∂b free of a: the block is zero
    derived = derive(expression_of_v, tree, infer(tree, known, expression_of_v, scalar=True, symbolic=symbolic),
                     present) if present else {}
    return {n: derived[n] if n in derived else zero(shapes[n]) for n in wrt}


def zero(shape: tuple[Any, ...]) -> Derivation:
    """The zero closed form of a variable's shape.

    >>> zero((2, 3)).syntax, zero(()).syntax
    ('zeros(2, 3)', '0')
    """
    formula = s.zero_like(symbol("zero", shape))
    syntax, pretty, latex = printed(formula)
    return Derivation(formula, syntax, pretty, latex, [], syntax)


def hessian_blocks(expression: str, tree: Node, info: ShapeInfo, wrt: list[str], symbolic: bool = False,
                   gradients: dict[str, Derivation] | None = None) -> dict[tuple[str, str], Block]:
    """Every block (a, b) of the Hessian over `wrt`: the HVP of sum(v*(∂f/∂b)) in a, and its matrix where it has one.

    A block whose HVP cannot be derived (a formula that does not re-parse)
    has `action` None; the numbers then come from the engine alone.
    """
    gradients = gradients if gradients is not None else derive(expression, tree, info, wrt)
    taken = set(info.variables)
    blocks: dict[tuple[str, str], Block] = {}
    for b in wrt:
        v = free_name("v" if len(wrt) == 1 else f"v_{b}", taken)
        shape = info.variables[b]
        derived = along(f"sum({v}*({gradients[b].syntax}))", info.variables, v, shape, wrt, symbolic)
        for a in wrt:
            blocks[(a, b)] = Block(a, b, v, derived[a], as_matrix(derived[a].formula, symbol(v, shape),
                                                                   info.variables[a], shape))
    return blocks


def jvp_formula(expression: str, info: ShapeInfo, name: str, out: tuple[Any, ...], direction: str | None = None,
                symbolic: bool = False) -> tuple[str, Derivation]:
    """The closed-form JVP of y along a direction of `name`'s shape (named `direction`, or v): its name and formula.

    >>> from gradcalc.lang.infer import infer
    >>> info = infer(parse("A@x"), {"x": (3,), "A": (2, 3)})
    >>> direction, d = jvp_formula("A@x", info, "x", (2,))
    >>> direction, d.syntax
    ('v', 'A@v')
    """
    taken = set(info.variables)
    v = direction or free_name("v", taken)
    u = free_name("u", taken | {v})
    weighted = f"sum({u}*({expression.strip()}))"
    vjp = along(weighted, info.variables, u, out, [name], symbolic)[name]
    shapes = {**info.variables, u: out}
    return v, along(f"sum({v}*({vjp.syntax}))", shapes, v, info.variables[name], [u], symbolic)[u]


def as_matrix(action: Any, v: Any, rows: tuple[Any, ...], columns: tuple[Any, ...]) -> Any:
    """The Hessian block H with action = H@v, in matrix notation, when rows and columns are vectors or scalars; or
    None where no matrix form is found (a matrix variable: the action on v says it).

    >>> x, v, A = sp.MatrixSymbol("x", 3, UNIT), sp.MatrixSymbol("v", 3, UNIT), sp.MatrixSymbol("A", 3, 3)
    >>> printing.syntax(as_matrix(s.mul(s.fn("exp", x), s.matmul(A, v)), v, (3,), (3,)))
    'diag(exp(x))@A'
    """
    if columns == () and rows == ():
        return action.xreplace({v: sp.Integer(1)}) if action is not None else None
    if action is None or len(rows) != 1 or len(columns) != 1:
        return None
    try:
        return operator(action, v)
    except (TypeError, ValueError, AttributeError):  # a form the reading does not know: the action is shown
        return None


def operator(e: Any, v: Any) -> Any:
    """M with e = M@v for an expression linear in the column v, or None.

    >>> v, X = sp.MatrixSymbol("v", 3, UNIT), sp.MatrixSymbol("X", 4, 3)
    >>> operator(s.scale(2, s.matmul(s.T(X), s.matmul(X, v))), v)
    2*X.T*X
    """
    if e == v:
        return Identity(v.shape[0])
    if isinstance(e, ZeroMatrix):
        return ZeroMatrix(e.shape[0], v.shape[0])
    if not e.has(v):
        return None
    if isinstance(e, MatAdd):
        terms = [operator(t, v) for t in e.args]
        if any(t is None for t in terms):
            return None
        out = terms[0]
        for t in terms[1:]:
            out = s.add(out, t)
        return out
    if isinstance(e, MatMul):
        c, factors = e.as_coeff_matrices()
        if c.has(v):  # a number linear in v times a column: (kᵀv) u = u kᵀ v
            free, bound = c.as_independent(v, as_Add=False)
            row, column = row_operator(bound, v), _product(factors)
            if row is None or column is None or column.has(v) or column.shape[1] != UNIT:
                return None
            return s.scale(free, diag_times(None, MatMul(column, row)))
        where = [i for i, f in enumerate(factors) if f.has(v)]
        if len(where) != 1:
            return None
        i = where[0]
        left = _product(factors[:i])
        if i == len(factors) - 1:
            inner = operator(factors[i], v)
            return None if inner is None else s.scale(c, inner if left is None else s.matmul(left, inner))
        right = _product(factors[i + 1:])
        if factors[i] == Transpose(v) and right.shape[1] in (UNIT, 1) and left is not None:
            return s.scale(c, s.matmul(left, Transpose(right)))  # L vᵀ r = L rᵀ v: vᵀr is one number
        return None
    if isinstance(e, HadamardProduct):
        where = [f for f in e.args if f.has(v)]
        others = [f for f in e.args if not f.has(v)]
        if len(where) != 1 or e.shape[1] != UNIT or not all(f.shape[1] == UNIT for f in others):
            return None
        inner = operator(where[0], v)
        weights = others[0]
        for f in others[1:]:
            weights = s.mul(weights, f)
        return None if inner is None else diag_times(weights, inner)
    if isinstance(e, Transpose) and isinstance(e.arg, MatMul):
        c, factors = e.arg.as_coeff_matrices()
        if factors[0] == Transpose(v) and not any(f.has(v) for f in factors[1:]):
            return s.scale(c, Transpose(_product(factors[1:])))  # (vᵀK)ᵀ = Kᵀv
    return None


def row_operator(c: Any, v: Any) -> Any:
    """K with the number c = K@v, for c linear in the column v: sum(w*L) is wᵀ(L's operator), w@L the same.

    >>> v, p = sp.MatrixSymbol("v", 3, UNIT), sp.MatrixSymbol("p", 3, UNIT)
    >>> printing.syntax(row_operator(s.reduce("sum", s.mul(v, p)), v))  # pᵀ, printed as the 1-D p
    'p'
    """
    free, bound = c.as_independent(v, as_Add=False) if isinstance(c, sp.Mul) else (sp.Integer(1), c)
    if isinstance(bound, Entry):
        inner = operator(bound.arg, v)
    elif isinstance(bound, Reduce) and bound.kind == "sum" and bound.arg.shape[1] == UNIT:
        arg = bound.arg
        parts = list(arg.args) if isinstance(arg, HadamardProduct) else [arg]
        weights = [f for f in parts if not f.has(v)]
        linear = [f for f in parts if f.has(v)]
        if len(linear) != 1:
            return None
        inner = operator(linear[0], v)
        w = weights[0] if weights else OneMatrix(arg.shape[0], UNIT)
        for f in weights[1:]:
            w = s.mul(w, f)
        if inner is not None:
            c, factors = inner.as_coeff_matrices() if isinstance(inner, MatMul) else (sp.Integer(1), [inner])
            inner = s.scale(c, _simplified(MatMul(Transpose(w), *factors)))
    else:
        return None
    return None if inner is None else s.scale(free, inner)


def diag_times(u: Any, m: Any) -> Any:
    """diag(u)@M (M alone for u None), with diag(u)@I = diag(u), diag(u)@𝟏 = u and 𝟏ᵀ… left as it reads.

    >>> u, k = sp.MatrixSymbol("u", 3, UNIT), sp.MatrixSymbol("k", 3, UNIT)
    >>> printing.syntax(diag_times(u, s.add(Identity(3), s.neg(MatMul(OneMatrix(3, UNIT), Transpose(k))))))
    'diag(u) - outer(u, k)'
    """
    if isinstance(m, MatAdd):
        terms = [diag_times(u, t) for t in m.args]
        out = terms[0]
        for t in terms[1:]:
            out = s.add(out, t)
        return out
    c, factors = m.as_coeff_matrices() if isinstance(m, MatMul) else (sp.Integer(1), [m])
    if u is not None and isinstance(factors[0], Identity):
        factors = factors[1:]
        head = [s.diag(u)]
    elif u is not None and isinstance(factors[0], OneMatrix) and factors[0].shape[1] == UNIT:
        head = [u]
        factors = factors[1:]
    else:
        head = [] if u is None else [s.diag(u)]
    parts = head + factors
    return s.scale(c, _simplified(_product(parts)) if parts else Identity(m.shape[0]))


def _simplified(e: Any) -> Any:
    """A product rebuilt by the vocabulary (coefficients in front, 𝟏ᵀdiag(u) as uᵀ)."""
    if not isinstance(e, MatMul):
        return e
    c, factors = e.as_coeff_matrices()
    out = None
    for f in factors:
        if out is not None and isinstance(out, Transpose) and isinstance(out.arg, OneMatrix) and isinstance(f, Diag):
            out = Transpose(f.arg)
        elif isinstance(out, Diag) and isinstance(f, Diag) and s.is_vector(f.arg):
            out = s.diag(s.mul(out.arg, f.arg))
        else:
            out = f if out is None else s.matmul(out, f) if not s.is_vector(out) else MatMul(out, f)
    return s.scale(c, out)


def _product(factors: list[Any]) -> Any:
    if not factors:
        return None
    out = factors[0]
    for f in factors[1:]:
        out = MatMul(out, f)
    return out


def printed(e: Any) -> tuple[str, str, str]:
    """A formula's syntax, pretty and LaTeX forms.

    >>> printed(sp.MatrixSymbol("A", 2, 2) + Identity(2))
    ('eye(2) + A', 'I₂ + A', 'I_{2} + A')
    """
    return printing.syntax(e), printing.pretty(e), printing.latex(e)

