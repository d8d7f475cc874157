"""A case's report, the batch's summary and exit code: plain dicts that the JSON Lines and the table both show.

A report is the `gradcalc eval --json` document plus `file`, `case`,
`expect`, `passed`, `outcome` and `seconds`.

>>> exit_code([{"outcome": "passed"}, {"outcome": "error"}])
2
"""

from __future__ import annotations

import time
from typing import Any

from gradcalc.batch.cases import Item, run_case
from gradcalc.errors import GradcalcError
from gradcalc.jobs.results import HessianResult
from gradcalc.render import second_view
from gradcalc.render.eval_view import to_json

OUTCOMES = ("passed", "failed", "timeout", "error")


def summary(reports: list[dict[str, Any]], seconds: float, jobs: int, total: int,
            interrupted: bool = False, stopped: bool = False) -> dict[str, Any]:
    """Counts of the outcomes, for the last JSON line and the final line of the table.

    >>> summary([{"outcome": "passed"}, {"outcome": "timeout"}], 1.5, 2, 3)["summary"]["failed"]
    1
    """
    counts = {outcome: sum(r["outcome"] == outcome for r in reports) for outcome in OUTCOMES}
    return {"summary": {
        "passed": counts["passed"], "failed": counts["failed"] + counts["timeout"], "timeouts": counts["timeout"],
        "errors": counts["error"], "cases": len(reports), "selected": total, "seconds": round(seconds, 3),
        "jobs": jobs, "interrupted": interrupted, "stopped_early": stopped,
    }}


def exit_code(reports: list[dict[str, Any]]) -> int:
    """2 if a file or case was bad input, else 1 if any case failed or timed out, else 0.

    >>> exit_code([{"outcome": "passed"}, {"outcome": "failed"}])
    1
    """
    outcomes = {r["outcome"] for r in reports}
    return 2 if "error" in outcomes else 1 if outcomes - {"passed"} else 0


def file_error_report(item: Item) -> dict[str, Any]:
    return {"file": str(item.file), "case": None, "expect": None, "passed": False, "outcome": "error",
            "seconds": 0.0, "error": {"kind": "input", "message": item.error}}


def run_one(item: Item) -> dict[str, Any]:
    """Run one case and build its report (what a worker sends back).

    >>> from pathlib import Path
    >>> from gradcalc.batch.cases import Case
    >>> report = run_one(Item(Path("s.toml"), Case(name="n", expr="sum(X)", expect="mismatch")))
    >>> report["outcome"], report["verdict"], report["failures"]
    ('failed', 'equal', ["verdict 'equal', expected 'mismatch'"])
    """
    case = item.case
    assert case is not None
    start = time.perf_counter()
    try:
        outcome = run_case(case)
        error = outcome.error
    except Exception as err:  # noqa: BLE001 - an internal error is reported, and the batch goes on
        outcome, error = None, err
    report: dict[str, Any] = {"file": str(item.file), "case": case.name, "expect": case.expect}
    if outcome is not None and outcome.result is not None:
        report.update(second_view.to_json(outcome.result) if isinstance(outcome.result, HessianResult)
                      else to_json(outcome.result))
        report["failures"] = outcome.failures
        if case.check or case.options.expect:  # the hand-derived numbers and formulas, in words
            wrong = any(f.startswith("check ") for f in outcome.failures)
            wrong |= any(e.verdict in ("mismatch", "undefined") for e in getattr(outcome.result, "expectations", []))
            report["check"] = "mismatch" if wrong else "equal"
    if error is not None:
        kind = error.kind if isinstance(error, GradcalcError) else "internal"
        message = error.message if isinstance(error, GradcalcError) else f"{type(error).__name__}: {error}"
        report["error"] = {"kind": kind, "message": message}
    passed = outcome is not None and outcome.passed
    report.update(passed=passed, outcome="passed" if passed else "error" if error is not None else "failed",
                  seconds=round(time.perf_counter() - start, 4))
    return report


def timeout_report(item: Item, timeout: float) -> dict[str, Any]:
    case = item.case
    assert case is not None
    return {"file": str(item.file), "case": case.name, "expect": case.expect, "verdict": "timeout",
            "passed": False, "outcome": "timeout", "seconds": round(timeout, 4),
            "failures": [f"ran past --timeout {timeout:g} s and was stopped"]}
