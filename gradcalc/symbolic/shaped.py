"""Indexing, reshape and kron as SymPy matrix expressions, with their adjoints in matrix notation.

`Index(X, "1:3, :2")` is `X[1:3, :2]`; its adjoint puts `G` back in place
with selection matrices, rows of an identity: `eye(4)[1:3].T@G@eye(3)[:2]`
(a row `eye(4)[0]` for an integer index). `Reshape(X, 2, 6)` is
`reshape(X, 2, 6)` (`flatten(X)` for a 1-D result); its adjoint reshapes
back. `Kron(A, B)` is `kron(A, B)`; its adjoint sums the blocks of G with
products by `kron(eye(n), ones(1, p))`. Each type spells itself in every
printed form (`spelled`) and computes its numbers (`computed`), for the
printer and the evaluator. 1-D vectors are (n, UNIT) columns, as everywhere.

>>> X = sp.MatrixSymbol("X", 4, 3)
>>> index(X, (0,)).shape, index(X, ((1, 3, None), 2)).shape, reshape(X, -1).shape
((3, unit), (2, unit), (12, unit))
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import sympy as sp
from sympy import Identity, MatrixExpr, OneMatrix, ZeroMatrix
from sympy.core.symbol import Str

from gradcalc.lang.subscripts import WHOLE, Item, Key, as_key, key_from_text, key_text, numpy_key, padded, span
from gradcalc.symbolic.algebra import hadamard, product, scale, split, transpose
from gradcalc.symbolic.types import UNIT, Entry, Expr, is_matrix

Show = Callable[[Any, str], str]  # an operand's text: "atom" (X[0], no parentheses), "factor" or "any" binding


def _axes(e: Expr) -> tuple[Any, ...]:
    """NumPy's shape of a formula: () for a scalar, (n,) for a 1-D vector."""
    return tuple(n for n in e.shape if n != UNIT) if is_matrix(e) else ()


def _as_columns(sizes: tuple[Any, ...]) -> tuple[Any, Any]:
    """A NumPy shape as a formula's shape: a 1-D (n,) is (n, UNIT)."""
    return (*sizes, *(UNIT,) * (2 - len(sizes)))


class Shaped(MatrixExpr):
    """A matrix expression that spells itself (`spelled`) and computes its numbers (`computed`)."""

    def spelled(self, kind: str, show: Show, calls: dict[str, str]) -> tuple[str, bool]:
        """(text, binds like an atom) in `kind`: "syntax", "pretty", "latex" or "numpy" (with the rows' `calls`)."""
        raise NotImplementedError

    def computed(self, value: Callable[[Any], Any], shape: Callable[[Any], tuple[int, ...]]) -> Any:
        """The numbers, from the operands' `value`s (1-D vectors as columns) and the sizes of a `shape`."""
        raise NotImplementedError


class Index(Shaped):
    """`arg[key]`: NumPy's basic indexing, the key as gradcalc writes it (`"1:3, :2"`).

    >>> Index(sp.MatrixSymbol("X", 4, 3), "1:3, 0").shape
    (2, unit)
    """

    def __new__(cls, arg: Expr, key: str | Str) -> Index:
        return sp.Basic.__new__(cls, arg, key if isinstance(key, Str) else Str(key))

    @property
    def arg(self) -> Expr:
        """The matrix or 1-D vector indexed."""
        return self.args[0]

    @property
    def key(self) -> Key:
        """The key, as `gradcalc.lang.subscripts` holds it."""
        return key_from_text(self.args[1].name)

    @property
    def shape(self) -> tuple[Any, Any]:
        """One size per sliced axis; an integer index drops its axis."""
        axes = _axes(self.arg)
        return _as_columns(tuple(_count(n, i) for n, i in zip(axes, padded(self.key, len(axes)))
                                 if not isinstance(i, int)))

    def spelled(self, kind: str, show: Show, calls: dict[str, str]) -> tuple[str, bool]:
        text = self.args[1].name
        if kind == "latex":
            return rf"{show(self.arg, 'atom')}\left[{text}\right]", True
        return f"{show(self.arg, 'atom')}[{text}]", True

    def computed(self, value: Callable[[Any], Any], shape: Callable[[Any], tuple[int, ...]]) -> Any:
        arg = value(self.arg)
        arg = arg[:, 0] if self.arg.shape[1] == UNIT else arg
        return np.reshape(np.asarray(arg)[numpy_key(self.key)], shape(self))


def _count(size: Any, item: Item) -> Any:
    """How many entries a slice takes from an axis of `size` (a number or a named size)."""
    if item == WHOLE:
        return size
    if sp.sympify(size).is_Integer:
        return len(range(*slice(*item).indices(int(size))))
    known = span(item)
    if known is not None:
        return known
    start, stop, step = item
    start = 0 if start is None else start if start >= 0 else size + start
    stop = size if stop is None else stop if stop >= 0 else size + stop
    return sp.ceiling((stop - start) / (step or 1))


class Reshape(Shaped):
    """The entries of `arg`, row by row, in the shape (rows, cols); (rows, UNIT) is a 1-D result.

    >>> Reshape(sp.MatrixSymbol("X", 4, 3), 2, 6).shape
    (2, 6)
    """

    def __new__(cls, arg: Expr, rows: Any, cols: Any) -> Reshape:
        return sp.Basic.__new__(cls, arg, sp.sympify(rows), sp.sympify(cols))

    @property
    def arg(self) -> Expr:
        """The matrix or vector reshaped."""
        return self.args[0]

    @property
    def shape(self) -> tuple[Any, Any]:
        """The new shape."""
        return self.args[1], self.args[2]

    def spelled(self, kind: str, show: Show, calls: dict[str, str]) -> tuple[str, bool]:
        sizes = [str(n) for n in _axes(self)]
        if kind == "numpy":
            return calls["reshape"].format(show(self.arg, "any"), f"({', '.join(sizes)})" if sizes[1:] else -1), True
        operands = [show(self.arg, "any"), *(sizes if len(sizes) > 1 else [])]
        name = "reshape" if len(sizes) > 1 else "flatten"  # a 1-D result
        if kind == "latex":
            return rf"\operatorname{{{name}}}\left({', '.join(operands)}\right)", True
        return f"{name}({', '.join(operands)})", True

    def computed(self, value: Callable[[Any], Any], shape: Callable[[Any], tuple[int, ...]]) -> Any:
        return np.reshape(np.ravel(value(self.arg)), shape(self))


class Kron(Shaped):
    """The Kronecker product: blocks `a[i, j] * b`; of two 1-D vectors, a 1-D vector.

    >>> Kron(sp.MatrixSymbol("A", 2, 3), sp.MatrixSymbol("B", 4, 5)).shape
    (8, 15)
    """

    def __new__(cls, a: Expr, b: Expr) -> Kron:
        return sp.Basic.__new__(cls, a, b)

    @property
    def shape(self) -> tuple[Any, Any]:
        """Sizes multiplied: (n*p, m*q)."""
        (n, m), (p, q) = self.args[0].shape, self.args[1].shape
        return n * p, UNIT if m == q == UNIT else m * q

    def spelled(self, kind: str, show: Show, calls: dict[str, str]) -> tuple[str, bool]:
        a, b = self.args
        if kind in ("pretty", "latex"):
            times = " ⊗ " if kind == "pretty" else r" \otimes "
            return f"{show(a, 'factor')}{times}{show(b, 'factor')}", False
        template = calls["kron"] if kind == "numpy" else "kron({0}, {1})"
        return template.format(show(a, "any"), show(b, "any")), True

    def computed(self, value: Callable[[Any], Any], shape: Callable[[Any], tuple[int, ...]]) -> Any:
        return np.kron(value(self.args[0]), value(self.args[1]))


def index(a: Expr, key: Key | int) -> Expr:
    """`a[key]` with NumPy's basic indexing: a coefficient comes out, a whole key is `a`, a single entry a scalar.

    >>> X = sp.MatrixSymbol("X", 4, 3)
    >>> index(2 * X, ((1, 3, None),)), index(X, (1, 2)), index(X, ())
    (2*Index(X, 1:3), Entry(Index(X, 1, 2)), X)
    """
    items = padded(as_key(key), len(_axes(a)))
    if all(i == WHOLE for i in items):
        return a
    c, rest = split(a)
    picked = Index(rest, key_text(items))
    single = picked.shape == (UNIT, UNIT)
    if isinstance(rest, (OneMatrix, ZeroMatrix)):
        return c * int(isinstance(rest, OneMatrix)) if single else scale(c, type(rest)(*picked.shape))
    return c * Entry(picked) if single else scale(c, picked)


def index_vjp(g: Expr, a: Expr, key: Key | int) -> Expr:
    """The adjoint of `a[key]`: `g` put back in place between selection matrices (rows of an identity).

    >>> from gradcalc.symbolic.printing import syntax
    >>> X, G = sp.MatrixSymbol("X", 4, 3), sp.MatrixSymbol("G", 2, 2)
    >>> syntax(index_vjp(G, X, ((1, 3, None), (None, 2, None)))), syntax(index_vjp(sp.Symbol("g"), X, (1, 2)))
    ('eye(4)[1:3].T@G@eye(3)[:2]', 'g*outer(eye(4)[1], eye(3)[2])')
    """
    axes = _axes(a)
    items = padded(as_key(key), len(axes))
    picks = [None if i == WHOLE else Index(Identity(n), key_text((i,))) for n, i in zip(axes, items)]
    ints = [isinstance(i, int) for i in items]
    if len(axes) == 1:
        return scale(g, picks[0]) if ints[0] else product(transpose(picks[0]), g)
    rows, cols = picks
    if ints[0] and ints[1]:
        return scale(g, product(rows, transpose(cols)))
    if ints[0]:  # g runs along the columns
        return product(rows, transpose(g if cols is None else product(transpose(cols), g)))
    left = g if rows is None else product(transpose(rows), g)
    if ints[1]:
        return product(left, transpose(cols))
    return left if cols is None else product(left, cols)


def reshape(a: Expr, n: int, m: int | None = None) -> Expr:
    """The entries of `a`, row by row, in the shape (n) or (n, m); -1 is as many as it takes.

    >>> X = sp.MatrixSymbol("X", 4, 3)
    >>> reshape(X, 2, -1).shape, reshape(reshape(X, -1), 4, 3), reshape(3 * sp.OneMatrix(4, 3), 12).args[1].shape
    ((2, 6), X, (12, unit))
    """
    have = _axes(a)
    sizes = [n] if m is None else [n, m]
    total = sp.Mul(*have)
    target = tuple(total / sp.Mul(*(k for k in sizes if k != -1)) if k == -1 else sp.sympify(k) for k in sizes)
    if target == have:
        return a
    if not is_matrix(a):
        return scale(a, OneMatrix(*_as_columns(target)))
    c, rest = split(a)
    if isinstance(rest, Reshape):
        rest = rest.arg
    if _axes(rest) == target:
        return scale(c, rest)
    if isinstance(rest, (OneMatrix, ZeroMatrix)):
        return scale(c, type(rest)(*_as_columns(target)))
    return scale(c, Reshape(rest, *_as_columns(target)))


def unreshape(g: Expr, a: Expr) -> Expr:
    """The adjoint of a reshape: `g` in the shape of `a` (a scalar's adjoint is summed by the caller).

    >>> unreshape(sp.MatrixSymbol("G", 2, 6), sp.MatrixSymbol("X", 4, 3)).shape
    (4, 3)
    """
    return reshape(g, *_axes(a)) if is_matrix(a) else g


def kron(a: Expr, b: Expr) -> Expr:
    """kron(a, b); a 1x1 one or identity is the other operand, ones and zeros stay ones and zeros.

    >>> A, B = sp.MatrixSymbol("A", 2, 3), sp.MatrixSymbol("B", 4, 5)
    >>> kron(2 * A, B), kron(sp.Identity(1), B), kron(sp.OneMatrix(2, 3), sp.OneMatrix(1, 2)).shape
    (2*Kron(A, B), B, (2, 6))
    """
    (ca, ra), (cb, rb) = split(a), split(b)
    made = Kron(ra, rb)
    if isinstance(ra, ZeroMatrix) or isinstance(rb, ZeroMatrix):
        return ZeroMatrix(*made.shape)
    if _unit(ra) or _unit(rb):
        return scale(ca * cb, rb if _unit(ra) else ra)
    if isinstance(ra, OneMatrix) and isinstance(rb, OneMatrix):
        return scale(ca * cb, OneMatrix(*made.shape))
    return scale(ca * cb, made)


def _unit(e: Expr) -> bool:
    """A 1x1 (or 1-entry 1-D) identity or ones: kron's neutral operand."""
    return isinstance(e, (Identity, OneMatrix)) and math.prod(1 if n == UNIT else n for n in e.shape) == 1


def kron_vjp(g: Expr, a: Expr, b: Expr, which: int) -> Expr:
    """The adjoint of kron(a, b) for operand `which`: the blocks of `g` taken against the other operand.

    For matrices A (n, m) and B (p, q): ∂/∂A is
    `kron(eye(n), ones(1, p))@(G*kron(ones(n, m), B))@kron(eye(m), ones(q, 1))` (each block of G weighted by
    B and summed); for 1-D vectors a (n) and b (p), `reshape(g, n, p)@b` and `reshape(g, n, p).T@a`.

    >>> from gradcalc.symbolic.printing import syntax
    >>> A, B, G = sp.MatrixSymbol("A", 2, 3), sp.MatrixSymbol("B", 1, 2), sp.MatrixSymbol("G", 2, 6)
    >>> syntax(kron_vjp(G, A, B, 0)), syntax(kron_vjp(G, A, B, 1))
    ('(G*kron(ones(2, 3), B))@kron(eye(3), ones(2, 1))', 'ones(1, 2)@(G*kron(A, ones(1, 2)))@kron(ones(3, 1), eye(2))')
    """
    if a.shape[1] == UNIT:
        blocks = reshape(g, a.shape[0], b.shape[0])
        return product(blocks, b) if which == 0 else product(transpose(blocks), a)
    (n, m), (p, q) = a.shape, b.shape
    if which == 0:  # sum each p x q block of G weighted by B: one entry of A per block
        left, right = kron(Identity(n), OneMatrix(1, p)), kron(Identity(m), OneMatrix(q, 1))
        weights = kron(OneMatrix(n, m), b)
    else:  # add up the blocks of G, each weighted by its entry of A
        left, right = kron(OneMatrix(1, n), Identity(p)), kron(OneMatrix(m, 1), Identity(q))
        weights = kron(a, OneMatrix(p, q))
    return product(product(left, hadamard(g, weights)), right)
