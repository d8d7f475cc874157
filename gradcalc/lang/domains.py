"""Input domains of ops (positive values, positive-definite matrices): each knows how to draw, check, describe itself.

An op's row names the domain of each input (`log` needs positive values);
random values for a variable that feeds such an input are mapped into it,
and a note says so when they cannot be (`--rng torch`). A domain without a
mapping is only checked: after an evaluation that gives nan or inf, the
entries outside it are counted and named (`gradcalc.jobs.domain_notes`).

>>> POSITIVE.needs, SPD.invertible, POWER_BASE.drawn
('positive values', True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


def _always(**_: Any) -> bool:
    return True


@dataclass(frozen=True)
class Outside:
    """One way an entry misses a domain: which entries (`test`), what they are, what that means for the op.

    `meaning` may name the op as `{op}`; `when` says for which constant
    parameters of the op it applies (a negative base only matters for a
    fractional power); `avoided_by_positive` whether positive values would
    have stayed inside (not for an overflow); `remedy`, if given, replaces
    the domain's.

    >>> Outside("negative", "{op} of a negative entry", np.signbit).meaning.format(op="log")
    'log of a negative entry'
    """

    entries: str
    meaning: str
    test: Callable[[np.ndarray], np.ndarray]
    when: Callable[..., bool] = _always
    avoided_by_positive: bool = True
    remedy: str = ""


@dataclass(frozen=True)
class Domain:
    """Where an op's input must lie, how standard-normal draws are mapped there, and how to say and check it.

    `invertible` marks inputs that must be non-singular matrices (the
    gradient is undefined at a singular one, whatever numbers come out).
    `mapping` is None for a domain that is only checked, never drawn into;
    `outside` lists the ways an entry can miss it, `remedy` what to write
    instead.

    >>> POSITIVE.draw(np.array([-1.0, 2.0]), "normal(seed=0)")
    (array([1.5, 2.5]), '0.5+|normal(seed=0)|')
    """

    name: str
    needs: str
    mapping: Callable[[np.ndarray, str], tuple[np.ndarray, str]] | None = None
    invertible: bool = False
    outside: tuple[Outside, ...] = ()
    remedy: str = ""

    @property
    def drawn(self) -> bool:
        """Whether random values for a variable feeding this input are mapped into the domain.

        >>> POSITIVE.drawn, OVERFLOW.drawn
        (True, False)
        """
        return self.mapping is not None

    def draw(self, z: np.ndarray, source: str) -> tuple[np.ndarray, str]:
        """Map standard-normal numbers `z` (described by `source`) into the domain.

        >>> SPD.draw(np.zeros((2, 2)), "zeros")[0].tolist(), SPD.draw(np.zeros((2, 2)), "zeros")[1]
        ([[1.0, 0.0], [0.0, 1.0]], 'Z@Z.T/n+I, Z=zeros')
        """
        return self.mapping(z, source) if self.mapping else (z, source)

    def violations(self, values: np.ndarray, **params: Any) -> list[tuple[int, Outside]]:
        """How many entries miss the domain, for each way that applies to the op's parameters (none: empty).

        >>> [(n, o.entries) for n, o in POSITIVE.violations(np.array([-1.0, 0.0, 2.0, -3.0]))]
        [(2, 'negative'), (1, 'zero')]
        >>> POWER_BASE.violations(np.array([-1.0]), p=2), POWER_BASE.violations(np.array([-1.0]), p=0.5)[0][0]
        ([], 1)
        """
        values = np.asarray(values)
        found = []
        for way in self.outside:
            if way.when(**params):
                count = int(np.count_nonzero(way.test(values)))
                if count:
                    found.append((count, way))
        return found


def _positive(z: np.ndarray, source: str) -> tuple[np.ndarray, str]:
    return 0.5 + np.abs(z), f"0.5+|{source}|"


def _positive_definite(z: np.ndarray, source: str) -> tuple[np.ndarray, str]:
    if z.ndim != 2 or z.shape[0] != z.shape[1]:  # not square: the shape error is reported elsewhere
        return z, source
    return z @ z.T / len(z) + np.eye(len(z)), f"Z@Z.T/n+I, Z={source}"


def _overflows(values: np.ndarray) -> np.ndarray:
    """Entries whose exponential is beyond the largest number of their dtype (709.78 in float64)."""
    kind = values.dtype if np.issubdtype(values.dtype, np.floating) else np.dtype(np.float64)
    return values > np.log(np.finfo(kind).max)


def _fractional(p: float = 1, **_: Any) -> bool:
    return not float(p).is_integer()


NEGATIVE = Outside("negative", "{op} of a negative entry", lambda a: a < 0)
ZERO = Outside("zero", "{op} at zero", lambda a: a == 0)

POSITIVE = Domain("positive", "positive values", _positive, outside=(NEGATIVE, ZERO),
                  remedy="write the argument so that it is positive")
SPD = Domain("spd", "a positive-definite matrix", _positive_definite, invertible=True)
#: pow's base: non-negative for a fractional exponent, non-zero for a negative one, anything for 2 or 3.
POWER_BASE = Domain("power base", "a non-negative base (fractional powers), a non-zero one (negative powers)",
                    outside=(Outside("negative", "fractional power of a negative entry", lambda a: a < 0, _fractional,
                                     remedy="keep the base non-negative (abs(...), exp(...)) or use an integer "
                                            "exponent"),
                             Outside("zero", "division by zero", lambda a: a == 0, lambda p=1, **_: float(p) < 0,
                                     avoided_by_positive=False, remedy="keep the divisor away from zero"),
                             Outside("zero", "fractional power at zero, where its slope is infinite",
                                     lambda a: a == 0, lambda p=1, **_: 0 < float(p) < 1,
                                     remedy="keep the base away from zero")))
#: exp's argument: below log(largest float), or exp is inf.
OVERFLOW = Domain("no overflow", "values below log of the largest float (709.78 in float64)",
                  outside=(Outside("too large", "exp overflowed: it is inf above 709.78, 88.72 in float32",
                                   _overflows, avoided_by_positive=False),),
                  remedy="scale the argument down, or use logsumexp or softplus, which do not overflow")


def _above_minus_one(z: np.ndarray, source: str) -> tuple[np.ndarray, str]:
    return np.abs(z) - 0.5, f"|{source}|-0.5"


#: log1p's argument: above -1 (log1p(-1) is -inf, below it nan).
ABOVE_MINUS_ONE = Domain("above -1", "values above -1", _above_minus_one,
                         outside=(Outside("below -1", "log1p of an entry below -1", lambda a: a < -1),
                                  Outside("equal to -1", "log1p at -1", lambda a: a == -1)),
                         remedy="keep the argument above -1 (e.g. log1p(exp(...)) or log1p(X**2))")
