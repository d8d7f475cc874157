"""`--save NAME=path.npy`: a gradient written for the next tool in a pipeline.

The file holds the engine's gradient (the `autograd` column), in the dtype
it was computed in and with the variable's shape, as `numpy.save` writes it.

>>> import tempfile
>>> from gradcalc.jobs.evaluate import run_eval
>>> path = Path(tempfile.mkdtemp()) / "grad_A.npy"
>>> save_gradients(run_eval("trace(A@B)", wrt=["A"]), dict([parse_save_option(f"A={path}")]))
>>> np.load(path).shape
(4, 3)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gradcalc.errors import InputError

if TYPE_CHECKING:
    from gradcalc.jobs.results import EvalResult


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


def save_gradients(result: EvalResult, targets: dict[str, Path]) -> None:
    """Write each requested gradient; its variable must be one the result differentiated.

    >>> from gradcalc.jobs.evaluate import run_eval
    >>> save_gradients(run_eval("trace(A@B)", wrt=["A"]), {"B": Path("b.npy")})
    Traceback (most recent call last):
    ...
    gradcalc.errors.InputError: --save B=b.npy: no gradient with respect to B was taken; add --wrt B
    """
    gradients = {g.name: g for g in result.gradients}
    for name, path in targets.items():
        if name not in gradients:
            raise InputError(f"--save {name}={path}: no gradient with respect to {name} was taken; add --wrt {name}")
    for name, path in targets.items():
        try:
            with open(path, "wb") as out:
                np.save(out, gradients[name].autograd, allow_pickle=False)
        except OSError as err:
            raise InputError(f"--save {name}={path}: cannot write the file ({err.strerror or err})") from None
