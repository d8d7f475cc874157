"""Spelling parity: each accepted NumPy/PyTorch spelling means what its library means.

A `Spelling` is one expression as a user types it, the shapes to try it at
(1x1, 1xn, nx1 and broadcasting among them), and what the named library
computes for it: a NumPy reference of the scalar value (`numpy`), and a
PyTorch reference (`torch`, a function of the torch module and a dict of
tensors). `tests/test_parity_torch.py` compares gradcalc's value and gradient
with real PyTorch (skipped without it); `tests/test_parity_numpy.py` compares
the value with NumPy and the gradient with central differences of the NumPy
reference, in CI. Cases live in `tests/parity_cases_*.py`, one module per op
group, each holding `CASES: list[Spelling]`.
"""

from __future__ import annotations

import importlib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gradcalc.jobs.evaluate import run_eval
from gradcalc.jobs.results import EvalResult
from gradcalc.options import EvalOptions
from gradcalc.values.draw import Value
from test_oracles import central_differences  # noqa: F401 - one finite-difference reference for the tests

Shapes = dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class Spelling:
    """One spelling, the shapes to try it at, and the libraries' own meaning of it.

    `positive` variables are drawn as 0.5 + |z| (log's domain), `distinct`
    ones with entries at least 0.05 apart (max, sort-like ops: no ties), and
    `kinks(values)` returns arrays kept away from zero (relu's argument).
    `verdict` is what gradcalc must say ("equal", or "kink" for a case
    built on a tie), `note` a text that must appear in its notes.
    """

    expr: str
    shapes: list[Shapes]
    numpy: Callable[[dict[str, np.ndarray]], Any]
    torch: Callable[[Any, dict[str, Any]], Any] | None = None
    positive: tuple[str, ...] = ()
    distinct: tuple[str, ...] = ()
    kinks: Callable[[dict[str, np.ndarray]], list[np.ndarray]] = field(default=lambda v: [])
    verdict: str = "equal"
    note: str = ""
    values: dict[str, Any] | None = None  # fixed values instead of random ones (ties, for the kink verdict)

    def ids(self) -> list[str]:
        """One test id per shape set: the expression and the shapes."""
        return [f"{self.expr} @ {','.join(f'{k}={_shape(s)}' for k, s in shapes.items())}" for shapes in self.shapes]


def _shape(s: tuple[int, ...]) -> str:
    return "x".join(map(str, s)) if s else "scalar"


def cases() -> list[Spelling]:
    """Every case of every `parity_cases_*.py` module, in file order."""
    found = []
    for path in sorted(Path(__file__).parent.glob("parity_cases_*.py")):
        found += importlib.import_module(path.stem).CASES
    return found


def params() -> list[tuple[Spelling, Shapes]]:
    """(case, shapes) pairs for pytest.mark.parametrize, and their ids via `ids()`."""
    return [(case, shapes) for case in cases() for shapes in case.shapes]


def ids() -> list[str]:
    return [i for case in cases() for i in case.ids()]


def draw(case: Spelling, shapes: Shapes) -> dict[str, np.ndarray]:
    """Seeded values for a case: inside its domains, ties kept apart, kinks avoided."""
    if case.values is not None:
        return {k: np.asarray(v, dtype=np.float64) for k, v in case.values.items()}
    rng = np.random.default_rng(zlib.crc32(f"{case.expr}{shapes}".encode()))
    for _ in range(500):
        values = {name: np.asarray(rng.standard_normal(shape), dtype=np.float64) for name, shape in shapes.items()}
        for name in case.positive:
            values[name] = 0.5 + np.abs(values[name])
        for name in case.distinct:
            flat = values[name].ravel()
            order = np.argsort(flat)
            flat[order] = np.sort(flat) + 0.05 * np.arange(flat.size)
            values[name] = flat.reshape(values[name].shape)
        if all(np.min(np.abs(k), initial=np.inf) >= 1e-2 for k in case.kinks(values)):
            return values
    raise AssertionError(f"could not draw values away from the kinks of {case.expr}")


def gradcalc(case: Spelling, values: dict[str, np.ndarray]) -> EvalResult:
    """gradcalc's answer for the case at these values (every variable a --wrt)."""
    given = {name: Value(v, "test") for name, v in values.items()}
    return run_eval(case.expr, EvalOptions(wrt=list(values), values=given))
