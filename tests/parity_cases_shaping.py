"""Parity cases for indexing and slicing, reshape/view/flatten, the transposes that name axes, and kron.

Every spelling at a general n x m, at 1x1, 1xn and nx1 where it applies,
and at 1-D; negative indices, slices at the edges (cut to the axis as in
NumPy), reshape with -1, kron of 1x1 and of vectors, broadcasting of a
result against a matrix. A weight W keeps each gradient from being all ones.
"""

from __future__ import annotations

import numpy as np

from parity import Spelling

M34, M11, M15, M51, V4 = (3, 4), (1, 1), (1, 5), (5, 1), (4,)


def with_w(x_shapes: list[tuple[int, ...]], w: callable) -> list[dict[str, tuple[int, ...]]]:
    """Shape sets {X, W} with W's shape computed from X's."""
    return [{"X": s, "W": w(s)} for s in x_shapes]


MATRICES = [M34, M11, M15, M51]
SAME = lambda s: s  # noqa: E731
ROWS_OF = lambda s: (s[0], 2)  # noqa: E731 - W for X.T @ W
TWELVE = [(3, 4), (12,), (1, 12), (12, 1), (2, 6)]  # twelve entries in every shape

INDEXING = [
    Spelling("sum(X[0] * X[0])", [{"X": s} for s in [*MATRICES, V4]],
             lambda v: np.sum(v["X"][0] * v["X"][0]), lambda t, v: t.sum(v["X"][0] * v["X"][0])),
    Spelling("sum(X[-1] * W)", with_w([*MATRICES, V4], lambda s: s[1:] or ()),
             lambda v: np.sum(v["X"][-1] * v["W"]), lambda t, v: t.sum(v["X"][-1] * v["W"])),
    Spelling("sum(X[:, 1] ** 2)", [{"X": M34}, {"X": M15}],
             lambda v: np.sum(v["X"][:, 1] ** 2), lambda t, v: t.sum(v["X"][:, 1] ** 2)),
    Spelling("sum(X[:, 0] * W)", with_w(MATRICES, lambda s: (s[0],)),
             lambda v: np.sum(v["X"][:, 0] * v["W"]), lambda t, v: t.sum(v["X"][:, 0] * v["W"])),
    Spelling("sum(X[1:3, :2] * W)", [{"X": M34, "W": (2, 2)}, {"X": (2, 5), "W": (1, 2)}, {"X": M51, "W": (2, 1)}],
             lambda v: np.sum(v["X"][1:3, :2] * v["W"]), lambda t, v: t.sum(v["X"][1:3, :2] * v["W"])),
    Spelling("sum(X[:, -2:] * W)", [{"X": M34, "W": (3, 2)}, {"X": M15, "W": (1, 2)}],
             lambda v: np.sum(v["X"][:, -2:] * v["W"]), lambda t, v: t.sum(v["X"][:, -2:] * v["W"])),
    Spelling("X[1, 2] * X[0, 0] + X[-1, -1]", [{"X": M34}, {"X": (2, 3)}],
             lambda v: v["X"][1, 2] * v["X"][0, 0] + v["X"][-1, -1],
             lambda t, v: v["X"][1, 2] * v["X"][0, 0] + v["X"][-1, -1]),
    Spelling("X[0, 0] * 3 + X[0, -1]", [{"X": s} for s in MATRICES],
             lambda v: v["X"][0, 0] * 3 + v["X"][0, -1], lambda t, v: v["X"][0, 0] * 3 + v["X"][0, -1]),
    Spelling("x[2] * x[-1] + x[0]", [{"x": V4}, {"x": (3,)}],
             lambda v: v["x"][2] * v["x"][-1] + v["x"][0], lambda t, v: v["x"][2] * v["x"][-1] + v["x"][0]),
    Spelling("sum(X[0:1] * W)", with_w([M34, M11, M15], lambda s: (1, s[1])),
             lambda v: np.sum(v["X"][0:1] * v["W"]), lambda t, v: t.sum(v["X"][0:1] * v["W"])),
    Spelling("sum(X[::2] ** 2)", [{"X": M34}, {"X": M51}, {"X": V4}, {"X": M11}],
             lambda v: np.sum(v["X"][::2] ** 2), lambda t, v: t.sum(v["X"][::2] ** 2)),
    Spelling("sum((X[1:] - X[:-1]) ** 2)", [{"X": M34}, {"X": M51}, {"X": V4}, {"X": (2, 1)}],
             lambda v: np.sum((v["X"][1:] - v["X"][:-1]) ** 2),
             lambda t, v: t.sum((v["X"][1:] - v["X"][:-1]) ** 2)),
    Spelling("sum(X[0:10] * W)", with_w([M34, V4, M15], SAME),  # a slice past the end is cut to the axis
             lambda v: np.sum(v["X"][0:10] * v["W"]), lambda t, v: t.sum(v["X"][0:10] * v["W"])),
    Spelling("sum(X[:, 1:10:2] ** 2)", [{"X": M34}, {"X": M15}],
             lambda v: np.sum(v["X"][:, 1:10:2] ** 2), lambda t, v: t.sum(v["X"][:, 1:10:2] ** 2)),
    Spelling("sum(X[-2:, -1:] * W)", [{"X": M34, "W": (2, 1)}, {"X": (2, 2), "W": (2, 1)}],
             lambda v: np.sum(v["X"][-2:, -1:] * v["W"]), lambda t, v: t.sum(v["X"][-2:, -1:] * v["W"])),
    Spelling("sum((X @ W)[1] ** 2)", [{"X": M34, "W": (4, 2)}, {"X": (2, 1), "W": (1, 3)}],
             lambda v: np.sum((v["X"] @ v["W"])[1] ** 2), lambda t, v: t.sum((v["X"] @ v["W"])[1] ** 2)),
    Spelling("sum((X[0] + W) ** 2)", [{"X": M34, "W": (2, 4)}, {"X": M15, "W": (3, 5)}],  # a row broadcast down W
             lambda v: np.sum((v["X"][0] + v["W"]) ** 2), lambda t, v: t.sum((v["X"][0] + v["W"]) ** 2)),
    Spelling("sum(X.T[1] ** 2) + sum(X[1][1:] ** 3)", [{"X": M34}, {"X": (2, 2)}],
             lambda v: np.sum(v["X"].T[1] ** 2) + np.sum(v["X"][1][1:] ** 3),
             lambda t, v: t.sum(v["X"].T[1] ** 2) + t.sum(v["X"][1][1:] ** 3)),
    Spelling("sum(index(X, -1) * W)", with_w([M34, M11, V4], lambda s: s[1:] or ()),  # gradcalc's own spelling
             lambda v: np.sum(v["X"][-1] * v["W"])),
]

RESHAPING = [
    Spelling("sum(reshape(X, 2, 6) * W)", [{"X": s, "W": (2, 6)} for s in TWELVE],
             lambda v: np.sum(np.reshape(v["X"], (2, 6)) * v["W"]),
             lambda t, v: t.sum(t.reshape(v["X"], (2, 6)) * v["W"])),
    Spelling("sum(reshape(X, 1, 1) * W) + sum(X.reshape(1) * 2)", [{"X": M11, "W": M11}, {"X": (1,), "W": M11}],
             lambda v: np.sum(np.reshape(v["X"], (1, 1)) * v["W"]) + np.sum(np.reshape(v["X"], 1) * 2),
             lambda t, v: t.sum(v["X"].reshape(1, 1) * v["W"]) + t.sum(v["X"].reshape(1) * 2)),
    Spelling("sum(X.reshape(4, -1) * W)", [{"X": s, "W": (4, 3)} for s in TWELVE],
             lambda v: np.sum(v["X"].reshape(4, -1) * v["W"]), lambda t, v: t.sum(v["X"].reshape(4, -1) * v["W"])),
    Spelling("sum(X.reshape((-1, 2)) * W)", [{"X": s, "W": (6, 2)} for s in TWELVE],
             lambda v: np.sum(v["X"].reshape((-1, 2)) * v["W"]),
             lambda t, v: t.sum(v["X"].reshape((-1, 2)) * v["W"])),
    Spelling("sum(np.reshape(X, (6, 2)) * W)", [{"X": s, "W": (6, 2)} for s in TWELVE],
             lambda v: np.sum(np.reshape(v["X"], (6, 2)) * v["W"]),
             lambda t, v: t.sum(t.reshape(v["X"], (6, 2)) * v["W"])),
    Spelling("np.reshape(X, 12) @ w", [{"X": s, "w": (12,)} for s in TWELVE],
             lambda v: np.reshape(v["X"], 12) @ v["w"], lambda t, v: t.reshape(v["X"], (12,)) @ v["w"]),
    Spelling("sum(torch.reshape(X, (3, -1)) * W)", [{"X": s, "W": (3, 4)} for s in TWELVE],
             lambda v: np.sum(np.reshape(v["X"], (3, -1)) * v["W"]),
             lambda t, v: t.sum(t.reshape(v["X"], (3, -1)) * v["W"])),
    Spelling("sum(X.view(12, 1) * W)", [{"X": s, "W": (12, 1)} for s in TWELVE],
             lambda v: np.sum(v["X"].reshape(12, 1) * v["W"]), lambda t, v: t.sum(v["X"].view(12, 1) * v["W"])),
    Spelling("sum(X.view(-1) * w)", [{"X": s, "w": (12,)} for s in TWELVE],
             lambda v: np.sum(v["X"].reshape(-1) * v["w"]), lambda t, v: t.sum(v["X"].view(-1) * v["w"])),
    Spelling("sum(reshape(x, -1, 1) * W) + sum(x.reshape(1, -1) ** 2)", [{"x": V4, "W": (4, 3)}, {"x": (1,),
                                                                                              "W": (1, 2)}],
             lambda v: np.sum(np.reshape(v["x"], (-1, 1)) * v["W"]) + np.sum(v["x"].reshape(1, -1) ** 2),
             lambda t, v: t.sum(v["x"].reshape(-1, 1) * v["W"]) + t.sum(v["x"].reshape(1, -1) ** 2)),
    Spelling("sum(reshape(X @ W, -1) ** 2)", [{"X": M34, "W": (4, 2)}, {"X": M11, "W": M15}],
             lambda v: np.sum(np.reshape(v["X"] @ v["W"], -1) ** 2),
             lambda t, v: t.sum(t.reshape(v["X"] @ v["W"], (-1,)) ** 2)),
]
FLAT = [{"X": s, "w": (12,)} for s in TWELVE] + [{"X": M11, "w": (1,)}, {"X": M15, "w": (5,)}]
for text, ref, tref in [
    ("flatten(X) @ w", None, lambda t, v: t.flatten(v["X"]) @ v["w"]),
    ("X.flatten() @ w", None, lambda t, v: v["X"].flatten() @ v["w"]),
    ("torch.flatten(X) @ w", None, lambda t, v: t.flatten(v["X"]) @ v["w"]),
    ("np.ravel(X) @ w", None, lambda t, v: t.ravel(v["X"]) @ v["w"]),
    ("X.ravel() @ w", None, lambda t, v: v["X"].ravel() @ v["w"]),
    ("torch.ravel(X) @ w", None, lambda t, v: t.ravel(v["X"]) @ v["w"]),
    ("ravel(X) @ w", None, lambda t, v: t.ravel(v["X"]) @ v["w"]),
]:
    RESHAPING.append(Spelling(text, FLAT, lambda v: np.ravel(v["X"]) @ v["w"], tref))
RESHAPING.append(Spelling("sum(flatten(X) * W)", [{"X": M34, "W": (2, 12)}, {"X": M15, "W": (3, 5)}],
                          lambda v: np.sum(np.ravel(v["X"]) * v["W"]), lambda t, v: t.sum(t.flatten(v["X"]) * v["W"])))

TRANSPOSES = [Spelling(text, with_w(MATRICES, ROWS_OF), lambda v: np.sum(v["X"].T @ v["W"]), tref) for text, tref in [
    ("sum(X.mT @ W)", lambda t, v: t.sum(v["X"].mT @ v["W"])),
    ("sum(np.matrix_transpose(X) @ W)", lambda t, v: t.sum(v["X"].mT @ v["W"])),
    ("sum(X.permute(1, 0) @ W)", lambda t, v: t.sum(v["X"].permute(1, 0) @ v["W"])),
    ("sum(X.permute((1, 0)) @ W)", lambda t, v: t.sum(v["X"].permute((1, 0)) @ v["W"])),
    ("sum(X.permute(-1, -2) @ W)", lambda t, v: t.sum(v["X"].permute(-1, -2) @ v["W"])),
    ("sum(torch.permute(X, (1, 0)) @ W)", lambda t, v: t.sum(t.permute(v["X"], (1, 0)) @ v["W"])),
    ("sum(np.transpose(X, (1, 0)) @ W)", lambda t, v: t.sum(v["X"].permute(1, 0) @ v["W"])),
    ("sum(np.permute_dims(X, (1, 0)) @ W)", lambda t, v: t.sum(v["X"].permute(1, 0) @ v["W"])),
    ("sum(np.permute_dims(X) @ W)", lambda t, v: t.sum(v["X"].T @ v["W"])),
    ("sum(X.transpose() @ W)", lambda t, v: t.sum(v["X"].T @ v["W"])),
    ("sum(X.transpose(1, 0) @ W)", lambda t, v: t.sum(v["X"].transpose(1, 0) @ v["W"])),
    ("sum(torch.transpose(X, 0, 1) @ W)", lambda t, v: t.sum(t.transpose(v["X"], 0, 1) @ v["W"])),
    ("sum(torch.transpose(X, -1, 0) @ W)", lambda t, v: t.sum(t.transpose(v["X"], -1, 0) @ v["W"])),
    ("sum(torch.swapaxes(X, 0, 1) @ W)", lambda t, v: t.sum(t.swapaxes(v["X"], 0, 1) @ v["W"])),
    ("sum(torch.swapdims(X, 1, 0) @ W)", lambda t, v: t.sum(t.swapdims(v["X"], 1, 0) @ v["W"])),
    ("sum(np.swapaxes(X, 0, 1) @ W)", lambda t, v: t.sum(t.swapaxes(v["X"], 0, 1) @ v["W"])),
    ("sum(X.swapaxes(0, 1) @ W)", lambda t, v: t.sum(v["X"].swapaxes(0, 1) @ v["W"])),
    ("sum(X.swapdims(0, -1) @ W)", lambda t, v: t.sum(v["X"].swapdims(0, -1) @ v["W"])),
    ("sum(transpose(X) @ W)", lambda t, v: t.sum(v["X"].T @ v["W"])),
]]
TRANSPOSES += [  # the orders that change nothing, and 1-D operands
    Spelling("sum(np.transpose(X, (0, 1)) * W)", with_w(MATRICES, SAME), lambda v: np.sum(v["X"] * v["W"]),
             lambda t, v: t.sum(v["X"].permute(0, 1) * v["W"])),
    Spelling("sum(torch.transpose(X, 1, -1) * W)", with_w(MATRICES, SAME), lambda v: np.sum(v["X"] * v["W"]),
             lambda t, v: t.sum(t.transpose(v["X"], 1, -1) * v["W"])),
    Spelling("sum(x.permute(0) * w) + sum(x.transpose() * w) + sum(x.T * w)", [{"x": V4, "w": V4}],
             lambda v: 3 * np.sum(v["x"] * v["w"]), lambda t, v: 3 * t.sum(v["x"].permute(0) * v["w"])),
    Spelling("sum(torch.transpose(x, 0, -1) * w) + sum(np.swapaxes(x, 0, 0) * w)", [{"x": V4, "w": V4}],
             lambda v: 2 * np.sum(v["x"] * v["w"]), lambda t, v: 2 * t.sum(t.transpose(v["x"], 0, -1) * v["w"])),
]

KRONS = [
    Spelling(text, [{"A": (2, 3), "B": (4, 5), "C": (8, 15)}, {"A": M11, "B": (2, 3), "C": (2, 3)},
                    {"A": (2, 3), "B": M11, "C": (2, 3)}, {"A": (1, 3), "B": (2, 1), "C": (2, 3)},
                    {"A": (3, 1), "B": (1, 2), "C": (3, 2)}, {"A": M11, "B": M11, "C": M11},
                    {"A": (3,), "B": (2,), "C": (6,)}, {"A": (1,), "B": (3,), "C": (3,)},
                    {"A": (2, 3), "B": (1, 2), "C": (1, 6)}],  # C (1, 6) broadcast down the 2x6 product
             lambda v: np.sum(np.kron(v["A"], v["B"]) * v["C"]), tref)
    for text, tref in [
        ("sum(kron(A, B) * C)", lambda t, v: t.sum(t.kron(v["A"], v["B"]) * v["C"])),
        ("sum(np.kron(A, B) * C)", lambda t, v: t.sum(t.kron(v["A"], v["B"]) * v["C"])),
        ("sum(torch.kron(A, B) * C)", lambda t, v: t.sum(t.kron(v["A"], v["B"]) * v["C"])),
        ("sum(A.kron(B) * C)", lambda t, v: t.sum(v["A"].kron(v["B"]) * v["C"])),
    ]
]
KRONS.append(Spelling("sum(kron(A, B) ** 2) + kron(a, b) @ c", [{"A": (2, 3), "B": (3, 2), "a": (2,), "b": (3,),
                                                                  "c": (6,)}],
                      lambda v: np.sum(np.kron(v["A"], v["B"]) ** 2) + np.kron(v["a"], v["b"]) @ v["c"],
                      lambda t, v: t.sum(t.kron(v["A"], v["B"]) ** 2) + t.kron(v["a"], v["b"]) @ v["c"]))

CASES = [*INDEXING, *RESHAPING, *TRANSPOSES, *KRONS]
