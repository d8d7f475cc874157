"""Per-op overhead of the engine: a chain of 1000 small elementwise ops, forward and backward.

What is measured, on a 10x4 float64 array, 250 rounds of four ops

    x = x * 1.0001;  x = x + 0.1;  x = tanh(x);  x = x * x

then `sum(x)` and the gradient with respect to the starting x, in
microseconds per op (the whole forward + backward divided by 1000):

- `numpy floor`    the same 1000 NumPy calls, forward only, no tape: NumPy's
                   own dispatch cost, the floor every engine pays at least once;
- `bare tape`      a minimal Python tape written below (~30 lines): closures
                   in a list, a reversed loop — the cost of the idea itself;
- `gradcalc Tape`  gradcalc's engine (`gradcalc.tape.Tape`, `Tensor` operators);
- `autograd`, `torch`  HIPS autograd and PyTorch eager on the CPU, when installed.

Then the headline loss sum((relu(X@W)-Y)**2) at (n, k, m) = (10, 4, 4),
forward + backward with respect to W, X and Y, in microseconds, beside
hand-written NumPy doing the same (`bench/headline.py`; `numpy-dot` uses
`np.dot` for `@`, as gradcalc does); `gradcalc-record` is the tape fed by the
parsed tree, as `gradcalc eval` runs it.

Implementations alternate round by round (machine noise hits all alike);
each figure is the median over the rounds; the garbage collector is off
while a run is timed, as `timeit` does. Threads: 2 for BLAS and PyTorch.

    python bench/per_op.py [--rounds 40] [--ops 1000]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from typing import Any, Callable

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from headline import IMPLS, inputs  # noqa: E402


class Bare:
    """A value on the bare reference tape: a list of (parent, vjp) pairs per node."""

    __slots__ = ("value", "tape", "i")

    def __init__(self, value: Any, tape: list[Any], parents: tuple[Any, ...]) -> None:
        self.value, self.tape, self.i = value, tape, len(tape)
        tape.append(parents)

    def __mul__(self, o: Any) -> Bare:
        if isinstance(o, Bare):
            a, b = self.value, o.value
            return Bare(a * b, self.tape, ((self.i, lambda g: g * b), (o.i, lambda g: g * a)))
        return Bare(self.value * o, self.tape, ((self.i, lambda g: g * o),))

    def __add__(self, o: float) -> Bare:
        return Bare(self.value + o, self.tape, ((self.i, lambda g: g),))

    def tanh(self) -> Bare:
        y = np.tanh(self.value)
        return Bare(y, self.tape, ((self.i, lambda g: g * (1.0 - y * y)),))

    def sum(self) -> Bare:
        shape = self.value.shape
        return Bare(self.value.sum(), self.tape, ((self.i, lambda g: np.broadcast_to(g, shape)),))


def bare_backward(out: Bare) -> list[Any]:
    """Reverse walk of the bare tape: every node's gradient."""
    grads: list[Any] = [None] * len(out.tape)
    grads[out.i] = 1.0
    for i in range(out.i, -1, -1):
        g = grads[i]
        if g is not None:
            for j, vjp in out.tape[i]:
                c = vjp(g)
                grads[j] = c if grads[j] is None else grads[j] + c
    return grads


def chains(x0: np.ndarray, rounds: int) -> dict[str, Callable[[], Any]]:
    """Each implementation of the chain as a no-argument function; missing engines left out."""
    from gradcalc.lang.ops import OPS
    from gradcalc.tape import Tape

    tanh_op = OPS["tanh"]

    def numpy_floor() -> Any:
        x = x0
        for _ in range(rounds):
            x = x * 1.0001
            x = x + 0.1
            x = np.tanh(x)
            x = x * x
        return x.sum()

    def bare() -> Any:
        x = leaf = Bare(x0, [], ())
        for _ in range(rounds):
            x = x * 1.0001
            x = x + 0.1
            x = x.tanh()
            x = x * x
        return bare_backward(x.sum())[leaf.i]

    def gradcalc() -> Any:
        tape = Tape()
        x = leaf = tape.leaf(x0)
        for _ in range(rounds):
            x = x * 1.0001
            x = x + 0.1
            x = tape.apply(tanh_op, x)
            x = x * x
        return tape.backward(x.sum())[leaf.index]

    found = {"numpy floor": numpy_floor, "bare tape": bare, "gradcalc Tape": gradcalc}
    found.update(_autograd_chain(x0, rounds))
    found.update(_torch_chain(x0, rounds))
    return found


def _autograd_chain(x0: np.ndarray, rounds: int) -> dict[str, Callable[[], Any]]:
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return {}

    def f(x: Any) -> Any:
        for _ in range(rounds):
            x = x * 1.0001
            x = x + 0.1
            x = anp.tanh(x)
            x = x * x
        return anp.sum(x)

    return {"autograd": lambda: autograd.grad(f)(x0)}


def _torch_chain(x0: np.ndarray, rounds: int) -> dict[str, Callable[[], Any]]:
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(2)
    start = torch.from_numpy(x0.copy())

    def run() -> Any:
        x = leaf = start.detach().requires_grad_()
        for _ in range(rounds):
            x = x * 1.0001
            x = x + 0.1
            x = torch.tanh(x)
            x = x * x
        x.sum().backward()
        return leaf.grad

    return {"torch": run}


def headline(wrt: str = "all") -> dict[str, Callable[[], Any]]:
    """The headline loss at 10x4x4 per engine, inputs prepared once."""
    X, W, Y = inputs(10, 4, 4)
    found = {}
    for name in ("numpy", "numpy-dot", "gradcalc", "gradcalc-record", "autograd", "torch"):
        impl = IMPLS[name](wrt)
        if impl is not None:
            prepare, run = impl
            args = prepare(X, W, Y)
            found[name] = (lambda run=run, args=args: run(*args))
    return found


def timed(funcs: dict[str, Callable[[], Any]], rounds: int, inner: int) -> dict[str, float]:
    """Median seconds per call of each function, alternating round by round, gc off while timing."""
    for f in funcs.values():  # warm up
        f()
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(rounds):
        gc.collect()
        for name, f in funcs.items():
            gc.disable()
            start = time.perf_counter()
            for _ in range(inner):
                f()
            times[name].append((time.perf_counter() - start) / inner)
            gc.enable()
    return {name: statistics.median(t) for name, t in times.items()}


def check_chains(funcs: dict[str, Callable[[], Any]]) -> None:
    """Every engine's gradient of the chain agrees with the bare tape's."""
    want = np.asarray(funcs["bare tape"]())
    for name, f in funcs.items():
        if name != "numpy floor":
            got = f()
            got = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
            assert np.allclose(got, want, rtol=1e-10, atol=1e-12), name


def main() -> None:
    """Measure and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--ops", type=int, default=1000, help="chain length, a multiple of 4")
    args = parser.parse_args()
    x0 = np.random.default_rng(0).standard_normal((10, 4))
    funcs = chains(x0, args.ops // 4)
    check_chains(funcs)
    per_op = timed(funcs, args.rounds, 1)
    floor = per_op["numpy floor"]
    print(f"chain of {args.ops} elementwise ops on 10x4 float64, forward + backward")
    print(f"{'impl':<16} {'µs/op':>8} {'x numpy floor':>14}")
    for name, t in per_op.items():
        print(f"{name:<16} {t / args.ops * 1e6:>8.2f} {t / floor:>14.2f}")
    loss = timed(headline(), args.rounds, 50)
    base = loss["numpy"]
    print("\nheadline sum((relu(X@W)-Y)**2) at (10,4,4), forward + backward wrt W, X, Y")
    print(f"{'impl':<16} {'µs':>8} {'x numpy':>14}")
    for name, t in loss.items():
        print(f"{name:<16} {t * 1e6:>8.1f} {t / base:>14.2f}")
    print(f"({args.rounds} rounds, alternating; medians; numpy {np.__version__}, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
