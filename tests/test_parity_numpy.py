"""Every accepted spelling against NumPy and finite differences of NumPy (no PyTorch needed): the value is
NumPy's, the gradient is the derivative of NumPy's function, and the verdict is the expected one."""

from __future__ import annotations

import numpy as np
import pytest

import parity
from gradcalc.lang.ops import TABLE
from gradcalc.lang.statements import parse_statements
from gradcalc.lang.tree import postorder


@pytest.mark.parametrize(("case", "shapes"), parity.params(), ids=parity.ids())
def test_value_and_gradient_match_numpy(case: parity.Spelling, shapes: parity.Shapes) -> None:
    values = parity.draw(case, shapes)
    result = parity.gradcalc(case, values)
    expected = float(case.numpy({k: v.copy() for k, v in values.items()}))
    assert result.value == pytest.approx(expected, rel=1e-9, abs=1e-9), (case.expr, result.value, expected)
    assert result.verdict == case.verdict, (case.expr, result.verdict, result.notes)
    if case.note:
        assert any(case.note in n for n in result.notes), result.notes
    if case.verdict != "equal":
        return
    for g in result.gradients:
        fd = parity.central_differences(lambda v: float(case.numpy(v)), values, g.name, h=1e-6)
        np.testing.assert_allclose(g.autograd, fd, rtol=1e-5, atol=1e-6, err_msg=f"{case.expr}: d/d{g.name}")
        np.testing.assert_allclose(g.symbolic, g.autograd, rtol=1e-9, atol=1e-10, err_msg=case.expr)


def test_every_primitive_op_has_a_parity_case() -> None:
    """Each op of the table (detach aside: NumPy has no stop-gradient to difference) is spelled in some case."""
    used = {n.op for c in parity.cases() for n in postorder(parse_statements(c.expr))}
    missing = [op.name for op in TABLE if op.expand is None and op.name not in used | {"detach"}]
    assert not missing, missing
