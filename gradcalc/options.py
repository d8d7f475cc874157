"""Option text to typed values, and the one frozen options object every command receives.

The CLI turns its options into an `EvalOptions` (`from_text`), and so does a
sample file's case; `eval`, `--vjp`, `--jacobian`, `--steps`, `derive` and
batch cases all take that one object, so that a limit such as
`--max-elements` reaches every one of them.

>>> options = from_text(wrt=["W"], shape=["X=10x4"], max_elements=1000)
>>> options.wrt, options.shapes, options.max_elements
(('W',), {'X': (10, 4)}, 1000)
>>> EvalOptions(dtype="float16")
Traceback (most recent call last):
gradcalc.errors.InputError: --dtype float16: not one of float64, float32; e.g. --dtype float32
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from gradcalc.errors import InputError
from gradcalc.lang.dims import Size
from gradcalc.values.draw import RNGS, Value
from gradcalc.values.sources import load, load_all

#: The most numbers all of an expression's values may hold together (--max-elements raises it).
MAX_ELEMENTS = 20_000_000
#: The most entries (output size × input size) `--jacobian` computes for one variable.
JACOBIAN_LIMIT = 4096
DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class EvalOptions:
    """What a command needs besides the expression, checked once, the same from the CLI and from a sample file.

    `shapes` are `--shape` (sizes may be names for `derive`), `values` the
    loaded `--value`s, `vjp` the `--vjp` weights (named `vjp_name`, or `v`).

    >>> EvalOptions(wrt=["W", "W"], seed=3).wrt
    ('W',)
    >>> EvalOptions(rtol=-1.0)
    Traceback (most recent call last):
    gradcalc.errors.InputError: --rtol -1.0: must be a non-negative number, e.g. --rtol 1e-6
    """

    wrt: tuple[str, ...] = ()
    shapes: Mapping[str, tuple[Size, ...]] = field(default_factory=dict)
    values: Mapping[str, Value] = field(default_factory=dict)
    seed: int = 0
    rng: str = "numpy"
    dtype: str = "float64"
    rtol: float | None = None
    atol: float | None = None
    steps: bool = False
    max_elements: int = MAX_ELEMENTS
    vjp: Value | None = None
    vjp_name: str | None = None
    expect: tuple[tuple[str, str], ...] = ()  # --expect NAME=FORMULA: the user's own gradients to check
    order: tuple[str, ...] = ()  # --order x,W,y: the order random values are drawn in (then first appearance)
    jacobian: bool = False
    jacobian_limit: int = JACOBIAN_LIMIT
    hessian: bool = False  # --hessian: the Hessian over the --wrt variables
    hvp: Value | None = None  # --hvp SOURCE: the direction of a Hessian-vector product (named hvp_name, or v)
    hvp_name: str | None = None
    jvp: Value | None = None  # --jvp SOURCE: the direction of a Jacobian-vector product (named jvp_name, or v)
    jvp_name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "wrt", tuple(dict.fromkeys(self.wrt or ())))
        object.__setattr__(self, "shapes", dict(self.shapes))
        object.__setattr__(self, "values", dict(self.values))
        object.__setattr__(self, "order", tuple(dict.fromkeys(self.order or ())))
        check_choice("--rng", self.rng, RNGS)
        check_choice("--dtype", self.dtype, DTYPES)
        for name, value in (("--rtol", self.rtol), ("--atol", self.atol)):
            if value is not None and not (value >= 0 and value < float("inf")):
                raise InputError(f"{name} {value}: must be a non-negative number, e.g. {name} 1e-6")
        if self.max_elements < 1:
            raise InputError(f"--max-elements {self.max_elements}: must be a positive number, e.g. "
                             f"--max-elements {MAX_ELEMENTS}")
        if self.vjp is not None and self.jacobian:
            raise InputError("--vjp and --jacobian: give one; --vjp SOURCE weights the output (vᵀJ), --jacobian "
                             "shows all of J")
        if self.expect and (self.vjp is not None or self.jacobian):
            raise InputError("--expect checks a gradient of a scalar expression; it works with eval, not with "
                             "--vjp or --jacobian")
        if self.jacobian and self.steps:
            raise InputError("--steps works with eval and eval --vjp, not with --jacobian")
        self._check_second_order()

    def _check_second_order(self) -> None:
        """--hessian, --hvp and --jvp: one at a time, and not with the first-order options that need a gradient."""
        asked = [name for name, on in (("--hessian", self.hessian), ("--hvp", self.hvp is not None),
                                       ("--jvp", self.jvp is not None)) if on]
        others = [name for name, on in (("--vjp", self.vjp is not None), ("--jacobian", self.jacobian),
                                        ("--steps", self.steps), ("--expect", bool(self.expect))) if on]
        if len(asked) > 1:
            raise InputError(f"{' and '.join(asked)}: give one; --hessian forms the whole Hessian, --hvp SOURCE its "
                             "product with a direction, --jvp SOURCE the directional derivative of the expression")
        if asked and others:
            raise InputError(f"{asked[0]} and {others[0]}: {others[0]} works with first-order eval; second order "
                             f"and forward mode ({asked[0]}) show no backward chain, VJP or --expect check")


def from_text(*, wrt: list[str] = (), shape: list[str] = (), value: list[str] = (), vjp: str | None = None,
              hvp: str | None = None, jvp: str | None = None, symbolic: bool = False, **typed: Any) -> EvalOptions:
    """The options object from the command line's text: `--shape`, `--value`, `--vjp` parsed, the rest as typed.

    >>> from_text(shape=["X=n,k"], symbolic=True).shapes
    {'X': ('n', 'k')}
    """
    options = EvalOptions(wrt=tuple(wrt), **typed)  # the typed options are checked before any file is read
    shapes = dict(parse_shape_option(s, symbolic) for s in shape)
    values = load_all(list(value))
    name, weights = parse_vjp_option(vjp) if vjp is not None else (None, None)
    hvp_name, hvp_value = parse_vjp_option(hvp, "--hvp") if hvp is not None else (None, None)
    jvp_name, jvp_value = parse_vjp_option(jvp, "--jvp") if jvp is not None else (None, None)
    return replace(options, shapes=shapes, values=values, vjp=weights, vjp_name=name, hvp=hvp_value,
                   hvp_name=hvp_name, jvp=jvp_value, jvp_name=jvp_name)


def check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    """Refuse a value that is not one of the choices, naming them.

    >>> check_choice("--rng", "jax", ("numpy", "torch"))
    Traceback (most recent call last):
    gradcalc.errors.InputError: --rng jax: not one of numpy, torch; e.g. --rng torch
    """
    if value not in choices:
        raise InputError(f"{option} {value}: not one of {', '.join(choices)}; e.g. {option} {choices[-1]}")


def parse_vjp_option(text: str, option: str = "--vjp") -> tuple[str | None, Value]:
    """`--vjp SOURCE` (any `--value` source) or `--vjp NAME=SOURCE`, which names the weights in the formulas;
    `--hvp` and `--jvp` give their directions the same way (`option`).

    >>> parse_vjp_option("[[1, 0.1]]")[1].value, parse_vjp_option("g=[1, 2]")[0]
    (array([[1. , 0.1]]), 'g')
    >>> parse_vjp_option("[1, true]")
    Traceback (most recent call last):
    gradcalc.errors.InputError: --vjp [1, true]: inline JSON: [1] is true (column 5); expected a number
    """
    match = re.match(r"\s*([A-Za-z_]\w*)\s*=(.*)$", text, re.DOTALL)
    name, source = (match.group(1), match.group(2).strip()) if match else (None, text.strip())
    try:
        return name, load(name or "v", source)
    except InputError as err:
        detail = err.message.removeprefix(f"--value {name or 'v'}={source}: ")
        raise InputError(f"{option} {text}: {detail}") from None


def parse_save_option(text: str) -> tuple[str, Path]:
    """Split `NAME=path.npy`, checking that the path can be written before any work is done.

    >>> parse_save_option("W=grad.npy")
    ('W', PosixPath('grad.npy'))
    """
    name, sep, target = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier() or not target:
        raise InputError(f"--save {text}: expected NAME=path.npy, e.g. --save W=grad_W.npy")
    path = Path(target)
    if path.suffix != ".npy":
        raise InputError(f"--save {text}: the file must end in .npy (NumPy's format), e.g. --save {name}=grad_{name}.npy")
    if not path.parent.is_dir():
        raise InputError(f"--save {text}: folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise InputError(f"--save {text}: {target!r} is a folder; give a file name ending in .npy")
    return name, path



_SHAPE_OPTION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_SIZE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_shape_option(text: str, symbolic: bool = False) -> tuple[str, tuple[Size, ...]]:
    """Parse `--shape NAME=DIMS`: `X=10x4`, `X=10,4`, a vector `x=4`, `a=scalar`, `a=()`.

    With `symbolic=True` (`derive`) a size may be a name: `X=n,k`, `X=(n, k)`,
    `X=n×k`, `X=n,4`. `x` separates numbers only (`10x4`), since it could be
    part of a name.

    >>> parse_shape_option("X=10x4"), parse_shape_option("a=scalar")
    (('X', (10, 4)), ('a', ()))
    >>> parse_shape_option("X=(n, 4)", symbolic=True)
    ('X', ('n', 4))
    """
    match = _SHAPE_OPTION.match(text)
    if not match:
        raise InputError(f"--shape {text!r}: expected NAME=DIMS, e.g. X=10x4 or a=scalar")
    name, dims = match.groups()
    if dims.lower() in ("scalar", "()", ""):
        return name, ()
    inner = dims.strip("()[] ")
    parts = re.split(r"\s*[,×]\s*", inner)
    if len(parts) == 1 and re.fullmatch(r"\d+(\s*x\s*\d+)*", inner):
        parts = re.split(r"\s*x\s*", inner)
    if len(parts) == 2 and parts[1] == "" and dims.rstrip().endswith(",)"):  # (n,): a 1-D vector
        parts = parts[:1]
    sizes = tuple(_size(p, name, text, symbolic, alone=len(parts) == 1 and "," not in dims) for p in parts)
    if len(sizes) > 2:
        raise InputError(f"--shape {text!r}: at most 2 dimensions are supported")
    return name, sizes


def _size(part: str, name: str, text: str, symbolic: bool, alone: bool) -> Size:
    """One size of a `--shape` option: a positive integer, or (symbolic) a name; `nxk` alone is ambiguous."""
    if part.isdigit() and int(part) > 0:
        return int(part)
    if not _SIZE_NAME.match(part):
        if symbolic:
            raise InputError(f"--shape {text!r}: a size must be a positive integer or a name, e.g. {name}=n,k")
        raise InputError(f"--shape {text!r}: sizes must be positive integers, e.g. {name}=10x4")
    if not symbolic:
        raise InputError(f"--shape {text!r}: {part!r} is a symbolic size; symbolic sizes are for `gradcalc derive`, "
                         f"eval needs numbers, e.g. {name}=10x4")
    if alone and "x" in part and all(len(p) == 1 or p.isdigit() for p in part.split("x")):  # nxk, nx4
        raise InputError(f"--shape {text!r}: is {part!r} one name or sizes separated by x? Write sizes with commas, "
                         f"e.g. {name}={','.join(part.split('x'))} (x separates numbers only, as in 10x4)")
    return part
