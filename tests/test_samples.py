"""Every case in samples/*.toml meets its `expect` and `check`, through the same code path as `gradcalc eval`.

The `check` machinery itself is tested here too: a copy of a sample file with
one expected number changed must fail, and malformed cases are refused.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradcalc.batch.cases import KEYS, case_from_table, read_file, run_case
from gradcalc.errors import InputError

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
FILES = sorted(SAMPLES.glob("*.toml"))
EQUATION = re.compile(r"\(\d+\)")  # a Matrix Cookbook equation number, e.g. "(101)"
CASES = [(path.stem, case) for path in FILES for case in read_file(path)]


@pytest.mark.parametrize(("stem", "case"), CASES, ids=[f"{stem}: {case.name}" for stem, case in CASES])
def test_sample_meets_its_expect_and_check(stem: str, case) -> None:
    outcome = run_case(case)
    assert outcome.error is None, outcome.error
    assert outcome.passed, (outcome.failures, [(g.name, g.verdict, g.formula) for g in outcome.result.gradients])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_sample_file_has_unique_case_names(path: Path) -> None:
    names = [case.name for case in read_file(path)]
    assert len(set(names)) == len(names), f"{path.name}: duplicate case names"


def test_cookbook_has_at_least_30_cases_each_citing_an_equation() -> None:
    cases = read_file(SAMPLES / "cookbook.toml")
    assert len(cases) >= 30
    for case in cases:
        assert EQUATION.search(case.name), f"no equation number like (123) in {case.name!r}"


def test_notebooks_assert_the_printed_numbers() -> None:
    cases = {case.name: case for case in read_file(SAMPLES / "notebooks.toml")}
    headline = next(c for name, c in cases.items() if name.startswith("retain_grad tutorial: relu regression"))
    assert headline.check["value"] == 99.9048
    assert headline.check["W[0]"] == [18.2980, 2.7573, 2.3914, -0.1974]
    assert all(c.check or c.options.expect for c in cases.values()), "every notebook case checks numbers or a derivation"


@pytest.mark.parametrize(("old", "new"), [
    ("value = 99.9048", "value = 99.9148"),     # f off by 0.01
    ("2.3914", "2.3924"),                        # one entry of W.grad off by 0.001
    ("0.0860", "0.0861"),                        # one entry of x.grad off by 1e-4 (just past the tolerance)
    ('x = "2*x" }', 'x = "2.001*x" }'),          # a hand derivation that is slightly wrong
    ("x = [[4.5, 4.5], [4.5, 4.5]]", "x = [[4.5, 4.5], [4.5, 4.6]]"),
    ("b = [-12.0, -8.0]", "b = [-12.0, 8.0]"),
])
def test_a_wrong_expected_number_in_a_copy_of_notebooks_fails(tmp_path: Path, old: str, new: str) -> None:
    text = (SAMPLES / "notebooks.toml").read_text()
    assert old in text, old
    copy = tmp_path / "notebooks.toml"
    copy.write_text(text.replace(old, new, 1))
    outcomes = [run_case(case) for case in read_file(copy)]
    failed = [o for o in outcomes if not o.passed]
    assert len(failed) == 1, [(o.case.name, o.failures) for o in failed]
    assert failed[0].failures[0].startswith("check "), failed[0].failures


def test_check_failure_names_the_entry_and_the_difference() -> None:
    case = case_from_table({"name": "n", "expr": "sum(x*x)", "value": {"x": [1.0, 2.0]},
                            "check": {"x[1]": 4.01, "value": 5.0}, "expect": "equal"})
    assert run_case(case).failures == [
        "check x[1]: autograd is 4 where 4.01 is expected (off by 0.01; tolerance 0.0001)"]


def test_check_tolerance_is_absolute_and_settable() -> None:
    table = {"name": "n", "expr": "sum(x*x)", "value": {"x": [1.0, 2.0]}, "expect": "equal"}
    assert run_case(case_from_table({**table, "check": {"x": [2.0, 4.01], "tolerance": 0.02}})).passed
    assert not run_case(case_from_table({**table, "check": {"x": [2.0, 4.01], "tolerance": 0.005}})).passed


def test_check_slices_select_rows_and_columns() -> None:
    table = {"name": "n", "expr": "sum(A*B)", "value": {"B": [[1.0, 2.0], [3.0, 4.0]]}, "wrt": ["A"],
             "expect": "equal"}
    assert run_case(case_from_table({**table, "check": {"A[:, 1]": [2.0, 4.0], "A[1, 0]": 3, "A[0]": [1.0, 2.0]}})
                    ).passed


@pytest.mark.parametrize(("table", "message"), [
    ({"shapes": {}}, "unknown key 'shapes'; did you mean 'shape'? A case may have: " + ", ".join(KEYS)),
    ({"expect": "same"}, "expect = 'same': must be one of equal, kink, mismatch, undefined"),
    ({"seed": "0"}, "seed = '0': must be an integer"),
    ({"check": {"tolerance": -1}}, "check.tolerance = -1: must be a non-negative number, e.g. 1e-4"),
    ({"value": {"x": [[1.0], [2.0, 3.0]]}}, "--value x=[[1.0], [2.0, 3.0]]: inline JSON is ragged: row [1] has 2 entries but row [0] has 1"),
])
def test_malformed_case_is_refused_with_the_reason(table: dict, message: str) -> None:
    base = {"name": "n", "expr": "sum(x*x)", "expect": "equal"}
    with pytest.raises(InputError) as err:
        case_from_table({**base, **table}, Path("s.toml"), 3)
    assert err.value.message.startswith("s.toml: case 3 ('n'): " + message), err.value.message


@pytest.mark.parametrize(("check", "message"), [
    ({"z": 1.0}, "check key 'z': not 'value' or a differentiated variable (known: value, x)"),
    ({"x[5]": 1.0}, "check key 'x[5]': index 5 is out of bounds"),
    ({"x[a]": 1.0}, "check key 'x[a]': 'a' is not an index"),
    ({"x": [1.0, 2.0, 3.0]}, "check x: expected numbers are 3, but x is 2"),
    ({"x": "2*q"}, "check x = '2*q': q is not a variable of the case"),
    ({"x": "x[[0]]"}, "check x = 'x[[0]]': indexing with a list of indices (fancy indexing) is not supported"),
    ({"x": "x@ones(3)"}, "check x = 'x@ones(3)': shape mismatch in 'x@ones(3)': @ (matrix product) cannot combine"),
])
def test_bad_check_is_an_input_error(check: dict, message: str) -> None:
    case = case_from_table({"name": "n", "expr": "sum(x*x)", "value": {"x": [1.0, 2.0]}, "check": check,
                            "expect": "equal"})
    outcome = run_case(case)
    assert outcome.error is not None and outcome.error.message.startswith(message), outcome.error


def test_readme_sample_case_is_valid_and_passes() -> None:
    from gradcalc.batch.cases import parse_toml

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    outcome = run_case(case_from_table(parse_toml(block)["case"][0]))
    assert outcome.passed, (outcome.failures, outcome.error)


def test_sample_values_are_read_next_to_the_sample_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    folder = tmp_path / "lib"
    folder.mkdir()
    np.save(folder / "w.npy", np.array([[1.0, 2.0], [3.0, 4.0]]))
    (folder / "case.toml").write_text('[[case]]\nname = "file value"\nexpr = "sum(W*W)"\n'
                                      'value = { W = "w.npy" }\ncheck = { W = [[2, 4], [6, 8]] }\nexpect = "equal"\n')
    monkeypatch.chdir(tmp_path)  # not the sample's folder
    (case,) = read_file(folder / "case.toml")
    assert case.options.values["W"].source == "file w.npy"
    assert run_case(case).passed
