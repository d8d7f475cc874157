"""The one error type that reaches the user: every expected failure.

>>> err = ParseError("unknown function 'foo'", position=0)
>>> (err.kind, err.position)
('parse', 0)
"""

from __future__ import annotations


class GradcalcError(Exception):
    """An expected failure with a kind, a one-line message and (for parse errors) a position.

    >>> err = GradcalcError("something went wrong")
    >>> err.kind, err.message, err.position
    ('error', 'something went wrong', None)
    """

    kind = "error"

    def __init__(self, message: str, *, position: int | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.source = source


class ParseError(GradcalcError):
    """The expression text is not valid gradcalc syntax.

    >>> err = ParseError("unexpected ')'", position=4, source="x + )")
    >>> isinstance(err, GradcalcError), err.kind, err.source[err.position]
    (True, 'parse', ')')
    """

    kind = "parse"


class ShapeError(GradcalcError):
    """Shapes cannot be unified, or an operator gets an operand of the wrong rank.

    >>> ShapeError("trace: the operand must be a square matrix").kind
    'shape'
    """

    kind = "shape"


class InputError(GradcalcError):
    """A bad option or value: `--shape`, `--wrt`, tolerances, non-scalar output.

    >>> InputError("--rtol -1.0: must be a non-negative number").kind
    'input'
    """

    kind = "input"
