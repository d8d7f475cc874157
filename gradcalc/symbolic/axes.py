"""Expression types for the reductions along an axis and the softmax family (calls of the table's ops).

`AlongAxis` is a reduction of a matrix along one axis (`max(X, axis=1)`):
a 1-D vector, an (n, UNIT) column, or with keepdims a (n, 1) column or a
(1, m) row. `Overall` is one of all entries (`max(X)`, `var(X, ddof=1)`), a
scalar. `AxisFunction` keeps the shape (`softmax(X, axis=1)`). Each names
its op (`op_name`, read by `types.called`), the keywords it prints with
(gradcalc's syntax is NumPy's: a matrix's whole-matrix softmax says
`axis=None`), and computes its numbers with its row's forward.

>>> import sympy as sp
>>> X = sp.MatrixSymbol("X", 2, 3)
>>> AlongAxis("max", X, 1).shape, AlongAxis("max", X, 0, keepdims=True).shape
((2, unit), (1, 3))
>>> AxisFunction("softmax", X, None).keywords()
{'axis': None}
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy import MatrixExpr
from sympy.core.symbol import Str

from gradcalc.lang.ops import OPS
from gradcalc.symbolic.algebra import number
from gradcalc.symbolic.types import UNIT, Call, Expr

#: The default of each extra keyword (NumPy's: a bare name follows NumPy), left out when printed.
DEFAULTS = {"ddof": 0}


def _name(kind: str | Str) -> Str:
    return kind if isinstance(kind, Str) else Str(kind)


def _pairs(params: Any) -> sp.Tuple:
    """Extra parameters (ddof) as a SymPy tuple of (name, exact number) pairs."""
    if isinstance(params, sp.Tuple):
        return params
    items = params.items() if isinstance(params, dict) else params
    return sp.Tuple(*(sp.Tuple(_name(k), number(v)) for k, v in items))


def _extra(pairs: sp.Tuple) -> dict[str, Any]:
    return {k.name: v for k, v in pairs}


def _float(v: Any) -> Any:
    return int(v) if v.is_Integer else float(v)


class AlongAxis(MatrixExpr, Call):
    """`kind(A, axis=k)` of a matrix along one of its axes (0: down the columns, 1: along the rows).

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> e = AlongAxis("var", X, 1, params={"ddof": 1})
    >>> e.op_name, e.keywords(), e.shape
    ('var', {'axis': 1, 'ddof': 1}, (2, unit))
    """

    def __new__(cls, kind: str | Str, arg: Expr, axis: int, keepdims: bool = False, params: Any = ()) -> AlongAxis:
        return sp.Basic.__new__(cls, _name(kind), arg, sp.Integer(int(axis)), sp.Integer(int(bool(keepdims))),
                                _pairs(params))

    @property
    def op_name(self) -> str:
        """The op it calls: max, min, logsumexp, var, std."""
        return self.args[0].name

    @property
    def arg(self) -> Expr:
        """The matrix being reduced."""
        return self.args[1]

    @property
    def operands(self) -> tuple[Expr, ...]:
        """The matrix being reduced, as the one operand of the op."""
        return (self.args[1],)

    @property
    def axis(self) -> int:
        """0 or 1."""
        return int(self.args[2])

    @property
    def keepdims(self) -> bool:
        """Whether the reduced axis is kept as size 1."""
        return bool(self.args[3])

    @property
    def shape(self) -> tuple[Any, Any]:
        """(m, UNIT) or (n, UNIT) as a 1-D vector; (1, m) or (n, 1) with keepdims."""
        rows, cols = self.arg.shape
        if self.keepdims:
            return (1, cols) if self.axis == 0 else (rows, 1)
        return (cols if self.axis == 0 else rows, UNIT)

    def keywords(self) -> dict[str, Any]:
        """The keywords gradcalc's syntax spells it with (defaults left out)."""
        kept = {"keepdims": True} if self.keepdims else {}
        return {"axis": self.axis, **kept, **_shown(self.args[4])}

    def numbers(self, a: np.ndarray) -> np.ndarray:
        """Its value from the operand's (2-D); a 1-D result as a column, as the evaluator holds vectors."""
        out = OPS[self.op_name].forward(a, axis=self.axis, keepdims=True,
                                        **{k: _float(v) for k, v in _extra(self.args[4]).items()})
        return out if self.keepdims or self.axis == 1 else out.T


class Overall(sp.Expr, Call):
    """`kind(A)` of all entries of a matrix or 1-D vector, with its extra parameters (`var(X, ddof=1)`): a scalar.

    >>> Overall("std", sp.MatrixSymbol("X", 2, 3), {"ddof": 1}).keywords()
    {'ddof': 1}
    """

    is_commutative = True

    def __new__(cls, kind: str | Str, arg: Expr, params: Any = ()) -> Overall:
        return sp.Expr.__new__(cls, _name(kind), arg, _pairs(params))

    op_name = AlongAxis.op_name
    arg = AlongAxis.arg
    operands = AlongAxis.operands

    def keywords(self) -> dict[str, Any]:
        """The keywords gradcalc's syntax spells it with (defaults left out)."""
        return _shown(self.args[2])

    def numbers(self, a: np.ndarray) -> Any:
        """Its value from the operand's."""
        return OPS[self.op_name].forward(a, **{k: _float(v) for k, v in _extra(self.args[2]).items()})


class AxisFunction(MatrixExpr, Call):
    """`name(A, axis=k)` with a matrix of A's shape out (softmax, log_softmax); axis None: all entries at once.

    >>> x = sp.MatrixSymbol("x", 3, UNIT)
    >>> AxisFunction("softmax", x, None).keywords(), AxisFunction("softmax", x, None).shape
    ({}, (3, unit))
    """

    def __new__(cls, name: str | Str, arg: Expr, axis: int | None | sp.Tuple) -> AxisFunction:
        axis = axis if isinstance(axis, sp.Tuple) else sp.Tuple() if axis is None else sp.Tuple(int(axis))
        return sp.Basic.__new__(cls, _name(name), arg, axis)

    op_name = AlongAxis.op_name
    arg = AlongAxis.arg
    operands = AlongAxis.operands

    @property
    def axis(self) -> int | None:
        """0 or 1 for a matrix along an axis; None for all entries."""
        return int(self.args[2][0]) if self.args[2] else None

    @property
    def shape(self) -> tuple[Any, Any]:
        """The operand's shape."""
        return self.arg.shape

    def keywords(self) -> dict[str, Any]:
        """The axis, which a matrix must state (`softmax(X, axis=None)`), and a 1-D vector needs not."""
        matrix = UNIT not in self.arg.shape
        return {"axis": self.axis} if self.axis is not None or matrix else {}

    def numbers(self, a: np.ndarray) -> np.ndarray:
        """Its value from the operand's (a 1-D vector is a column here, so all entries is right for it)."""
        return OPS[self.op_name].forward(a, axis=self.axis)


def _shown(pairs: sp.Tuple) -> dict[str, Any]:
    return {k: v for k, v in _extra(pairs).items() if v != DEFAULTS.get(k)}


def keyword_call(printer: Any, e: AlongAxis | Overall | AxisFunction, latex: bool = False) -> str:
    """The call in the printer's style with its keywords (`max(X, axis=1, keepdims=True)`), or for generated code
    the row's NumPy template, whose `{keywords}` they fill (`np.max(X, axis=1, keepdims=True)`).

    >>> from gradcalc.symbolic.printing import SYNTAX, Printer
    >>> keyword_call(Printer(SYNTAX), AlongAxis("variance", sp.MatrixSymbol("X", 2, 3), 1, params={"ddof": 0.5}))
    'variance(X, axis=1, ddof=1/2)'
    """
    style = printer.style
    shown = [f"{LATEX_WORD.format(k) if latex else k}={_value(v, printer, latex)}" for k, v in e.keywords().items()]
    if style.calls is not None:
        return style.calls[e.op_name].format(printer.text(e.arg), keywords="".join(f", {w}" for w in shown))
    return style.call.format(style.function(e.op_name), ", ".join([printer.text(e.arg), *shown]))


LATEX_WORD = r"\mathrm{{{}}}"  # `axis=1`, `None` in a LaTeX call


def _value(value: Any, printer: Any, latex: bool) -> str:
    if value is None or isinstance(value, bool):
        return LATEX_WORD.format(value) if latex else str(value)
    return str(value) if isinstance(value, int) else printer.text(sp.sympify(value))
