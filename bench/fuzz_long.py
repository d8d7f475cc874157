"""The long grammar fuzz run (issue 16): >= 10^5 expressions from tests/fuzz_grammar.py, in worker processes.

    python bench/fuzz_long.py --inputs 100000 --jobs 2 [--seed 0] [--budget 20]

Input i is `fuzz_grammar.case(random.Random(seed * 10**9 + i))`, so any failure is reproduced by its
number alone. Each runs in-process in a worker through the job API and the JSON renderer
(`fuzz_grammar.run_case`, the CI test's contract: a verdict or a GradcalcError, strict JSON, under
`--budget` seconds). Prints the inputs per category and outcome (exit 0/1/2), the failures (each with
its number and text) and the throughput; exit 1 if anything failed. Figures: docs/fuzzing.md.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import random
import sys
import time
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fuzz_grammar as grammar  # noqa: E402 - the grammar lives with the tests

CHUNK = 500


def run_chunk(task: tuple[int, int, int, float]) -> tuple[collections.Counter, list[str], float]:
    """Inputs start..stop-1 of the seed: their outcome counts, failures and the seconds the slowest took."""
    seed, start, stop, budget = task
    counts: collections.Counter = collections.Counter()
    failures, slowest = [], 0.0
    warnings.simplefilter("ignore")
    for i in range(start, stop):
        text, shapes, category = grammar.case(random.Random(seed * 10**9 + i))
        began = time.perf_counter()
        try:
            counts[(category, grammar.run_case(text, shapes, budget=budget))] += 1
        except grammar.Broken as err:
            counts[(category, "FAILED")] += 1
            cause = err.__cause__.__traceback__ if err.__cause__ is not None else None
            where = " <- ".join(f"{Path(f.filename).name}:{f.name}" for f in reversed(traceback.extract_tb(cause)[-4:]))
            failures.append(f"input {i}: {str(err)[:200]} [{where}]")
        slowest = max(slowest, time.perf_counter() - began)
    return counts, failures, slowest


def main() -> int:
    """Run the campaign and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds one input may take")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the workers, not BLAS threads, use the cores
    tasks = [(args.seed, s, min(s + CHUNK, args.inputs), args.budget) for s in range(0, args.inputs, CHUNK)]
    counts: collections.Counter = collections.Counter()
    failures: list[str] = []
    slowest = 0.0
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        for done, (chunk_counts, chunk_failures, chunk_slowest) in enumerate(pool.imap_unordered(run_chunk, tasks), 1):
            counts.update(chunk_counts)
            failures += chunk_failures
            slowest = max(slowest, chunk_slowest)
            if done % 20 == 0:
                print(f"  ... {sum(counts.values()):,} inputs, {len(failures)} failures, "
                      f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    total = sum(counts.values())
    outcomes = ["0", "1", "2", "FAILED"]
    print(f"grammar fuzz: {total:,} inputs, seed {args.seed}, {args.jobs} jobs, budget {args.budget:g} s per input")
    print(f"{'category':<10} {'inputs':>8} " + " ".join(f"{'exit ' + o if o != 'FAILED' else o:>8}" for o in outcomes))
    for category in grammar.CATEGORIES:
        row = [counts[(category, o)] for o in outcomes]
        print(f"{category:<10} {sum(row):>8,} " + " ".join(f"{n:>8,}" for n in row))
    print(f"{'all':<10} {total:>8,} " + " ".join(f"{sum(counts[(c, o)] for c in grammar.CATEGORIES):>8,}"
                                             for o in outcomes))
    print(f"failures: {len(failures)}")
    for line in failures[:50]:
        print("  " + line)
    print(f"time: {seconds:.1f} s, {total / seconds:.0f} inputs/s, slowest input {slowest:.2f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
