"""A grammar of gradcalc expressions drawn from the op table, for tests/test_fuzz_grammar.py and bench/fuzz_long.py.

`expression(rng)` composes random calls of `gradcalc.lang.ops.TABLE` rows in every spelling the row declares
(bare name and aliases, `np.`, `torch.`, `F.`, methods, infix symbols), with constant parameters by keyword or
by position (right and wrong kinds), over variables of random shapes, numbers (huge, tiny, nan-ish, exact
powers past float64), nesting, Unicode and injections (`__import__`, `os.system`, f-strings, lambdas).
`case(rng)` adds the --shape options and names its category; the same `random.Random` gives the same case.
`run_case` runs one in-process through the job API and the JSON renderer and returns its outcome, or raises
`Broken` for a contract violation (an exception that is no GradcalcError, non-strict JSON, a hang).

>>> import random
>>> text, shapes, category = case(random.Random(1))
>>> isinstance(text, str) and category in CATEGORIES
True
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import time
from collections.abc import Iterator
from typing import Any

from gradcalc.errors import GradcalcError
from gradcalc.lang.ops import TABLE

CATEGORIES = ("ops", "keywords", "numbers", "nesting", "unicode", "injection")
VARIABLES = ("X", "W", "Y", "x", "a")
SHAPES = ("1x1", "1x3", "3x1", "3x4", "4x3", "3x3", "3", "4", "scalar")
NUMBERS = ("0", "1", "2", "-1", "0.5", "3", "1e-3", "1e308", "1e309", "1e-320", "5e-324", "-0.0", "2**1023",
           "2**1024", "9**9**9", "10**400", "2**10**10-2**10**10", "2**-(10**10)", "(-8)**0.5", "0**-1", "inf",
           "-inf", "nan", "pi", "e", "1" * 30, "9" * 320, "0.1**400", "2.0**5000", "(-3)**(5**20)", "1/0")
UNICODE = ("é", "Χ", "∑", "√", "×", "−", "\u200b", "\u00a0", "ｘ", "😀", "\ufeff", "\x1b[31m", "\\")
INJECTIONS = ("__import__('os').system('true')", "os.system('true')", "f'{X}'", "lambda x: x", "(lambda: X)()",
              "eval('X')", "exec('1')", "X.__class__", "open('/etc/passwd')", "globals()", "[X for X in W]",
              "X if W else Y", "getattr(X, 'T')", "X.__dict__", "__builtins__", "b'X'", "X := 1", "*X", "X[::0]")
AXES = ("0", "1", "-1", "2", "None", "-3", "0.5", "9**9**9", "True")
FLAGS = ("True", "False", "1", "None")
PARAM_NUMBERS = ("2", "0.5", "-1", "3", "0", "1e300", "1e-300", "10**400", "9**9**9", "-2.5", "inf", "nan", "X")
SIZES = ("1", "2", "3", "0", "-1", "2.5", "10**400")


def _variable(rng: random.Random) -> str:
    return rng.choice(VARIABLES)


def _param_value(rng: random.Random, param: Any) -> str:
    if param.kind == "axis":
        return rng.choice(AXES)
    if param.kind == "flag":
        return rng.choice(FLAGS)
    if param.kind == "size":
        return rng.choice(SIZES)
    if param.kind == "choice":
        return repr(rng.choice([*param.choices, "bogus"]))
    return rng.choice(PARAM_NUMBERS)


def _arguments(rng: random.Random, op: Any, tensors: list[str], library: str) -> str:
    """Tensor arguments then some constant parameters, by position or keyword (NumPy's or PyTorch's)."""
    parts = list(tensors)
    for param in op.params:
        if rng.random() < 0.5:
            continue
        value = _param_value(rng, param)
        if rng.random() < 0.6:
            keyword = param.torch if library == "torch" and param.torch and rng.random() < 0.7 else param.name
            parts.append(f"{keyword}={value}")
        elif not any("=" in p for p in parts[len(tensors):]):
            parts.append(value)
    return ", ".join(parts)


def _call(rng: random.Random, op: Any, depth: int) -> str:
    """One call of `op` in one of its spellings."""
    tensors = [_term(rng, depth + 1) for _ in range(op.arity)]
    spellings = []
    if op.symbol in ("+", "-", "*", "/", "@", ">", "<", ">=", "<=", "==", "!=") and op.arity == 2:
        spellings.append(("infix", op.symbol))
    if op.symbol == "-" and op.arity == 1:
        spellings.append(("prefix", "-"))
    if op.symbol == "**":
        spellings.append(("power", "**"))
    if op.symbol in (".T", ".mT"):
        spellings.append(("attribute", op.symbol))
    spellings += [("bare", n) for n in (op.name, *op.aliases)]
    spellings += [("np", n) for n in op.numpy_names]
    spellings += [("torch", n) for n in op.torch_names]
    spellings += [("method", n) for n in op.methods]
    how, name = rng.choice(spellings)
    if how == "infix":
        return f"({tensors[0]} {name} {tensors[1]})"
    if how == "prefix":
        return f"(-{tensors[0]})"
    if how == "power":
        return f"({tensors[0]})**{_param_value(rng, op.params[0])}"
    if how == "attribute":
        return f"({tensors[0]}){name}"
    if how == "method" and tensors:
        library = rng.choice(["numpy", "torch"])
        return f"({tensors[0]}).{name}({_arguments(rng, op, tensors[1:], library)})"
    if how == "torch":
        prefix = rng.choice(["torch.", "torch.", "F.", "torch.nn.functional."])
        return f"{prefix}{name}({_arguments(rng, op, tensors, 'torch')})"
    prefix = rng.choice(["np.", "numpy."]) if how == "np" else ""
    return f"{prefix}{name}({_arguments(rng, op, tensors, 'numpy')})"


def _term(rng: random.Random, depth: int) -> str:
    roll = rng.random()
    if depth >= 4 or roll < 0.3:
        return _variable(rng) if rng.random() < 0.8 else rng.choice(NUMBERS)
    return _call(rng, rng.choice(TABLE), depth)


def expression(rng: random.Random, category: str) -> str:
    """A random expression of one category; most are summed to a scalar, as a loss is."""
    text = _term(rng, 0)
    if category == "numbers":
        text = f"({text}) * {rng.choice(NUMBERS)} + {rng.choice(NUMBERS)}"
    elif category == "nesting":
        n = rng.choice([2, 10, 60, 149, 151, 400])
        wrap = rng.choice([("(", ")"), ("exp(", ")"), ("-", ""), ("sum(", ")"), ("relu(", ")"), ("", ".T")])
        text = wrap[0] * n + text + wrap[1] * n
    elif category == "unicode":
        i = rng.randrange(len(text) + 1)
        text = text[:i] + rng.choice(UNICODE) + text[i:]
    elif category == "injection":
        injection = rng.choice(INJECTIONS)
        text = rng.choice([injection, f"{text} + {injection}", f"sum({injection})", text.replace("X", injection, 1)])
    if rng.random() < 0.8:
        text = f"sum({text})"
    return text


def case(rng: random.Random) -> tuple[str, list[str], str]:
    """(expression, --shape options, category) for one fuzz input."""
    category = rng.choice(CATEGORIES)
    text = expression(rng, category)
    if category == "keywords":
        op = rng.choice([op for op in TABLE if op.params and op.arity >= 1])
        text = f"sum({_call(rng, op, 1)})"
    shapes = [f"{name}={rng.choice(SHAPES)}" for name in VARIABLES if name in text and rng.random() < 0.7]
    return text, shapes, category


class Broken(AssertionError):
    """A contract violation: no verdict and no GradcalcError, non-strict JSON, or too slow."""


class _Late(BaseException):
    pass


@contextlib.contextmanager
def limit(seconds: float) -> Iterator[None]:
    """Raise Broken when the block runs past `seconds` (SIGALRM, main thread)."""
    def alarm(signum: int, frame: Any) -> None:
        raise _Late

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Late:
        raise Broken(f"still running after {seconds:g} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _refuse(token: str) -> Any:
    raise Broken(f"non-strict JSON token {token}")


def strict_json(text: str) -> Any:
    """json.loads refusing NaN/Infinity."""
    return json.loads(text, parse_constant=_refuse)


def run_case(text: str, shapes: list[str], budget: float = 20.0) -> str:
    """Run one input through the job API and the JSON renderer: "0"/"1" (a verdict) or "2" (a GradcalcError)."""
    import numpy as np

    from gradcalc.jobs.evaluate import run_eval
    from gradcalc.options import from_text
    from gradcalc.render.eval_view import to_json

    started = time.perf_counter()
    try:
        with limit(budget), np.errstate(all="ignore"):
            result = run_eval(text, from_text(shape=shapes))
            document = json.dumps(to_json(result), allow_nan=False)
    except GradcalcError as err:
        if "\n" in err.message:
            raise Broken(f"a multi-line error for {text!r}: {err.message!r}") from None
        return "2"
    except Broken:
        raise
    except Exception as err:  # noqa: BLE001 - the contract: nothing else may escape
        raise Broken(f"{type(err).__name__}: {err} for {text!r} with {shapes}") from err
    if time.perf_counter() - started > budget:
        raise Broken(f"{text!r} took {time.perf_counter() - started:.1f} s")
    verdict = strict_json(document)["verdict"]
    if verdict not in ("equal", "kink", "mismatch", "undefined"):
        raise Broken(f"verdict {verdict!r} for {text!r}")
    return "0" if verdict in ("equal", "kink") else "1"
