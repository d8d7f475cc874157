"""Parity cases for clamp/clip, minimum, leaky_relu, elu, gelu, erf, log1p, expm1, comparisons and where.

Every spelling against NumPy and PyTorch at 1x1, 1xn, nx1, n x m and 1-D shapes, with broadcasting
(`where(X > 0, X, 0.1)`, `minimum(X, y)` with a row y), and the kink verdict at a bound or a tie.
"""

from __future__ import annotations

import math

import numpy as np

from parity import Spelling

M34, M11, M15, M51, V4 = {"X": (3, 4)}, {"X": (1, 1)}, {"X": (1, 5)}, {"X": (5, 1)}, {"X": (4,)}
ANY = [M34, M11, M15, M51, V4]
#: Two operands: equal shapes, a row (1-D and 1xn), a column, a scalar, 1x1 and 1-D.
PAIRS = [{"X": (3, 4), "Y": (3, 4)}, {"X": (3, 4), "Y": (4,)}, {"X": (3, 4), "Y": (1, 4)}, {"X": (3, 4), "Y": (3, 1)},
         {"X": (3, 4), "Y": ()}, {"X": (1, 1), "Y": (1, 1)}, {"X": (4,), "Y": (4,)}, {"X": (1, 5), "Y": (5, 1)}]

_erf = np.vectorize(math.erf, otypes=[float])


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _leaky(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x > 0, x, slope * x)


def _elu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _x(v: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [v["X"]]


def _xy(v: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [v["X"] - v["Y"]]


def _bounds(*bounds: float):
    return lambda v: [v["X"] - b for b in bounds]


CASES = [
    # -- clamp (PyTorch's, and gradcalc's bare name) and clip (NumPy's)
    Spelling("sum(clamp(X, -0.5, 0.5)*X)", ANY, lambda v: np.sum(np.clip(v["X"], -0.5, 0.5) * v["X"]),
             lambda t, v: t.sum(t.clamp(v["X"], -0.5, 0.5) * v["X"]), kinks=_bounds(-0.5, 0.5)),
    Spelling("sum(X.clamp(0))", ANY, lambda v: np.sum(np.maximum(v["X"], 0)), lambda t, v: v["X"].clamp(0).sum(),
             kinks=_x),
    Spelling("sum(X.clamp(min=0, max=1)**2)", ANY, lambda v: np.sum(np.clip(v["X"], 0, 1) ** 2),
             lambda t, v: t.sum(v["X"].clamp(min=0, max=1) ** 2), kinks=_bounds(0, 1)),
    Spelling("sum(torch.clamp(X, -1, 1)*X)", ANY, lambda v: np.sum(np.clip(v["X"], -1, 1) * v["X"]),
             lambda t, v: t.sum(t.clamp(v["X"], -1, 1) * v["X"]), kinks=_bounds(-1, 1)),
    Spelling("sum(torch.clamp(X, None, 0.3)*X)", ANY, lambda v: np.sum(np.minimum(v["X"], 0.3) * v["X"]),
             lambda t, v: t.sum(t.clamp(v["X"], None, 0.3) * v["X"]), kinks=_bounds(0.3)),
    Spelling("sum(torch.clip(X, max=0.3)**2)", ANY, lambda v: np.sum(np.minimum(v["X"], 0.3) ** 2),
             lambda t, v: t.sum(t.clip(v["X"], max=0.3) ** 2), kinks=_bounds(0.3)),
    Spelling("sum(X.clamp_min(0.1)*X) + sum(torch.clamp_max(X, 0.2)*X)", ANY,
             lambda v: np.sum(np.maximum(v["X"], 0.1) * v["X"]) + np.sum(np.minimum(v["X"], 0.2) * v["X"]),
             lambda t, v: t.sum(v["X"].clamp_min(0.1) * v["X"]) + t.sum(t.clamp_max(v["X"], 0.2) * v["X"]),
             kinks=_bounds(0.1, 0.2)),
    Spelling("sum(X.clip(-0.5, 0.5)*X)", ANY, lambda v: np.sum(np.clip(v["X"], -0.5, 0.5) * v["X"]),
             lambda t, v: t.sum(v["X"].clip(-0.5, 0.5) * v["X"]), kinks=_bounds(-0.5, 0.5)),
    Spelling("sum(np.clip(X, -0.5, 0.5)*X)", ANY, lambda v: np.sum(np.clip(v["X"], -0.5, 0.5) * v["X"]),
             kinks=_bounds(-0.5, 0.5)),
    Spelling("sum(np.clip(X, None, 0.5)**2) + sum(np.clip(X, min=-0.2)**2)", ANY,
             lambda v: np.sum(np.clip(v["X"], None, 0.5) ** 2) + np.sum(np.clip(v["X"], min=-0.2) ** 2),
             kinks=_bounds(0.5, -0.2)),
    Spelling("sum(clip(X, a_min=-1, a_max=1)*X) + sum(numpy.clip(X, max=0.7))", ANY,
             lambda v: np.sum(np.clip(v["X"], -1, 1) * v["X"]) + np.sum(np.clip(v["X"], max=0.7)),
             kinks=_bounds(-1, 1, 0.7)),
    Spelling("sum(clamp(X, 0, 1))", [{"X": (1, 3)}], lambda v: np.sum(np.clip(v["X"], 0, 1)),
             lambda t, v: t.sum(t.clamp(v["X"], 0, 1)), values={"X": [[0.0, 1.0, 0.5]]}, verdict="kink"),
    # -- minimum
    Spelling("sum(minimum(X, Y)*X)", PAIRS, lambda v: np.sum(np.minimum(v["X"], v["Y"]) * v["X"]),
             lambda t, v: t.sum(t.minimum(v["X"], v["Y"]) * v["X"]), kinks=_xy),
    Spelling("sum(np.minimum(X, 0.3)*X)", ANY, lambda v: np.sum(np.minimum(v["X"], 0.3) * v["X"]),
             lambda t, v: t.sum(t.clamp(v["X"], max=0.3) * v["X"]), kinks=_bounds(0.3)),
    Spelling("sum(torch.minimum(X, Y)**2)", PAIRS[:4], lambda v: np.sum(np.minimum(v["X"], v["Y"]) ** 2),
             lambda t, v: t.sum(t.minimum(v["X"], v["Y"]) ** 2), kinks=_xy),
    Spelling("sum(torch.min(X, Y)*Y)", [PAIRS[0], PAIRS[3], PAIRS[6]], lambda v: np.sum(np.minimum(v["X"], v["Y"]) * v["Y"]),
             lambda t, v: t.sum(t.min(v["X"], v["Y"]) * v["Y"]), kinks=_xy),
    Spelling("sum(X.minimum(Y)*X)", [PAIRS[0], PAIRS[2], PAIRS[5]], lambda v: np.sum(np.minimum(v["X"], v["Y"]) * v["X"]),
             lambda t, v: t.sum(v["X"].minimum(v["Y"]) * v["X"]), kinks=_xy),
    Spelling("sum(minimum(X, Y)*X)", [{"X": (1, 2), "Y": (1, 2)}],
             lambda v: np.sum(np.minimum(v["X"], v["Y"]) * v["X"]), lambda t, v: t.sum(t.minimum(v["X"], v["Y"]) * v["X"]),
             values={"X": [[0.5, 1.0]], "Y": [[0.5, 2.0]]}, verdict="kink"),  # a tie: 0.5/0.5 each
    # -- leaky_relu, elu, gelu
    Spelling("sum(leaky_relu(X)*X)", ANY, lambda v: np.sum(_leaky(v["X"], 0.01) * v["X"]),
             lambda t, v: t.sum(t.nn.functional.leaky_relu(v["X"]) * v["X"]), kinks=_x),
    Spelling("sum(F.leaky_relu(X, 0.2)**2)", ANY, lambda v: np.sum(_leaky(v["X"], 0.2) ** 2),
             lambda t, v: t.sum(t.nn.functional.leaky_relu(v["X"], 0.2) ** 2), kinks=_x),
    Spelling("sum(torch.nn.functional.leaky_relu(X, negative_slope=0.3)*X)", ANY,
             lambda v: np.sum(_leaky(v["X"], 0.3) * v["X"]),
             lambda t, v: t.sum(t.nn.functional.leaky_relu(v["X"], negative_slope=0.3) * v["X"]), kinks=_x),
    Spelling("sum(leaky_relu(X, 0.1))", [{"X": (1, 3)}], lambda v: np.sum(_leaky(v["X"], 0.1)),
             lambda t, v: t.sum(t.nn.functional.leaky_relu(v["X"], 0.1)), values={"X": [[0.0, 1.0, -1.0]]},
             verdict="kink"),
    Spelling("sum(elu(X)*X)", ANY, lambda v: np.sum(_elu(v["X"], 1.0) * v["X"]),
             lambda t, v: t.sum(t.nn.functional.elu(v["X"]) * v["X"]), kinks=_x),
    Spelling("sum(F.elu(X, alpha=0.5)**2) + sum(F.elu(X, 2.0)*X)", ANY,
             lambda v: np.sum(_elu(v["X"], 0.5) ** 2) + np.sum(_elu(v["X"], 2.0) * v["X"]),
             lambda t, v: t.sum(t.nn.functional.elu(v["X"], alpha=0.5) ** 2)
             + t.sum(t.nn.functional.elu(v["X"], 2.0) * v["X"]), kinks=_x),
    Spelling("sum(elu(X, 0.5))", [{"X": (1, 3)}], lambda v: np.sum(_elu(v["X"], 0.5)),
             lambda t, v: t.sum(t.nn.functional.elu(v["X"], 0.5)), values={"X": [[0.0, 1.0, -1.0]]}, verdict="kink"),
    Spelling("sum(elu(X))", [{"X": (1, 3)}], lambda v: np.sum(_elu(v["X"], 1.0)),
             lambda t, v: t.sum(t.nn.functional.elu(v["X"])), values={"X": [[0.0, 1.0, -1.0]]}),  # C1 at 0: no kink
    Spelling("sum(gelu(X)*X)", ANY, lambda v: np.sum(_gelu(v["X"]) * v["X"]),
             lambda t, v: t.sum(t.nn.functional.gelu(v["X"]) * v["X"])),
    Spelling("sum(F.gelu(X, approximate='tanh')*X)", ANY, lambda v: np.sum(_gelu_tanh(v["X"]) * v["X"]),
             lambda t, v: t.sum(t.nn.functional.gelu(v["X"], approximate="tanh") * v["X"])),
    Spelling("sum(torch.nn.functional.gelu(X, approximate='none')**2)", ANY, lambda v: np.sum(_gelu(v["X"]) ** 2),
             lambda t, v: t.sum(t.nn.functional.gelu(v["X"], approximate="none") ** 2)),
    # -- erf, log1p, expm1
    Spelling("sum(erf(X)*X)", ANY, lambda v: np.sum(_erf(v["X"]) * v["X"]), lambda t, v: t.sum(t.erf(v["X"]) * v["X"])),
    Spelling("sum(torch.erf(2*X)**2) + sum(torch.special.erf(X)) + sum(X.erf())", ANY,
             lambda v: np.sum(_erf(2 * v["X"]) ** 2) + 2 * np.sum(_erf(v["X"])),
             lambda t, v: t.sum(t.erf(2 * v["X"]) ** 2) + t.sum(t.special.erf(v["X"])) + v["X"].erf().sum()),
    Spelling("sum(log1p(X))", ANY, lambda v: np.sum(np.log1p(v["X"])), lambda t, v: t.sum(t.log1p(v["X"])),
             positive=("X",)),
    Spelling("sum(np.log1p(X**2)) + sum(torch.log1p(X**2)*X)", ANY,
             lambda v: np.sum(np.log1p(v["X"] ** 2)) + np.sum(np.log1p(v["X"] ** 2) * v["X"]),
             lambda t, v: t.sum(t.log1p(v["X"] ** 2)) + t.sum(t.log1p(v["X"] ** 2) * v["X"])),
    Spelling("sum(torch.special.log1p(X)) + sum(X.log1p())", ANY, lambda v: 2 * np.sum(np.log1p(v["X"])),
             lambda t, v: t.sum(t.special.log1p(v["X"])) + v["X"].log1p().sum(), positive=("X",)),
    Spelling("sum(expm1(X)) + sum(np.expm1(X)*X)", ANY, lambda v: np.sum(np.expm1(v["X"]) * (1 + v["X"])),
             lambda t, v: t.sum(t.expm1(v["X"])) + t.sum(t.expm1(v["X"]) * v["X"])),
    Spelling("sum(torch.expm1(X)**2) + sum(torch.special.expm1(X)) + sum(X.expm1())", ANY,
             lambda v: np.sum(np.expm1(v["X"]) ** 2) + 2 * np.sum(np.expm1(v["X"])),
             lambda t, v: t.sum(t.expm1(v["X"]) ** 2) + t.sum(t.special.expm1(v["X"])) + v["X"].expm1().sum()),
    # -- comparisons: 0/1 masks with no gradient of their own
    Spelling("sum((X > 0)*X)", ANY, lambda v: np.sum((v["X"] > 0) * v["X"]), lambda t, v: t.sum((v["X"] > 0) * v["X"]),
             kinks=_x),
    Spelling("sum((X < Y)*X*Y)", PAIRS, lambda v: np.sum((v["X"] < v["Y"]) * v["X"] * v["Y"]),
             lambda t, v: t.sum((v["X"] < v["Y"]) * v["X"] * v["Y"]), kinks=_xy),
    Spelling("sum((X >= 0.2)*X) + sum((X <= -0.1)*X**2)", ANY,
             lambda v: np.sum((v["X"] >= 0.2) * v["X"]) + np.sum((v["X"] <= -0.1) * v["X"] ** 2),
             lambda t, v: t.sum((v["X"] >= 0.2) * v["X"]) + t.sum((v["X"] <= -0.1) * v["X"] ** 2),
             kinks=_bounds(0.2, -0.1)),
    Spelling("sum((X == Y) + X) + sum((X != Y)*Y)", PAIRS, lambda v: np.sum((v["X"] == v["Y"]) + v["X"])
             + np.sum((v["X"] != v["Y"]) * v["Y"]),
             lambda t, v: t.sum((v["X"] == v["Y"]) + v["X"]) + t.sum((v["X"] != v["Y"]) * v["Y"]), kinks=_xy),
    Spelling("sum(np.greater(X, Y)*X) + sum(np.less_equal(X, Y)*Y)", PAIRS[:4],
             lambda v: np.sum(np.greater(v["X"], v["Y"]) * v["X"]) + np.sum(np.less_equal(v["X"], v["Y"]) * v["Y"]),
             kinks=_xy),
    Spelling("sum(torch.gt(X, Y)*X) + sum(torch.le(X, Y)*Y) + sum(torch.ne(X, Y)*X)", PAIRS[:4],
             lambda v: np.sum((v["X"] > v["Y"]) * v["X"]) + np.sum((v["X"] <= v["Y"]) * v["Y"])
             + np.sum((v["X"] != v["Y"]) * v["X"]),
             lambda t, v: t.sum(t.gt(v["X"], v["Y"]) * v["X"]) + t.sum(t.le(v["X"], v["Y"]) * v["Y"])
             + t.sum(t.ne(v["X"], v["Y"]) * v["X"]), kinks=_xy),
    Spelling("sum(X.gt(0)*X) + sum(X.lt(0.5)*X) + sum(torch.greater_equal(X, 0.1)) + sum(torch.eq(X, 0.25))", ANY,
             lambda v: np.sum((v["X"] > 0) * v["X"]) + np.sum((v["X"] < 0.5) * v["X"]) + np.sum(v["X"] >= 0.1)
             + np.sum(v["X"] == 0.25),
             lambda t, v: t.sum(v["X"].gt(0) * v["X"]) + t.sum(v["X"].lt(0.5) * v["X"])
             + t.sum(t.greater_equal(v["X"], 0.1)) + t.sum(t.eq(v["X"], 0.25)), kinks=_bounds(0, 0.5, 0.1, 0.25)),
    Spelling("sum((X > Y)*X)", [{"X": (1, 2), "Y": (1, 2)}], lambda v: np.sum((v["X"] > v["Y"]) * v["X"]),
             lambda t, v: t.sum((v["X"] > v["Y"]) * v["X"]), values={"X": [[0.5, 1.0]], "Y": [[0.5, 2.0]]},
             verdict="kink"),
    # -- where
    Spelling("sum(where(X > 0, X, 0.1*X))", ANY, lambda v: np.sum(np.where(v["X"] > 0, v["X"], 0.1 * v["X"])),
             lambda t, v: t.sum(t.where(v["X"] > 0, v["X"], 0.1 * v["X"])), kinks=_x),
    Spelling("sum(where(X > 0, X, 0.1)*X)", ANY, lambda v: np.sum(np.where(v["X"] > 0, v["X"], 0.1) * v["X"]),
             lambda t, v: t.sum(t.where(v["X"] > 0, v["X"], 0.1) * v["X"]), kinks=_x),
    Spelling("sum(np.where(X > Y, X, Y)*X)", PAIRS, lambda v: np.sum(np.where(v["X"] > v["Y"], v["X"], v["Y"]) * v["X"]),
             kinks=_xy),
    Spelling("sum(torch.where(X < Y, X*Y, Y**2))", PAIRS, lambda v: np.sum(np.where(v["X"] < v["Y"], v["X"] * v["Y"],
                                                                                    v["Y"] ** 2)),
             lambda t, v: t.sum(t.where(v["X"] < v["Y"], v["X"] * v["Y"], v["Y"] ** 2)), kinks=_xy),
    Spelling("sum(torch.where(Y >= 0, X, 0.5)*X)", PAIRS[:5],
             lambda v: np.sum(np.where(v["Y"] >= 0, v["X"], 0.5) * v["X"]),
             lambda t, v: t.sum(t.where(v["Y"] >= 0, v["X"], 0.5) * v["X"]), kinks=lambda v: [v["Y"]]),
    Spelling("sum(np.where(X, X**2, 1)) + sum(where(X - 0.5, Y, X))", PAIRS[:3],
             lambda v: np.sum(np.where(v["X"], v["X"] ** 2, 1)) + np.sum(np.where(v["X"] - 0.5, v["Y"], v["X"])),
             kinks=_bounds(0, 0.5)),
    Spelling("sum(where(X > 0, X, 2*X))", [{"X": (1, 3)}], lambda v: np.sum(np.where(v["X"] > 0, v["X"], 2 * v["X"])),
             lambda t, v: t.sum(t.where(v["X"] > 0, v["X"], 2 * v["X"])), values={"X": [[0.0, 1.0, -1.0]]},
             verdict="kink"),
]
