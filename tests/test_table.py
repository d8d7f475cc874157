"""The operator table is the one source: README lists it, the parser reaches every spelling, every row declares
every fact, has cases in the independent oracle tables, and its generated NumPy code runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import test_exact  # the independent oracle tables: exact SymPy scalars, HIPS autograd
import test_oracles
from gradcalc.jobs.derive import run_derive
from gradcalc.lang.domains import Domain
from gradcalc.lang.ops import ROLES, TABLE, Op, lookup_function, lookup_method
from gradcalc.options import EvalOptions

ROOT = Path(__file__).resolve().parents[1]


def test_readme_lists_every_operator() -> None:
    readme = (ROOT / "README.md").read_text()
    listed = {name.strip() for line in readme.splitlines() if line.startswith("| ")
              for name in line.split("|")[1].split(",")}
    for op in TABLE:
        assert op.name in listed, op.name
        if op.convention:
            assert op.convention in readme, op.name


def test_every_spelling_resolves_to_its_op() -> None:
    for op in TABLE:
        for alias in (op.name, *op.aliases):
            assert lookup_function(alias) is op
        for method in op.methods:
            assert lookup_method(method) is op


def test_every_op_declares_both_rule_sets() -> None:
    for op in TABLE:
        if op.expand is not None:
            continue
        assert op.forward is not None and op.sym is not None and op.shape is not None, op.name
        assert len(op.vjp) == op.arity and len(op.sym_vjp) == op.arity, op.name


# --------------------------------------------------------------------------- one row holds every fact

def _fields_missing(op: Op) -> list[str]:
    """The facts a row must declare and does not."""
    missing = [] if op.doc else ["doc"]
    missing += [] if op.role in ROLES else [f"role (one of {sorted(ROLES)})"]
    if op.expand is not None:
        return missing
    missing += [f for f in ("shape", "forward", "sym") if getattr(op, f) is None]
    if len(op.vjp) != op.arity or len(op.sym_vjp) != op.arity:
        missing.append("vjp and sym_vjp, one per operand")
    if not (op.symbol or op.numpy or op.role == "constructor"):
        missing.append("numpy (its spelling in generated code)")
    called = re.match(r"(\w+)\(", op.numpy)
    if called and not any(line.startswith(f"def {called.group(1)}(") for line in op.helper):
        missing.append(f"helper (NumPy has no {called.group(1)})")
    if len(op.domain) > op.arity or not all(d is None or isinstance(d, Domain) for d in op.domain):
        missing.append("domain (a Domain or None per operand)")
    if op.kink is not None and not op.convention:
        missing.append("convention (what the derivative is at its kink)")
    return missing


@pytest.mark.parametrize("op", TABLE, ids=[op.name for op in TABLE])
def test_every_row_declares_every_fact(op: Op) -> None:
    assert not _fields_missing(op), f"{op.name} lacks {', '.join(_fields_missing(op))}"


@pytest.mark.parametrize("op", TABLE, ids=[op.name for op in TABLE])
def test_every_op_is_in_the_independent_oracle_tables(op: Op) -> None:
    assert any(c.op == op.name for c in test_oracles.CASES), f"{op.name}: no case in tests/test_oracles.py"
    assert any(op.name in c.ops for c in test_exact.CASES), f"{op.name}: no case in tests/test_exact.py"


@pytest.mark.parametrize("op", TABLE, ids=[op.name for op in TABLE])
def test_every_op_generated_numpy_code_runs_and_matches_the_engine(op: Op) -> None:
    """`derive --code` for each of the op's oracle cases: the program runs with NumPy alone and gives the
    tape's gradients (a row without a NumPy spelling fails here rather than emitting an undefined call)."""
    cases = [c for c in test_oracles.CASES if c.op == op.name]
    assert cases
    for case in cases:
        answers = test_oracles.answers(case.id)
        program = run_derive(case.text, EvalOptions(shapes=case.shapes)).code
        namespace: dict = {}
        exec(compile(program, f"<derive --code {case.text}>", "exec"), namespace)  # our own generated code
        for name, expected in answers.tape.items():
            got = namespace[f"grad_{name}"](**answers.values)
            np.testing.assert_allclose(np.asarray(got, dtype=float) + np.zeros_like(expected), expected,
                                       rtol=1e-7, atol=1e-9, err_msg=f"{case.text}: grad_{name}")


@pytest.mark.parametrize("op", [op for op in TABLE if op.helper], ids=[op.name for op in TABLE if op.helper])
def test_helpers_compute_what_the_row_computes(op: Op) -> None:
    namespace: dict = {"np": np}
    exec("\n".join(op.helper), namespace)  # the row's own helper source
    a = np.random.default_rng(0).standard_normal((3, 3))
    a = a @ a.T + np.eye(3)  # inside every helper op's domain
    name = re.match(r"(\w+)\(", op.numpy).group(1)
    np.testing.assert_allclose(namespace[name](a), op.forward(a), rtol=1e-12)
