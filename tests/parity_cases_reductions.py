"""Parity cases for the reductions and the softmax family: sum, mean, var, std, max, min, amax, amin,
logsumexp, softmax, log_softmax, with axis/dim, keepdims/keepdim, ddof/correction/unbiased, in every
spelling (bare, np., torch., F., torch.special., methods), at 1x1, 1xn, nx1, n x m, 1-D and broadcasting."""

from __future__ import annotations

import numpy as np

from parity import Spelling

M34, M11, M15, M51, V4 = {"X": (3, 4)}, {"X": (1, 1)}, {"X": (1, 5)}, {"X": (5, 1)}, {"X": (4,)}
ANY = [M34, M11, M15, M51, V4]
MATRICES = [M34, M11, M15, M51]
WIDE = [M34, M15]  # more than one entry along axis 1 (an unbiased variance there is defined)
TALL = [M34, M51]
SPREAD = [M34, M15, M51, V4]  # more than one entry (a standard deviation has a gradient)
PAIRS = [{"X": (3, 4), "Y": (3, 4)}, {"X": (1, 1), "Y": (1, 1)}, {"X": (1, 5), "Y": (1, 5)},
         {"X": (5, 1), "Y": (5, 1)}]
ROW_BROADCAST = [{"X": (3, 4), "Y": (4,)}, {"X": (3, 4), "Y": (1, 4)}, {"X": (3, 4), "Y": (3, 1)}]
NOTE = "returns (values, indices) in PyTorch; gradcalc uses the values"
LOGITS = [{"Z": (3, 4), "P": (3, 4)}, {"Z": (1, 4), "P": (1, 4)}, {"Z": (5, 1), "P": (5, 1)},
          {"Z": (1, 1), "P": (1, 1)}]


def softmax(a: np.ndarray, axis: int | None = None) -> np.ndarray:
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(a: np.ndarray, axis: int | None = None) -> np.ndarray:
    return np.log(softmax(a, axis))


def logsumexp(a: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    return np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))


CASES = [
    # -- sum and mean: axis/dim, keepdims/keepdim, negative axes, broadcasting against the input
    Spelling("sum(X.sum(1)**2)", MATRICES, lambda v: np.sum(np.sum(v["X"], 1) ** 2),
             lambda t, v: (v["X"].sum(1) ** 2).sum()),
    Spelling("sum(X.sum(dim=1, keepdim=True)*Y)", PAIRS + ROW_BROADCAST,
             lambda v: np.sum(np.sum(v["X"], axis=1, keepdims=True) * v["Y"]),
             lambda t, v: (v["X"].sum(dim=1, keepdim=True) * v["Y"]).sum()),
    Spelling("sum(np.sum(X, axis=0, keepdims=True)**2)", ANY, lambda v: np.sum(np.sum(v["X"], 0, keepdims=True) ** 2),
             lambda t, v: (t.sum(v["X"], 0, keepdim=True) ** 2).sum()),
    Spelling("sum(torch.sum(X, axis=1, keepdims=True)**2)", MATRICES,
             lambda v: np.sum(np.sum(v["X"], 1, keepdims=True) ** 2),
             lambda t, v: (t.sum(v["X"], axis=1, keepdims=True) ** 2).sum()),
    Spelling("sum(torch.sum(X, -2)**3)", MATRICES, lambda v: np.sum(np.sum(v["X"], -2) ** 3),
             lambda t, v: (t.sum(v["X"], -2) ** 3).sum()),
    Spelling("sum(torch.sum(X, 1, True)*X)", MATRICES, lambda v: np.sum(np.sum(v["X"], 1, keepdims=True) * v["X"]),
             lambda t, v: (t.sum(v["X"], 1, True) * v["X"]).sum()),
    Spelling("sum((X - X.mean(axis=1, keepdims=True))**2)", MATRICES,
             lambda v: np.sum((v["X"] - v["X"].mean(axis=1, keepdims=True)) ** 2),
             lambda t, v: ((v["X"] - v["X"].mean(dim=1, keepdim=True)) ** 2).sum()),
    Spelling("sum(torch.mean(X, dim=-1, keepdim=True)*X)", ANY,
             lambda v: np.sum(np.mean(v["X"], -1, keepdims=True) * v["X"]),
             lambda t, v: (t.mean(v["X"], dim=-1, keepdim=True) * v["X"]).sum()),
    Spelling("np.mean(X, axis=0) @ np.mean(X, axis=0)", MATRICES,
             lambda v: np.mean(v["X"], axis=0) @ np.mean(v["X"], axis=0),
             lambda t, v: t.mean(v["X"], 0) @ t.mean(v["X"], 0)),
    Spelling("sum(X.mean(0)**2)", ANY, lambda v: np.sum(np.mean(v["X"], 0) ** 2),
             lambda t, v: (v["X"].mean(0) ** 2).sum()),
    Spelling("sum(mean(X, keepdims=True)*Y)", PAIRS + ROW_BROADCAST,
             lambda v: np.sum(np.mean(v["X"], keepdims=True) * v["Y"]),
             lambda t, v: (v["X"].mean() * v["Y"]).sum()),
    # -- var and std: NumPy's ddof=0, PyTorch's correction=1 (or unbiased=), keepdims
    Spelling("var(X)", ANY, lambda v: np.var(v["X"]), lambda t, v: t.var(v["X"], correction=0)),
    Spelling("sum(np.var(X, axis=1)**2)", MATRICES, lambda v: np.sum(np.var(v["X"], axis=1) ** 2),
             lambda t, v: (t.var(v["X"], dim=1, unbiased=False) ** 2).sum()),
    Spelling("sum(torch.var(X, 1))", WIDE, lambda v: np.sum(np.var(v["X"], axis=1, ddof=1)),
             lambda t, v: t.var(v["X"], 1).sum()),
    Spelling("sum(torch.var(X, dim=0, unbiased=False, keepdim=True)*X)", MATRICES,
             lambda v: np.sum(np.var(v["X"], axis=0, keepdims=True) * v["X"]),
             lambda t, v: (t.var(v["X"], dim=0, unbiased=False, keepdim=True) * v["X"]).sum()),
    Spelling("sum(X.var(dim=0))", TALL, lambda v: np.sum(np.var(v["X"], axis=0, ddof=1)),
             lambda t, v: v["X"].var(dim=0).sum()),
    Spelling("X.var(ddof=1)", SPREAD, lambda v: np.var(v["X"], ddof=1), lambda t, v: v["X"].var()),
    Spelling("torch.var(X, 1, True, True).sum()", WIDE, lambda v: np.sum(np.var(v["X"], 1, ddof=1, keepdims=True)),
             lambda t, v: t.var(v["X"], 1, True, True).sum()),
    Spelling("torch.var(X, correction=0) + torch.var(X)", SPREAD, lambda v: np.var(v["X"]) + np.var(v["X"], ddof=1),
             lambda t, v: t.var(v["X"], correction=0) + t.var(v["X"])),
    Spelling("std(X)", SPREAD, lambda v: np.std(v["X"]), lambda t, v: t.std(v["X"], correction=0)),
    Spelling("sum(np.std(X, 0, ddof=1))", TALL, lambda v: np.sum(np.std(v["X"], 0, ddof=1)),
             lambda t, v: t.std(v["X"], 0).sum()),
    Spelling("sum(torch.std(X, dim=-1, keepdim=True)*X)", WIDE,
             lambda v: np.sum(np.std(v["X"], -1, ddof=1, keepdims=True) * v["X"]),
             lambda t, v: (t.std(v["X"], dim=-1, keepdim=True) * v["X"]).sum()),
    Spelling("X.std(axis=1, ddof=0).sum()", WIDE, lambda v: np.sum(np.std(v["X"], axis=1)),
             lambda t, v: v["X"].std(dim=1, unbiased=False).sum()),
    # -- max, min, amax, amin: of all entries or along an axis (NumPy), torch.max's values
    Spelling("sum(np.max(X, 0))", ANY, lambda v: np.sum(np.max(v["X"], 0)), lambda t, v: t.amax(v["X"], 0).sum(),
             distinct=("X",)),
    Spelling("sum(max(X, 1)**2)", MATRICES, lambda v: np.sum(np.max(v["X"], 1) ** 2),
             lambda t, v: (t.amax(v["X"], 1) ** 2).sum(), distinct=("X",)),
    Spelling("sum(X.max(axis=1))", MATRICES, lambda v: np.sum(v["X"].max(axis=1)),
             lambda t, v: v["X"].amax(1).sum(), distinct=("X",)),
    Spelling("sum(torch.amax(X, dim=1, keepdim=True)*X)", MATRICES,
             lambda v: np.sum(np.max(v["X"], 1, keepdims=True) * v["X"]),
             lambda t, v: (t.amax(v["X"], dim=1, keepdim=True) * v["X"]).sum(), distinct=("X",)),
    Spelling("torch.max(X)", ANY, lambda v: np.max(v["X"]), lambda t, v: t.max(v["X"]), distinct=("X",)),
    Spelling("sum(torch.max(X, 1))", MATRICES, lambda v: np.sum(np.max(v["X"], 1)),
             lambda t, v: t.max(v["X"], 1).values.sum(), distinct=("X",), note=NOTE),
    Spelling("sum(torch.max(X, dim=0, keepdim=True)**2)", MATRICES,
             lambda v: np.sum(np.max(v["X"], 0, keepdims=True) ** 2),
             lambda t, v: (t.max(v["X"], dim=0, keepdim=True).values ** 2).sum(), distinct=("X",), note=NOTE),
    Spelling("sum(X.max(dim=-1))", MATRICES, lambda v: np.sum(np.max(v["X"], -1)),
             lambda t, v: v["X"].max(dim=-1).values.sum(), distinct=("X",), note=NOTE),
    Spelling("sum(torch.max(X, Y))", PAIRS + ROW_BROADCAST, lambda v: np.sum(np.maximum(v["X"], v["Y"])),
             lambda t, v: t.max(v["X"], v["Y"]).sum(), kinks=lambda v: [v["X"] - v["Y"]]),
    Spelling("sum(np.amin(X, axis=0) * np.amin(X, axis=0))", MATRICES,
             lambda v: np.sum(np.min(v["X"], 0) ** 2), lambda t, v: (t.amin(v["X"], 0) ** 2).sum(), distinct=("X",)),
    Spelling("sum(min(X, -1))", ANY, lambda v: np.sum(np.min(v["X"], -1)), lambda t, v: t.amin(v["X"], -1).sum(),
             distinct=("X",)),
    Spelling("torch.amin(X) + amax(X)", ANY, lambda v: np.min(v["X"]) + np.max(v["X"]),
             lambda t, v: t.amin(v["X"]) + t.amax(v["X"]), distinct=("X",)),
    Spelling("sum(X.min(1)**2) + sum(X.amin(dim=0))", MATRICES,
             lambda v: np.sum(np.min(v["X"], 1) ** 2) + np.sum(np.min(v["X"], 0)),
             lambda t, v: (v["X"].amin(1) ** 2).sum() + v["X"].amin(dim=0).sum(), distinct=("X",)),
    Spelling("sum(torch.min(X, 0, True)*X)", MATRICES, lambda v: np.sum(np.min(v["X"], 0, keepdims=True) * v["X"]),
             lambda t, v: (t.min(v["X"], 0, True).values * v["X"]).sum(), distinct=("X",), note=NOTE),
    Spelling("sum(exp(X - X.max(axis=1, keepdims=True)))", MATRICES,
             lambda v: np.sum(np.exp(v["X"] - v["X"].max(axis=1, keepdims=True))),
             lambda t, v: t.exp(v["X"] - v["X"].amax(dim=1, keepdim=True)).sum(), distinct=("X",)),
    # ties: the gradient is shared evenly, as torch.amax, and the verdict is kink (SPEC section 6): the derivative
    # at a tie is a convention, even where central differences happen to agree (a tie of two: 1/2 each)
    Spelling("sum(max(X, axis=1))", [{"X": (2, 4)}], lambda v: np.sum(np.max(v["X"], axis=1)),
             lambda t, v: t.amax(v["X"], dim=1).sum(), values={"X": [[1.0, 3.0, 3.0, 3.0], [2.0, 0.0, 1.0, -1.0]]},
             verdict="kink"),
    Spelling("sum(torch.amax(X, dim=1)**2)", [{"X": (2, 4)}], lambda v: np.sum(np.max(v["X"], axis=1) ** 2),
             lambda t, v: (t.amax(v["X"], dim=1) ** 2).sum(),
             values={"X": [[1.0, 3.0, 3.0, 0.0], [2.0, 0.0, 1.0, -1.0]]}, verdict="kink"),
    # -- logsumexp: of all entries (bare, SciPy's) or along an axis; PyTorch needs dim
    Spelling("logsumexp(X)", ANY, lambda v: logsumexp(v["X"]), lambda t, v: t.logsumexp(v["X"].reshape(-1), 0)),
    Spelling("sum(torch.logsumexp(X, dim=1))", MATRICES, lambda v: np.sum(logsumexp(v["X"], 1)),
             lambda t, v: t.logsumexp(v["X"], dim=1).sum()),
    Spelling("sum(torch.logsumexp(X, 0, True)*X)", ANY, lambda v: np.sum(logsumexp(v["X"], 0, True) * v["X"]),
             lambda t, v: (t.logsumexp(v["X"], 0, True) * v["X"]).sum()),
    Spelling("sum(logsumexp(X, axis=-1, keepdims=True)**2)", ANY,
             lambda v: np.sum(logsumexp(v["X"], -1, True) ** 2),
             lambda t, v: (t.logsumexp(v["X"], -1, keepdim=True) ** 2).sum()),
    Spelling("sum(X.logsumexp(1))", MATRICES, lambda v: np.sum(logsumexp(v["X"], 1)),
             lambda t, v: v["X"].logsumexp(1).sum()),
    Spelling("torch.special.logsumexp(X, 0).sum()", ANY, lambda v: np.sum(logsumexp(v["X"], 0)),
             lambda t, v: t.special.logsumexp(v["X"], 0).sum()),
    # -- softmax and log_softmax along an axis (a matrix must say which), of a 1-D vector, of all entries
    Spelling("sum(softmax(X, axis=1)*Y)", PAIRS, lambda v: np.sum(softmax(v["X"], 1) * v["Y"]),
             lambda t, v: (t.softmax(v["X"], 1) * v["Y"]).sum()),
    Spelling("sum(torch.softmax(X, dim=-1)*Y)", PAIRS + ROW_BROADCAST, lambda v: np.sum(softmax(v["X"], -1) * v["Y"]),
             lambda t, v: (t.softmax(v["X"], dim=-1) * v["Y"]).sum()),
    Spelling("sum(F.softmax(X, dim=0)*Y)", PAIRS + ROW_BROADCAST, lambda v: np.sum(softmax(v["X"], 0) * v["Y"]),
             lambda t, v: (t.nn.functional.softmax(v["X"], dim=0) * v["Y"]).sum()),
    Spelling("sum(X.softmax(dim=1)**2)", MATRICES, lambda v: np.sum(softmax(v["X"], 1) ** 2),
             lambda t, v: (v["X"].softmax(dim=1) ** 2).sum()),
    Spelling("sum(torch.special.softmax(X, 1)**2)", MATRICES, lambda v: np.sum(softmax(v["X"], 1) ** 2),
             lambda t, v: (t.special.softmax(v["X"], 1) ** 2).sum()),
    Spelling("sum(softmax(X, axis=None)*Y)", PAIRS, lambda v: np.sum(softmax(v["X"]) * v["Y"]),
             lambda t, v: (t.softmax(v["X"].reshape(-1), 0).reshape(v["X"].shape) * v["Y"]).sum()),
    Spelling("softmax(X) @ Y", [{"X": (4,), "Y": (4,)}, {"X": (1,), "Y": (1,)}],
             lambda v: softmax(v["X"]) @ v["Y"], lambda t, v: t.softmax(v["X"], 0) @ v["Y"]),
    Spelling("-sum(P*log_softmax(Z, dim=1))", LOGITS, lambda v: -np.sum(v["P"] * log_softmax(v["Z"], 1)),
             lambda t, v: -(v["P"] * t.log_softmax(v["Z"], dim=1)).sum()),
    Spelling("-sum(P*F.log_softmax(Z, dim=1))/3", LOGITS, lambda v: -np.sum(v["P"] * log_softmax(v["Z"], 1)) / 3,
             lambda t, v: -(v["P"] * t.nn.functional.log_softmax(v["Z"], dim=1)).sum() / 3),
    Spelling("mean(-sum(P*log_softmax(Z, axis=1), axis=1))", LOGITS,
             lambda v: np.mean(-np.sum(v["P"] * log_softmax(v["Z"], 1), axis=1)),
             lambda t, v: (-(v["P"] * t.log_softmax(v["Z"], 1)).sum(1)).mean()),
    Spelling("sum(Z.log_softmax(dim=0)*P)", LOGITS, lambda v: np.sum(log_softmax(v["Z"], 0) * v["P"]),
             lambda t, v: (v["Z"].log_softmax(dim=0) * v["P"]).sum()),
    Spelling("log_softmax(Z) @ P", [{"Z": (4,), "P": (4,)}], lambda v: log_softmax(v["Z"]) @ v["P"],
             lambda t, v: t.log_softmax(v["Z"], 0) @ v["P"]),
    Spelling("sum(torch.special.log_softmax(Z, -1)*P)", [{"Z": (3, 4), "P": (4,)}, {"Z": (3, 4), "P": (3, 1)}],
             lambda v: np.sum(log_softmax(v["Z"], -1) * v["P"]),
             lambda t, v: (t.special.log_softmax(v["Z"], -1) * v["P"]).sum()),
    # -- an attention block: row-wise softmax of scaled scores, times the values
    Spelling("sum(softmax(Q@K.T/sqrt(4), axis=1)@V)", [{"Q": (3, 4), "K": (5, 4), "V": (5, 2)},
                                                      {"Q": (1, 4), "K": (5, 4), "V": (5, 1)}],
             lambda v: np.sum(softmax(v["Q"] @ v["K"].T / 2.0, 1) @ v["V"]),
             lambda t, v: (t.softmax(v["Q"] @ v["K"].T / 2.0, dim=1) @ v["V"]).sum()),
    Spelling("sum((torch.softmax(Q@K.T/2, dim=-1)@V)*G)", [{"Q": (3, 4), "K": (5, 4), "V": (5, 2), "G": (3, 2)}],
             lambda v: np.sum((softmax(v["Q"] @ v["K"].T / 2.0, -1) @ v["V"]) * v["G"]),
             lambda t, v: ((t.softmax(v["Q"] @ v["K"].T / 2, dim=-1) @ v["V"]) * v["G"]).sum()),
]
