"""Batch throughput: `gradcalc batch` with the default job count, `--jobs 1` and `--jobs 2`.

For each setting it prints the wall time of the whole command (start-up
included), the time the batch itself reports (after start-up), the number
of cases, cases per second both ways, and the job counts the default chose
(one per idle core, measured as the batch starts). Runs alternate so that
machine noise hits all alike; medians are shown, with the load average
before and after.

    python bench/batch.py [--runs 3] [PATH ...]      # default: samples/
    python bench/batch.py --big [--runs 5]           # issue 16: 8 cases at X 300x200, BLAS-heavy
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
BIG = ["sum((relu(X@W)-Y)**2)", "sum((X@W-Y)**2)", "sum(tanh(X@W)*Y)", "sum(exp(-(X@W-Y)**2))",
       "sum(sigmoid(X@W)-Y)", "sum((X@W-Y)**2)+sum(W**2)", "sum(abs(X@W-Y))", "sum(log(1+exp(X@W))*Y)"]


def big_cases() -> str:
    """A folder with issue 16's batch: 8 cases, X 300x200 (finite differences over W 200x20: BLAS-heavy)."""
    folder = Path(tempfile.mkdtemp(prefix="gradcalc-bench-"))
    (folder / "big.toml").write_text("".join(
        f'[[case]]\nname = "c{i}"\nexpr = "{expr}"\nwrt = ["W"]\nseed = {i}\nexpect = "equal"\n'
        f'shape = {{ X = "300x200", W = "200x20", Y = "300x20" }}\n\n' for i, expr in enumerate(BIG)))
    return str(folder)


def run(paths: list[str], jobs: str) -> tuple[float, float, int, int]:
    """(wall s, reported s, cases, workers) of one `gradcalc batch --json` run; "default" omits --jobs."""
    script = shutil.which("gradcalc", path=os.path.dirname(sys.executable)) or "gradcalc"
    flags = [] if jobs == "default" else ["--jobs", jobs]
    start = time.perf_counter()
    out = subprocess.run([script, "batch", *paths, "--json", *flags], capture_output=True, text=True,
                         check=False).stdout
    wall = time.perf_counter() - start
    summary = json.loads(out.splitlines()[-1])["summary"]
    if summary["failed"] or summary["errors"]:
        raise SystemExit(f"the batch did not pass: {summary}")
    return wall, summary["seconds"], summary["cases"], summary["jobs"]


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="issue 16's 8 cases at 300x200 instead of PATHs")
    parser.add_argument("paths", nargs="*", default=[str(SAMPLES)])
    args = parser.parse_args()
    paths = [big_cases()] if args.big else args.paths
    load_before = os.getloadavg()
    run(paths, "1")  # warm the file cache
    results: dict[str, list[tuple[float, float, int, int]]] = {"default": [], "1": [], "2": []}
    for _ in range(args.runs):
        for jobs in results:
            results[jobs].append(run(paths, jobs))
    load_after = os.getloadavg()
    print(f"{'jobs':>7} {'wall s':>7} {'batch s':>8} {'cases':>6} {'cases/s (wall)':>15} {'cases/s (batch)':>16}"
          "  workers")
    for jobs, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        inside = statistics.median(r[1] for r in rows)
        cases = rows[0][2]
        workers = ",".join(str(r[3]) for r in rows)
        print(f"{jobs:>7} {wall:>7.2f} {inside:>8.2f} {cases:>6} {cases / wall:>15.1f} {cases / inside:>16.1f}"
              f"  {workers}")
    print(f"({args.runs} runs each, alternating, median; batch s = after start-up and warm-up, as the summary says;"
          f" {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in load_before)} before,"
          f" {' '.join(f'{x:.2f}' for x in load_after)} after)")


if __name__ == "__main__":
    main()
