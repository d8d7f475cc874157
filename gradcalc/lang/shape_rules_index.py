"""Shape rules of indexing, reshape, kron and the transposes that name their axes, with NumPy's semantics.

As in `gradcalc.lang.shape_rules`, each rule ties sizes with `unify`,
returns the result's shape and raises `Clash`; the first docstring line is
what `gradcalc ops` shows. A size not known yet is assumed to be large
enough for an index (`X[3]`: at least 4 rows, kept by `at_least` for
unification and default sizes). A size that follows from another one not
known yet (`X[1:]`, `flatten(X)`, `kron(A, B)`) is a `Follows`, settled
once every variable's size is (`gradcalc.lang.infer.settle_following`);
such sizes must be numbers, never names.

>>> from gradcalc.lang.dims import format_shape
>>> [format_shape(s) for s in (index(fixed(4, 3), (0,)), reshape(fixed(4, 3), 2, 6), kron(fixed(2), fixed(3)))]
['3', '2x6', '6']
"""

from __future__ import annotations

import math

from gradcalc.lang.dims import RANK_NAMES, Ambiguous, Clash, Dim, Follows, Shape, at_least, fixed, format_shape, unify
from gradcalc.lang.subscripts import WHOLE, Key, as_key, item_text, padded, reach, span, taken


def index(a: Shape, key: Key | int) -> Shape:
    """X[i] drops an axis, X[a:b] keeps it (b - a entries), X[-1] counts from the end

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(index(fixed(4, 3), (WHOLE, 1))), format_shape(index(fixed(4, 3), ((1, 10, None),)))
    ('4', '3x3')
    >>> index(fixed(4, 3), (4,))
    Traceback (most recent call last):
        ...
    gradcalc.lang.dims.Clash: index 4 is out of range for axis 0 with size 4
    """
    key = as_key(key)
    if not a:
        raise Clash("a scalar cannot be indexed")
    if len(key) > len(a):
        raise Clash(f"too many indices ({len(key)}) for {RANK_NAMES[len(a)]}")
    out = []
    for axis, (d, item) in enumerate(zip(a, padded(key, len(a)))):
        size = d.root().size
        where = f"{'index' if isinstance(item, int) else 'slice'} {item_text(item)} on axis {axis}"
        if isinstance(item, int):
            if isinstance(size, int) and reach(item) > size:
                raise Clash(f"index {item} is out of range for axis {axis} with size {size}")
            at_least(d, reach(item), where)
            continue
        if item == WHOLE:
            out.append(d)
            continue
        count = taken(size, item) if isinstance(size, int) else span(item)  # a known size clips, as in NumPy
        if not isinstance(size, int):
            at_least(d, reach(item), where)
        if count is None and isinstance(size, str):
            raise Clash(f"{where} takes a number of entries that depends on the size {size}; give that size as "
                        "a number with --shape")
        if count == 0:
            raise Clash(f"{where} is empty" + (f" for size {size}" if isinstance(size, int) else ""))
        out.append(Follows() if count is None else Dim(count))
    return tuple(out)


def reshape(a: Shape, n: int, m: int | None = None) -> Shape:
    """the same entries, row by row, as (n) or (n, m); one size may be -1 (as many as it takes)

    >>> from gradcalc.lang.dims import format_shape
    >>> x = (Dim(),); format_shape(reshape(x, 3, 4)), format_shape(x)
    ('3x4', '12')
    >>> reshape((Dim(), Dim()), 3, 4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    gradcalc.lang.dims.Ambiguous: reshape into 3x4 needs the operand's shape, which nothing here settles ...
    """
    sizes = (n,) if m is None else (n, m)
    if any(isinstance(k, bool) or not isinstance(k, int) or k == 0 or k < -1 for k in sizes) or sizes.count(-1) > 1:
        raise Clash(f"the sizes {', '.join(map(str, sizes))} must be positive integers, one of them may be -1")
    known = math.prod(k for k in sizes if k != -1)
    wanted = "x".join(map(str, sizes))
    total = _entries(a, None if -1 in sizes else known, wanted)
    if total is None:  # -1 of an operand whose sizes are not known yet
        return tuple(Follows() if k == -1 else Dim(k) for k in sizes) if len(a) != 1 or m is not None else a
    if -1 in sizes and total % known:
        raise Clash(f"{total} entries cannot be reshaped into {wanted}: {total} is not a multiple of {known}")
    if -1 not in sizes and total != known:
        raise Clash(f"{format_shape(a)} ({total} entries) cannot be reshaped into {wanted} ({known} entries)")
    return fixed(*(total // known if k == -1 else k for k in sizes))


def _entries(a: Shape, wanted: int | None, text: str) -> int | None:
    """The operand's number of entries, settling its unknown size when `wanted` leaves one choice; else None."""
    sizes = [d.root().size for d in a]
    if all(isinstance(k, int) for k in sizes):
        return math.prod(sizes)
    if any(isinstance(k, str) for k in sizes):
        raise Clash(f"reshape and flatten count entries, so the sizes must be numbers: give --shape with numbers")
    if wanted is None:
        return None
    known = math.prod(k for k in sizes if k is not None)
    if sizes.count(None) > 1:  # no other rank is tried: a 1-D operand would be a guess
        raise Ambiguous(f"reshape into {text} needs the operand's shape, which nothing here settles (any shape "
                        f"with {wanted} entries would do): give it with --shape")
    if wanted % known:
        raise Clash(f"{format_shape(a)} cannot be reshaped into {text}: {wanted} is not a multiple of {known}")
    unify(next(d for d, k in zip(a, sizes) if k is None), Dim(wanted // known))
    return wanted


def kron(a: Shape, b: Shape) -> Shape:
    """(n, m) kron (p, q) -> (n*p, m*q); 1-D (n) kron (p) -> (n*p)

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(kron(fixed(2, 3), fixed(4, 5))), format_shape(kron(fixed(1, 1), (Dim(), Dim(5))))
    ('8x15', '?x5')
    """
    if len(a) != len(b) or not a:
        raise Clash("kron takes two matrices or two 1-D vectors; make a 1-D vector a row or a column first, "
                    "e.g. x.reshape(1, -1)")
    return tuple(_times(x, y) for x, y in zip(a, b))


def _times(x: Dim, y: Dim) -> Dim:
    sx, sy = x.root().size, y.root().size
    if sx == 1 or sy == 1:
        return y if sx == 1 else x
    if isinstance(sx, str) or isinstance(sy, str):
        raise Clash("kron multiplies sizes, which must then be numbers: give --shape with numbers")
    return Dim(sx * sy) if isinstance(sx, int) and isinstance(sy, int) else Follows()


def permute(a: Shape, d0: int | None = None, d1: int | None = None) -> Shape:
    """the axes in the order given: (1, 0) transposes a matrix, (0,) keeps a 1-D vector; none given: reversed

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(permute(fixed(2, 3), 1, 0)), format_shape(permute(fixed(2, 3), 0, 1))
    ('3x2', '2x3')
    >>> permute(fixed(2, 3), 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    gradcalc.lang.dims.Clash: permute takes one axis for each axis of its operand: 1 given for a matrix; ...
    """
    dims = [d for d in (d0, d1) if d is not None]
    if not dims:
        return a[::-1]
    if len(dims) != len(a):
        hint = "; for a matrix write (1, 0), its transpose" if len(a) == 2 else ""
        raise Clash(f"permute takes one axis for each axis of its operand: {len(dims)} given for "
                    f"{RANK_NAMES[len(a)]}{hint}")
    axes = [_axis(d, len(a)) for d in dims]
    if sorted(axes) != list(range(len(a))):
        raise Clash(f"the axes {', '.join(map(str, dims))} name an axis twice")
    return tuple(a[i] for i in axes)


def swapaxes(a: Shape, axis1: int, axis2: int) -> Shape:
    """(n, m) -> (m, n); the same axis twice, or a 1-D vector's only axis, changes nothing

    >>> from gradcalc.lang.dims import format_shape
    >>> format_shape(swapaxes(fixed(2, 3), 0, 1)), format_shape(swapaxes(fixed(2, 3), -1, 1))
    ('3x2', '2x3')
    """
    if not a:
        raise Clash("a scalar has no axes to swap")
    return a if _axis(axis1, len(a)) == _axis(axis2, len(a)) else a[::-1]


def matrix_transpose(a: Shape) -> Shape:
    """(n, m) -> (m, n); a matrix only

    >>> matrix_transpose(fixed(3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    gradcalc.lang.dims.Clash: .mT and matrix_transpose need a matrix, not a 1-D vector (PyTorch and NumPy refuse ...
    """
    if len(a) != 2:
        raise Clash(f".mT and matrix_transpose need a matrix, not {RANK_NAMES[len(a)]} (PyTorch and NumPy refuse "
                    "it too); x.T leaves a 1-D vector as it is")
    return a[::-1]


def _axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise Clash(f"axis {axis} is out of range for {RANK_NAMES[ndim]}")
    return axis % ndim
