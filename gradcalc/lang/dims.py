"""Sizes and shapes with no knowledge of any op: union-find sizes, `Clash`, and how shapes are written.

>>> a, b = Dim(), Dim(3)
>>> unify(a, b); format_shape((a, Dim("n")))
'3×n'
"""

from __future__ import annotations

from typing import Iterator

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

    __slots__ = ("parent", "size", "least")

    def __init__(self, size: Size | None = None) -> None:
        self.parent: Dim = self
        self.size = size
        self.least: tuple[int, str] = (1, "")  # the smallest size an index needs (X[3]: 4), and what needs it

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


class Ambiguous(Clash):
    """Raised by a shape rule for a call its shapes cannot settle (a matrix's softmax without an axis): a parse
    error at the call, which no other choice of ranks is tried to get round.

    >>> issubclass(Ambiguous, Clash)
    True
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
        ra, rb = rb, ra
    rb.parent = ra
    if rb.least[0] > ra.least[0]:
        at_least(ra, *rb.least)


class Follows(Dim):
    """A size that follows from other sizes (`X[1:]` has a row fewer than X): settled once they are known.

    >>> isinstance(Follows(), Dim)
    True
    """

    __slots__ = ()


def at_least(d: Dim, n: int, why: str) -> None:
    """Require a size of at least `n` (`why` needs it); a size not known yet keeps it, for unification and defaults.

    >>> d = Dim(); at_least(d, 4, "index 3"); d.root().least
    (4, 'index 3')
    >>> unify(d, Dim(3))
    Traceback (most recent call last):
        ...
    gradcalc.lang.dims.Clash: index 3 needs a size of at least 4, but the size is 3
    """
    root = d.root()
    if isinstance(root.size, int) and root.size < n:
        raise Clash(f"{why} needs a size of at least {n}, but the size is {root.size}")
    if n > root.least[0]:
        root.least = (n, why)


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


def following(shapes: dict[int, Shape]) -> set[int]:
    """The size classes (root ids) that follow from other sizes not known yet (`X[1:]`, `flatten(X)`).

    >>> len(following({1: (Follows(), Dim(3))})), following({1: (Dim(3),)})
    (1, set())
    """
    return {id(d.root()) for s in shapes.values() for d in s if isinstance(d, Follows) and d.root().size is None}


def next_size(pool: Iterator[Size], spare: list[Size], least: int) -> Size:
    """The first spare or next default size of at least `least` (X[5] needs 6 rows); smaller ones are kept spare.

    >>> spare = []; next_size(iter([4, 3, 6, 7]), spare, 5), spare
    (6, [4, 3])
    """
    for n in spare:
        if not isinstance(n, int) or n >= least:
            spare.remove(n)
            return n
    n = next(pool)
    while isinstance(n, int) and n < least:
        spare.append(n)
        n = next(pool)
    return n
