"""Second order by the engine: Hessian-vector products against hand-written NumPy, and a full Hessian.

1. Logistic regression f(w) = sum(log(1 + exp(-y*(X@w)))), X m×n (m = 2n samples, n = 1000, 2000, 3000, 4000
   features), labels y = ±1, float64. The Hessian-vector product H v at w along v, by

   - `numpy`         hand-written NumPy, the textbook way: z = Xw, d = y²σ(yz)(1 − σ(yz)), Hv = Xᵀ(d ⊙ (Xv))
                     (three products with X) — the reference every ratio is to;
   - `numpy-fused`   the same with Xw and Xv in one product X[w v] (two passes over X, as the engine makes);
   - `gradcalc`      `gradcalc.dual.engine.hvp(..., gradient=False)` on the parsed tree, as `eval --hvp` runs it:
                     the op table's forwards and VJPs run on dual numbers (forward over reverse); the last step's
                     value, the gradient, is left uncomputed (three products with X, as by hand).

   Samples alternate between the implementations, round after round, so that machine noise hits all alike;
   `median` and `x numpy` (the median over rounds of the ratio to NumPy's sample of the same round), and
   `best x numpy`, the best sample over NumPy's best (noise from other processes can only make a sample slower).
   Target: `x numpy` ≤ 1.5 at every size.

2. The full Hessian of the quadratic form x@A@x with 200 variables (one HVP per entry), by the engine, and the
   whole `gradcalc eval --hessian` job (closed form and finite differences of the gradient included).
   Target: the engine's Hessian in < 0.5 s.

    python bench/second_order.py [--rounds 7] [--sizes 1000,2000,3000,4000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", default="1000,2000,3000,4000")
    parser.add_argument("--threads", default="2")
    args = parser.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = args.threads
    import numpy as np  # after the thread settings, which BLAS reads when it loads

    from gradcalc.dual import engine
    from gradcalc.jobs.second import run_hessian
    from gradcalc.lang.parse import parse
    from gradcalc.options import EvalOptions

    def sigmoid(a: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh(0.5 * a))

    def numpy_hvp(X: np.ndarray, w: np.ndarray, y: np.ndarray, v: np.ndarray) -> np.ndarray:
        s = sigmoid(y * (X @ w))
        return X.T @ (y * y * s * (1.0 - s) * (X @ v))

    def fused_hvp(X: np.ndarray, w: np.ndarray, y: np.ndarray, v: np.ndarray) -> np.ndarray:
        z, t = np.dot(np.stack((w, v)), X.T)
        s = sigmoid(y * z)
        return X.T @ (y * y * s * (1.0 - s) * t)

    tree = parse("sum(log(1 + exp(-y*(X@w))))")
    print(f"load average {os.getloadavg()[0]:.2f}; BLAS threads {args.threads}")
    print(f"{'m x n':>11} {'numpy':>10} {'numpy-fused':>12} {'gradcalc':>10} {'x numpy':>8} {'x fused':>8} "
          f"{'best x numpy':>13}")
    for n in [int(k) for k in args.sizes.split(",")]:
        rng = np.random.default_rng(n)
        m = 2 * n
        X = rng.standard_normal((m, n)) / np.sqrt(n)
        w, v = rng.standard_normal(n), rng.standard_normal(n)
        y = np.where(rng.standard_normal(m) > 0, 1.0, -1.0)
        values = {"X": X, "w": w, "y": y}
        ours = engine.hvp(tree, values, {"w": v}, ["w"], gradient=False)["w"][1]
        assert np.allclose(ours, numpy_hvp(X, w, y, v), rtol=1e-10, atol=1e-12)
        assert np.allclose(fused_hvp(X, w, y, v), numpy_hvp(X, w, y, v), rtol=1e-10, atol=1e-12)
        runs = {"numpy": lambda: numpy_hvp(X, w, y, v), "numpy-fused": lambda: fused_hvp(X, w, y, v),
                "gradcalc": lambda: engine.hvp(tree, values, {"w": v}, ["w"], gradient=False)}
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, run in runs.items():
                repeat = 3
                start = time.perf_counter()
                for _ in range(repeat):
                    run()
                samples[name].append((time.perf_counter() - start) / repeat)
                time.sleep(0.2)  # let OpenBLAS's spinning threads sleep before the next one
        ratio = statistics.median(g / b for g, b in zip(samples["gradcalc"], samples["numpy"]))
        fused = statistics.median(g / b for g, b in zip(samples["gradcalc"], samples["numpy-fused"]))
        med = {name: statistics.median(s) * 1e3 for name, s in samples.items()}
        best = min(samples["gradcalc"]) / min(samples["numpy"])
        print(f"{f'{m}x{n}':>11} {med['numpy']:>8.2f}ms {med['numpy-fused']:>10.2f}ms {med['gradcalc']:>8.2f}ms "
              f"{ratio:>8.2f} {fused:>8.2f} {best:>13.2f}")

    rng = np.random.default_rng(0)
    values = {"x": rng.standard_normal(200), "A": rng.standard_normal((200, 200))}
    quadratic = parse("x@A@x")
    H = engine.hessian(quadratic, values, ["x"])
    assert np.allclose(H, values["A"] + values["A"].T)
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        engine.hessian(quadratic, values, ["x"])
        times.append(time.perf_counter() - start)
    print(f"\nHessian of x@A@x, 200 variables (200 HVPs): median {statistics.median(times):.3f} s, "
          f"best {min(times):.3f} s")
    start = time.perf_counter()
    result = run_hessian("x@A@x", EvalOptions(wrt=["x"], shapes={"x": (200,)}, hessian=True))
    print(f"the whole eval --hessian job (engine, closed form {result.blocks[0].formula!r}, finite differences of "
          f"the gradient, verdict {result.verdict}): {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
