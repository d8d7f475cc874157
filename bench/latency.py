"""Start-up latency: the headline command, before and after a change, against the floor of importing NumPy and SymPy.

One run measures, alternately (so machine noise hits all alike, and the
order rotates every round so no command always follows the same one):

- the floor, `python -c "import numpy, sympy"`;
- `python -m gradcalc eval "sum((relu(X@W)-Y)**2)" --wrt W` and
  `python -m gradcalc --version` of the working tree (PYTHONPATH=the repo)
  and of a git revision (`--before`, default dc036cd, the flat layout before
  the subpackages), extracted with `git archive REV gradcalc` into a
  temporary directory put on PYTHONPATH. Both run the same way, from a
  directory outside the repository; the script checks (PYTHONVERBOSE) that
  each loads gradcalc's modules from its own tree only;
- the installed `gradcalc` console script, a plain NumPy script and, when
  PyTorch is installed, a PyTorch script doing the same job (the headline's
  gradient at the same sizes, printed); `--no-peers` leaves these out.

It prints a Markdown table of the median and the minimum wall time of each
and their ratios to the floor's, then the top gradcalc modules by cumulative
import time (`python -X importtime -m gradcalc eval ...`, median over
`--importtime-runs` runs) for both trees. Bytecode caching is on in the
children, as after `pip install` (the sandbox sets PYTHONDONTWRITEBYTECODE,
which would make every run recompile gradcalc). Target: the headline at most
1.2x the floor.

    python bench/latency.py [--runs 20] [--before dc036cd] [--no-peers]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import io
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HEADLINE = ["eval", "sum((relu(X@W)-Y)**2)", "--wrt", "W"]
NUMPY_JOB = ("import numpy as np; r = np.random.default_rng(0); X, W, Y = r.standard_normal((4, 3)), "
             "r.standard_normal((3, 5)), r.standard_normal((4, 5)); Z = X @ W; "
             "print(2 * X.T @ ((np.maximum(Z, 0) - Y) * (Z > 0)))")
TORCH_JOB = ("import torch; torch.manual_seed(0); X, Y = torch.randn(4, 3), torch.randn(4, 5); "
             "W = torch.randn(3, 5, requires_grad=True); ((torch.relu(X @ W) - Y) ** 2).sum().backward(); "
             "print(W.grad)")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
REPO = Path(__file__).resolve().parents[1]
FLOOR = '`python -c "import numpy, sympy"`'
SHOWN_HEADLINE = " ".join(f'"{a}"' if "(" in a else a for a in HEADLINE)
LOADED_FILE = re.compile(r"(/[^\s']*/gradcalc/[^\s']*\.pyc?)\b")
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)$")


@dataclass(frozen=True)
class Command:
    """One measured command: what the table shows, and how it is run."""

    name: str  # as the table shows it: a command in backticks, or a description
    code: str
    argv: list[str]
    env: dict[str, str]


def wall(command: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    """Seconds for one run of a command, output discarded.

    >>> 0 < wall([sys.executable, "-c", "pass"]) < 10
    True
    """
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env=ENV if env is None else env, cwd=cwd)
    return time.perf_counter() - start


def extract(repo: Path, rev: str, dest: Path) -> Path:
    """The gradcalc/ directory of revision `rev`, unpacked under `dest` (returned)."""
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev, "gradcalc"],
                             capture_output=True, check=True).stdout
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        # The "data" filter (3.11.4+) refuses links and paths out of dest; older tarfile has no filter.
        tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return dest


def short(repo: Path, rev: str) -> str:
    """The abbreviated commit id of `rev`."""
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", rev],
                          capture_output=True, text=True, check=True).stdout.strip()


def tree_env(root: Path) -> dict[str, str]:
    """The children's environment with `root` first on PYTHONPATH."""
    rest = ENV.get("PYTHONPATH")
    return {**ENV, "PYTHONPATH": os.pathsep.join([str(root), *([rest] if rest else [])])}


def check_origin(root: Path, env: dict[str, str], cwd: str) -> None:
    """Exit unless the headline, run this way, loads every gradcalc module from `root`.

    An editable install's finder would otherwise quietly fill in any module
    missing from `root` with the working tree's.
    """
    run = subprocess.run([sys.executable, "-m", "gradcalc", *HEADLINE], capture_output=True, text=True,
                         env={**env, "PYTHONVERBOSE": "1"}, cwd=cwd)
    loaded = set(LOADED_FILE.findall(run.stderr))
    strays = sorted(f for f in loaded if not f.startswith(str(root) + os.sep))
    if run.returncode != 0 or not loaded or strays:
        sys.exit(f"{root}: exit {run.returncode}, {len(loaded)} gradcalc files loaded, from elsewhere: {strays[:5]}")


def tree_commands(root: Path, code: str) -> list[Command]:
    """The headline and --version as `python -m gradcalc`, with `root` on PYTHONPATH."""
    env = tree_env(root)
    return [Command(f"`python -m gradcalc {SHOWN_HEADLINE}`", code, [sys.executable, "-m", "gradcalc", *HEADLINE], env),
            Command("`python -m gradcalc --version`", code, [sys.executable, "-m", "gradcalc", "--version"], env)]


def peer_commands() -> list[Command]:
    """The installed console script, a plain NumPy script, `pass` and, if installed, PyTorch."""
    script = shutil.which("gradcalc", path=os.path.dirname(sys.executable)) or shutil.which("gradcalc")
    found = [Command(f"`gradcalc {SHOWN_HEADLINE}`", "console script of this venv", [script, *HEADLINE], ENV)] \
        if script else []
    found += [Command("NumPy script, the same job by hand", "", [sys.executable, "-c", NUMPY_JOB], ENV),
              Command('`python -c "pass"`', "", [sys.executable, "-c", "pass"], ENV)]
    if importlib.util.find_spec("torch"):
        found.append(Command("PyTorch script, the same job", "", [sys.executable, "-c", TORCH_JOB], ENV))
    return found


def measure(commands: list[Command], runs: int, cwd: str) -> list[list[float]]:
    """Wall times of each command over `runs` rounds, in rotating order."""
    for command in commands:  # warm the file cache and write bytecode
        wall(command.argv, command.env, cwd)
    times: list[list[float]] = [[] for _ in commands]
    for round_ in range(runs):
        for k in range(len(commands)):
            i = (round_ + k) % len(commands)
            times[i].append(wall(commands[i].argv, commands[i].env, cwd))
    return times


def time_table(commands: list[Command], times: list[list[float]]) -> str:
    """Markdown table: median and min of each command, and each as a ratio to the floor's."""
    floor = next(t for c, t in zip(commands, times) if c.name == FLOOR)
    floor_median, floor_min = statistics.median(floor), min(floor)
    lines = ["| command | code | median s | min s | median x floor | min x floor |",
             "|---|---|---:|---:|---:|---:|"]
    for command, t in zip(commands, times):
        median, best = statistics.median(t), min(t)
        lines.append(f"| {command.name} | {command.code} | {median:.3f} | {best:.3f} | "
                     f"{median / floor_median:.2f} | {best / floor_min:.2f} |")
    return "\n".join(lines)


def after_over_before(commands: list[Command], times: list[list[float]], after: str, before: str) -> str:
    """One line per gradcalc command: the after tree's median and min over the before tree's."""
    by_key = {(c.name, c.code): t for c, t in zip(commands, times)}
    lines = []
    for name in dict.fromkeys(c.name for c in commands if c.code == after):
        a, b = by_key[(name, after)], by_key[(name, before)]
        lines.append(f"after / before, {name}: median {statistics.median(a) / statistics.median(b):.2f}x, "
                     f"min {min(a) / min(b):.2f}x")
    return "\n".join(lines)


def import_times(env: dict[str, str], cwd: str) -> dict[str, tuple[int, int]]:
    """gradcalc modules' (self, cumulative) import time in µs, from one `-X importtime` headline run."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "gradcalc", *HEADLINE],
                         capture_output=True, text=True, env=env, cwd=cwd, check=True)
    found = {}
    for line in run.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match and (match[3] == "gradcalc" or match[3].startswith("gradcalc.")):
            found[match[3]] = (int(match[1]), int(match[2]))
    return found


def median_import_times(samples: list[dict[str, tuple[int, int]]]) -> dict[str, tuple[float, float]]:
    """Per module, the median self and cumulative time over the runs that imported it.

    >>> median_import_times([{"gradcalc": (1, 3)}, {"gradcalc": (3, 5)}])
    {'gradcalc': (2.0, 4.0)}
    """
    names = dict.fromkeys(name for sample in samples for name in sample)
    return {name: (statistics.median(s[name][0] for s in samples if name in s),
                   statistics.median(s[name][1] for s in samples if name in s)) for name in names}


def import_table(times: dict[str, tuple[float, float]], top: int) -> str:
    """Markdown table of the `top` modules by cumulative import time, and the sum of all self times."""
    ranked = sorted(times.items(), key=lambda item: -item[1][1])[:top]
    lines = ["| module | cumulative ms | self ms |", "|---|---:|---:|"]
    lines += [f"| `{name}` | {cumulative / 1000:.1f} | {own / 1000:.1f} |" for name, (own, cumulative) in ranked]
    lines.append(f"| all {len(times)} gradcalc modules, self | | {sum(s for s, _ in times.values()) / 1000:.1f} |")
    return "\n".join(lines)


def import_report(trees: dict[str, Path], cwd: str, runs: int, top: int) -> str:
    """For each tree (by its label), the import-time table over `runs` runs, the trees alternating."""
    samples: dict[str, list[dict[str, tuple[int, int]]]] = {code: [] for code in trees}
    for _ in range(runs):
        for code, root in trees.items():
            samples[code].append(import_times(tree_env(root), cwd))
    return "".join(f"\n`python -X importtime -m gradcalc {SHOWN_HEADLINE}`, {code}, median of {runs} runs:\n\n"
                   f"{import_table(median_import_times(found), top)}\n" for code, found in samples.items())


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="rounds of timed runs (default 20)")
    parser.add_argument("--before", default="dc036cd", help="git revision measured as 'before' (default dc036cd)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the repository (default: this script's)")
    parser.add_argument("--no-peers", action="store_true", help="leave out the console script, NumPy and PyTorch")
    parser.add_argument("--importtime-runs", type=int, default=5, help="-X importtime runs per tree (default 5)")
    parser.add_argument("--top", type=int, default=10, help="modules listed by import time (default 10)")
    return parser.parse_args()


def header(before: str) -> str:
    """What was run, where and when."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; Python {platform.python_version()}; "
            f"{os.cpu_count()} CPUs; load average {load}; {before}\n"
            f"command: python bench/latency.py {' '.join(sys.argv[1:])}".rstrip())


def main() -> None:
    """Measure and print the tables."""
    args = parse_args()
    repo = args.repo.resolve()
    before_code, after_code = f"before ({short(repo, args.before)})", "after (working tree)"
    with tempfile.TemporaryDirectory(prefix="gradcalc-latency-") as tmp:
        before_root, cwd = extract(repo, args.before, Path(tmp) / "before"), str(Path(tmp) / "cwd")
        os.mkdir(cwd)
        for root in (repo, before_root):
            check_origin(root, tree_env(root), cwd)
        commands = [Command(FLOOR, "", [sys.executable, "-c", "import numpy, sympy"], ENV),
                    *tree_commands(repo, after_code), *tree_commands(before_root, before_code),
                    *([] if args.no_peers else peer_commands())]
        print(header(before_code) + "\n")
        times = measure(commands, args.runs, cwd)
        print(time_table(commands, times))
        print(f"\n({args.runs} runs each, rotating order; load average after: "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; target: headline <= 1.2x the floor)")
        print(after_over_before(commands, times, after_code, before_code))
        print(import_report({after_code: repo, before_code: before_root}, cwd, args.importtime_runs, args.top))


if __name__ == "__main__":
    main()
