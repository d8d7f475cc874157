"""Symbolic scaling: `derive` of an L-layer relu MLP loss with respect to every weight.

    sum((relu(...relu(relu(X@W1)@W2)...@WL) - Y)**2)

For L = 1, 2, 4, 8, 16, 32 it prints the time of the whole derivation (our
adjoint rules, simplification, printing in gradcalc syntax, Unicode and
LaTeX, common sub-expressions named once) for all L gradients, and the sizes
of W1's formula: expanded, and with repeated parts named once (what `derive`
and `eval --json` give under `shared`). The named form must grow linearly in
L; the expanded one grows quadratically. Target: L = 32 in under 1 s.

    python bench/symbolic.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from gradcalc.symbolic import closed_form
from gradcalc.lang.parse import parse
from gradcalc.lang.infer import infer

LAYERS = (1, 2, 4, 8, 16, 32)


def mlp(layers: int) -> str:
    """The loss of a relu MLP with `layers` weight matrices.

    >>> mlp(2)
    'sum((relu(relu(X@W1)@W2) - Y)**2)'
    """
    inner = "X"
    for i in range(1, layers + 1):
        inner = f"relu({inner}@W{i})"
    return f"sum(({inner} - Y)**2)"


def derive_all(layers: int) -> tuple[float, dict[str, closed_form.Derivation]]:
    """Seconds to derive every weight's gradient from scratch (no cache), and the derivations."""
    text = mlp(layers)
    closed_form.DERIVATIONS.clear()
    start = time.perf_counter()
    tree = parse(text)
    info = infer(tree, {f"W{i}": (8, 8) for i in range(1, layers + 1)} | {"X": (16, 8), "Y": (16, 8)}, text)
    derived = closed_form.derive(text, tree, info, [f"W{i}" for i in range(1, layers + 1)])
    return time.perf_counter() - start, derived


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    derive_all(2)  # warm SymPy's caches of the small pieces
    print(f"{'L':>3} {'derive all L (s)':>17} {'W1 expanded chars':>18} {'W1 named-once chars':>20} {'per layer':>10}")
    previous = None
    for layers in LAYERS:
        seconds = statistics.median(derive_all(layers)[0] for _ in range(runs))
        w1 = derive_all(layers)[1]["W1"]
        named = len(w1.compact) + sum(len(f"{n} = {f}") for n, f in w1.shared)
        step = "" if previous is None else f"{(named - previous[1]) / (layers - previous[0]):.0f}"
        print(f"{layers:>3} {seconds:>17.3f} {len(w1.syntax):>18} {named:>20} {step:>10}")
        previous = (layers, named)
    print(f"({runs} runs each, median; target: L = 32 in under 1 s, named-once size linear in L)")


if __name__ == "__main__":
    main()
