"""Formulas as text: gradcalc syntax, Unicode pretty form and LaTeX, from one printer.

One recursive printer walks the SymPy expression; a `Style` says how each
construct is spelled. The gradcalc syntax re-parses to the same numbers
(Python precedence, `*` elementwise, `@` matrix product).

>>> import sympy as sp
>>> from gradcalc.symbolic import vocabulary as s
>>> X, W = sp.MatrixSymbol("X", 4, 3), sp.MatrixSymbol("W", 3, 5)
>>> e = s.scale(2, s.matmul(s.T(X), s.fn("heaviside", s.matmul(X, W))))
>>> syntax(e), pretty(e)
('2*X.T@heaviside(X@W)', '2·XᵀH(XW)')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import sympy as sp
from sympy import (Determinant, HadamardPower, HadamardProduct, Identity, Inverse, MatAdd, MatMul, MatrixSymbol,
                   OneMatrix, Trace, Transpose, ZeroMatrix)

from gradcalc.symbolic import axes
from gradcalc.symbolic import print_calls as calls
from gradcalc.symbolic.print_calls import number as _number
from gradcalc.symbolic import vocabulary as s
from gradcalc.symbolic.types import UNIT, Diag, Elementwise, ElementwiseScalar, Entry, Reduce, is_matrix
from gradcalc.lang.ops import OPS, REQUIRED

ADD, MUL, NEG, POW, ATOM = 1, 2, 3, 4, 5
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUBSCRIPT = str.maketrans("0123456789aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")


@dataclass(frozen=True)
class Style:
    """How one output format spells each construct.

    >>> SYNTAX.transpose.format("X"), PRETTY.transpose.format("X"), LATEX.transpose.format("X")
    ('X.T', 'Xᵀ', 'X^{T}')
    """

    matmul: str
    hadamard: str
    divide: str
    times: str
    plus: str
    minus: str
    neg: str
    paren: str
    call: str
    transpose: str
    power: Callable[[str, Any, str, bool], str]
    fraction: str
    function: Callable[[str], str]
    eye: str
    ones: str
    zeros: str
    ones_1d: str
    zeros_1d: str
    numpy: bool = False
    sizes: dict[int, int] | None = None
    calls: dict[str, str] | None = None  # templates that spell a function call, every parameter included
    pi: str = "pi"
    inf: str = "inf"
    sqrt: str = ""  # a scalar's square root (`√2`); "" spells it as a call
    relations: tuple[tuple[str, str], ...] = ()  # comparison symbols other than Python's (`≥`)
    iverson: str = ""  # a comparison's mask in math notation (`[X > 0]`); "" prints it as the comparison


def _op_name(attr: str) -> Callable[[str], str]:
    def name(op_name: str) -> str:
        op = OPS.get(op_name)
        spelled = getattr(op, attr, "") if op else ""
        if spelled:
            return spelled
        return op_name if attr == "pretty" else rf"\operatorname{{{op_name}}}"
    return name


def _syntax_power(base: str, p: Any, exponent: str, matrix: bool) -> str:
    return f"{base}**{exponent if p.is_Integer and p >= 0 else '(' + exponent + ')'}"


def _pretty_power(base: str, p: Any, exponent: str, matrix: bool) -> str:
    mark = "⊙" if matrix else ""
    if p.is_Integer:
        return f"{base}{mark}{exponent.translate(_SUPERSCRIPT)}"
    return f"{base}{mark}^({exponent})"


def _latex_power(base: str, p: Any, exponent: str, matrix: bool) -> str:
    mark = r"\circ " if matrix else ""
    return f"{base}^{{{mark}{exponent}}}"


SYNTAX = Style("@", "*", "/", "*", " + ", " - ", "-", "({})", "{}({})", "{}.T", _syntax_power, "{}/{}",
               lambda name: name, "eye({})", "ones({}, {})", "zeros({}, {})", "ones({})", "zeros({})", numpy=True)
PRETTY = Style("", " ⊙ ", " ⊘ ", "·", " + ", " − ", "−", "({})", "{}({})", "{}ᵀ", _pretty_power, "{}/{}",
               _op_name("pretty"), "I{}", "𝟏{}ₓ{}", "0{}ₓ{}", "𝟏{}", "0{}", sizes=_SUBSCRIPT, pi="π", inf="∞",
               sqrt="√{}", relations=((">=", "≥"), ("<=", "≤"), ("==", "="), ("!=", "≠")), iverson="[{}]")
LATEX = Style(" ", r" \odot ", r" \oslash ", " ", " + ", " - ", "-", r"\left({}\right)", r"{}\left({}\right)",
              "{}^{{T}}", _latex_power, r"\frac{{{}}}{{{}}}", _op_name("latex"), r"I_{{{}}}",
              r"\mathbf{{1}}_{{{} \times {}}}", r"0_{{{} \times {}}}", r"\mathbf{{1}}_{{{}}}", r"0_{{{}}}", pi=r"\pi",
              inf=r"\infty", sqrt=r"\sqrt{{{}}}", relations=((">=", r"\geq"), ("<=", r"\leq"), ("!=", r"\neq")),
              iverson=r"\left[{}\right]")


def syntax(e: Any) -> str:
    """The formula in gradcalc's own expression syntax (re-parses to the same numbers).

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> syntax(s.reduce("mean", s.pow(s.T(X), 2))), syntax(s.mul(X, s.pow(s.add(X, 1), -1)))
    ('mean(X.T**2)', 'X/(X + 1)')
    """
    return Printer(SYNTAX).text(e)


def pretty(e: Any) -> str:
    """The formula in Unicode math notation: juxtaposed products, ᵀ, ⊙.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> pretty(s.matmul(s.T(X), X)), pretty(s.reduce("sum", s.mul(X, X)))
    ('XᵀX', 'sum(X ⊙ X)')
    """
    return Printer(PRETTY).text(e)


def latex(e: Any) -> str:
    """The formula in LaTeX.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> latex(s.scale(2, s.matmul(s.T(X), X)))
    '2 X^{T} X'
    """
    return Printer(LATEX).text(e)


class PrintCache:
    """Each sub-expression printed once per style: deep formulas share large parts. Bounded; `clear()` empties it.

    >>> cache = PrintCache(); cache.memo(SYNTAX)["x"] = ("x", ATOM); len(cache.memo(SYNTAX)); cache.clear()
    1
    """

    def __init__(self, styles: int = 64, entries: int = 100_000) -> None:
        self.styles, self.entries = styles, entries
        self.printed: dict[int, tuple[Style, dict[Any, tuple[str, int]]]] = {}  # holding the style keeps its id

    def memo(self, style: Style) -> dict[Any, tuple[str, int]]:
        """The (text, precedence) memo of one style, emptied when it grows past the bound."""
        held = self.printed.get(id(style))
        if held is None:
            if len(self.printed) > self.styles:
                self.printed.clear()
            held = self.printed[id(style)] = (style, {})
        if len(held[1]) > self.entries:
            held[1].clear()
        return held[1]

    def clear(self) -> None:
        """Forget everything printed (benchmarks time a cold print)."""
        self.printed.clear()


PRINTED = PrintCache()


class Printer:
    """Prints a SymPy formula in one `Style`, dispatching on the expression's class (`_print_Transpose`).

    Calls (`relu(X)`, `trace(A)`, `det(A)`) are spelled from the op's row:
    its pretty or LaTeX name, or its NumPy template in generated code.

    >>> Printer(PRETTY).text(sp.Transpose(sp.MatrixSymbol("X", 2, 3)))
    'Xᵀ'
    """

    def __init__(self, style: Style) -> None:
        self.style = style

    def text(self, e: Any) -> str:
        """The formula as text."""
        return self.show(e)[0]

    def wrap(self, e: Any, at_least: int) -> str:
        """The formula as text, in parentheses unless it binds at least as tightly as `at_least`."""
        text, prec = self.show(e)
        return text if prec >= at_least else self.style.paren.format(text)

    def show(self, e: Any) -> tuple[str, int]:
        """(text, precedence), each sub-expression printed once."""
        memo = PRINTED.memo(self.style)
        printed = memo.get(e)
        if printed is None:
            printed = memo[e] = self._dispatch(e)
        return printed

    def _dispatch(self, e: Any) -> tuple[str, int]:
        for cls in type(e).__mro__:
            method = getattr(self, f"_print_{cls.__name__}", None)
            if method is not None:
                return method(e)
        raise TypeError(f"cannot print {type(e).__name__}: {e}")

    def _print_Symbol(self, e: Any) -> tuple[str, int]:
        return str(e.name), ATOM

    _print_MatrixSymbol = _print_Symbol

    def _print_Number(self, e: Any) -> tuple[str, int]:
        text = _number(e, self.style)
        return text, NEG if e < 0 else (MUL if e.is_Rational and not e.is_Integer else ATOM)

    def _print_NumberSymbol(self, e: Any) -> tuple[str, int]:
        return (self.style.pi if e is sp.pi else repr(float(e))), ATOM

    def _print_Identity(self, e: Any) -> tuple[str, int]:
        st = self.style
        sizes = [_subscript(str(n), st.sizes) for n in e.shape if n != UNIT]
        if not sizes:  # ones or zeros of a 1-D inner product's shape: a number
            return ("1" if isinstance(e, OneMatrix) else "0"), ATOM
        if len(sizes) == 1 and not isinstance(e, Identity):  # a 1-D vector
            text = (st.ones_1d if isinstance(e, OneMatrix) else st.zeros_1d).format(*sizes)
            row = e.shape[0] == UNIT and not st.numpy  # a row, in math notation
            return st.transpose.format(text) if row else text, ATOM
        pattern = {Identity: st.eye, OneMatrix: st.ones, ZeroMatrix: st.zeros}[type(e)]
        return pattern.format(*sizes), ATOM

    _print_OneMatrix = _print_ZeroMatrix = _print_Identity

    def _print_Entry(self, e: Any) -> tuple[str, int]:
        return self.show(e.arg)

    def _print_Shaped(self, e: Any) -> tuple[str, int]:  # X[1:3], reshape, kron spell themselves (symbolic.shaped)
        kind = ("latex" if self.style is LATEX else "pretty" if self.style is PRETTY else
                "numpy" if self.style.calls is not None else "syntax")
        levels = {"atom": ATOM, "factor": POW, "any": 0}
        text, atom = e.spelled(kind, lambda a, level: self.wrap(a, levels[level]), self.style.calls or {})
        return text, ATOM if atom else MUL

    def _print_Diag(self, e: Any) -> tuple[str, int]:
        return self.call("diag", [e.arg]), ATOM

    def _print_Add(self, e: Any) -> tuple[str, int]:
        return self.sum(e)

    _print_MatAdd = _print_Add

    def _print_Mul(self, e: Any) -> tuple[str, int]:
        return self.product(e)

    _print_MatMul = _print_Mul

    def _print_HadamardProduct(self, e: Any) -> tuple[str, int]:
        return self.hadamard(list(e.args), [])

    def _print_Pow(self, e: Any) -> tuple[str, int]:
        base, p = (e.base, e.exp) if isinstance(e, sp.Pow) else e.args
        if p.is_negative:
            return self.hadamard([], [e]) if is_matrix(e) else self.product(e)
        if p == sp.Rational(1, 2) and not is_matrix(e):  # sqrt(2), sqrt(pi) in gelu's and erf's derivatives
            st = self.style
            return (st.sqrt.format(self.wrap(base, ATOM)) if st.sqrt else self.call("sqrt", [base])), ATOM
        exponent = _number(p, self.style) if p.is_Number else self.text(p)
        return self.style.power(self.wrap(base, ATOM), p, exponent, is_matrix(e)), POW

    _print_HadamardPower = _print_Pow

    def _print_Transpose(self, e: Any) -> tuple[str, int]:
        if self.style.numpy and e.arg.shape[1] == UNIT:  # NumPy's transpose of a 1-D vector is itself
            return self.show(e.arg)
        return self.style.transpose.format(self.wrap(e.arg, ATOM)), ATOM

    def _print_Trace(self, e: Any) -> tuple[str, int]:
        return self.call("trace", [e.arg]), ATOM

    def _print_Determinant(self, e: Any) -> tuple[str, int]:
        return self.call("det", [e.arg]), ATOM

    def _print_Inverse(self, e: Any) -> tuple[str, int]:
        return self.call("inv", [e.arg]), ATOM

    def _print_Reduce(self, e: Any) -> tuple[str, int]:
        return self.call(e.kind, [e.arg]), ATOM

    def _print_Elementwise(self, e: Any) -> tuple[str, int]:
        if calls.is_comparison(e):
            text, atomic = calls.comparison(self, e)
            return text, ATOM if atomic else calls.COMPARE
        if e.name == "where":
            return calls.where(self, e), ATOM
        return self.call(e.name, list(e.operands), list(e.params)), ATOM

    _print_ElementwiseScalar = _print_Elementwise

    def _print_AlongAxis(self, e: Any) -> tuple[str, int]:  # max(X, axis=1), softmax(X, axis=None): symbolic.axes
        return axes.keyword_call(self, e, latex=self.style is LATEX), ATOM

    _print_Overall = _print_AxisFunction = _print_AlongAxis

    def call(self, name: str, operands: list[Any], params: list[Any] = ()) -> str:
        """A call of the op `name`, spelled as the style's template for it or as `name(operands, params)`."""
        shown = [self.text(o) for o in operands]
        if self.style.calls is not None:
            if name not in self.style.calls:
                raise TypeError(f"the op {name!r} has no spelling in this style (its row lacks `numpy=`)")
            defaults = [p.default for p in OPS[name].params[len(params):]
                        if isinstance(p.default, (int, float)) and not isinstance(p.default, bool)]
            values = [_number(sp.sympify(v), self.style) for v in (*params, *defaults)]
            return self.style.calls[name].format(*shown, *values)
        shown += calls.parameters(self.style, OPS[name].params, params)
        return self.style.call.format(self.style.function(name), ", ".join(shown))

    def sum(self, e: Any) -> tuple[str, int]:
        terms = sorted(e.args, key=_is_negative)  # stable: positive terms first, SymPy's order otherwise
        parts = []
        broadcasts = any(not isinstance(s.split(t)[1], OneMatrix) for t in terms)
        for i, term in enumerate(terms):
            negative = _is_negative(term)
            positive = s.neg(term) if negative else term  # not -term: SymPy's doit would fold A@A to A**2
            if broadcasts and is_matrix(term) and isinstance(s.split(positive)[1], OneMatrix):
                positive = s.split(positive)[0]  # `x + 1` rather than `x + ones(4, 3)`
            body = self.wrap(positive, MUL if negative else ADD)
            if i == 0:
                parts.append(f"{self.style.neg}{body}" if negative else body)
            else:
                parts.append(f"{self.style.minus if negative else self.style.plus}{body}")
        return "".join(parts), ADD

    def product(self, e: Any) -> tuple[str, int]:
        factors = [f for a in (e.args if isinstance(e, (MatMul, sp.Mul)) else (e,))
                   for f in (a.args if isinstance(a, sp.Mul) else (a,))]
        coeff = sp.Mul(*[f for f in factors if isinstance(f, sp.Number)])
        scalars = [f for f in factors if not isinstance(f, sp.Number) and not is_matrix(f)]
        matrices = [f for f in factors if is_matrix(f)]
        top = [f for f in scalars if not _reciprocal(f)]
        bottom = [1 / f for f in scalars if _reciprocal(f)]
        if len(matrices) == 1 and _reciprocal(matrices[0]) and (top or coeff != 1):
            bottom.append(_invert(matrices.pop()))  # `a/Y`, not `a*(1/Y)`
        st = self.style
        negative = coeff < 0
        coeff = abs(coeff)
        numerator = coeff
        if coeff.is_Rational:
            numerator = coeff.p
            if coeff.q != 1:
                bottom.insert(0, sp.Integer(coeff.q))
        scalar_bottom = [d for d in bottom if not is_matrix(d)]
        if len(scalar_bottom) > 1:  # one denominator: ones(n, k)/(k*n), not ones(n, k)/k/n
            bottom = [sp.Mul(*scalar_bottom), *(d for d in bottom if is_matrix(d))]
        pieces = [_number(sp.sympify(numerator), st) if numerator != 1 or not (top or matrices) else ""]
        pieces += [self.wrap(f, POW) for f in top]
        text = st.times.join(p for p in pieces if p)
        if matrices:
            mats = self.chain(matrices)
            text = f"{text}{st.times}{mats}" if text else mats
        for d in bottom:
            divide = st.divide if is_matrix(d) else None
            below = self.text(d) if st is LATEX else self.wrap(d, POW)  # \frac needs no parentheses
            text = f"{text}{divide}{self.wrap(d, POW)}" if divide else st.fraction.format(text, below)
        return (f"{st.neg}{text}", NEG) if negative else (text, MUL)

    def chain(self, factors: list[Any]) -> str:
        """A matrix product; for NumPy, a column times a row of 1-D vectors is `outer(u, v)`."""
        st = self.style
        for k in range(len(factors) - 1) if st.numpy else ():
            if factors[k].shape[1] == UNIT and factors[k + 1].shape[0] == UNIT:
                left, right = factors[: k + 1], factors[k + 1:]
                if left[0].shape[0] == UNIT:  # a scalar (row @ ... @ column) times the rest
                    return f"({self.chain(left)})*{self.wrap_chain(right)}"
                if right[-1].shape[1] == UNIT:
                    return f"{self.wrap_chain(left)}*({self.chain(right)})"
                args = [self.text(f[0]) if len(f) == 1 else self.chain(f) for f in (left, right)]
                return (st.calls or {}).get("outer", st.call.format("outer", "{}, {}")).format(*args)
        joiner = st.matmul if st is not PRETTY or _short(factors) else "·"
        return joiner.join(self.wrap(m, POW) for m in factors)

    def wrap_chain(self, factors: list[Any]) -> str:
        text = self.chain(factors)
        return text if len(factors) == 1 and self.show(factors[0])[1] >= POW else self.style.paren.format(text)

    def hadamard(self, top: list[Any], bottom: list[Any]) -> tuple[str, int]:
        top = list(top)
        for f in list(top):
            if isinstance(f, HadamardPower) and f.exp.is_negative:
                top.remove(f)
                bottom.append(f)
        st = self.style
        text = st.hadamard.join(self.wrap(f, POW) for f in top) if top else "1"
        for f in bottom:
            inverse = f.base if f.exp == -1 else HadamardPower(f.base, -f.exp)
            text = f"{text}{st.divide}{self.wrap(inverse, POW)}"
        return text, MUL


def _subscript(size: str, table: dict[int, int] | None) -> str:
    """A size as a subscript (`n` → `ₙ`), when every character has one."""
    return size.translate(table) if table and all(ord(c) in table for c in size) else size


def _is_negative(term: Any) -> bool:
    coeff = s.split(term)[0] if is_matrix(term) else term
    return bool(coeff.could_extract_minus_sign())


def _reciprocal(f: Any) -> bool:
    """1/x or an elementwise 1/X (a negative power)."""
    return isinstance(f, (sp.Pow, HadamardPower)) and f.exp.is_negative


def _invert(f: Any) -> Any:
    return f.base if f.exp == -1 else HadamardPower(f.base, -f.exp)


def _short(matrices: list[Any]) -> bool:
    names = [m.arg if isinstance(m, Transpose) else m for m in matrices]
    return all(not isinstance(m, MatrixSymbol) or len(m.name) == 1 for m in names)

