"""How constants, parameters and masks print: numbers (choices, open bounds), a call's parameters, comparisons
(`X > 0`, `[X > 0]` in math notation) and `where(cond, A, B)`.

The functions take the printer's style (`gradcalc.symbolic.printing.Style`)
or the printer itself (`Printer`: its `text`, `wrap`, `call` and `style`);
they are apart from it by topic.

>>> import sympy as sp
>>> from gradcalc.symbolic import vocabulary as s
>>> from gradcalc.symbolic.printing import PRETTY, Printer, syntax
>>> X = sp.MatrixSymbol("X", 2, 3)
>>> leaky = s.fn("where", s.fn("greater", X, 0), s.ones(2, 3), s.scale(0.1, s.ones(2, 3)))
>>> syntax(leaky), syntax(s.scale(2, s.fn("greater_equal", X, 1))), Printer(PRETTY).text(s.fn("less", X, 0))
('where(X > 0, 1, 0.1)', '2*(X >= 1)', '[X < 0]')
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import OneMatrix, ZeroMatrix
from sympy.core.symbol import Str

from gradcalc.lang.ops import OPS, REQUIRED
from gradcalc.symbolic.algebra import split
from gradcalc.symbolic.types import Elementwise, ElementwiseScalar, is_matrix

COMPARE = 0  # a comparison binds less tightly than `+` (the printer's ADD, 1), as in Python
RELATIONS = (">", "<", ">=", "<=", "==", "!=")


def number(n: Any, style: Any) -> str:
    """A number as the style spells it: an integer, a fraction, a decimal, an open bound (`-np.inf`), a choice.

    >>> from gradcalc.symbolic.printing import SYNTAX
    >>> number(sp.Rational(1, 2), SYNTAX), number(-sp.oo, SYNTAX), number(Str("tanh"), SYNTAX)
    ('1/2', '-inf', "'tanh'")
    """
    if isinstance(n, Str):  # a choice: approximate='tanh'
        return repr(n.name)
    if n.is_Integer:
        return str(n)
    if n.is_infinite:  # an open bound of clamp, in code: np.clip(X, -np.inf, 1)
        return f"{style.neg if n.is_extended_negative else ''}{style.inf}"
    if n.is_Rational:
        return style.fraction.format(n.p, n.q)
    return repr(float(n))


def parameters(style: Any, params: tuple[Any, ...], values: list[Any]) -> list[str]:
    """A call's parameters that are not at their default; after one that is, and for a choice, with its keyword.

    >>> from gradcalc.lang.ops import OPS
    >>> from gradcalc.symbolic.printing import SYNTAX
    >>> parameters(SYNTAX, OPS["clamp"].params, [-sp.oo, 1]), parameters(SYNTAX, OPS["clamp"].params, [0, sp.oo])
    (['max=1'], ['0'])
    """
    shown, skipped = [], False
    for param, value in zip(params, values):
        if param.default is not REQUIRED and is_default(param.default, value):
            skipped = True
            continue
        text = number(sp.sympify(value), style)
        shown.append(f"{param.name}={text}" if skipped or param.kind == "choice" else text)
    return shown


def is_default(default: Any, value: Any) -> bool:
    """Whether a parameter's value (as the formula holds it) is its default.

    >>> is_default("none", Str("tanh")), is_default(float("-inf"), -sp.oo)
    (False, True)
    """
    return value.name == default if isinstance(value, Str) else sp.sympify(default) == value


def is_comparison(e: Any) -> bool:
    """Whether `e` is a call of a comparison (`greater`: `A > B`).

    >>> is_comparison(Elementwise("greater", (sp.MatrixSymbol("X", 2, 3), 0)))
    True
    """
    return isinstance(e, (Elementwise, ElementwiseScalar)) and getattr(OPS.get(e.name), "symbol", "") in RELATIONS


def comparison(printer: Any, e: Any, bare: bool = False) -> tuple[str, bool]:
    """(text, atomic) of `A > B`: in math notation the mask `[A > B]`, in code a float mask, unless `bare`
    (the condition of a where, `where(X > 0, ...)`, which wants the comparison itself).

    >>> from gradcalc.symbolic.printing import LATEX, Printer
    >>> print(*comparison(Printer(LATEX), Elementwise("greater_equal", (sp.MatrixSymbol("X", 2, 3), 0))))
    \\left[X \\geq 0\\right] True
    """
    st = printer.style
    if st.calls is not None and not bare:
        return printer.call(e.name, list(e.operands)), True
    relation = dict(st.relations).get(OPS[e.name].symbol, OPS[e.name].symbol)
    text = f" {relation} ".join(printer.wrap(o, COMPARE + 1) for o in e.operands)  # `X@W + b > 0`: no parentheses
    return (st.iverson.format(text), True) if st.iverson and not bare else (text, False)


def fill(e: Any) -> Any:
    """The number a constant matrix is filled with (`0.1*ones(n, k)`: 0.1; zeros: 0), or None.

    >>> fill(3 * OneMatrix(2, 3)), fill(ZeroMatrix(2, 3)), fill(sp.MatrixSymbol("X", 2, 3))
    (3, 0, None)
    """
    if isinstance(e, ZeroMatrix):
        return sp.Integer(0)
    if is_matrix(e):
        c, rest = split(e)
        return c if isinstance(rest, OneMatrix) else None
    return None


def where(printer: Any, e: Any) -> str:
    """where(cond, A, B), a branch that is a constant matrix printed as its number (`where(X > 0, 1, 0.1)`)
    when another operand gives the shape.

    >>> from gradcalc.symbolic.printing import SYNTAX, Printer
    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> where(Printer(SYNTAX), Elementwise("where", (X, OneMatrix(2, 3), ZeroMatrix(2, 3))))
    'where(X, 1, 0)'
    """
    cond, *branches = e.operands
    fills = [fill(o) for o in e.operands]
    shown = [comparison(printer, cond, bare=True)[0] if is_comparison(cond) else printer.text(cond)]
    shaped = any(f is None and is_matrix(o) for f, o in zip(fills, e.operands))
    shown += [printer.text(f if shaped and f is not None else o) for f, o in zip(fills[1:], branches)]
    st = printer.style
    if st.calls is not None:
        return st.calls["where"].format(*shown)
    return st.call.format(st.function("where"), ", ".join(shown))
