"""The `gradcalc` console script: every command registered on the app, one-line usage errors, quiet pipes.

>>> sorted(c.name for c in app.registered_commands)
['batch', 'derive', 'eval', 'ops']
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import typer

from gradcalc.cli import batch, derive, evaluate, ops  # noqa: F401 - importing a command module registers it
from gradcalc.cli.app import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, app


def main() -> None:
    """Console-script entry point: runs the app with one-line usage errors and quiet broken pipes.

    Installed as the `gradcalc` command; it reads `sys.argv` and exits, so it has
    no doctest. For example, `gradcalc eval "trace(A@B)" --wrt A --json` prints one
    JSON document and exits 0; a bad option prints one `gradcalc: error: ...` line
    on stderr and exits 2. See `evaluate_command` for an in-process example.
    """
    command = typer.main.get_command(app)
    try:
        code = command.main(args=negative_expressions(command, sys.argv[1:]), prog_name="gradcalc",
                            standalone_mode=False)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    except Exception as err:  # Typer's vendored Click exceptions, matched by name across versions
        code = _usage_error(err)
    sys.exit(code or 0)


def negative_expressions(command: Any, args: list[str]) -> list[str]:
    """Let an expression start with `-` (`gradcalc eval "-sum(X)"`): such an argument, which is no option of
    the command, moves behind `--`, so that Click reads it as the expression rather than as an option.

    >>> negative_expressions(typer.main.get_command(app), ["eval", "-sum(X)", "--wrt", "X", "--seed", "-1"])
    ['eval', '--wrt', 'X', '--seed', '-1', '--', '-sum(X)']
    """
    sub = getattr(command, "commands", {}).get(args[0]) if args else None
    if sub is None:
        return args
    options = {o for p in sub.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    takes_value = {o for p in sub.params if not getattr(p, "is_flag", True) and p.opts[0].startswith("-")
                   for o in p.opts}
    kept, moved, after_value = [args[0]], [], False
    rest = args[1:]
    end = rest.index("--") if "--" in rest else len(rest)
    for arg in rest[:end]:
        negative = arg.startswith("-") and not arg.startswith("--") and arg != "-"
        if negative and not after_value and arg.split("=")[0] not in options:
            moved.append(arg)
            continue
        after_value = arg in takes_value
        kept.append(arg)
    if not moved:
        return args
    return [*kept, "--", *moved, *rest[end + 1:]]


def _usage_error(err: Exception) -> int:
    kinds = {cls.__name__ for cls in type(err).__mro__}
    if kinds & {"NoArgsIsHelpError", "NoArgsIsHelp"}:
        return EXIT_OK  # Typer has printed the help
    if "Abort" in kinds:
        return 130
    if "UsageError" not in kinds:
        if "--debug" in sys.argv:
            raise err
        sys.stderr.write(f"gradcalc: error: internal error ({type(err).__name__}: {err}); please report it "
                         "(--debug shows the traceback)\n")
        return EXIT_INTERNAL
    message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in err.format_message())  # type: ignore
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None and ctx.command_path else ""
    sys.stderr.write(f"gradcalc: error: {message}{hint}\n")
    if "--json" in sys.argv:
        print(json.dumps({"error": {"kind": "usage", "message": message}}))
    return EXIT_BAD_INPUT
