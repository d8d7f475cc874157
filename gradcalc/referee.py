"""The referee: central finite differences, tolerances and verdicts.

Finite differences perturb one entry at a time by ±h_i with a step of
that entry's own, h_i = ∛ε · max(1, |x_i|), so one large entry does not
coarsen the others. While doing so they watch every kink on the way
(relu, clamp and heaviside arguments, maximum's ties): an entry whose
perturbation moves any kink argument across its kink is not trusted, and
a disagreement there gives the verdict `kink` rather than `mismatch`.
Each smooth entry over whose ±h_i f bends (a second difference beyond
FD_SCREEN) is validated by a second estimate at h_i/2: when the two
disagree beyond what truncation at a sound step and round-off allow, the
step shrinks (by 10, at most FD_SHRINKS times); an entry that never settles
is `unsure` -- untrusted, but no kink: it cannot fail the verdict, which
then rests on the engine and the closed form alone.

>>> import numpy as np
>>> compare(np.array([1.0, 2.0]), np.array([1.0, 2.5]))
(0.5, 0.2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcalc.lang.ops import OPS
from gradcalc.tape import record
from gradcalc.lang.tree import Node, depending, postorder

#: (rtol, atol) between autograd and the symbolic formula; atol is scaled by max(1, max|gradient|).
DEFAULT_TOLERANCES = {"float64": (1e-7, 1e-9), "float32": (1e-4, 1e-5)}
#: Relative tolerance for finite differences, on top of their round-off (~ ε|f|/h).
FD_RTOL = 1e-5
#: Variables with more entries than this get finite differences on a sample of FD_SAMPLE entries.
FD_ALL_ENTRIES, FD_SAMPLE = 2048, 256
#: How often a step that fails validation is divided by 10 before its entry is marked unsure.
FD_SHRINKS = 3
#: The largest second difference |f(x+h) − 2f(x) + f(x−h)|, relative to max(1, |f|), a sound step leaves.
FD_BEND = 1e-3
#: Below this second difference (relative to max(1, |f|)) f is all but straight over ±h and the estimate is
#: taken without the second one at h/2, which would double the cost of every entry.
FD_SCREEN = 1e-9
VERDICTS = ("mismatch", "undefined", "kink", "equal")  # worst first


@dataclass
class FiniteDifference:
    """A finite-difference gradient and the entries it cannot vouch for.

    >>> from gradcalc.lang.parse import parse
    >>> fd = finite_difference(parse("sum(relu(x))"), {"x": np.array([[1e-7, -2.0]])}, "x")
    >>> fd.untrusted  # the first entry sits within one step of relu's kink
    array([[ True, False]])
    """

    value: np.ndarray  # NaN where not checked (a big variable is sampled)
    step: float  # the largest step taken
    untrusted: np.ndarray  # bool, True where a kink lies within ±step
    f: float
    checked: np.ndarray | None = None  # bool, the entries computed; None means all
    steps: np.ndarray | None = None  # the step of each entry (like value); None means `step` everywhere
    unsure: np.ndarray | None = None  # bool, smooth entries whose estimate did not validate; None means none

    @property
    def suspect(self) -> np.ndarray:
        """Every entry finite differences cannot vouch for: at a kink, or unsure.

        >>> FiniteDifference(np.zeros(2), 1e-6, np.array([True, False]), 0.0, unsure=np.array([False, True])).suspect
        array([ True,  True])
        """
        return self.untrusted if self.unsure is None else self.untrusted | self.unsure

    @property
    def mask(self) -> np.ndarray:
        """The entries that were computed.

        >>> FiniteDifference(np.zeros(2), 1e-6, np.zeros(2, bool), 0.0).mask
        array([ True,  True])
        """
        return np.ones(self.value.shape, bool) if self.checked is None else self.checked


def finite_difference(root: Node, values: dict[str, np.ndarray], name: str, jacobian: bool = False
                      ) -> FiniteDifference:
    """Central differences of the expression's sum (its gradient), or with `jacobian` of every output entry.

    The Jacobian (one row per output entry, one column per input entry)
    is never sampled; its `untrusted` marks every entry of a column whose
    step moves a kink, and its `f` is the output's largest magnitude (for
    the round-off allowance).

    >>> from gradcalc.lang.parse import parse
    >>> fd = finite_difference(parse("sum(x*x)"), {"x": np.array([[1.0, 2.0]])}, "x")
    >>> np.round(fd.value, 6)
    array([[2., 4.]])
    >>> np.round(finite_difference(parse("x*x"), {"x": np.array([1.0, 2.0])}, "x", jacobian=True).value, 6)
    array([[2., 0.],
           [0., 4.]])
    """
    values = {key: np.asarray(v, dtype=np.float64) for key, v in values.items()}  # the referee works in float64
    x = values[name]
    probe = Probe(root, values, name, whole=jacobian)
    y0, kinks0 = probe(x)
    f = float(np.max(np.abs(y0), initial=0.0))
    sampled = x.size > FD_ALL_ENTRIES and not jacobian
    columns = np.full((y0.size, x.size), np.nan) if sampled else np.zeros((y0.size, x.size))
    untrusted, unsure = np.zeros(x.size, dtype=bool), np.zeros(x.size, dtype=bool)
    steps = steps_for(x).ravel()
    for index in (list(np.ndindex(*x.shape)) if jacobian else _entries(x.shape)):
        j = int(np.ravel_multi_index(index, x.shape)) if x.shape else 0
        first = _central(probe, x, index, steps[j], (y0, kinks0))
        untrusted[j] = first[1]
        estimate = first[0]
        if not untrusted[j] and first[2] > FD_SCREEN * max(1.0, f):  # f bends within ±h: validate
            estimate, steps[j], unsure[j] = _validated(probe, x, index, steps[j], (y0, kinks0), first, f)
        columns[:, j] = estimate
    step = float(np.max(steps, initial=0.0))
    if jacobian:
        wide = (y0.size, x.size)
        return FiniteDifference(columns, step, np.broadcast_to(untrusted, wide).copy(), f,
                                steps=np.broadcast_to(steps, wide).copy(), unsure=np.broadcast_to(unsure, wide).copy())
    grad = columns.reshape(x.shape)
    return FiniteDifference(grad, step, untrusted.reshape(x.shape), float(y0), ~np.isnan(grad) if sampled else None,
                            steps.reshape(x.shape), unsure.reshape(x.shape))


def steps_for(x: np.ndarray) -> np.ndarray:
    """The step of central differences in each entry of x: h_i = ∛ε · max(1, |x_i|).

    >>> np.round(steps_for(np.array([[-100.0, 1e-3]])), 8)
    array([[6.0555e-04, 6.0600e-06]])
    """
    return np.cbrt(np.finfo(np.float64).eps) * np.maximum(1.0, np.abs(np.asarray(x, dtype=np.float64)))


def _central(probe: Probe, x: np.ndarray, index: tuple[int, ...], h: float, base: tuple[np.ndarray, list]
             ) -> tuple[np.ndarray, bool, float]:
    """The central difference in one entry (over the steps x ± h really takes), whether it crosses a kink, and
    the second difference |f(x+h) − 2f(x) + f(x−h)| (≈ h²|f''| where h resolves f)."""
    y0, kinks0 = base
    plus, minus = _moved(x, index, h), _moved(x, index, -h)
    (y_plus, kinks_plus), (y_minus, kinks_minus) = probe(plus), probe(minus)
    taken = float(plus[index] - minus[index])  # exactly representable, unlike 2h next to a large entry
    crossed = any(not (np.array_equal(k0, kp) and np.array_equal(k0, km))
                  for k0, kp, km in zip(kinks0, kinks_plus, kinks_minus))
    bend = float(np.max(np.abs(y_plus - 2 * y0 + y_minus), initial=0.0))
    return np.ravel(y_plus - y_minus) / taken, crossed, bend


def _validated(probe: Probe, x: np.ndarray, index: tuple[int, ...], h: float, base: tuple[np.ndarray, list],
               first: tuple[np.ndarray, bool, float], f: float) -> tuple[np.ndarray, float, bool]:
    """The estimate at h checked against one at h/2, shrinking h where they disagree; (estimate, step, unsure).

    A sound step leaves the two within FD_RTOL of the derivative's size
    plus their round-off (~ ε|f|/h), and bends f little over ±h: a second
    difference beyond FD_BEND of |f| means the step spans a wiggle, where
    both estimates can agree by chance (sin far out: both near 0).
    """
    eps = np.finfo(np.float64).eps
    estimate, _, bend = first
    for _ in range(FD_SHRINKS + 1):
        half, crossed, _ = _central(probe, x, index, h / 2, base)
        size = max(1.0, float(np.max(np.abs(estimate), initial=0.0)), float(np.max(np.abs(half), initial=0.0)))
        allowance = FD_RTOL * size + 30 * eps * max(1.0, f) / h
        if crossed:
            break
        if bend <= FD_BEND * max(1.0, f) and float(np.max(np.abs(estimate - half), initial=0.0)) <= allowance:
            return estimate, h, False
        h /= 10
        estimate, crossed, bend = _central(probe, x, index, h, base)
        if crossed:
            break
    return estimate, h, True


def step_for(x: np.ndarray) -> float:
    """The step of central differences in x: h = ∛ε · max(1, max|x|).

    >>> round(step_for(np.array([[-100.0, 1.0]])), 6)
    0.000606
    """
    return float(np.cbrt(np.finfo(np.float64).eps) * max(1.0, float(np.max(np.abs(x), initial=0.0))))


def engine_gradient(root: Node, values: dict[str, np.ndarray], wrt: list[str]) -> np.ndarray:
    """The tape's gradient of the expression's sum over the `wrt` variables, flattened and concatenated.

    >>> from gradcalc.lang.parse import parse
    >>> engine_gradient(parse("sum(x*y)"), {"x": np.array([1.0, 2.0]), "y": np.array([3.0, 4.0])}, ["y", "x"])
    array([1., 2., 3., 4.])
    """
    tape, tensors, leaves = record(root, values, set(wrt))
    out = tensors[id(root)]
    grads = tape.backward(out, seed=np.ones(out.value.shape))
    return np.concatenate([np.zeros(values[n].size) if grads[leaves[n].index] is None
                           else np.ravel(grads[leaves[n].index]) for n in wrt])


def second_difference(root: Node, values: dict[str, np.ndarray], name: str, direction: np.ndarray | None = None,
                      wrt: tuple[str, ...] | list[str] = ()) -> FiniteDifference:
    """Central differences in `name` of the engine's gradient over `wrt` (second order), or without `wrt` of the
    expression's every entry (first order, a Jacobian-vector product).

    Along `direction` (shaped like `name`) they give one column: a
    Hessian-vector product, or a JVP; without it one column per entry of
    `name`: that variable's columns of the Hessian (a Jacobian without
    `wrt`). The step is the referee's, in units of the direction's largest
    entry; a column whose steps move a kink is untrusted.

    >>> from gradcalc.lang.parse import parse
    >>> fd = second_difference(parse("sum(x**3)"), {"x": np.array([1.0, 2.0])}, "x", wrt=["x"])
    >>> np.round(fd.value, 6), bool(fd.untrusted.any())
    (array([[ 6.,  0.],
           [ 0., 12.]]), False)
    >>> np.round(second_difference(parse("x**3"), {"x": np.array([1.0, 2.0])}, "x", np.ones(2)).value, 6)
    array([ 3., 12.])
    """
    values = {key: np.asarray(v, dtype=np.float64) for key, v in values.items()}
    x = values[name]
    probe = Probe(root, values, name, whole=True)
    y0, kinks0 = probe(x)
    if wrt:
        y0 = engine_gradient(root, values, list(wrt))
    scale = 1.0 if direction is None else max(1.0, float(np.max(np.abs(direction), initial=0.0)))
    step = step_for(x) / scale
    moves = [np.ravel(direction).astype(np.float64)] if direction is not None else list(np.eye(x.size))
    columns, untrusted = np.zeros((y0.size, len(moves))), np.zeros(len(moves), dtype=bool)
    for j, move in enumerate(moves):
        sides = []
        for sign in (1.0, -1.0):
            moved = x + sign * step * move.reshape(x.shape)
            y, kinks = probe(moved)
            sides.append((engine_gradient(root, {**values, name: moved}, list(wrt)) if wrt else y, kinks))
        (y_plus, kinks_plus), (y_minus, kinks_minus) = sides
        columns[:, j] = np.ravel(y_plus - y_minus) / (2 * step)
        untrusted[j] = any(not (np.array_equal(k0, kp) and np.array_equal(k0, km))
                           for k0, kp, km in zip(kinks0, kinks_plus, kinks_minus))
    f = float(np.max(np.abs(y0), initial=0.0))
    if direction is not None:
        shape = np.shape(y0) if not wrt else (y0.size,)
        return FiniteDifference(columns.reshape(shape), step, np.full(shape, bool(untrusted[0])), f)
    return FiniteDifference(columns, step, np.broadcast_to(untrusted, columns.shape).copy(), f)


def _moved(x: np.ndarray, index: tuple[int, ...], by: float) -> np.ndarray:
    moved = x.copy()
    moved[index] += by
    return moved


def _entries(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every index, or for a big variable FD_SAMPLE of them: the corners and a fixed random choice."""
    size = int(np.prod(shape))
    if size <= FD_ALL_ENTRIES:
        return list(np.ndindex(*shape))
    flat = np.random.default_rng(0).choice(size, FD_SAMPLE - 2, replace=False)
    chosen = sorted({0, size - 1, *flat.tolist()})
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in chosen]


def fd_difference(autograd: np.ndarray, fd: FiniteDifference) -> float:
    """The largest |autograd − finite differences| over the entries finite differences computed.

    >>> fd = FiniteDifference(np.array([1.0, np.nan]), 1e-6, np.zeros(2, bool), 0.0, np.array([True, False]))
    >>> fd_difference(np.array([1.5, 7.0]), fd)
    0.5
    """
    mask = fd.mask if fd.unsure is None else fd.mask & ~(fd.unsure & ~fd.untrusted)  # unsure entries say nothing
    return compare(np.asarray(autograd)[mask], fd.value[mask])[0]


class Probe:
    """Re-evaluates only the nodes that depend on one variable, and reads the side of every kink.

    >>> from gradcalc.lang.parse import parse
    >>> probe = Probe(parse("sum(relu(x))"), {"x": np.array([1.0, -2.0])}, "x")
    >>> probe(np.array([3.0, -1.0]))
    (array(3.), [array([ 1., -1.])])
    """

    def __init__(self, root: Node, values: dict[str, np.ndarray], name: str, whole: bool = False) -> None:
        self.root, self.name, self.whole = root, name, whole
        _, tensors, _ = record(root, values)
        self.base = {key: t.value for key, t in tensors.items()}
        order = postorder(root)
        detached = frozenset(op.name for op in OPS.values() if op.stops_gradient)  # held constant
        moving = depending(order, {name}, detached)
        self.moving = [n for n in order if id(n) in moving and n.op != "var"]
        self.leaves = [id(n) for n in order if n.op == "var" and n.name == name]
        self.kinks = [n for n in self.moving if OPS[n.op].kink is not None]  # the others cannot move

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The expression's sum (or with `whole` its every entry) at `x`, and the side of each kink argument."""
        values = dict(self.base)
        values.update((key, x) for key in self.leaves)
        for node in self.moving:
            values[id(node)] = OPS[node.op].forward(*(values[id(a)] for a in node.args), **node.kwargs)
        kinks = [np.sign(OPS[n.op].kink(*(values[id(a)] for a in n.args), **n.kwargs)) for n in self.kinks]
        out = values[id(self.root)]
        return (np.asarray(out, dtype=np.float64) if self.whole else np.asarray(float(np.sum(out)))), kinks


def compare(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Maximum absolute and relative difference between two arrays.

    >>> compare(np.array(0.0), np.array(0.0))
    (0.0, 0.0)
    """
    diff = np.abs(np.asarray(a, dtype=np.float64) - b)
    if diff.size == 0 or not np.all(np.isfinite(diff)):
        return (float("nan"), float("nan")) if diff.size else (0.0, 0.0)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), np.finfo(np.float64).tiny)
    return float(diff.max()), float((diff / scale).max())


def verdict(autograd: np.ndarray, symbolic: np.ndarray, fd: FiniteDifference,
            rtol: float, atol: float | None, dtype: str = "float64") -> str:
    """`equal`, `kink`, `mismatch` or `undefined` for one gradient (SPEC section 6).

    `atol=None` means the default for `dtype`, scaled by the gradient's size.
    Finite differences (always float64) may differ from a float32 gradient by
    float32 round-off, so their tolerance is at least the dtype's rtol.

    >>> g = np.array([[1.0, -2.0]])
    >>> fd = FiniteDifference(g + 1e-9, 1e-6, np.zeros(g.shape, bool), 0.0)
    >>> verdict(g, g, fd, 1e-7, None)
    'equal'
    """
    if not all(np.all(np.isfinite(v)) for v in (autograd, symbolic, fd.value[fd.mask])) or not np.isfinite(fd.f):
        return "undefined"
    scale = max(1.0, float(np.max(np.abs(autograd), initial=0.0)))
    if atol is None:
        atol = DEFAULT_TOLERANCES[dtype][1] * scale
    apart = ~np.isclose(autograd, symbolic, rtol=rtol, atol=atol)
    if apart.any():  # at an exact tie the two derivations may round to different sides of the kink
        return "kink" if fd.untrusted[apart].all() else "mismatch"
    steps = fd.step if fd.steps is None else fd.steps
    roundoff = 10 * np.finfo(np.float64).eps * max(1.0, abs(fd.f)) / steps
    fd_rtol = max(FD_RTOL, DEFAULT_TOLERANCES[dtype][0])
    close = np.abs(fd.value - autograd) <= fd_rtol * (scale + np.abs(autograd)) + roundoff + atol
    close |= ~fd.mask
    if fd.unsure is not None:  # a smooth entry finite differences could not estimate: the other two decide
        close |= fd.unsure & ~fd.untrusted
    if close.all():  # on or next to a kink (a tie of maximum, relu at 0) the derivative is a convention
        return "kink" if fd.untrusted[fd.mask].any() else "equal"
    return "kink" if fd.untrusted[~close].all() else "mismatch"


@dataclass
class Judgement:
    """Three derivations of one gradient (or Jacobian, or adjoint), their differences and the verdict.

    >>> g = np.array([1.0, 2.0])
    >>> j = judge(g, g, FiniteDifference(g, 1e-6, np.zeros(2, bool), 0.0), 1e-7, None)
    >>> j.verdict, j.max_abs_diff, j.fd_checked
    ('equal', 0.0, 2)
    """

    autograd: np.ndarray
    symbolic: np.ndarray
    finite_difference: np.ndarray
    step: float
    untrusted: int  # entries finite differences cannot vouch for (a kink within a step, or unsure)
    unsure: int  # of those, the ones with no kink whose estimate did not validate
    fd_checked: int  # entries finite differences computed (a sample for a big variable; the others are NaN)
    max_abs_diff: float
    max_rel_diff: float
    fd_max_abs_diff: float
    verdict: str


def judge(autograd: np.ndarray, symbolic: np.ndarray, fd: FiniteDifference, rtol: float, atol: float | None,
          dtype: str = "float64") -> Judgement:
    """Compare the engine's numbers, the closed form's and finite differences, and give the verdict.

    >>> g = np.array([[1.0, -2.0]])
    >>> judge(g, g + 1.0, FiniteDifference(g, 1e-6, np.zeros(g.shape, bool), 0.0), 1e-7, None).verdict
    'mismatch'
    """
    abs_diff, rel_diff = compare(autograd, symbolic)
    unsure = 0 if fd.unsure is None else int((fd.unsure & ~fd.untrusted).sum())
    judged = verdict(autograd, symbolic, fd, rtol, atol, dtype)
    return Judgement(autograd, symbolic, fd.value, fd.step, int(fd.suspect.sum()), unsure, int(fd.mask.sum()),
                     abs_diff, rel_diff, fd_difference(autograd, fd), judged)


def worst(verdicts: list[str]) -> str:
    """The overall verdict: the worst of the parts.

    >>> worst(["equal", "kink"])
    'kink'
    """
    return min(verdicts, key=VERDICTS.index, default="equal")
