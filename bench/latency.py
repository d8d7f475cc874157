"""Start-up latency: the headline command against the floor of importing NumPy and SymPy, and the peers.

Runs every command alternately (so machine noise hits all alike) and prints
the median wall time of each and its ratio to the floor
`python -c "import numpy, sympy"`. Beside them: a plain NumPy script and,
when PyTorch is installed, a PyTorch script doing the same job (the
headline's gradient at the same sizes, printed). Bytecode caching is on in
the children, as after `pip install` (the sandbox sets
PYTHONDONTWRITEBYTECODE, which would make every run recompile gradcalc).
Target: the headline at most 1.2x the floor.

    python bench/latency.py [--runs 15]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time

HEADLINE = ["eval", "sum((relu(X@W)-Y)**2)", "--wrt", "W"]
NUMPY_JOB = ("import numpy as np; r = np.random.default_rng(0); X, W, Y = r.standard_normal((4, 3)), "
             "r.standard_normal((3, 5)), r.standard_normal((4, 5)); Z = X @ W; "
             "print(2 * X.T @ ((np.maximum(Z, 0) - Y) * (Z > 0)))")
TORCH_JOB = ("import torch; torch.manual_seed(0); X, Y = torch.randn(4, 3), torch.randn(4, 5); "
             "W = torch.randn(3, 5, requires_grad=True); ((torch.relu(X @ W) - Y) ** 2).sum().backward(); "
             "print(W.grad)")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(command: list[str]) -> float:
    """Seconds for one run of a command, output discarded.

    >>> 0 < wall([sys.executable, "-c", "pass"]) < 10
    True
    """
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=ENV)
    return time.perf_counter() - start


def commands() -> dict[str, list[str]]:
    """The commands measured, by the name shown."""
    script = shutil.which("gradcalc", path=os.path.dirname(sys.executable)) or shutil.which("gradcalc")
    found = {
        "gradcalc " + " ".join(f'"{a}"' if " " in a or "(" in a else a for a in HEADLINE): [script, *HEADLINE],
        'python -c "import numpy, sympy"': [sys.executable, "-c", "import numpy, sympy"],
        "NumPy script, the same job by hand": [sys.executable, "-c", NUMPY_JOB],
        'python -c "pass"': [sys.executable, "-c", "pass"],
    }
    if importlib.util.find_spec("torch"):
        found["PyTorch script, the same job"] = [sys.executable, "-c", TORCH_JOB]
    return found


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    measured = commands()
    for command in measured.values():  # warm the file cache and write bytecode
        wall(command)
    times: dict[str, list[float]] = {name: [] for name in measured}
    for _ in range(runs):
        for name, command in measured.items():
            times[name].append(wall(command))
    medians = {name: statistics.median(t) for name, t in times.items()}
    floor = medians['python -c "import numpy, sympy"']
    print(f"{'command':<58} {'median s':>9} {'x floor':>8}")
    for name, median in medians.items():
        print(f"{name:<58} {median:>9.3f} {median / floor:>8.2f}")
    print(f"({runs} runs each, alternating; floor = import numpy, sympy; target: gradcalc <= 1.2x)")


if __name__ == "__main__":
    main()
