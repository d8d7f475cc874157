"""Start-up latency: the headline command against the floor of importing NumPy and SymPy.

Runs both commands alternately (so machine noise hits both alike) and prints
the median wall time of each and their ratio.

    python bench/latency.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HEADLINE = ["eval", "sum((relu(X@W)-Y)**2)", "--wrt", "W"]


def wall(command: list[str]) -> float:
    """Seconds for one run of a command, output discarded."""
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    script = shutil.which("gradcalc", path=os.path.dirname(sys.executable)) or shutil.which("gradcalc")
    commands = {
        "gradcalc " + " ".join(f'"{a}"' if " " in a or "(" in a else a for a in HEADLINE): [script, *HEADLINE],
        'python -c "import numpy, sympy"': [sys.executable, "-c", "import numpy, sympy"],
        'python -c "pass"': [sys.executable, "-c", "pass"],
    }
    for command in commands.values():  # warm the file cache
        wall(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(wall(command))
    medians = {name: statistics.median(t) for name, t in times.items()}
    floor = medians['python -c "import numpy, sympy"']
    print(f"{'command':<58} {'median s':>9} {'x floor':>8}")
    for name, median in medians.items():
        print(f"{name:<58} {median:>9.3f} {median / floor:>8.2f}")
    print(f"({runs} runs each, alternating; floor = import numpy, sympy)")


if __name__ == "__main__":
    main()
