"""The built wheel works on its own: every subpackage is packaged and the console script runs.

The editable install that the tests otherwise use maps `gradcalc` onto the
source tree, so a subpackage left out of the packaging would go unnoticed.
Here the repository is built into a wheel (non-editable), installed with
`pip install --no-deps --target DIR`, and the headline command is run through
DIR/bin/gradcalc from a directory outside the repository with DIR first on
PYTHONPATH. Dependencies (NumPy, SymPy, Typer, Rich) come from the running
interpreter's environment. Skipped only when pip is not available.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomli is a dependency there
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
HEADLINE = ["eval", "sum((relu(X@W)-Y)**2)", "--wrt", "W", "--json"]
# Build output and local clutter that must not leak into (or slow down) the copied source tree.
IGNORED_AT_TOP = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info")
IGNORED_ANYWHERE = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".hypothesis")
LOADED_FILE = re.compile(r"(/[^\s']*/gradcalc/[^\s']*\.pyc?)\b")
VERBOSE_LINE = re.compile(r"^(# |import |Processing |Adding directory)")

pytestmark = pytest.mark.skipif(importlib.util.find_spec("pip") is None,
                                reason="pip is not available in this interpreter: cannot build or install a wheel")


def version_tuple(text: str) -> tuple[int, ...]:
    """Leading numeric release parts of a version string.

    >>> version_tuple("70.1.0.post1"), version_tuple("65.5.0")
    ((70, 1, 0), (65, 5, 0))
    """
    parts = []
    for part in text.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def can_build_without_isolation() -> bool:
    """Whether this interpreter's setuptools can build the wheel with no download.

    Python 3.11's venv ships setuptools 65.5 without the `wheel` package, which
    setuptools needed for bdist_wheel before 70.1; 3.12's venv has no setuptools.
    """
    try:
        setuptools_version = version_tuple(importlib.metadata.version("setuptools"))
    except importlib.metadata.PackageNotFoundError:
        return False
    has_wheel = importlib.util.find_spec("wheel") is not None
    return setuptools_version >= (64,) and (has_wheel or setuptools_version >= (70, 1))


def copy_source(dest: Path) -> Path:
    """A copy of the repository without build leftovers or virtual environments.

    Building in place would write build/ into the shared checkout, and a stale
    build/lib can put modules into the wheel that the packaging config leaves out.
    """
    def ignore(directory: str, names: list[str]) -> set[str]:
        venvs = {n for n in names if (Path(directory) / n / "pyvenv.cfg").is_file()}
        top = set(IGNORED_AT_TOP(directory, names)) if Path(directory) == REPO else set()
        return top | set(IGNORED_ANYWHERE(directory, names)) | venvs

    return Path(shutil.copytree(REPO, dest, ignore=ignore))


def pip(*args: str) -> subprocess.CompletedProcess:
    """Run this interpreter's pip, output captured."""
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=300)


def build_wheel(source: Path, out: Path) -> Path:
    """Build a non-editable wheel of `source` into `out` and return its path."""
    flags = ["--no-build-isolation"] if can_build_without_isolation() else []
    run = pip("wheel", "--no-deps", *flags, "-w", str(out), str(source))
    assert run.returncode == 0, f"pip wheel failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    wheels = list(out.glob("gradcalc-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def source_files() -> set[str]:
    """Every .py file under gradcalc/ in the source tree, as 'gradcalc/x/y.py'."""
    return {p.relative_to(REPO).as_posix() for p in (REPO / "gradcalc").rglob("*.py")
            if "__pycache__" not in p.parts}


def source_package_dirs() -> set[str]:
    """Every directory under gradcalc/ in the source tree that holds .py files, as 'gradcalc/x/'."""
    return {name.rsplit("/", 1)[0] + "/" for name in source_files()}


def console_script(target: Path) -> list[str]:
    """The installed console script, or `python -m gradcalc` if pip produced none."""
    for script in (target / "bin" / "gradcalc", target / "Scripts" / "gradcalc.exe"):
        if script.is_file():
            return [str(script)]
    return [sys.executable, "-m", "gradcalc"]


def without_verbose(stderr: str) -> str:
    """stderr less PYTHONVERBOSE's import trace, so a traceback is readable.

    >>> without_verbose("# code object from x\\nimport 'a' # y\\nTraceback")
    'Traceback'
    """
    return "\n".join(line for line in stderr.splitlines() if not VERBOSE_LINE.match(line))


def isolated_env(target: Path) -> dict[str, str]:
    """The environment with the install directory first on PYTHONPATH."""
    rest = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *([rest] if rest else [])])}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(wheel, install directory, a working directory outside the repository)."""
    root = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(copy_source(root / "src"), root / "dist")
    target = root / "site"
    run = pip("install", "--no-deps", "--no-compile", "--target", str(target), str(wheel))
    assert run.returncode == 0, f"pip install failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return wheel, target, elsewhere


def test_wheel_holds_every_package_directory(installed: tuple[Path, Path, Path]) -> None:
    wheel, _, _ = installed
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    in_wheel = {name.rsplit("/", 1)[0] + "/" for name in names if name.endswith(".py")}
    assert source_package_dirs() - in_wheel == set(), "left out of the wheel by the packaging config"
    assert source_files() - set(names) == set()


def test_wheel_entry_point_is_pyprojects(installed: tuple[Path, Path, Path]) -> None:
    wheel, _, _ = installed
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]["gradcalc"]
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = archive.read(name).decode()
    assert f"gradcalc = {declared}" in entry_points


def test_headline_runs_from_the_installed_wheel(installed: tuple[Path, Path, Path]) -> None:
    _, target, elsewhere = installed
    run = subprocess.run([*console_script(target), *HEADLINE], capture_output=True, text=True, cwd=elsewhere,
                         env={**isolated_env(target), "PYTHONVERBOSE": "1"}, timeout=120)
    assert run.returncode == 0, without_verbose(run.stderr)[-3000:]
    assert json.loads(run.stdout)["verdict"] == "equal"
    loaded = set(LOADED_FILE.findall(run.stderr))
    assert loaded, "PYTHONVERBOSE reported no gradcalc module files"
    assert {f for f in loaded if not f.startswith(str(target) + "/")} == set()


def test_every_subpackage_imports_from_the_install(installed: tuple[Path, Path, Path]) -> None:
    _, target, elsewhere = installed
    names = sorted(d.rstrip("/").replace("/", ".") for d in source_package_dirs())
    script = ("import importlib, json, sys\n"
              "files = {n: importlib.import_module(n).__file__ for n in sys.argv[1:]}\n"
              "print(json.dumps(files))")
    run = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True,
                         cwd=elsewhere, env=isolated_env(target), timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    files = json.loads(run.stdout)
    assert files["gradcalc"] == str(target / "gradcalc" / "__init__.py")
    assert {n: f for n, f in files.items() if not Path(f).is_relative_to(target)} == {}
