"""The engine against hand-written NumPy: the headline loss, forward + backward, at four sizes.

What is measured: f = sum((relu(X@W) - Y)**2) with X n×k, W k×m, Y n×m in
float64, forward and backward, the gradients with respect to W, X and Y
(every leaf requires a gradient, as in everyday PyTorch use; `--wrt W` asks
for W's alone), at (n, k, m) = (10, 4, 4), (256, 256, 256),
(2048, 1024, 1024) and (4096, 2048, 2048), by

- `numpy`            hand-written NumPy, each array once, in place where safe
                     (`bench/headline.py`) — the reference every ratio is to;
- `numpy-dot`        the same with `np.dot` for `@`, as gradcalc multiplies matrices;
- `gradcalc`         gradcalc's tape as a library (`Tape`, `Tensor` operators);
- `gradcalc-record`  the tape fed by the parsed tree, as `gradcalc eval` runs it;
- `autograd`, `torch`  HIPS autograd and PyTorch eager on the CPU, when installed.

Timing. Every implementation runs in its own worker process per size; the
workers are timed in alternation, round by round, so that machine noise hits
all alike. A sample is one call (the two big sizes) or the mean of many (the
small ones), after a warm-up call; after each sample a pause of 0.2 s lets
the threads that OpenBLAS keeps spinning for about 0.1 s after a product go to
sleep, so that they do not slow the next worker down. `median`; `x numpy`, the
median over the rounds of the ratio to NumPy's sample of the same round;
`best`, the smallest sample, and `x best`, it over NumPy's best (noise from
other processes on a shared machine can only make a sample slower).

Memory. Each worker's peak resident size (VmHWM) is its own: the table gives
it, its ratio to the NumPy worker's, and the peak above the resident size
before the inputs were made, as a ratio to the forward's own arrays (X, W, Y,
X@W, relu(X@W), relu(X@W) - Y: n·k + k·m + 4·n·m doubles).

Threads. BLAS and PyTorch use 2, one per core (`--threads`:
`OPENBLAS_NUM_THREADS`, `OMP_NUM_THREADS`, `MKL_NUM_THREADS`,
`torch.set_num_threads`); NumPy's elementwise loops are single-threaded. On a
shared machine `--threads 1` keeps a busy core from stalling every matrix
product; the load average is printed before and after. All engines are first
checked to agree at the two small sizes.

    python bench/engine.py [--quick] [--threads 2] [--wrt all|W] [--impl NAME]... [--size N,K,M]...

`--quick` skips (4096, 2048, 2048). The full run takes about two and a half minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
THREADS = {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
SIZES = [(10, 4, 4), (256, 256, 256), (2048, 1024, 1024), (4096, 2048, 2048)]
ORDER = ["numpy", "numpy-dot", "gradcalc", "gradcalc-record", "autograd", "torch"]


def memory() -> dict[str, int]:
    """This process's resident size now and its peak so far (VmRSS, VmHWM), in bytes."""
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return {key: int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM")}


def worker(name: str, n: int, k: int, m: int, wrt: str, inner: int) -> None:
    """A child process: make the inputs, then answer each line on stdin with one timed sample.

    A sample is `inner` calls, given in seconds per call; at end of input it
    prints its memory figures as JSON. An engine that is not installed prints
    `null` at once.
    """
    sys.path.insert(0, HERE)
    from headline import IMPLS, inputs

    impl = IMPLS[name](wrt)
    if impl is None:
        print("null", flush=True)
        return
    if name == "torch":
        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    prepare, run = impl
    start = memory()["VmRSS"]
    args = prepare(*inputs(n, k, m))
    run(*args)  # warm up
    print("ready", flush=True)
    for _ in sys.stdin:
        began = time.perf_counter()
        for _ in range(inner):
            run(*args)
        print((time.perf_counter() - began) / inner, flush=True)
    print(json.dumps({"start": start, "peak": memory()["VmHWM"]}), flush=True)


def plan(size: tuple[int, int, int]) -> tuple[int, int]:
    """(calls per sample, rounds) for a size: many calls for tiny sizes, few rounds for huge ones."""
    work = size[0] * size[1] * size[2]
    if work <= 10**3:
        return 500, 15
    if work <= 10**8:
        return 20, 15
    return 1, (7 if work <= 10**10 else 5)


def measure(names: list[str], size: tuple[int, int, int], wrt: str) -> dict[str, dict[str, Any]]:
    """One worker per implementation, timed in alternation round by round; each one's samples and memory."""
    inner, rounds = plan(size)
    env = {**os.environ, **THREADS}
    procs = {name: subprocess.Popen([sys.executable, __file__, "--worker", name, *map(str, size), wrt, str(inner)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
             for name in names}
    ready = {name: p for name, p in procs.items() if p.stdout.readline().strip() == "ready"}  # type: ignore[union-attr]
    samples: dict[str, list[float]] = {name: [] for name in ready}
    for _ in range(rounds):
        for name, p in ready.items():
            p.stdin.write("run\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]
            samples[name].append(float(p.stdout.readline()))  # type: ignore[union-attr]
            time.sleep(0.0 if size == SIZES[0] else 0.2)  # OpenBLAS's threads spin ~0.1 s after a product
    found = {}
    for name, p in procs.items():
        if name in ready:
            rest, _ = p.communicate()
            found[name] = {"samples": samples[name], **json.loads(rest)}
        else:
            p.communicate()
    return found


def check_agreement(wrt: str) -> None:
    """All engines give the same f and gradients at the small sizes."""
    import numpy as np

    sys.path.insert(0, HERE)
    from headline import IMPLS, answer, inputs

    for size in SIZES[:2]:
        X, W, Y = inputs(*size)
        f0, g0 = answer("numpy", wrt, X, W, Y)
        for name in ORDER[1:]:
            if IMPLS[name](wrt) is not None:
                f, g = answer(name, wrt, X, W, Y)
                assert np.isclose(f, f0, rtol=1e-10) and all(np.allclose(a, b, rtol=1e-9, atol=1e-9)
                                                             for a, b in zip(g, g0)), (name, size)


def table(size: tuple[int, int, int], found: dict[str, dict[str, Any]]) -> list[str]:
    """Rows for one size: median time, the median of the per-round ratios to NumPy, memory and its ratios."""
    sys.path.insert(0, HERE)
    from headline import forward_bytes

    mib = 2.0**20
    base = found["numpy"]
    lines = []
    for name, r in found.items():
        ratio = statistics.median(t / b for t, b in zip(r["samples"], base["samples"]))
        best = min(r["samples"]) / min(base["samples"])
        above = r["peak"] - r["start"]
        lines.append(f"{str(size):<18} {name:<16} {_time(statistics.median(r['samples'])):>10} {ratio:>8.2f} "
                     f"{_time(min(r['samples'])):>10} {best:>7.2f} "
                     f"{r['peak'] / mib:>6.0f} MiB {r['peak'] / base['peak']:>8.2f} {above / mib:>13.0f} MiB "
                     f"{above / forward_bytes(*size):>13.2f}")
    return lines


HEADER = (f"{'size (n,k,m)':<18} {'impl':<16} {'median':>10} {'x numpy':>8} {'best':>10} {'x best':>7} "
          f"{'peak RSS':>10} {'x numpy':>8} "
          f"{'peak above start':>17} {'x fwd arrays':>13}")


def _time(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.1f} ms"


def main() -> None:
    """Parse the options, run the workers size by size, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip (4096, 2048, 2048)")
    parser.add_argument("--wrt", choices=["all", "W"], default="all")
    parser.add_argument("--impl", action="append", choices=ORDER, help="only these (numpy is always run)")
    parser.add_argument("--size", action="append", help="only this size, e.g. 2048,1024,1024")
    parser.add_argument("--threads", type=int, default=2, help="BLAS and PyTorch threads (default 2, the cores)")
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, n, k, m, wrt, inner = args.worker
        worker(name, int(n), int(k), int(m), wrt, int(inner))
        return
    THREADS.update({key: str(args.threads) for key in THREADS})
    check_agreement(args.wrt)
    names = [n for n in ORDER if n == "numpy" or not args.impl or n in args.impl]
    sizes = [tuple(int(d) for d in s.split(",")) for s in args.size] if args.size else SIZES
    sizes = [s for s in sizes if not (args.quick and s == SIZES[-1])]
    print(f"sum((relu(X@W)-Y)**2), forward + backward wrt {'W, X, Y' if args.wrt == 'all' else 'W'}, float64, "
          f"threads {THREADS['OMP_NUM_THREADS']}; load average before: {os.getloadavg()[0]:.2f}")
    print(HEADER, flush=True)
    for size in sizes:
        print("\n".join(table(size, measure(names, size, args.wrt))), flush=True)
    print(f"(load average after: {os.getloadavg()[0]:.2f}; x numpy: median over rounds of the ratio to the NumPy "
          "sample of the same round; x best: best sample over NumPy's best)")


if __name__ == "__main__":
    main()
