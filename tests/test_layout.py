"""The package's layout holds: stages as subpackages on floors, imports only downwards, no cycle, small modules,
imports at the top (below the CLI), no private name crossing a module."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "gradcalc"
#: Each stage's floor: a module may import from its own stage and from lower floors only.
FLOORS = {"errors": 0, "lang": 1, "values": 2, "tape": 3, "dual": 3, "symbolic": 3, "referee": 4, "options": 4, "jobs": 5,
          "render": 6, "batch": 7, "cli": 8, "__main__": 9, "__init__": 0}
MAX_LINES = 450


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(("gradcalc", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        found[name] = ast.parse(path.read_text(), str(path))
    return found


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def top_level_imports(tree: ast.Module) -> list[str]:
    """The gradcalc modules a module imports when it is loaded (`from gradcalc.x import y` may name module y)."""
    names = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gradcalc"):
            names += [f"{node.module}.{a.name}" for a in node.names] + [node.module or ""]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names if a.name.startswith("gradcalc")]
    return names


def test_stages_are_subpackages() -> None:
    packages = [p.parent.name for p in PACKAGE.glob("*/__init__.py")]
    assert len(packages) >= 5 and {"lang", "values", "symbolic", "jobs", "render", "batch", "cli"} <= set(packages)


def test_imports_go_only_down_the_floors_and_make_no_cycle() -> None:
    mods = modules()
    graph = {name: [m for m in top_level_imports(tree) if m in mods and m != name] for name, tree in mods.items()}
    for name, deps in graph.items():
        for dep in deps:
            if stage(dep) == stage(name) or dep == "gradcalc":
                continue
            assert FLOORS[stage(dep)] < FLOORS[stage(name)], f"{name} imports {dep}, which is not on a lower floor"
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in graph[name]:
            assert state.get(dep) != 1, f"import cycle: {' -> '.join(path[path.index(dep):] + [dep])}"
            if dep not in state:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_no_module_is_over_the_line_limit() -> None:
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines (at most {MAX_LINES})"


def test_function_level_imports_only_in_the_cli_or_with_their_reason() -> None:
    for name, tree in modules().items():
        if stage(name) == "cli":
            continue
        source = (PACKAGE / Path(*name.split(".")[1:])).with_suffix(".py")
        lines = (source if source.exists() else source.with_suffix("") / "__init__.py").read_text().splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        line = lines[inner.lineno - 1]
                        assert "#" in line, f"{name}:{inner.lineno}: an import inside a function, without the " \
                                            f"measured start-up reason in a comment: {line.strip()}"


def test_no_private_name_crosses_a_module() -> None:
    for name, tree in modules().items():
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gradcalc"):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                assert not private, f"{name} imports private {private} from {node.module}"
