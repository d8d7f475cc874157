"""Input domains of ops (positive values, positive-definite matrices): each knows how to draw and describe itself.

An op's row names the domain of each input (`log` needs positive values);
random values for a variable that feeds such an input are mapped into it,
and a note says so when they cannot be (`--rng torch`).

>>> POSITIVE.needs, SPD.invertible
('positive values', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Domain:
    """Where an op's input must lie, how standard-normal draws are mapped there, and how to say it.

    `invertible` marks inputs that must be non-singular matrices (the
    gradient is undefined at a singular one, whatever numbers come out).

    >>> POSITIVE.draw(np.array([-1.0, 2.0]), "normal(seed=0)")
    (array([1.5, 2.5]), '0.5+|normal(seed=0)|')
    """

    name: str
    needs: str
    mapping: Callable[[np.ndarray, str], tuple[np.ndarray, str]]
    invertible: bool = False

    def draw(self, z: np.ndarray, source: str) -> tuple[np.ndarray, str]:
        """Map standard-normal numbers `z` (described by `source`) into the domain.

        >>> SPD.draw(np.zeros((2, 2)), "zeros")[0].tolist(), SPD.draw(np.zeros((2, 2)), "zeros")[1]
        ([[1.0, 0.0], [0.0, 1.0]], 'Z@Z.T/n+I, Z=zeros')
        """
        return self.mapping(z, source)


def _positive(z: np.ndarray, source: str) -> tuple[np.ndarray, str]:
    return 0.5 + np.abs(z), f"0.5+|{source}|"


def _positive_definite(z: np.ndarray, source: str) -> tuple[np.ndarray, str]:
    if z.ndim != 2 or z.shape[0] != z.shape[1]:  # not square: the shape error is reported elsewhere
        return z, source
    return z @ z.T / len(z) + np.eye(len(z)), f"Z@Z.T/n+I, Z={source}"


POSITIVE = Domain("positive", "positive values", _positive)
SPD = Domain("spd", "a positive-definite matrix", _positive_definite, invertible=True)
