"""What every command does first: text → tree → shapes → values, with the checks and notes that go with them.

`prepare` parses the expression, checks the names in `--wrt`, `--shape` and
`--value`, infers the shapes, refuses an expression over `--max-elements`,
and fills in the values (given, or drawn with `--rng` and `--seed`).

>>> p = prepare("sum((relu(X@W)-Y)**2)", EvalOptions(wrt=["W"]))
>>> p.wrt, p.info.variables["W"], p.arrays["W"].dtype, p.drawn["X"].source
(['W'], (3, 5), dtype('float64'), 'normal(seed=0)')
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import numpy as np

from gradcalc.errors import InputError, ShapeError
from gradcalc.jobs.results import Variable
from gradcalc.lang.dims import Size, format_shape
from gradcalc.lang.infer import ShapeInfo, infer
from gradcalc.lang.parse import parse
from gradcalc.lang.statements import parse_statements
from gradcalc.lang.tree import Node, postorder, variable_names
from gradcalc.options import EvalOptions
from gradcalc.referee import DEFAULT_TOLERANCES
from gradcalc.values.draw import Value, domains, draw


@dataclass
class Prepared:
    """An expression ready for the engines: its tree, shapes, values (in the options' dtype) and notes.

    >>> p = prepare("sum(x*x)", EvalOptions(shapes={"x": (2,)}))
    >>> [v.name for v in p.variables()], p.rtol, p.notes
    (['x'], 1e-07, [])
    """

    expression: str
    tree: Node
    info: ShapeInfo
    wrt: list[str]
    drawn: dict[str, Value]  # every variable's value and where it came from
    arrays: dict[str, np.ndarray]  # the same numbers in the dtype the engines compute in
    notes: list[str]
    rtol: float

    def variables(self) -> list[Variable]:
        """The inputs as the results show them, in order of first appearance.

        >>> [(v.name, v.shape) for v in prepare("X@W", EvalOptions(), scalar=False).variables()]
        [('X', (4, 3)), ('W', (3, 5))]
        """
        return [Variable(name, self.info.variables[name], self.arrays[name], self.drawn[name].source,
                         name in self.info.defaulted) for name in variable_names(self.tree)]


def prepare(expression: str, options: EvalOptions, scalar: bool = True) -> Prepared:
    """Parse, check names, infer shapes (a scalar or 1x1 result with `scalar`), check the size, fill in values.

    `scalar=False` (for `--vjp` and `--jacobian`) accepts any output shape.

    >>> prepare("X@W", EvalOptions())
    Traceback (most recent call last):
    gradcalc.errors.ShapeError: the expression is 4x5, not a scalar, so it has no gradient; give weights with --vjp SOURCE for the vector-Jacobian product (PyTorch's y.backward(v)), ask for --jacobian (small outputs), or reduce it, e.g. sum(X@W)
    """
    tree, info, wrt = infer_shapes(expression, options, scalar)
    check_names(list(options.order), variable_names(tree), "--order")
    given = dict(options.values)
    drawn = {**draw(tree, info.variables, options.seed, options.rng, skip=given, order=draw_order(options)), **given}
    with np.errstate(over="ignore"):  # 1e300 in float32 is inf, and the verdict says undefined
        arrays = {name: np.asarray(drawn[name].value, dtype=options.dtype) for name in variable_names(tree)}
    rtol = DEFAULT_TOLERANCES[options.dtype][0] if options.rtol is None else options.rtol
    notes = info.notes + domain_notes(tree, given, options.rng)
    return Prepared(expression, tree, info, wrt, drawn, arrays, notes, rtol)


def draw_order(options: EvalOptions) -> tuple[str, ...]:
    """The order random values are drawn in: `--order`, else for `--rng torch` the order of the `--shape` options
    (as a notebook's `torch.randn` calls run), then first appearance.

    >>> draw_order(EvalOptions(rng="torch", shapes={"x": (2,), "W": (2, 2)})), draw_order(EvalOptions(order=("b",)))
    (('x', 'W'), ('b',))
    """
    if options.order:
        return options.order
    return tuple(options.shapes) if options.rng == "torch" else ()


def infer_shapes(expression: str, options: EvalOptions, scalar: bool = True) -> tuple[Node, ShapeInfo, list[str]]:
    """The tree, its shapes and the names to differentiate: every check `prepare` makes before drawing values.

    >>> infer_shapes("trace(A@B)", EvalOptions(shapes={"A": (2, 6)}))[1].variables
    {'A': (2, 6), 'B': (6, 2)}
    """
    tree, names, wrt = parse_named(expression, options.wrt, options.shapes)
    check_names(list(options.values), names, "--value")
    fixed = dict(options.shapes)
    for name, value in options.values.items():
        if name in fixed and fixed[name] != value.value.shape:
            raise InputError(f"--shape {name}={format_shape(fixed[name])} conflicts with --value {name}, which is "
                             f"{format_shape(value.value.shape)}; a value fixes the shape, so drop the --shape")
        fixed[name] = value.value.shape
    info = infer(tree, fixed, expression, scalar=scalar)
    check_size(tree, info, options.max_elements)
    out_shape = info.of(tree)
    if scalar and out_shape not in ((), (1, 1)):
        raise ShapeError(
            f"the expression is {format_shape(out_shape)}, not a scalar, so it has no gradient; give weights "
            "with --vjp SOURCE for the vector-Jacobian product (PyTorch's y.backward(v)), ask for --jacobian "
            f"(small outputs), or reduce it, e.g. sum({expression.strip()})", position=0, source=expression)
    return tree, info, wrt


def parse_named(expression: str, wrt: tuple[str, ...] | list[str], shapes: dict[str, tuple[Size, ...]]
                ) -> tuple[Node, list[str], list[str]]:
    """Parse, and check that there are variables and that `--wrt` and `--shape` name them.

    Returns the tree, its variable names and the names to differentiate (all by default).

    >>> parse_named("trace(A@B)", (), {"A": (2, 3)})[1:]
    (['A', 'B'], ['A', 'B'])
    """
    tree = parse_statements(expression)
    names = variable_names(tree)
    if not names:
        raise InputError(f"{expression.strip()!r} has no variables, so there is nothing to differentiate; "
                         "use names such as X or W")
    wrt = check_names(list(dict.fromkeys(wrt or names)), names, "--wrt")
    check_names(list(shapes), names, "--shape")
    return tree, names, wrt


def check_names(asked: list[str], known: list[str], option: str) -> list[str]:
    """Refuse an option naming a variable the expression does not have, suggesting close names.

    >>> check_names(["Wx"], ["X", "W"], "--wrt")
    Traceback (most recent call last):
    gradcalc.errors.InputError: --wrt Wx: no variable 'Wx' in the expression; did you mean W?
    """
    for name in asked:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"variables: {', '.join(known) or 'none'}"
            raise InputError(f"{option} {name}: no variable {name!r} in the expression; {hint}")
    return asked


def check_size(tree: Node, info: ShapeInfo, limit: int) -> None:
    """Refuse an expression whose values would hold more than `limit` numbers, saying how much memory they need.

    Named sizes (`derive --shape X=n,k`) hold no numbers and are not counted.

    >>> tree = parse("sum(X@W)")
    >>> check_size(tree, infer(tree, {"X": (1000, 1000), "W": (1000, 1000)}), limit=2_000_000)
    Traceback (most recent call last):
    ...
    gradcalc.errors.InputError: the values of this expression hold 3,000,001 numbers (about 48 MB with their gradients), above the limit of 2,000,000; raise it with --max-elements 4000000 if the machine has the memory
    """
    shapes = (info.of(node) for node in postorder(tree) if node.op != "const")
    total = sum(math.prod(shape) for shape in shapes if all(isinstance(n, int) for n in shape))
    if total > limit:
        memory = total * 8 * 2  # float64 values and their gradients
        suggest = 10 ** len(str(total)) // 10 * (int(str(total)[0]) + 1)
        raise InputError(f"the values of this expression hold {total:,} numbers (about {_bytes(memory)} with their "
                         f"gradients), above the limit of {limit:,}; raise it with --max-elements {suggest} if the "
                         "machine has the memory")


def _bytes(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}"
        n /= 1000
    return ""


def domain_notes(tree: Node, given: dict[str, Value], rng: str) -> list[str]:
    """Say so when PyTorch's numbers feed a restricted domain unmapped.

    >>> domain_notes(parse("sum(log(X))"), {}, "torch")[0][:44]
    'X feeds a function that needs positive value'
    """
    if rng != "torch":
        return []
    wanted = {name: d for name, d in domains(tree).items() if name not in given}
    return [f"{name} feeds a function that needs {d.needs}, but --rng torch gives torch.randn's numbers as they "
            f"are; pass --value {name}=... or use the default --rng numpy" for name, d in wanted.items()]
