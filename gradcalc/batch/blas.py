"""BLAS threads of the running process: read and limit them after NumPy is loaded.

Batch workers are forked after the parent imported NumPy, so
`OPENBLAS_NUM_THREADS` and friends, read once when the library loads, come
too late for them. Each worker therefore limits its BLAS to one thread at
run time: through threadpoolctl when it is installed (any BLAS), otherwise
by calling OpenBLAS's own `set_num_threads` through ctypes on the library
NumPy loaded (NumPy's wheels bundle OpenBLAS). With neither, nothing is
changed and `blas_threads()` says None.

>>> limit_blas_threads(1) in (True, False)
True
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any

import numpy

try:  # optional: not a dependency, used when present because it knows MKL, BLIS and Accelerate too
    import threadpoolctl
except ImportError:  # pragma: no cover - depends on the environment
    threadpoolctl = None

# the spellings OpenBLAS exports: NumPy's scipy-openblas wheels, 64-bit-integer builds, plain builds
SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
           "openblas_set_num_threads")
GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
           "openblas_get_num_threads")


def openblas_paths() -> list[str]:
    """Files of the OpenBLAS libraries this process has loaded (or NumPy bundles), most likely first.

    >>> all("openblas" in os.path.basename(p).lower() for p in openblas_paths())
    True
    """
    paths: list[str] = []
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:  # not Linux: look where NumPy's wheels put their libraries
        pass
    root = os.path.dirname(os.path.dirname(numpy.__file__))
    for pattern in ("numpy.libs/*openblas*", "numpy/.dylibs/*openblas*"):
        paths += [p for p in sorted(glob.glob(os.path.join(root, pattern))) if p not in paths]
    return paths


def _function(names: tuple[str, ...]) -> Any:
    for path in openblas_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            function = getattr(library, name, None)
            if function is not None:
                return function
    return None


def blas_threads() -> int | None:
    """How many threads BLAS uses now, or None when it cannot be told.

    >>> n = blas_threads(); n is None or n >= 1
    True
    """
    if threadpoolctl is not None:
        counts = [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
        if counts:
            return max(counts)
    getter = _function(GETTERS)
    if getter is None:
        return None
    getter.restype = ctypes.c_int
    return int(getter())


def limit_blas_threads(count: int) -> bool:
    """Make BLAS use `count` threads from now on in this process; False when no BLAS could be reached.

    >>> before = blas_threads() or 1
    >>> limit_blas_threads(1) and blas_threads() == 1 or blas_threads() is None
    True
    >>> _ = limit_blas_threads(before)
    """
    if threadpoolctl is not None:
        threadpoolctl.threadpool_limits(count, user_api="blas")
        return True
    setter = _function(SETTERS)
    if setter is None:
        return False
    setter.argtypes = [ctypes.c_int]
    setter(count)
    return True
