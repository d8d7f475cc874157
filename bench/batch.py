"""Batch throughput: `gradcalc batch samples/` with 1 and 2 worker processes.

For each job count it prints the wall time of the whole command (start-up
included), the time the batch itself reports (after start-up), the number
of cases, and cases per second both ways. Runs alternate so that machine
noise hits both alike; medians are shown.

    python bench/batch.py [--runs 3] [PATH ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def run(paths: list[str], jobs: int) -> tuple[float, float, int]:
    """(wall seconds, reported seconds, cases) of one `gradcalc batch --json` run."""
    script = shutil.which("gradcalc", path=os.path.dirname(sys.executable)) or "gradcalc"
    start = time.perf_counter()
    out = subprocess.run([script, "batch", *paths, "--json", "--jobs", str(jobs)], capture_output=True, text=True,
                         check=False).stdout
    wall = time.perf_counter() - start
    summary = json.loads(out.splitlines()[-1])["summary"]
    if summary["failed"] or summary["errors"]:
        raise SystemExit(f"the batch did not pass: {summary}")
    return wall, summary["seconds"], summary["cases"]


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("paths", nargs="*", default=[str(SAMPLES)])
    args = parser.parse_args()
    run(args.paths, 1)  # warm the file cache
    results: dict[int, list[tuple[float, float, int]]] = {1: [], 2: []}
    for _ in range(args.runs):
        for jobs in results:
            results[jobs].append(run(args.paths, jobs))
    print(f"{'jobs':>4} {'wall s':>7} {'batch s':>8} {'cases':>6} {'cases/s (wall)':>15} {'cases/s (batch)':>16}")
    for jobs, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        inside = statistics.median(r[1] for r in rows)
        cases = rows[0][2]
        print(f"{jobs:>4} {wall:>7.2f} {inside:>8.2f} {cases:>6} {cases / wall:>15.0f} {cases / inside:>16.0f}")
    print(f"({args.runs} runs each, alternating, median; batch s = after start-up and warm-up, as the summary says)")


if __name__ == "__main__":
    main()
