"""Parity cases for torch.mm (two matrices) against @/matmul (NumPy's rule with 1-D operands), and broadcasts."""

from __future__ import annotations

import numpy as np

from parity import Spelling

#: (A, B) pairs of matrices: 1x1, 1xn, nx1, a general n x m.
PAIRS = [{"A": (1, 1), "B": (1, 1)}, {"A": (1, 4), "B": (4, 3)}, {"A": (4, 1), "B": (1, 5)},
         {"A": (3, 4), "B": (4, 2)}, {"A": (5, 3), "B": (3, 1)}]

CASES = [
    Spelling("sum(mm(A, B) * mm(A, B))", PAIRS, lambda v: np.sum((v["A"] @ v["B"]) ** 2),
             lambda t, v: t.sum(t.mm(v["A"], v["B"]) ** 2)),
    Spelling("sum(torch.mm(A, B).exp())", PAIRS, lambda v: np.sum(np.exp(v["A"] @ v["B"])),
             lambda t, v: t.mm(v["A"], v["B"]).exp().sum()),
    Spelling("A.mm(B).sum()", PAIRS, lambda v: np.sum(v["A"] @ v["B"]), lambda t, v: v["A"].mm(v["B"]).sum()),
    Spelling("sum(np.matmul(A, b)**2)", [{"A": (3, 4), "b": (4,)}, {"A": (1, 4), "b": (4,)}],
             lambda v: np.sum(np.matmul(v["A"], v["b"]) ** 2), lambda t, v: t.sum(t.matmul(v["A"], v["b"]) ** 2)),
    Spelling("torch.matmul(a, B).sum() + (a @ B @ c)", [{"a": (3,), "B": (3, 4), "c": (4,)}],
             lambda v: np.sum(v["a"] @ v["B"]) + v["a"] @ v["B"] @ v["c"],
             lambda t, v: t.matmul(v["a"], v["B"]).sum() + v["a"] @ v["B"] @ v["c"]),
    Spelling("mean(relu(1 - y*(X@w)))", [{"y": (6,), "X": (6, 3), "w": (3,)}, {"y": (6,), "X": (6, 3), "w": (3, 6)}],
             lambda v: np.mean(np.maximum(1 - v["y"] * (v["X"] @ v["w"]), 0)),
             lambda t, v: t.mean(t.relu(1 - v["y"] * (v["X"] @ v["w"]))),
             kinks=lambda v: [1 - v["y"] * (v["X"] @ v["w"])]),
    Spelling("sum(exp(X@W)/sum(exp(X@W), axis=1))", [{"X": (4, 3), "W": (3, 4)}, {"X": (1, 2), "W": (2, 1)}],
             lambda v: np.sum(np.exp(v["X"] @ v["W"]) / np.sum(np.exp(v["X"] @ v["W"]), axis=1)),
             lambda t, v: t.sum(t.exp(v["X"] @ v["W"]) / t.sum(t.exp(v["X"] @ v["W"]), dim=1))),
]
