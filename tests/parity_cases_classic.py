"""Parity cases for the ops gradcalc had before issue 13: each spelling against NumPy and PyTorch."""

from __future__ import annotations

import numpy as np

from parity import Spelling

M34, M11, M15, M51, V4 = {"X": (3, 4)}, {"X": (1, 1)}, {"X": (1, 5)}, {"X": (5, 1)}, {"X": (4,)}
ANY = [M34, M11, M15, M51, V4]
VEC = [{"u": (4,), "v": (4,)}, {"u": (1,), "v": (1,)}]


def _softplus(a: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, a)


CASES = [
    Spelling("torch.dot(u, v) + np.dot(u, v)", VEC, lambda v: 2 * np.dot(v["u"], v["v"]),
             lambda t, v: 2 * t.dot(v["u"], v["v"])),
    Spelling("sum(np.outer(u, v)*torch.outer(v, u).T)", VEC, lambda v: np.sum(np.outer(v["u"], v["v"]) ** 2),
             lambda t, v: (t.outer(v["u"], v["v"]) * t.outer(v["v"], v["u"]).T).sum()),
    Spelling("sum(np.diag(A)**2) + sum(torch.diag(u)@A)", [{"A": (4, 4), "u": (4,)}, {"A": (1, 1), "u": (1,)}],
             lambda v: np.sum(np.diag(v["A"]) ** 2) + np.sum(np.diag(v["u"]) @ v["A"]),
             lambda t, v: (t.diag(v["A"]) ** 2).sum() + (t.diag(v["u"]) @ v["A"]).sum()),
    Spelling("sum(np.log(X)) + torch.log(X).sum()", ANY, lambda v: 2 * np.sum(np.log(v["X"])),
             lambda t, v: 2 * t.log(v["X"]).sum(), positive=("X",)),
    Spelling("sum(np.heaviside(X, 0.5)*X)", ANY, lambda v: np.sum(np.heaviside(v["X"], 0.5) * v["X"]),
             None, kinks=lambda v: [v["X"]]),  # torch.heaviside has no derivative in PyTorch
    Spelling("sum(np.sign(X)*X) + torch.sign(X).sum()", ANY,
             lambda v: np.sum(np.sign(v["X"]) * v["X"]) + np.sum(np.sign(v["X"])),
             lambda t, v: (t.sign(v["X"]) * v["X"]).sum() + t.sign(v["X"]).sum(), kinks=lambda v: [v["X"]]),
    Spelling("sum(np.sin(X)*torch.cos(X) + np.tan(X/4))", ANY,
             lambda v: np.sum(np.sin(v["X"]) * np.cos(v["X"]) + np.tan(v["X"] / 4)),
             lambda t, v: (t.sin(v["X"]) * t.cos(v["X"]) + t.tan(v["X"] / 4)).sum()),
    Spelling("sum(X.sin() + X.cos())", ANY, lambda v: np.sum(np.sin(v["X"]) + np.cos(v["X"])),
             lambda t, v: (v["X"].sin() + v["X"].cos()).sum()),
    Spelling("sum(torch.sigmoid(X) + F.softplus(X))", ANY,
             lambda v: np.sum(1 / (1 + np.exp(-v["X"])) + _softplus(v["X"])),
             lambda t, v: (t.sigmoid(v["X"]) + t.nn.functional.softplus(v["X"])).sum()),
    Spelling("sum(torch.special.expit(X)*X.sigmoid())", ANY, lambda v: np.sum((1 / (1 + np.exp(-v["X"]))) ** 2),
             lambda t, v: (t.special.expit(v["X"]) * v["X"].sigmoid()).sum()),
    Spelling("torch.logdet(A) + np.linalg.det(A)", [{"A": (3, 3)}],
             lambda v: np.linalg.slogdet(v["A"])[1] + np.linalg.det(v["A"]),
             lambda t, v: t.logdet(v["A"]) + t.det(v["A"]),
             values={"A": [[2.0, 0.3, -0.1], [0.3, 1.5, 0.2], [-0.1, 0.2, 1.2]]}),
    Spelling("sum((X - np.eye(3))**2) + sum(X*torch.ones(3, 3)) + sum(X*zeros(3, 3))", [{"X": (3, 3)}],
             lambda v: np.sum((v["X"] - np.eye(3)) ** 2) + np.sum(v["X"]),
             lambda t, v: ((v["X"] - t.eye(3, dtype=t.float64)) ** 2).sum() + v["X"].sum()),
]
