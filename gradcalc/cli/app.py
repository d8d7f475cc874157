"""The Typer app every command registers on, the console, exit codes and the one way errors leave.

Domain code never imports this package; a command module turns options
into one job's call, renders its result and exits with `exit_for`.

>>> exit_for("kink"), exit_for("mismatch")
(0, 1)
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn

import typer

from gradcalc import __version__
from gradcalc.errors import GradcalcError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Gradient calculator for matrix expressions: tape autograd vs. closed form, "
                       "refereed by finite differences.")

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def exit_for(verdict: str) -> int:
    """The exit code of a verdict: 0 for equal or kink, 1 otherwise.

    >>> exit_for("equal")
    0
    """
    return EXIT_OK if verdict in ("equal", "kink") else EXIT_MISMATCH


def _version(value: bool) -> None:
    if value:
        print(f"gradcalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Gradient calculator for matrix expressions."""


def print_json(document: dict[str, Any]) -> None:
    """One strict JSON document on stdout (never NaN or Infinity tokens).

    >>> print_json({"verdict": "equal"})
    {"verdict": "equal"}
    """
    print(json.dumps(document, allow_nan=False))


def console() -> Any:
    """The Rich console for stdout: plain with NO_COLOR, never reading formulas as markup or emoji.

    >>> console().is_terminal
    False
    """
    from rich.console import Console  # rich costs ~30 ms, which `--version` and `--help` do without

    plain = {"color_system": None} if os.environ.get("NO_COLOR") else {}  # no colour and no bold/dim either
    return Console(highlight=False, markup=False, emoji=False, **plain)  # formulas are text, never markup


def fail(err: BaseException, as_json: bool, debug: bool) -> NoReturn:
    """Report an error in one line (after the expression and a caret, if any) and exit.

    The line goes to stderr; with `as_json` a JSON error document also goes to stdout.

    >>> from gradcalc.errors import InputError
    >>> try: fail(InputError("--seed x: not an integer"), as_json=True, debug=False)
    ... except typer.Exit as stop: print(stop.exit_code)
    {"error": {"kind": "input", "message": "--seed x: not an integer"}}
    2
    """
    if debug:
        import traceback

        traceback.print_exc()
    if isinstance(err, GradcalcError):
        kind, message, code = err.kind, err.message, EXIT_BAD_INPUT
    else:
        kind, message, code = "internal", f"internal error ({type(err).__name__}: {err}); please report it", \
            EXIT_INTERNAL
    position = getattr(err, "position", None)
    source = getattr(err, "source", None)
    shown = None if source is None else source.replace("\t", " ")  # a tab would shift the caret
    if shown is not None and position is not None and "\n" in shown:  # statements, one a line: the line at fault
        start = shown.rfind("\n", 0, position) + 1
        line_no = shown.count("\n", 0, start) + 1
        shown, position = f"line {line_no}: " + shown[start:].split("\n")[0], position - start + len(f"line {line_no}: ")
    if shown is not None and position is not None and shown.isprintable():  # no escapes
        sys.stderr.write(f"  {shown}\n  {' ' * position}^\n")
    message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)  # one line, escapes shown
    sys.stderr.write(f"gradcalc: error: {message}\n")
    if as_json:
        body: dict[str, Any] = {"kind": kind, "message": message}
        if kind == "parse" and position is not None:
            body["position"] = position
        print(json.dumps({"error": body}))
    raise typer.Exit(code)
