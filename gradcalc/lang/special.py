"""Special functions NumPy lacks, vectorised: erf (W. J. Cody's rational approximations) and GELU.

`erf` is also the helper that `derive --code` writes out (its source,
through `helper_lines`), so it uses nothing but NumPy and literal numbers,
and its annotations are strings.

>>> float(erf(np.array(0.5))), float(gelu(np.array(1.0)))
(0.5204998778130465, 0.8413447460685429)
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import numpy as np

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)  # PyTorch's kBeta of the tanh approximation
KAPPA = 0.044715  # PyTorch's kKappa of the tanh approximation


def erf(a: "np.ndarray") -> "np.ndarray":
    """The error function of each entry, by W. J. Cody's rational Chebyshev approximations (relative error ~1e-16).

    >>> erf(np.array([0.0, 1.0, -3.0])).round(12).tolist()
    [0.0, 0.84270079295, -0.999977909503]
    """
    x = np.empty_like(a, dtype=np.result_type(a, 0.0))  # a float copy of a, of a's own kind of array
    x[...] = a
    y = np.abs(x)
    out = np.ones_like(y)  # erf is 1.0 in float64 beyond |x| = 6 (erfc(6) is below half an ulp of 1)
    small = y <= 0.46875
    z = y[small]
    t = z * z
    num, den = 0.185777706184603153 * t, t.copy()
    for p, q in ((3.1611237438705656, 23.6012909523441209), (113.864154151050156, 244.024637934444173),
                 (377.485237685302021, 1282.61652607737228)):
        num += p
        num *= t
        den += q
        den *= t
    num += 3209.37758913846947
    num *= z
    den += 2844.23683343917062
    out[small] = num / den
    middle = ~small & (y <= 4.0)
    z = y[middle]
    num, den = 2.15311535474403846e-8 * z, z.copy()
    for p, q in ((0.564188496988670089, 15.7449261107098347), (8.88314979438837594, 117.693950891312499),
                 (66.1191906371416295, 537.181101862009858), (298.635138197400131, 1621.38957456669019),
                 (881.95222124176909, 3290.79923573345963), (1712.04761263407058, 4362.61909014324716),
                 (2051.07837782607147, 3439.36767414372164)):
        num += p
        num *= z
        den += q
        den *= z
    num += 1230.33935479799725
    den += 1230.33935480374942
    num /= den  # erfc(z) exp(z*z); one exp(-z*z) suffices for erf = 1 - erfc, unlike for erfc itself
    num *= np.exp(-z * z)
    out[middle] = 1.0 - num
    large = (y > 4.0) & (y < 6.0)
    z = y[large]
    r = 1.0 / (z * z)
    num, den = 0.0163153871373020978 * r, r.copy()
    for p, q in ((0.305326634961232344, 2.56852019228982242), (0.360344899949804439, 1.87295284992346047),
                 (0.125781726111229246, 0.527905102951428412), (0.0160837851487422766, 0.0605183413124413191)):
        num += p
        num *= r
        den += q
        den *= r
    erfc = (0.56418958354775628695 - r * (num + 6.58749161529837803e-4) / (den + 0.00233520497626869185)) / z
    out[large] = 1.0 - np.exp(-z * z) * erfc
    out[np.isnan(y)] = np.nan
    return np.copysign(out, x)


def helper_lines(function: Callable[..., Any]) -> tuple[str, ...]:
    """A function's own source, as the lines of a `derive --code` helper.

    >>> helper_lines(erf)[0]
    'def erf(a: "np.ndarray") -> "np.ndarray":'
    """
    return tuple(inspect.getsource(function).splitlines())


def gelu(a: Any, approximate: str = "none") -> Any:
    """GELU as torch.nn.functional.gelu: A Φ(A) with the normal CDF Φ, or PyTorch's tanh approximation.

    >>> round(float(gelu(np.array(1.0), "tanh")), 12)
    0.841191990608
    """
    if approximate == "tanh":
        return 0.5 * a * (1.0 + np.tanh(SQRT_2_OVER_PI * (a + KAPPA * a * a * a)))
    return 0.5 * a * (1.0 + erf(a * (1.0 / math.sqrt(2.0))))


def gelu_vjp(ans: Any, a: Any, approximate: str = "none") -> Callable[[Any], Any]:
    """g times GELU's derivative: Φ(A) + A φ(A), or the derivative of the tanh approximation.

    >>> round(float(gelu_vjp(None, np.array(0.5))(1.0)), 12)
    0.867495124656
    """
    if approximate == "tanh":
        t = np.tanh(SQRT_2_OVER_PI * (a + KAPPA * a * a * a))
        d = 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * KAPPA * a * a)
    else:
        d = 0.5 * (1.0 + erf(a * (1.0 / math.sqrt(2.0)))) + a * np.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
    return lambda g: g * d
