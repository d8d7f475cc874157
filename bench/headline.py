"""The headline loss f = sum((relu(X@W) - Y)**2), forward and backward, once per engine.

Shared by `bench/engine.py` and `bench/per_op.py`; not a script of its own.
Every implementation computes in float64 the value f and the gradients in the
order W, X, Y — all three leaves require a gradient, as in everyday PyTorch
use (`wrt="all"`), or W alone (`wrt="W"`).

`numpy` is the reference: hand-written, with `@` as one writes it;
`numpy-dot` is the same with `np.dot`, which gradcalc uses for two
matrices (the same product, about 0.35 µs less per call on small ones).

`IMPLS[name](wrt)` returns `(prepare, run)`: `prepare(X, W, Y)` turns NumPy
arrays into the engine's inputs once, outside the timing (zero-copy where the
engine allows), and `run(*prepared)` does one forward and backward and returns
`(f, grads)`. It returns None when the engine is not installed. HIPS autograd
and PyTorch are imported only here, only when asked for.

>>> import numpy as np
>>> X, W, Y = inputs(3, 2, 2)
>>> answers = {name: answer(name, "all", X, W, Y) for name in ("numpy", "gradcalc")}
>>> all(np.allclose(a, b) for a, b in zip(answers["numpy"][1], answers["gradcalc"][1]))
True
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

Impl = tuple[Callable[..., tuple[Any, ...]], Callable[..., tuple[float, tuple[Any, ...]]]]


def inputs(n: int, k: int, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (n×k), W (k×m), Y (n×m): standard normals in float64.

    >>> [a.shape for a in inputs(10, 4, 3)]
    [(10, 4), (4, 3), (10, 3)]
    """
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, k)), rng.standard_normal((k, m)), rng.standard_normal((n, m))


def forward_bytes(n: int, k: int, m: int) -> int:
    """Bytes of the forward's own float64 arrays: X, W, Y, Z = X@W, H = relu(Z), D = H - Y.

    >>> forward_bytes(10, 4, 4)
    1728
    """
    return 8 * (n * k + k * m + 4 * n * m)


def numpy_impl(wrt: str, mm: Callable[[Any, Any], Any] = np.matmul) -> Impl:
    """Hand-written NumPy: each array once, in place where it is safe, no autodiff; `mm` multiplies matrices."""

    def run(X: np.ndarray, W: np.ndarray, Y: np.ndarray) -> tuple[float, tuple[Any, ...]]:
        Z = mm(X, W)
        D = np.maximum(Z, 0.0)
        D -= Y  # D = relu(Z) - Y, in relu's own buffer
        f = float(np.vdot(D, D))
        D *= 2.0  # ∂f/∂D
        dY = -D if wrt == "all" else None
        D *= Z > 0  # ∂f/∂Z
        dW = mm(X.T, D)
        return f, ((dW, mm(D, W.T), dY) if wrt == "all" else (dW,))

    return (lambda X, W, Y: (X, W, Y)), run


def gradcalc_impl(wrt: str) -> Impl:
    """gradcalc's tape, used as a library (the README's `Tape` example)."""
    from gradcalc.lang.ops import OPS
    from gradcalc.tape import Tape

    relu = OPS["relu"]

    def run(X: np.ndarray, W: np.ndarray, Y: np.ndarray) -> tuple[float, tuple[Any, ...]]:
        tape = Tape()
        w, x, y = tape.leaf(W), tape.leaf(X, wrt == "all"), tape.leaf(Y, wrt == "all")
        loss = ((tape.apply(relu, x @ w) - y) ** 2).sum()
        grads = tape.backward(loss)
        return float(loss.value), tuple(grads[t.index] for t in ((w, x, y) if wrt == "all" else (w,)))

    return (lambda X, W, Y: (X, W, Y)), run


def gradcalc_record_impl(wrt: str) -> Impl:
    """gradcalc's tape fed by the parsed tree, as `gradcalc eval` runs it (`tape.record`)."""
    from gradcalc.lang.parse import parse
    from gradcalc.tape import record

    tree = parse("sum((relu(X@W)-Y)**2)")
    names = ("W", "X", "Y") if wrt == "all" else ("W",)

    def run(X: np.ndarray, W: np.ndarray, Y: np.ndarray) -> tuple[float, tuple[Any, ...]]:
        tape, tensors, leaves = record(tree, {"X": X, "W": W, "Y": Y}, set(names))
        root = tensors[id(tree)]
        grads = tape.backward(root)
        return float(root.value), tuple(grads[leaves[name].index] for name in names)

    return (lambda X, W, Y: (X, W, Y)), run


def autograd_impl(wrt: str) -> Impl | None:
    """HIPS autograd: `grad` of the loss, traced afresh at every call as autograd does."""
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None

    def loss(W: Any, X: Any, Y: Any) -> Any:
        return anp.sum((anp.maximum(anp.dot(X, W), 0.0) - Y) ** 2)

    both = autograd.value_and_grad(loss, (0, 1, 2) if wrt == "all" else 0)

    def run(X: np.ndarray, W: np.ndarray, Y: np.ndarray) -> tuple[float, tuple[Any, ...]]:
        f, grads = both(W, X, Y)
        return float(f), (tuple(grads) if wrt == "all" else (grads,))

    return (lambda X, W, Y: (X, W, Y)), run


def torch_impl(wrt: str) -> Impl | None:
    """PyTorch eager on the CPU: leaves that require grad, `.backward()`, `.grad`."""
    try:
        import torch
    except ImportError:
        return None

    def prepare(X: np.ndarray, W: np.ndarray, Y: np.ndarray) -> tuple[Any, ...]:
        return (torch.from_numpy(X).requires_grad_(wrt == "all"), torch.from_numpy(W).requires_grad_(),
                torch.from_numpy(Y).requires_grad_(wrt == "all"))

    def run(X: Any, W: Any, Y: Any) -> tuple[float, tuple[Any, ...]]:
        X.grad = W.grad = Y.grad = None
        loss = ((torch.relu(X @ W) - Y) ** 2).sum()
        loss.backward()
        return loss.item(), ((W.grad, X.grad, Y.grad) if wrt == "all" else (W.grad,))

    return prepare, run


IMPLS: dict[str, Callable[[str], Impl | None]] = {
    "numpy": numpy_impl, "numpy-dot": lambda wrt: numpy_impl(wrt, np.dot), "gradcalc": gradcalc_impl, "gradcalc-record": gradcalc_record_impl,
    "autograd": autograd_impl, "torch": torch_impl,
}


def answer(name: str, wrt: str, X: np.ndarray, W: np.ndarray, Y: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """One engine's f and gradients as NumPy arrays, for checking that all agree.

    >>> f, grads = answer("numpy", "W", *inputs(3, 2, 2))
    >>> len(grads), grads[0].shape
    (1, (2, 2))
    """
    impl = IMPLS[name](wrt)
    assert impl is not None, name
    prepare, run = impl
    f, grads = run(*prepare(X, W, Y))
    return f, [np.asarray(g.detach().numpy() if hasattr(g, "detach") else g) for g in grads]
