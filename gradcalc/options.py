"""Option text to typed values, and the one frozen options object every command receives.

>>> parse_shape_option("X=10x4")
('X', (10, 4))
"""

from __future__ import annotations

import re

from gradcalc.errors import InputError
from gradcalc.lang.dims import Size


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
