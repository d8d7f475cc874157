"""Parity cases for the spellings every op shares: library prefixes, constants, torch.t, a leading minus."""

from __future__ import annotations

import math

import numpy as np

from parity import Spelling

M34, M11, M15, M51, V4 = {"X": (3, 4)}, {"X": (1, 1)}, {"X": (1, 5)}, {"X": (5, 1)}, {"X": (4,)}
ANY = [M34, M11, M15, M51, V4]

CASES = [
    Spelling("sum(np.exp(X))", ANY, lambda v: np.sum(np.exp(v["X"])), lambda t, v: t.sum(t.exp(v["X"]))),
    Spelling("torch.sum(torch.tanh(X) * pi)", ANY, lambda v: np.sum(np.tanh(v["X"]) * np.pi),
             lambda t, v: t.sum(t.tanh(v["X"]) * t.pi)),
    Spelling("sum(X * np.pi + math.e) + torch.pi", ANY, lambda v: np.sum(v["X"] * np.pi + math.e) + math.pi,
             lambda t, v: t.sum(v["X"] * math.pi + math.e) + math.pi),
    Spelling("sum(e**X)", ANY, lambda v: np.sum(np.e ** v["X"]), lambda t, v: t.sum(math.e ** v["X"])),
    Spelling("sum(np.negative(X) * np.absolute(X))", ANY, lambda v: np.sum(-v["X"] * np.abs(v["X"])),
             lambda t, v: t.sum(t.neg(v["X"]) * t.absolute(v["X"])), kinks=lambda v: [v["X"]]),
    Spelling("np.linalg.det(A) + np.linalg.norm(A)", [{"A": (3, 3)}, {"A": (1, 1)}],
             lambda v: np.linalg.det(v["A"]) + np.linalg.norm(v["A"]),
             lambda t, v: t.linalg.det(v["A"]) + t.linalg.norm(v["A"])),
    Spelling("torch.trace(torch.inverse(A) @ B)", [{"A": (3, 3), "B": (3, 3)}],
             lambda v: np.trace(np.linalg.inv(v["A"]) @ v["B"]),
             lambda t, v: t.trace(t.inverse(v["A"]) @ v["B"])),
    Spelling("torch.t(x).mm(W).mm(y)", [{"x": (4, 1), "W": (4, 3), "y": (3, 1)}],
             lambda v: (v["x"].T @ v["W"] @ v["y"]).item(), lambda t, v: t.t(v["x"]).mm(v["W"]).mm(v["y"]).sum()),
    Spelling("-sum(X**2)", ANY, lambda v: -np.sum(v["X"] ** 2), lambda t, v: -t.sum(v["X"] ** 2)),
]
