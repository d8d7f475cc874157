"""`--save NAME=path.npy`: a gradient written for the next tool in a pipeline.

The file holds the engine's gradient (the `autograd` column), in the dtype
it was computed in and with the variable's shape, as `numpy.save` writes it.

>>> import tempfile
>>> from gradcalc.jobs.evaluate import run_eval
>>> from gradcalc.options import parse_save_option
>>> path = Path(tempfile.mkdtemp()) / "grad_A.npy"
>>> from gradcalc.options import EvalOptions
>>> save_gradients(run_eval("trace(A@B)", EvalOptions(wrt=["A"])), dict([parse_save_option(f"A={path}")]))
>>> np.load(path).shape
(4, 3)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gradcalc.errors import InputError
from gradcalc.jobs.results import DirectionalResult, EvalResult, HessianResult


def save_gradients(result: EvalResult, targets: dict[str, Path]) -> None:
    """Write each requested gradient; its variable must be one the result differentiated.

    >>> from gradcalc.jobs.evaluate import run_eval
    >>> from gradcalc.options import EvalOptions
    >>> save_gradients(run_eval("trace(A@B)", EvalOptions(wrt=["A"])), {"B": Path("b.npy")})
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


def save_second(result: HessianResult | DirectionalResult, targets: dict[str, Path]) -> None:
    """Write the engine's Hessian (`--save hessian=H.npy`), or its HVP or JVP (`--save hvp=...`, `--save jvp=...`).

    >>> from gradcalc.jobs.second import run_hessian
    >>> from gradcalc.options import EvalOptions
    >>> save_second(run_hessian("sum(x*x)", EvalOptions(hessian=True)), {"W": Path("w.npy")})
    Traceback (most recent call last):
    ...
    gradcalc.errors.InputError: --save W=w.npy: with --hessian, save the Hessian as --save hessian=FILE.npy
    """
    kind = "hessian" if isinstance(result, HessianResult) else result.kind
    array = result.autograd if isinstance(result, HessianResult) else result.products[0].autograd
    for name, path in targets.items():
        if name != kind:
            raise InputError(f"--save {name}={path}: with --{kind}, save the {'Hessian' if kind == 'hessian' else kind.upper()} "
                             f"as --save {kind}=FILE.npy")
    for name, path in targets.items():
        try:
            with open(path, "wb") as out:
                np.save(out, array, allow_pickle=False)
        except OSError as err:
            raise InputError(f"--save {name}={path}: cannot write the file ({err.strerror or err})") from None
