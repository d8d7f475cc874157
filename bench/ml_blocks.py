"""The engine on the losses ML engineers check: a 2-layer softmax classifier and an attention block.

What is measured, in float64, forward and backward with respect to the weights:

- classifier: f = -sum(P*log_softmax(relu(X@W1)@W2, axis=1))/n, X n×d, W1 d×h, W2 h×c,
  P n×c class probabilities (rows sum to 1), d = 256, h = 256, c = 10;
- attention: f = sum((softmax((X@Wq)@(X@Wk).T/8, axis=1)@(X@Wv))*G), X n×d, Wq, Wk, Wv d×d,
  G n×d, d = 64 (8 = sqrt(d));

for n = 256, 512, 1024, 2048 tokens/samples, by

- `numpy`     the same computation written by hand in NumPy (forward, then the backward pass a person
              derives: softmax − P, the row-wise softmax VJP, relu's mask);
- `gradcalc`  gradcalc's tape fed by the parsed expression, as `gradcalc eval` runs it
              (`gradcalc.tape.record`, then `backward`).

Both are checked to agree (gradients to 1e-9 relative) before timing. Samples alternate between the two,
round by round, after a warm-up; the median over rounds of each sample, and of the ratio gradcalc/numpy of
the same round, is printed. Then `derive` of both expressions with symbolic sizes, cold (derivation and
print caches cleared), timed over 3 runs. Targets (issue 13): ratio <= 1.2; derive < 1 s.

    python bench/ml_blocks.py [--rounds 7] [--sizes 256,512,1024,2048] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any, Callable

THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

CLASSIFIER = "-sum(P*log_softmax(relu(X@W1)@W2, axis=1))/{n}"
ATTENTION = "sum((softmax((X@Wq)@(X@Wk).T/8, axis=1)@(X@Wv))*G)"


def classifier_values(n: int, rng: Any) -> dict[str, Any]:
    import numpy as np

    d, h, c = 256, 256, 10
    logits = rng.standard_normal((n, c))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return {"X": rng.standard_normal((n, d)), "W1": rng.standard_normal((d, h)) / 16,
            "W2": rng.standard_normal((h, c)) / 16, "P": p}


def attention_values(n: int, rng: Any) -> dict[str, Any]:
    d = 64
    return {"X": rng.standard_normal((n, d)), "Wq": rng.standard_normal((d, d)) / 8,
            "Wk": rng.standard_normal((d, d)) / 8, "Wv": rng.standard_normal((d, d)) / 8,
            "G": rng.standard_normal((n, d))}


def classifier_numpy(v: dict[str, Any]) -> dict[str, Any]:
    """Forward and the hand-derived backward of the classifier loss."""
    import numpy as np

    x, w1, w2, p = v["X"], v["W1"], v["W2"], v["P"]
    n = len(x)
    z1 = x @ w1
    h = np.maximum(z1, 0.0)
    z2 = h @ w2
    top = z2.max(axis=1, keepdims=True)
    e = np.exp(z2 - top)
    s = e.sum(axis=1, keepdims=True)
    logp = z2 - top - np.log(s)
    loss = -np.sum(p * logp) / n
    dz2 = (e / s * p.sum(axis=1, keepdims=True) - p) / n
    dw2 = h.T @ dz2
    dz1 = (dz2 @ w2.T) * (z1 > 0)
    return {"value": loss, "W1": x.T @ dz1, "W2": dw2}


def attention_numpy(v: dict[str, Any]) -> dict[str, Any]:
    """Forward and the hand-derived backward of the attention block."""
    import numpy as np

    x, wq, wk, wv, g = v["X"], v["Wq"], v["Wk"], v["Wv"], v["G"]
    q, k, val = x @ wq, x @ wk, x @ wv
    s = q @ k.T / 8.0
    e = np.exp(s - s.max(axis=1, keepdims=True))
    a = e / e.sum(axis=1, keepdims=True)
    out = a @ val
    loss = np.sum(out * g)
    da = g @ val.T
    ds = a * (da - np.sum(da * a, axis=1, keepdims=True)) / 8.0
    return {"value": loss, "Wq": x.T @ (ds @ k), "Wk": x.T @ (ds.T @ q), "Wv": x.T @ (a.T @ g)}


def engine(expression: str, wrt: list[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """gradcalc's tape on the parsed expression (parsed once, as a batch of calls would)."""
    from gradcalc.lang.parse import parse
    from gradcalc.tape import record

    tree = parse(expression)

    def run(v: dict[str, Any]) -> dict[str, Any]:
        tape, tensors, leaves = record(tree, v, set(wrt))
        root = tensors[id(tree)]
        grads = tape.backward(root)
        return {"value": float(root.value), **{name: grads[leaves[name].index] for name in wrt}}

    return run


def check(a: dict[str, Any], b: dict[str, Any], what: str) -> None:
    import numpy as np

    for key in a:
        if not np.allclose(a[key], b[key], rtol=1e-9, atol=1e-12):
            raise SystemExit(f"{what}: gradcalc and NumPy disagree on {key}")


def timed(f: Callable[[], Any]) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def measure(name: str, expression: str, wrt: list[str], make: Callable[[int, Any], dict[str, Any]],
            by_hand: Callable[[dict[str, Any]], dict[str, Any]], sizes: list[int], rounds: int) -> list[str]:
    import numpy as np

    rows = []
    for n in sizes:
        values = make(n, np.random.default_rng(n))
        ours = engine(expression.format(n=n), wrt)
        check(ours(values), by_hand(values), f"{name} n={n}")
        ours(values), by_hand(values)  # warm-up
        mine, theirs, ratios = [], [], []
        for _ in range(rounds):
            a, b = timed(lambda: by_hand(values)), timed(lambda: ours(values))
            theirs.append(a)
            mine.append(b)
            ratios.append(b / a)
        rows.append(f"| {name} | {n} | {statistics.median(theirs) * 1e3:.1f} | {statistics.median(mine) * 1e3:.1f} "
                    f"| {statistics.median(ratios):.2f} | {min(mine) / min(theirs):.2f} |")
    return rows


def derive_times(runs: int = 3) -> list[str]:
    from gradcalc.jobs.derive import run_derive
    from gradcalc.options import EvalOptions
    from gradcalc.symbolic.closed_form import DERIVATIONS
    from gradcalc.symbolic.printing import PRINTED

    rows = []
    for name, expression, wrt in (("classifier", CLASSIFIER.format(n="n"), ["W1", "W2"]),
                                  ("attention", ATTENTION, ["Wq", "Wk", "Wv"])):
        shapes = {"X": ("n", "d")}
        if name == "classifier":
            expression = "-sum(P*log_softmax(relu(X@W1)@W2, axis=1))"
        samples = []
        for _ in range(runs):
            DERIVATIONS.clear()
            PRINTED.clear()
            samples.append(timed(lambda: run_derive(expression, EvalOptions(wrt=wrt, shapes=shapes))))
        rows.append(f"| {name} | `{expression}` | {statistics.median(samples):.3f} | {max(samples):.3f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", default="256,512,1024,2048")
    parser.add_argument("--threads", default="2")
    args = parser.parse_args()
    for key in THREADS:
        os.environ[key] = args.threads  # before NumPy loads its BLAS
    import numpy as np

    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; NumPy {np.__version__}; {os.cpu_count()} CPUs; "
          f"BLAS threads {args.threads}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n| block | n | NumPy by hand ms (median) | gradcalc ms (median) | ratio (median of rounds) | ratio of bests |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in measure("classifier", CLASSIFIER, ["W1", "W2"], classifier_values, classifier_numpy, sizes, args.rounds):
        print(row)
    for row in measure("attention", ATTENTION, ["Wq", "Wk", "Wv"], attention_values, attention_numpy, sizes,
                       args.rounds):
        print(row)
    print(f"\n({args.rounds} rounds each, alternating; target: ratio <= 1.2)\n")
    print("| derive (cold, symbolic sizes) | expression | median s | worst s |\n|---|---|---:|---:|")
    for row in derive_times():
        print(row)
    print(f"\n(3 runs each; target < 1 s; load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    main()
