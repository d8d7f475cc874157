"""Index keys: `X[1:3, :2]` as the parser reads it, as gradcalc writes it, as NumPy takes it, and what it selects.

A key holds one item per indexed axis, as in NumPy's basic indexing: an
integer (that axis goes away) or a slice `(start, stop, step)` of integers
or None; axes after the last item are taken whole. Only constant integers
are indices: sizes are not known when the expression is read.

>>> key = (0, (None, 2, None))
>>> key_text(key), numpy_key(key)
('0, :2', (0, slice(None, 2, None)))
"""

from __future__ import annotations

import ast
from typing import Any, Callable

Item = int | tuple[int | None, int | None, int | None]
Key = tuple[Item, ...]
WHOLE: Item = (None, None, None)


def key_text(key: Key | int) -> str:
    """The key as written between the brackets; whole trailing axes are left out (`X[1:3, :]` is `X[1:3]`).

    >>> key_text(((1, 3, None), WHOLE)), key_text((WHOLE, -1)), key_text(((None, None, 2),)), key_text(())
    ('1:3', ':, -1', '::2', ':')
    """
    items = list(as_key(key))
    while items and items[-1] == WHOLE:
        items.pop()
    return ", ".join(map(item_text, items)) or ":"


def key_from_text(text: str) -> Key:
    """The key `key_text` wrote.

    >>> key_from_text("1:3, :2"), key_from_text(":, -1"), key_from_text("::2"), key_from_text(":")
    (((1, 3, None), (None, 2, None)), ((None, None, None), -1), ((None, None, 2),), ())
    """
    if text == ":":
        return ()
    items: list[Item] = []
    for part in text.split(", "):
        bits = [*part.split(":"), ""]
        items.append(int(part) if ":" not in part else tuple(int(b) if b else None for b in bits[:3]))
    return tuple(items)


def item_text(item: Item) -> str:
    """One item as written: `2`, `1:3`, `-2:`, `::2`.

    >>> item_text(-1), item_text((-2, None, None)), item_text((0, 1, None))
    ('-1', '-2:', '0:1')
    """
    if isinstance(item, int):
        return str(item)
    start, stop, step = item
    text = f"{'' if start is None else start}:{'' if stop is None else stop}"
    return text if step is None else f"{text}:{step}"


def as_key(key: Key | int) -> Key:
    """A key from the op's parameter: `index(X, 0)` gives the integer 0, `X[0, 1:]` a tuple.

    >>> as_key(0), as_key((0, (1, None, None)))
    ((0,), (0, (1, None, None)))
    """
    return (key,) if isinstance(key, int) else tuple(key)


def numpy_key(key: Key | int) -> tuple[int | slice, ...]:
    """The key as NumPy takes it between brackets.

    >>> numpy_key(((1, 3, None), -1))
    (slice(1, 3, None), -1)
    """
    return tuple(i if isinstance(i, int) else slice(*i) for i in as_key(key))


def padded(key: Key | int, ndim: int) -> Key:
    """One item per axis: the axes not indexed are taken whole.

    >>> padded(0, 2)
    (0, (None, None, None))
    """
    key = as_key(key)
    return key + (WHOLE,) * (ndim - len(key))


def taken(size: int, item: Item) -> int:
    """How many entries a slice takes from an axis of `size` (NumPy clips a slice to the axis).

    >>> taken(4, (1, 10, None)), taken(5, (None, None, 2)), taken(4, (-2, None, None))
    (3, 3, 2)
    """
    return len(range(*slice(*item).indices(size)))


def span(item: Item) -> int | None:
    """How many entries a slice takes from every axis that reaches it, or None when that depends on the size.

    >>> span((1, 3, None)), span((-2, None, None)), span((1, None, None)), span((None, -1, None))
    (2, 2, None, None)
    """
    start, stop, step = item
    start, step = start or 0, step or 1
    if stop is None:
        return -(start // step) if start < 0 else None  # ceil(-start / step)
    if (start < 0) != (stop < 0):
        return None
    return max(0, -((start - stop) // step))


def reach(item: Item) -> int:
    """The size an axis needs for an index, or for a slice to take all it names (`X[3]`, `X[1:3]`: 4, 3) or,
    when what it takes depends on the size, to take anything (`X[1:]`, `X[:-1]`: 2).

    >>> reach(3), reach(-2), reach((1, 3, None)), reach((-3, -1, None)), reach((1, None, None)), reach(WHOLE)
    (4, 2, 3, 3, 2, 1)
    """
    if isinstance(item, int):
        return item + 1 if item >= 0 else -item
    start, stop, _ = item
    start = start or 0
    if start < 0:
        return -start
    if stop is None:
        return start + 1
    return stop if stop > 0 else start - stop + 1


def key_of(node: ast.AST, fold: Callable[[ast.AST], Any], fail: Callable[[str, ast.AST], Exception]) -> Key:
    """The key of a subscript's brackets, refusing everything but constant integers and slices.

    `fold` gives the value of a constant expression (or None), `fail` the
    error to raise at a node.

    >>> fold = lambda n: n.value if isinstance(n, ast.Constant) else None
    >>> key_of(ast.parse("X[1:3, 0]", mode="eval").body.slice, fold, lambda m, n: ValueError(m))
    ((1, 3, None), 0)
    """
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    if len(items) > 2:
        raise fail(f"too many indices ({len(items)}): gradcalc's arrays have at most 2 axes", node)
    return tuple(_item(i, fold, fail) for i in items)


def _item(node: ast.AST, fold: Callable[[ast.AST], Any], fail: Callable[[str, ast.AST], Exception]) -> Item:
    if not isinstance(node, ast.Slice):
        return _integer(node, fold, fail, "an index")
    start, stop, step = (None if part is None else _integer(part, fold, fail, "a slice bound")
                         for part in (node.lower, node.upper, node.step))
    if step is not None and step <= 0:
        raise fail(f"a slice step must be a positive integer, not {step} (reversed slices are not supported)", node)
    return (start, stop, None if step == 1 else step)


def _integer(node: ast.AST, fold: Callable[[ast.AST], Any], fail: Callable[[str, ast.AST], Exception],
             what: str) -> int:
    value = node.value if isinstance(node, ast.Constant) else None
    if value is Ellipsis:
        raise fail("Ellipsis (...) in an index is not supported; write the axes out, e.g. X[:, 0]", node)
    if (isinstance(node, ast.Constant) and value is None) or (isinstance(node, ast.Attribute)
                                                              and node.attr == "newaxis"):
        raise fail("None (np.newaxis) adds an axis, and gradcalc's arrays have at most 2; use reshape, "
                   "e.g. x.reshape(1, -1)", node)
    if isinstance(node, (ast.List, ast.Tuple)):
        raise fail("indexing with a list of indices (fancy indexing) is not supported; use a slice such as "
                   "X[0:2] or X[1]", node)
    if isinstance(node, (ast.Compare, ast.BoolOp)) or isinstance(value, bool):
        raise fail("indexing with a boolean mask is not supported; use where(cond, X, 0) to pick entries", node)
    number = fold(node)
    if number is None:
        raise fail(f"{what} must be an integer constant, because sizes are not known when the expression is "
                   "read (X[n - 1] cannot be); count from the end with a negative index, e.g. X[-1]; arrays "
                   "of indices and boolean masks are not supported", node)
    if isinstance(number, bool) or not isinstance(number, int):
        raise fail(f"{what} must be an integer, not {number!r}", node)
    return number
