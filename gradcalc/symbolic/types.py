"""SymPy expression types that SymPy lacks: named elementwise functions, reductions, 1-D helpers.

A 1-D vector of length n is an (n, UNIT) column, where UNIT is a size that
evaluates to 1 but tells the printers that the axis is absent (NumPy's
1-D semantics: `ones(n)`, `x@y` a scalar, `outer(x, y)`).

>>> Elementwise("relu", (sp.MatrixSymbol("X", 2, 3),)).shape
(2, 3)
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import MatrixExpr
from sympy.core.symbol import Str

Expr = Any  # a SymPy scalar Expr or MatrixExpr

#: The size of a 1-D vector's absent axis.
UNIT = sp.Symbol("unit", positive=True, integer=True)


def is_matrix(e: Expr) -> bool:
    """True for matrix expressions (vectors included), False for scalars.

    >>> is_matrix(sp.MatrixSymbol("X", 2, 3)), is_matrix(sp.Symbol("a"))
    (True, False)
    """
    return bool(getattr(e, "is_Matrix", False))


class Call:
    """A formula node that calls the table's op `op_name` on `operands` (the types of `gradcalc.symbolic.axes`).

    >>> issubclass(Call, sp.Basic)
    False
    """

    op_name: str
    operands: tuple[Any, ...]


class Elementwise(MatrixExpr):
    """`name(operands..., params...)` applied entry by entry; scalar operands broadcast.

    >>> X = sp.MatrixSymbol("X", 2, 3)
    >>> Elementwise("relu", (X,))[0, 1]
    ElementwiseScalar(relu, (X[0, 1],), ())
    """

    def __new__(cls, name: str | Str, operands: tuple[Expr, ...], params: tuple[Any, ...] = ()) -> Elementwise:
        return sp.Basic.__new__(cls, *_fn_args(name, operands, params))

    @property
    def name(self) -> str:
        """The function's name, e.g. `relu`."""
        return self.args[0].name

    @property
    def operands(self) -> tuple[Expr, ...]:
        """The expressions the function is applied to (matrices and broadcast scalars)."""
        return tuple(self.args[1])

    @property
    def params(self) -> tuple[Any, ...]:
        """The constant (non-differentiable) arguments, e.g. clamp's `min`."""
        return tuple(self.args[2])

    @property
    def shape(self) -> tuple[Any, Any]:
        """The shape of the matrix operands (kept: SymPy asks for it again and again down deep formulas)."""
        shape = self.__dict__.get("_shape")
        if shape is None:
            shape = self.__dict__["_shape"] = next(o.shape for o in self.operands if is_matrix(o))
        return shape

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Expr:
        entries = tuple(o[i, j] if is_matrix(o) else o for o in self.operands)
        return ElementwiseScalar(self.name, entries, self.params)


def _fn_args(name: str | Str, operands: tuple[Expr, ...], params: tuple[Any, ...]) -> tuple[Any, ...]:
    params = tuple(Str(p) if isinstance(p, str) else sp.sympify(p) for p in params)  # a choice: gelu's 'tanh'
    return (name if isinstance(name, Str) else Str(name), sp.Tuple(*operands), sp.Tuple(*params))


class ElementwiseScalar(sp.Expr):
    """The same named function applied to scalars.

    >>> e = ElementwiseScalar("relu", (sp.Symbol("x"),))
    >>> e.name, e.operands
    ('relu', (x,))
    """

    is_commutative = True

    def __new__(cls, name: str | Str, operands: tuple[Expr, ...], params: tuple[Any, ...] = ()
                ) -> ElementwiseScalar:
        return sp.Expr.__new__(cls, *_fn_args(name, operands, params))

    name = Elementwise.name
    operands = Elementwise.operands
    params = Elementwise.params


class MatrixFunction(Elementwise):
    """A named function of a whole matrix with a matrix of the same shape out (softmax).

    >>> MatrixFunction("softmax", (sp.MatrixSymbol("A", 2, 3),)).shape
    (2, 3)
    """

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Expr:
        raise NotImplementedError(f"{self.name} is not elementwise")


class Reduce(sp.Expr):
    """`sum(A)` or `mean(A)` over all entries of a matrix: a scalar.

    >>> r = Reduce("mean", sp.MatrixSymbol("X", 2, 3))
    >>> r.kind, r.arg, r.is_Matrix
    ('mean', X, False)
    """

    is_commutative = True

    def __new__(cls, kind: str | Str, arg: Expr) -> Reduce:
        return sp.Expr.__new__(cls, kind if isinstance(kind, Str) else Str(kind), arg)

    @property
    def kind(self) -> str:
        """`sum` or `mean`."""
        return self.args[0].name

    @property
    def arg(self) -> Expr:
        """The matrix being reduced."""
        return self.args[1]

    @property
    def operands(self) -> tuple[Expr, ...]:
        """The matrix being reduced, as the one operand of the op `kind`."""
        return (self.args[1],)


class Entry(sp.Expr):
    """The single entry of a (UNIT, UNIT) product: a 1-D inner product `x@y` as a scalar.

    >>> x = sp.MatrixSymbol("x", 3, UNIT)
    >>> Entry(sp.MatMul(sp.Transpose(x), x)).arg.shape
    (unit, unit)
    """

    is_commutative = True

    def __new__(cls, arg: Expr) -> Entry:
        return sp.Expr.__new__(cls, arg)

    @property
    def arg(self) -> Expr:
        """The (UNIT, UNIT) matrix expression."""
        return self.args[0]


class Diag(MatrixExpr):
    """diag(v), a diagonal matrix from a vector, or diag(A), the diagonal of a square matrix as a vector.

    >>> Diag(sp.MatrixSymbol("v", 3, UNIT)).shape, Diag(sp.MatrixSymbol("A", 3, 3)).shape
    ((3, 3), (3, unit))
    """

    def __new__(cls, arg: Expr) -> Diag:
        return sp.Basic.__new__(cls, arg)

    @property
    def arg(self) -> Expr:
        """The vector or the square matrix."""
        return self.args[0]

    @property
    def shape(self) -> tuple[Any, Any]:
        """(n, n) from a vector, (n, UNIT) from a matrix."""
        n, m = self.arg.shape
        return (n, n) if m == UNIT else (n, UNIT)


def called(e: Expr) -> str | None:
    """The name of the table's op that a formula node calls (`relu`, `logsumexp`), or None.

    >>> called(Reduce("logsumexp", sp.MatrixSymbol("X", 2, 3))), called(sp.Symbol("x"))
    ('logsumexp', None)
    """
    if isinstance(e, (Elementwise, ElementwiseScalar)):
        return e.name
    if isinstance(e, Call):
        return e.op_name
    return e.kind if isinstance(e, Reduce) else None
