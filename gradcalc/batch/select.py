"""`batch -k`: choosing cases by words, as pytest reads `-k`.

>>> keyword_filter("relu and not mlp")("ml.toml::relu MLP")
False
"""

from __future__ import annotations

import re
from typing import Callable

from gradcalc.errors import InputError


def keyword_filter(pattern: str) -> Callable[[str], bool]:
    """A `-k` expression as pytest reads it: case-insensitive substrings with and, or, not and parentheses.

    >>> match = keyword_filter("relu and not (float32 or mlp)")
    >>> match("notebooks.toml::relu regression"), match("ml.toml::relu MLP")
    (True, False)
    """
    tokens = re.findall(r"\(|\)|[^\s()]+", pattern)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = peek()
        if token is None or token in ("and", "or", ")"):
            raise InputError(f"-k {pattern!r}: expected a word, 'not' or '(' "
                             f"{'at the end' if token is None else f'before {token!r}'}")
        position += 1
        return token

    def expression() -> Callable[[str], bool]:
        left = conjunction()
        while peek() == "or":
            advance()
            left = (lambda a, b: lambda s: a(s) or b(s))(left, conjunction())
        return left

    def conjunction() -> Callable[[str], bool]:
        left = negation()
        while peek() == "and":
            advance()
            left = (lambda a, b: lambda s: a(s) and b(s))(left, negation())
        return left

    def negation() -> Callable[[str], bool]:
        token = take()
        if token == "not":
            inner = negation()
            return lambda s: not inner(s)
        if token == "(":
            inner = expression()
            if peek() != ")":
                raise InputError(f"-k {pattern!r}: missing ')'")
            advance()
            return inner
        word = token.lower()
        return lambda s: word in s.lower()

    def advance() -> None:
        nonlocal position
        position += 1

    if not tokens:
        return lambda s: True
    match = expression()
    if position != len(tokens):
        raise InputError(f"-k {pattern!r}: unexpected {tokens[position]!r}; combine words with and, or, not")
    return match
