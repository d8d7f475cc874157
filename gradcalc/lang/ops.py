"""The operator table: every operator's row, joined from `gradcalc.lang.rows`, and its spellings.

The parser, the tape, the symbolic side, the code generator, `--steps` and
`gradcalc ops` all read this table (`gradcalc.lang.op` says what a row
holds); the numeric and the symbolic rules are written independently of
each other. Broadcasting is undone by the engines (`sum_to`), never in a rule.

>>> OPS["matmul"].title
'@ (matrix product)'
>>> lookup_function("tr") is OPS["trace"]
True
"""

from __future__ import annotations

import math

from gradcalc.lang.op import REQUIRED, ROLES, Op, Param, call
from gradcalc.lang.rows import (activations, algebra, comparisons, constructors, elementwise, matrix,
                                reductions, shaping, softmax)

__all__ = ["CONSTANTS", "LIBRARY_TITLES", "NAMESPACES", "OPS", "REQUIRED", "ROLES", "TABLE", "Op", "Param", "call",
           "function_names", "library_names", "lookup_function", "lookup_in", "lookup_method", "lookup_symbol",
           "method_names"]

# reductions before elementwise: torch.max(X, 1) reduces
TABLE: tuple[Op, ...] = (*algebra.ROWS, *reductions.ROWS, *softmax.ROWS, *elementwise.ROWS, *activations.ROWS,
                         *comparisons.ROWS, *matrix.ROWS, *shaping.ROWS, *constructors.ROWS)

OPS: dict[str, Op] = {op.name: op for op in TABLE}

_FUNCTIONS: dict[str, Op] = {}
for _op in TABLE:
    for _spelling in (_op.name, *_op.aliases):
        _FUNCTIONS.setdefault(_spelling, _op)
_METHODS: dict[str, Op] = {m: op for op in TABLE for m in op.methods}
_LIBRARY: dict[str, dict[str, tuple[Op, ...]]] = {"numpy": {}, "torch": {}}
for _op in TABLE:
    for _library, _names in (("numpy", _op.numpy_names), ("torch", _op.torch_names)):
        for _spelling in _names:
            _LIBRARY[_library][_spelling] = (*_LIBRARY[_library].get(_spelling, ()), _op)

#: Where a dotted prefix points: (library, sub-namespace), `np.linalg.det` is numpy's `linalg.det`.
NAMESPACES = {
    "np": ("numpy", ""), "numpy": ("numpy", ""), "np.linalg": ("numpy", "linalg."),
    "numpy.linalg": ("numpy", "linalg."), "torch": ("torch", ""), "F": ("torch", ""),
    "torch.nn.functional": ("torch", ""), "nn.functional": ("torch", ""), "torch.linalg": ("torch", "linalg."),
    "torch.special": ("torch", "special."), "math": ("math", ""),
}
LIBRARY_TITLES = {"numpy": "NumPy", "torch": "PyTorch", "math": "math"}

#: Named constants and the libraries that spell them (`np.pi`, `math.e`, `torch.inf`, and bare `pi`).
CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf}
_BINARY: dict[str, Op] = {op.symbol: op for op in TABLE if op.symbol and (op.arity == 2 or op.params)}
_UNARY: dict[str, Op] = {op.symbol: op for op in TABLE if op.symbol and op.arity == 1 and not op.params}


def lookup_function(name: str) -> Op | None:
    """The op for a function spelling (`tr`, `trace`, `mm`), or None.

    >>> lookup_function("mm").name
    'mm'
    """
    return _FUNCTIONS.get(name)


def lookup_in(library: str, name: str) -> tuple[Op, ...]:
    """The ops a library's spelling means (`linalg.det` in numpy), in the order to try them; () if none.

    >>> [op.name for op in lookup_in("numpy", "linalg.det")], lookup_in("numpy", "relu")
    (['det'], ())
    """
    return _LIBRARY.get(library, {}).get(name, ())


def library_names(library: str) -> list[str]:
    """Every spelling a library has in the table, for suggestions.

    >>> "linalg.inv" in library_names("numpy")
    True
    """
    return sorted(_LIBRARY.get(library, {}))


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
