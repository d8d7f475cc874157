"""The operator table is the one source: README lists it, the parser reaches every spelling."""

from __future__ import annotations

from pathlib import Path

from gradcalc.lang.ops import TABLE, lookup_function, lookup_method

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
