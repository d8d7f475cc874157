"""Every case in samples/*.toml gives the verdict it expects, through the same code path as `gradcalc eval`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from gradcalc.pipeline import run_eval
from gradcalc.shapes import parse_shape_option

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test extra installs tomli on Python 3.10
    import tomli as tomllib

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
FILES = sorted(SAMPLES.glob("*.toml"))
KNOWN_KEYS = {"name", "expr", "wrt", "shape", "seed", "expect"}
EQUATION = re.compile(r"\(\d+\)")  # a Matrix Cookbook equation number, e.g. "(101)"


def _cases(path: Path) -> list[dict]:
    return tomllib.loads(path.read_text())["case"]


CASES = [(path.stem, case) for path in FILES for case in _cases(path)]


@pytest.mark.parametrize(("stem", "case"), CASES, ids=[f"{stem}: {case['name']}" for stem, case in CASES])
def test_sample_gives_its_expected_verdict(stem: str, case: dict) -> None:
    shapes = dict(parse_shape_option(f"{k}={v}") for k, v in case.get("shape", {}).items())
    result = run_eval(case["expr"], wrt=case.get("wrt"), shapes=shapes, seed=case.get("seed", 0))
    assert result.verdict == case["expect"], [(g.name, g.verdict, g.formula) for g in result.gradients]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_sample_file_uses_only_known_keys(path: Path) -> None:
    cases = _cases(path)
    assert cases, f"{path.name} has no [[case]]"
    names = [case.get("name") for case in cases]
    assert len(set(names)) == len(names), f"{path.name}: duplicate case names"
    for case in cases:
        assert set(case) <= KNOWN_KEYS, (case.get("name"), set(case) - KNOWN_KEYS)
        assert {"name", "expr", "expect"} <= set(case), case.get("name")


def test_cookbook_has_at_least_30_cases_each_citing_an_equation() -> None:
    cases = _cases(SAMPLES / "cookbook.toml")
    assert len(cases) >= 30
    for case in cases:
        assert EQUATION.search(case["name"]), f"no equation number like (123) in {case['name']!r}"
