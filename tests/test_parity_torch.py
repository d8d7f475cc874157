"""Every accepted spelling against real PyTorch: value and gradient as torch.autograd computes them
(skipped when PyTorch is not installed: `pip install '.[oracle]'`)."""

from __future__ import annotations

import numpy as np
import pytest

import parity

torch = pytest.importorskip("torch")

WITH_TORCH = [(c, s) for c, s in parity.params() if c.torch is not None]
IDS = [i for c in parity.cases() if c.torch is not None for i in c.ids()]


def test_every_case_has_a_torch_reference_or_says_why() -> None:
    """A case without a PyTorch reference is one PyTorch has no spelling for (it names only NumPy)."""
    missing = [c.expr for c in parity.cases() if c.torch is None and "torch." in c.expr]
    assert not missing, missing


@pytest.mark.parametrize(("case", "shapes"), WITH_TORCH, ids=IDS)
def test_value_and_gradient_match_pytorch(case: parity.Spelling, shapes: parity.Shapes) -> None:
    values = parity.draw(case, shapes)
    result = parity.gradcalc(case, values)
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in values.items()}
    out = case.torch(torch, tensors)
    out = out if out.dim() == 0 else out.sum()
    out.backward()
    assert result.value == pytest.approx(out.detach().item(), rel=1e-9, abs=1e-9), (case.expr, result.value, out.item())
    if case.verdict != "equal":
        return
    for g in result.gradients:
        expected = tensors[g.name].grad
        expected = np.zeros_like(values[g.name]) if expected is None else expected.numpy()
        np.testing.assert_allclose(g.autograd, expected, rtol=1e-9, atol=1e-10, err_msg=f"{case.expr}: d/d{g.name}")
