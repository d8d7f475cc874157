"""Grammar-based fuzzing (issue 16): random compositions of the op table's rows in all their spellings.

tests/test_fuzz.py mutates sample expressions and random text; this file composes new expressions from
`gradcalc.lang.ops.TABLE` (tests/fuzz_grammar.py: spellings, keywords, shapes, huge/tiny/nan-ish numbers,
nesting, Unicode, injections) and checks the contract for each: a verdict (0/1) or a GradcalcError (2),
strict JSON, nothing else raised, and well within the time budget. Hypothesis derandomizes it (a fixed
seed), so CI sees the same inputs every run: GRADCALC_GRAMMAR_EXAMPLES in-process ones (default 3000,
about 20 s on two cores) and a few through the real `gradcalc eval --json` process. The long run
(>= 10^5 inputs) is `python bench/fuzz_long.py --inputs 100000 --jobs 2`; see docs/fuzzing.md.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import warnings

import fuzz_grammar as grammar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as _event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

EXAMPLES = int(os.environ.get("GRADCALC_GRAMMAR_EXAMPLES", "3000") or 3000)
BUDGET = 20.0  # seconds one in-process input may take (the CLI's default --timeout is 60)
PROCESS_BUDGET = 30.0


def derandomized(n: int) -> settings:
    """A fixed seed: the same n inputs on every run and machine."""
    return settings(max_examples=n, derandomize=True, deadline=None, database=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


def event(text: str) -> None:
    """Count an outcome for --hypothesis-show-statistics."""
    if currently_in_test_context():
        _event(text)


@derandomized(EXAMPLES)
@given(rng=st.randoms(use_true_random=False))
def test_grammar_inputs_give_a_verdict_or_one_gradcalc_error(rng: random.Random) -> None:
    text, shapes, category = grammar.case(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would reach the user's stderr
        outcome = grammar.run_case(text, shapes, budget=BUDGET)
    event(f"{category}: exit {outcome}")


@derandomized(8)
@given(rng=st.randoms(use_true_random=False))
def test_grammar_inputs_through_the_real_cli(rng: random.Random) -> None:
    text, shapes, category = grammar.case(rng)
    if "\x00" in text:
        return
    args = [sys.executable, "-m", "gradcalc", "eval", "--json", *(f"--shape={s}" for s in shapes), "--", text]
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, timeout=120, check=False, env={**os.environ, "NO_COLOR": "1"})
    took = time.perf_counter() - started
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode in (0, 1, 2), (done.returncode, text, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, (text, stderr)
    assert took < PROCESS_BUDGET, (text, took)
    document = grammar.strict_json(done.stdout.decode())
    if done.returncode == 2:
        assert set(document) == {"error"} and stderr.splitlines()[-1].startswith("gradcalc: error: "), stderr
    else:
        assert document["verdict"] in ("equal", "kink", "mismatch", "undefined")
    event(f"{category}: exit {done.returncode}")


def test_the_grammar_reaches_every_op_and_category() -> None:
    """The generator is not stuck on a few rows: 2000 draws name every op and category."""
    from gradcalc.lang.ops import TABLE

    rng = random.Random(0)
    texts, categories = [], set()
    for _ in range(2000):
        text, _, category = grammar.case(rng)
        texts.append(text)
        categories.add(category)
    joined = "\n".join(texts)
    assert categories == set(grammar.CATEGORIES)
    missing = [op.name for op in TABLE if not any(n in joined for n in (op.name, *op.aliases, *op.numpy_names,
                                                                         *op.torch_names, *op.methods))]
    assert not missing, missing


@pytest.mark.parametrize("text, shapes", [
    ("sum(W) + inf", []),  # KeyError 'const' in the nan notes
    ("sum(np.swapaxes(np.add(x.transpose(d1=-3), np.eye(n=2)), axis1=None))", ["x=scalar"]),  # None % 2
    ("sum(torch.nn.functional.var(torch.sign(a)))", ["a=1x1"]),  # ZeroDivisionError: N - ddof = 0
    ("X.var(unbiased=True)", ["X=scalar"]),
    ("sum(a + abs(zeros(1)))", ["a=3x4"]),  # SymPy ShapeError: a (1,) vector broadcast to one column
    ("sum(torch.min(Y, -1) + x)", ["Y=1x1"]),
    ("sum(relu(minimum(zeros(n=1), a).T))", []),  # matmul ValueError, same cause
    ("sum((np.greater(elu(diag(a)), W)).kron(x))", ["W=4x3", "a=1x1"]),  # broadcast ValueError, same cause
    ("sum(torch.ge(where(sqrt(x).detach(), -0.0, F.square(2**-(10**10))), W))", ["W=4x3", "x=4x3"]),  # log2(0.0)
    ("sum(X)*(-8)**0.5", []),  # TypeError: cannot print ImaginaryUnit
    ("sum(X)*2**-(10**10)", []),  # SymPy's exact 1/2**(10**10): a hang
    ("sum(numpy.std(X, ddof=1e300))", []),  # NumPy's OverflowError: Python int too large to convert to C long
    ("relu(" * 149 + "W" + ")" * 149, []),  # RecursionError in SymPy's __eq__ in a long-lived process
])
def test_what_the_grammar_fuzzing_found(text: str, shapes: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Degrees of freedom <= 0" reached stderr once var's ZeroDivisionError was gone
        assert grammar.run_case(text, shapes, budget=BUDGET) in ("0", "1", "2")
