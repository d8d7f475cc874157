"""Bit-exact NumPy reproduction of PyTorch's CPU ``torch.randn`` (float32).

``randn(seed, *shapes)`` returns what ``torch.manual_seed(seed)`` followed by
one ``torch.randn(shape)`` per shape returns on the CPU default generator,
bit for bit, without importing torch.  It follows PyTorch 2.13.0 (the CPU
wheel) as compiled for x86-64 with AVX2/AVX-512:

>>> [round(float(v), 4) for v in randn(0, (10, 4))[0].ravel()[:4]]
[-1.1258, -1.1524, -0.2506, -0.4339]
>>> [round(float(v), 4) for v in randn(0, (3,))[0]]
[1.541, -0.2934, -2.1788]

How it works
------------
Generator (``aten/src/ATen/core/MT19937RNGEngine.h``, ``CPUGeneratorImpl``):
a standard 32-bit Mersenne Twister seeded by ``init_genrand`` with the low
32 bits of the 64-bit seed (so seeds ``s`` and ``s + 2**32`` give the same
numbers).  ``random64()`` is two draws, the first one being the high half.
Here the 624-word twist and the tempering run as NumPy array operations.

``normal_kernel`` (``aten/src/ATen/native/cpu/DistributionTemplates.h``)
takes one of two paths by element count:

* fewer than 16 elements: per element ``at::normal_distribution<double>``
  (``aten/src/ATen/core/DistributionsHelper.h``).  Uniform doubles come
  from ``random64() & (2**53 - 1)`` times ``2**-53``; Box-Muller gives
  ``r * cos(theta)`` and caches ``r * sin(theta)`` in the generator, where
  ``r = sqrt(-2 * log1p(-u2))`` and ``theta = 2 * pi * u1``.  The next
  call (of this or a later small ``randn``) returns the cached sample
  without drawing; ``manual_seed`` clears it.  The result is cast to
  float32.  libm (glibc) computes ``log1p``/``sin``/``cos``, as here via
  :mod:`math`.
* 16 or more elements: ``normal_fill``.  Every element first gets a
  uniform float ``(random() & (2**24 - 1)) * 2**-24``; each block of 16 is
  turned into normals by Box-Muller with ``u1 = 1 - data[j]`` and
  ``u2 = data[j + 8]`` for ``j < 8`` (cos into ``data[j]``, sin into
  ``data[j + 8]``).  If the size is not a multiple of 16, 16 fresh uniforms
  overwrite the LAST 16 entries and that block is transformed again.

On x86-64 the float path runs the AVX2 kernel even on AVX-512 CPUs
(``DistributionKernels.cpp`` registers no AVX-512 ``normal_stub``): the
``NormalFill16<float>`` AVX2 specialisation, whose log and sincos are the
Cephes polynomials of ``aten/src/ATen/native/cpu/avx_mathfun.h``
(``log256_ps``, ``sincos256_ps``), not libm.  GCC contracted some of their
multiplies and adds into FMAs; which ones was read from the disassembly of
``libtorch_cpu.so`` 2.13.0: every Horner step, ``y * z + e * q1`` in the
log, the three range-reduction steps, and ``(y * z) * z - z / 2`` and
``(y * z) * x + x`` in sincos.  They are reproduced with an exactly rounded
float32 FMA; evaluated unfused, about 1% of outputs would be off by up to
3 ulp.  A torch build that runs a different kernel (no AVX2, or another
architecture) uses libm here instead and can differ in the last bits.
"""

from __future__ import annotations

import math
import operator

import numpy as np

__all__ = ["TorchGenerator", "randn"]

_N = 624
_M = 397
_UPPER = np.uint32(0x80000000)
_LOWER = np.uint32(0x7FFFFFFF)
_MATRIX_A = np.uint32(0x9908B0DF)
_SMALL = 16  # below this many elements torch uses the double path

_F32 = np.float32
_ONE = _F32(1.0)
_TWO_PI = _F32(2.0 * math.pi)

# avx_mathfun.h constants (double literals rounded to float, as in C).
_SQRTHF = _F32(0.707106781186547524)
_LOG_P = [_F32(c) for c in (
    7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
    1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
    3.3333331174e-1)]
_LOG_Q1 = _F32(-2.12194440e-4)
_LOG_Q2 = _F32(0.693359375)
_MINUS_DP = [_F32(c) for c in (
    -0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8)]
_SINCOF = [_F32(c) for c in (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)]
_COSCOF = [_F32(c) for c in (
    2.443315711809948e-005, -1.388731625493765e-003, 4.166664568298827e-002)]
_FOPI = _F32(1.27323954473516)
_TIE_MASK = (1 << 29) - 1  # float64 mantissa bits below float32 precision
_TIE_BITS = 1 << 28

_Floats = np.ndarray | np.float32


class TorchGenerator:
    """PyTorch's CPU default generator right after ``torch.manual_seed(seed)``.

    Seeds follow ``torch.manual_seed``: any int in ``[-2**63, 2**64)``,
    negative ones taken modulo ``2**64``.

    >>> gen = TorchGenerator(0)
    >>> [round(float(v), 4) for v in gen.randn((3,))]
    [1.541, -0.2934, -2.1788]
    >>> gen.randn((2, 2)).dtype, gen.randn((2, 2)).shape
    (dtype('float32'), (2, 2))
    """

    def __init__(self, seed: int) -> None:
        self.seed = _check_seed(seed)
        self._state = _init_state(self.seed & 0xFFFFFFFF)
        self._words = np.empty(0, dtype=np.uint32)
        self._pos = 0
        self._cached_normal: float | None = None

    def randn(self, shape: tuple[int, ...]) -> np.ndarray:
        """Next ``torch.randn(shape)``: float32, C order; advances the state.

        >>> gen = TorchGenerator(42)
        >>> [round(float(v), 4) for v in gen.randn((5,))]
        [0.3367, 0.1288, 0.2345, 0.2303, -1.1229]
        >>> gen.randn((0, 3)).shape
        (0, 3)
        """
        dims = _check_shape(shape)
        size = math.prod(dims)
        if size < _SMALL:
            values = np.array([self._normal_double() for _ in range(size)])
            return values.astype(np.float32).reshape(dims)
        return self._normal_fill(size).reshape(dims)

    def _random(self, count: int) -> np.ndarray:
        """The next ``count`` 32-bit outputs of the Mersenne Twister.

        >>> TorchGenerator(5489)._random(2).tolist()
        [3499211612, 581869302]
        """
        parts = []
        while count > 0:
            if self._pos == len(self._words):
                self._state = _twist(self._state)
                self._words = _temper(self._state)
                self._pos = 0
            take = min(count, len(self._words) - self._pos)
            parts.append(self._words[self._pos:self._pos + take])
            self._pos += take
            count -= take
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint32)

    def _uniform_floats(self, count: int) -> np.ndarray:
        bits = self._random(count) & np.uint32(0xFFFFFF)
        return bits.astype(np.float32) * _F32(2.0**-24)

    def _uniform_double(self) -> float:
        high, low = (int(w) for w in self._random(2))
        return (((high << 32) | low) & ((1 << 53) - 1)) * 2.0**-53

    def _normal_double(self) -> float:
        if self._cached_normal is not None:
            value, self._cached_normal = self._cached_normal, None
            return value
        u1 = self._uniform_double()
        u2 = self._uniform_double()
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._cached_normal = radius * math.sin(theta)
        return radius * math.cos(theta)

    def _normal_fill(self, size: int) -> np.ndarray:
        data = self._uniform_floats(size)
        full = size - size % 16
        data[:full] = _box_muller_blocks(data[:full].reshape(-1, 16)).ravel()
        if size % 16:
            tail = self._uniform_floats(16).reshape(1, 16)
            data[size - 16:] = _box_muller_blocks(tail).ravel()
        return data


def randn(seed: int, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    """``torch.manual_seed(seed)`` then one ``torch.randn(shape)`` per shape.

    >>> x, w, y = randn(0, (10, 4), (4, 4), (10, 4))
    >>> [round(float(v), 4) for v in w[0]]
    [0.2055, -0.4503, -0.5731, -0.5554]
    >>> [round(float(v), 4) for v in y[0]]
    [1.5091, 2.082, 1.7067, 2.3804]
    """
    gen = TorchGenerator(seed)
    return [gen.randn(shape) for shape in shapes]


def _check_seed(seed: int) -> int:
    try:
        if isinstance(seed, bool):
            raise TypeError
        seed = operator.index(seed)
    except TypeError:
        raise TypeError(f"seed must be an int, not {type(seed).__name__}") from None
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"seed must be in [-2**63, 2**64) like torch.manual_seed, got {seed}")
    return seed % 2**64


def _check_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    dims = tuple(operator.index(d) for d in shape)
    if any(d < 0 for d in dims):
        raise ValueError(f"negative dimension in shape {shape}")
    return dims


def _init_state(seed32: int) -> np.ndarray:
    """``init_genrand``: inherently sequential, 623 cheap steps."""
    state = [seed32]
    for j in range(1, _N):
        prev = state[-1]
        state.append((1812433253 * (prev ^ (prev >> 30)) + j) & 0xFFFFFFFF)
    return np.array(state, dtype=np.uint32)


def _mix(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    y = (upper & _UPPER) | (lower & _LOWER)
    return (y >> np.uint32(1)) ^ ((np.uint32(0) - (lower & np.uint32(1))) & _MATRIX_A)


def _twist(old: np.ndarray) -> np.ndarray:
    """Regenerate all 624 words; each slice only reads words already final."""
    new = np.empty_like(old)
    k = _N - _M  # 227
    new[:k] = old[_M:] ^ _mix(old[:k], old[1:k + 1])
    new[k:2 * k] = new[:k] ^ _mix(old[k:2 * k], old[k + 1:2 * k + 1])
    new[2 * k:_N - 1] = new[k:_M - 1] ^ _mix(old[2 * k:_N - 1], old[2 * k + 1:])
    new[_N - 1:] = new[_M - 1] ^ _mix(old[_N - 1:], new[:1])
    return new


def _temper(y: np.ndarray) -> np.ndarray:
    y = y ^ (y >> np.uint32(11))
    y = y ^ ((y << np.uint32(7)) & np.uint32(0x9D2C5680))
    y = y ^ ((y << np.uint32(15)) & np.uint32(0xEFC60000))
    return y ^ (y >> np.uint32(18))


def _fma(a: _Floats, b: _Floats, c: _Floats) -> np.ndarray:
    """float32 ``a * b + c`` rounded once, like ``vfmadd`` (normal range).

    The product is exact in float64, the float64 sum may round.  That only
    matters when it lands exactly on a float32 tie (the 29 mantissa bits
    float32 drops are ``100...0``): there the exact sum, recovered by
    TwoSum, decides which way to round.
    """
    p = np.asarray(a, np.float64) * np.asarray(b, np.float64)
    s = p + c
    tie = (s.view(np.uint64) & np.uint64(_TIE_MASK)) == np.uint64(_TIE_BITS)
    if np.any(tie):
        b_virtual = s - p
        err = (p - (s - b_virtual)) + (c - b_virtual)
        nudged = np.nextafter(s, np.where(err > 0, np.inf, -np.inf))
        s = np.where(tie & (err != 0), nudged, s)
    return s.astype(np.float32)


def _log256(x: np.ndarray) -> np.ndarray:
    """``log256_ps`` for x in (0, 1] (no NaN or denormal handling needed)."""
    bits = x.view(np.uint32)
    e = ((bits >> np.uint32(23)).astype(np.int32) - 127).astype(np.float32) + _ONE
    x = ((bits & np.uint32(0x807FFFFF)) | _F32(0.5).view(np.uint32)).view(np.float32)
    small = x < _SQRTHF
    tmp = np.where(small, x, _F32(0))
    x = x - _ONE
    e = e - np.where(small, _ONE, _F32(0))
    x = x + tmp
    z = x * x
    y = _LOG_P[0]
    for coef in _LOG_P[1:]:
        y = _fma(y, x, coef)
    y = y * x
    y = _fma(y, z, e * _LOG_Q1)
    y = y - z * _F32(0.5)
    return (x + y) + e * _LOG_Q2  # e * q2 is exact, so the fused form is equal


def _sincos256(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sincos256_ps`` for x >= 0 (the sign handling of negatives dropped)."""
    j = (x * _FOPI).astype(np.int32)
    j = (j + 1) & ~1
    y = j.astype(np.float32)
    for dp in _MINUS_DP:
        x = _fma(y, dp, x)
    z = x * x
    cos_poly = _fma(_fma(_COSCOF[0], z, _COSCOF[1]), z, _COSCOF[2])
    cos_poly = _fma(z * cos_poly, z, -(z * _F32(0.5))) + _ONE
    sin_poly = _fma(_fma(_SINCOF[0], z, _SINCOF[1]), z, _SINCOF[2])
    sin_poly = _fma(z * sin_poly, x, x)
    use_sin_poly = (j & 2) == 0
    sin_part = np.where(use_sin_poly, sin_poly, _F32(0))
    cos_part = np.where(use_sin_poly, _F32(0), cos_poly)
    sin = cos_part + sin_part
    cos = (sin_poly - sin_part) + (cos_poly - cos_part)
    sin_sign = (j & 4).astype(np.uint32) << np.uint32(29)
    cos_sign = (~(j - 2) & 4).astype(np.uint32) << np.uint32(29)
    return _flip(sin, sin_sign), _flip(cos, cos_sign)


def _flip(values: np.ndarray, sign_bits: np.ndarray) -> np.ndarray:
    return (values.view(np.uint32) ^ sign_bits).view(np.float32)


def _box_muller_blocks(blocks: np.ndarray) -> np.ndarray:
    """``NormalFill16<float>`` (AVX2) on each row of 16 uniforms."""
    u1 = _ONE - blocks[:, :8]
    u2 = blocks[:, 8:]
    radius = np.sqrt(_F32(-2.0) * _log256(u1))
    sin, cos = _sincos256(_TWO_PI * u2)
    # fmadd(n, std=1, mean=0) is n except that -0.0 becomes +0.0.
    return np.concatenate([radius * cos, radius * sin], axis=1) + _F32(0)
