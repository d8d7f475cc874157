"""Rows for comparisons (`A > B`, ...: 0/1 masks, gradient 0) and `where(cond, A, B)`.

A comparison's value is a mask of 0s and 1s in A's dtype; it has no
gradient, and a kink where its operands are equal (its kink argument is
A - B). `where` sends the gradient to the branch it takes.

>>> [op.symbol for op in ROWS if op.symbol]
['>', '<', '>=', '<=', '==', '!=']
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np

from gradcalc.lang import shape_rules as rules
from gradcalc.lang.op import Op


def _mask(test: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda a, b: np.asarray(test(a, b), dtype=np.result_type(a, b, 0.0))


def comparison(name: str, symbol: str, test: Callable[[Any, Any], Any], doc: str, torch_names: tuple[str, ...]
               ) -> Op:
    """The row of one comparison: NumPy's name (`greater`), Python's symbol, PyTorch's names and method.

    >>> comparison("greater", ">", operator.gt, "greater than", ("gt",)).forward(np.array([1.0, 2.0]), 1.5)
    array([0., 1.])
    """
    return Op(
        name, f"{doc}: A {symbol} B, a mask of 1 where it holds and 0 elsewhere", arity=2, symbol=symbol,
        methods=(torch_names[0],), role="elementwise", shape=rules.broadcast, forward=_mask(test),
        vjp=(lambda ans, a, b: lambda g: np.zeros(np.shape(a)), lambda ans, a, b: lambda g: np.zeros(np.shape(b))),
        sym=lambda s, a, b: s.fn(name, a, b),
        sym_vjp=(lambda s, g, ans, a, b: s.zero_like(a), lambda s, g, ans, a, b: s.zero_like(b)),
        fold=lambda a, b: float(test(a, b)), kink=lambda a, b: np.subtract(a, b),
        convention="derivative 0 everywhere, including where A = B (a mask)",
        numpy=f"np.{name}({{0}}, {{1}}).astype(float)",
        numpy_names=(name,), torch_names=torch_names,
    )


#: What PyTorch requires of torch.where's condition, and gradcalc's comparisons that meet it.
MASKS = ("greater", "less", "greater_equal", "less_equal", "equal", "not_equal")


def _torch_condition(library: str, operands: tuple[Any, ...]) -> str:
    if library != "torch" or operands[0].op in MASKS:
        return ""
    return ("torch.where needs a boolean condition, a comparison such as X > 0; np.where(cond, A, B) (or bare "
            "where) takes any expression, nonzero meaning true")


ROWS: tuple[Op, ...] = (
    comparison("greater", ">", operator.gt, "greater than", ("gt", "greater")),
    comparison("less", "<", operator.lt, "less than", ("lt", "less")),
    comparison("greater_equal", ">=", operator.ge, "greater than or equal", ("ge", "greater_equal")),
    comparison("less_equal", "<=", operator.le, "less than or equal", ("le", "less_equal")),
    comparison("equal", "==", operator.eq, "equal", ("eq",)),  # torch.equal compares whole tensors: not this
    comparison("not_equal", "!=", operator.ne, "not equal", ("ne", "not_equal")),
    Op(
        "where", "choice by a condition: where(cond, A, B) is A where cond is nonzero (true), else B, as np.where",
        arity=3, role="elementwise", shape=rules.broadcast3, forward=lambda c, a, b: np.where(c, a, b),
        vjp=(
            lambda ans, c, a, b: lambda g: np.zeros(np.shape(c)),
            lambda ans, c, a, b: (lambda taken: lambda g: np.where(taken, g, 0.0))(np.not_equal(c, 0)),
            lambda ans, c, a, b: (lambda taken: lambda g: np.where(taken, 0.0, g))(np.not_equal(c, 0)),
        ),
        sym=lambda s, c, a, b: s.fn("where", c, a, b),
        sym_vjp=(
            lambda s, g, ans, c, a, b: s.zero_like(c),
            lambda s, g, ans, c, a, b: s.fn("where", c, g, s.zero_like(g)),
            lambda s, g, ans, c, a, b: s.fn("where", c, s.zero_like(g), g),
        ),
        kink=lambda c, a, b: c, convention="the gradient goes to the branch taken, none to the condition, "
                                           "as torch.where",
        refuse_operands=_torch_condition, numpy="np.where({0}, {1}, {2})", latex=r"\operatorname{where}",
        numpy_names=("where",), torch_names=("where",),
    ),
)
