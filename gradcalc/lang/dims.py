"""Sizes and shapes with no knowledge of any op: union-find sizes, `Clash`, and how shapes are written.

>>> a, b = Dim(), Dim(3)
>>> unify(a, b); format_shape((a, Dim("n")))
'3×n'
"""

from __future__ import annotations

DEFAULT_SIZES = (4, 3, 5, 6, 7, 2, 8, 9, 10, 11, 12, 13, 14, 15, 16)
#: Names for free sizes in `derive` (letters with a Unicode subscript, for the pretty form).
SIZE_NAMES = tuple("nkmprstuvhijlae")

#: A size: a number, or (in `derive`) a name such as "n" that stays symbolic.
Size = int | str


class Dim:
    """One size, known or not; unknown sizes are merged by union-find.

    A size may also be a name (`derive --shape X=n,k`): a named unknown that
    unification may tie to another name or to a number.

    >>> a, b = Dim(), Dim()
    >>> unify(a, b); a.root() is b.root(), a.root().size
    (True, None)
    """

    __slots__ = ("parent", "size")

    def __init__(self, size: Size | None = None) -> None:
        self.parent: Dim = self
        self.size = size

    def root(self) -> Dim:
        """The representative of this size's class (with path halving).

        >>> a, b = Dim(), Dim(7)
        >>> unify(a, b); a.root() is b, a.root().size
        (True, 7)
        """
        d = self
        while d.parent is not d:
            d.parent = d.parent.parent
            d = d.parent
        return d


Shape = tuple[Dim, ...]


class Clash(Exception):
    """Raised by a shape rule; the caller adds the operator and sub-expression.

    >>> unify(Dim(3), Dim(4))
    Traceback (most recent call last):
        ...
    gradcalc.lang.dims.Clash: sizes 3 and 4 differ
    """


def unify(a: Dim, b: Dim) -> None:
    """Make two sizes one; raise Clash when both are numbers and differ.

    A named size tied to a number takes the number; two names become one.

    >>> a, b = Dim(), Dim(3)
    >>> unify(a, b); a.root().size
    3
    >>> n, k = Dim("n"), Dim(4)
    >>> unify(n, k); n.root().size
    4
    """
    ra, rb = a.root(), b.root()
    if ra is rb:
        return
    if isinstance(ra.size, int) and isinstance(rb.size, int) and ra.size != rb.size:
        raise Clash(f"sizes {ra.size} and {rb.size} differ")
    if ra.size is None or (isinstance(ra.size, str) and isinstance(rb.size, int)):
        ra.parent = rb
    else:
        rb.parent = ra


def fixed(*sizes: int) -> Shape:
    """A shape of known sizes.

    >>> [d.size for d in fixed(2, 3)]
    [2, 3]
    """
    return tuple(Dim(int(n)) for n in sizes)


RANK_NAMES = {0: "a scalar", 1: "a 1-D vector", 2: "a matrix"}


def format_shape(shape: tuple[Size | None, ...] | Shape) -> str:
    """Shapes as users write them; with a named size, `×` separates (`n×k`, as `nxk` would read as one name).

    >>> format_shape((4, 3)), format_shape(()), format_shape(("n", 3))
    ('4x3', 'scalar', 'n×3')
    """
    sizes = [d.root().size if isinstance(d, Dim) else d for d in shape]
    if not sizes:
        return "scalar"
    separator = "×" if any(isinstance(n, str) for n in sizes) else "x"
    return separator.join("?" if n is None else str(n) for n in sizes)
