"""The transform of the spectral passes: its plan (lengths, radices, tables) and its NumPy twin.

Lines travel in pairs, line ``2i`` as the real part and ``2i + 1`` as the
imaginary part of one complex line: the kernel's response is real (symmetric
taps), so the product with it keeps the two apart, and no real-transform
unpacking is needed. The forward transform decimates in frequency, stage by
stage (radices 4, 2, 3, 5), leaving the spectrum in digit-reversed order; the
response is stored in that order (and divided by ``N``), and the inverse
undoes the stages in reverse order, so nothing is ever reordered.

The compiled engine runs each stage over a group of pairs as 64-byte vectors,
one lane per pair (``_native_fft.h``); ``convolve_pairs`` is its NumPy twin,
vectorised over the pairs instead of the lanes. Both perform the same IEEE
operations in the same order (the C is compiled with ``-ffp-contract=off``;
the twiddles and responses are computed here, once, and handed to it), so
they give the same bits.

Tests: test_spectral.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SpectralAxis",
    "plan_axis",
    "fast_length",
    "group_lines",
    "radices",
    "digit_reversed",
    "convolve_pairs",
]


def fast_length(n: int) -> int:
    """Return the smallest ``2^a·3^b·5^c ≥ n``: the transform's radices are 2 to 5."""
    best = 1 << max(0, (n - 1).bit_length())
    f5 = 1
    while f5 < best:
        f35 = f5
        while f35 < best:
            f = f35
            while f < n:
                f *= 2
            best = min(best, f)
            f35 *= 3
        f5 *= 5
    return best


def group_lines(dtype: np.dtype) -> int:
    """Return how many lines the compiled engine transforms together (32 float32, 16 float64)."""
    return 2 * 64 // np.dtype(dtype).itemsize


def radices(length: int) -> tuple[int, ...]:
    """Return the stages' radices for ``length`` (a ``2^a·3^b·5^c``): 4s, then a 2, 3s, 5s."""
    counts: dict[int, int] = {}
    rest = length
    for p in (2, 3, 5):
        counts[p] = 0
        while rest % p == 0:
            rest //= p
            counts[p] += 1
    if rest != 1:
        raise ValueError(f"length must be 2^a·3^b·5^c, got {length}")
    fours, two = divmod(counts[2], 2)
    return (4,) * fours + (2,) * two + (3,) * counts[3] + (5,) * counts[5]


def digit_reversed(length: int, stages: tuple[int, ...]) -> np.ndarray:
    """Return, for each position of the forward transform's output, the frequency it holds.

    Stage ``s`` splits each span into ``p_s`` sub-spans of the frequencies
    ``≡ k (mod p_s)``: position ``Σ k_s·N/(p_0…p_s)`` holds frequency
    ``k_0 + p_0·k_1 + p_0·p_1·k_2 + …``.
    """
    position = np.arange(length)
    frequency = np.zeros(length, dtype=np.int64)
    weight_position, weight_frequency = length, 1
    for p in stages:
        weight_position //= p
        frequency += (position // weight_position) % p * weight_frequency
        weight_frequency *= p
    return frequency


@dataclass(frozen=True, eq=False)
class SpectralAxis:
    """The transform of one axis: its length, radices and table (compute type).

    ``table`` is the kernel's real response at the transform's frequencies,
    divided by ``length``, in the forward transform's (digit-reversed) order;
    then, stage by stage, the twiddles ``w_M^{jk}`` (real parts of
    ``k = 1 … p-1`` for ``j < m``, then the imaginary parts). Computed in
    float64 and rounded once to the compute type, the same table for both engines.
    """

    length: int
    stages: tuple[int, ...]
    table: np.ndarray

    @property
    def radices(self) -> bytes:
        """The radices, one byte each (as the compiled engine takes them)."""
        return bytes(self.stages)

    def parts(self) -> tuple[np.ndarray, list[tuple[int, int, np.ndarray, np.ndarray]]]:
        """Return the response and each stage's ``(p, m, twiddles re, twiddles im)``."""
        n = self.length
        at, span = n, n
        stages = []
        for p in self.stages:
            m = span // p
            size = (p - 1) * m
            wr = self.table[at : at + size].reshape(p - 1, m, 1)
            wi = self.table[at + size : at + 2 * size].reshape(p - 1, m, 1)
            stages.append((p, m, wr, wi))
            at += 2 * size
            span = m
        return self.table[:n].reshape(n, 1), stages


def plan_axis(taps: np.ndarray, length: int, dtype: np.dtype) -> SpectralAxis:
    """Build the transform of ``length`` for correlating lines with ``taps`` (symmetric)."""
    r = len(taps) // 2
    centred = np.zeros(length)
    centred[: r + 1] = taps[r:]
    if r:
        centred[length - r :] = taps[:r]
    stages = radices(length)
    response = np.fft.fft(centred).real / length
    parts = [response[digit_reversed(length, stages)]]
    span = length
    for p in stages:
        m = span // p
        jk = np.outer(np.arange(1, p), np.arange(m)) % span
        angle = -2.0 * np.pi * jk / span
        parts += [np.cos(angle).ravel(), np.sin(angle).ravel()]
        span = m
    table = np.ascontiguousarray(np.concatenate(parts).astype(dtype))
    return SpectralAxis(length=length, stages=stages, table=table)


# ---- the NumPy twin of _native_fft.h: the same operations in the same order ----

_Pair = tuple[np.ndarray, np.ndarray]
_Slots = list[_Pair | None]


def _to(out: _Slots, q: int, part: int, f: np.ufunc, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return ``f(a, b)``, part ``part`` (0 real, 1 imaginary) of output ``q``, in ``out[q]``."""
    dest = out[q]
    return f(a, b, out=None if dest is None else dest[part])  # type: ignore[no-any-return]


def _put(out: _Slots, q: int, real: np.ndarray, imag: np.ndarray) -> _Pair:
    """Output ``q``, copied into ``out[q]`` if given."""
    dest = out[q]
    if dest is None:
        return real, imag
    np.copyto(dest[0], real)
    np.copyto(dest[1], imag)
    return dest


def _dft(p: int, x: list[_Pair], t: type, out: _Slots) -> list[_Pair]:
    """Return the radix-``p`` butterfly, forward (``e^{-2πi/p}``), as _native_fft.h computes it.

    Output ``q`` is written into ``out[q]`` where that is given (else into a
    new array). A destination may be an input's own slot: every input is
    read before its slot is written (output 0, which reads ``x[0]``, last;
    radix 2's second output goes to a new array first).
    """
    add, sub = np.add, np.subtract
    to = functools.partial(_to, out)
    if p == 2:
        (x0r, x0i), (x1r, x1i) = x
        y1r, y1i = x0r - x1r, x0i - x1i
        y0 = (to(0, 0, add, x0r, x1r), to(0, 1, add, x0i, x1i))
        return [y0, _put(out, 1, y1r, y1i)]
    if p == 3:
        (x0r, x0i), (x1r, x1i), (x2r, x2i) = x
        t1r, t1i = x1r + x2r, x1i + x2i
        half, sin60 = t(0.5), t(0.8660254037844386)
        t2r, t2i = x0r - half * t1r, x0i - half * t1i
        t3r, t3i = sin60 * (x1r - x2r), sin60 * (x1i - x2i)
        y1 = (to(1, 0, add, t2r, t3i), to(1, 1, sub, t2i, t3r))
        y2 = (to(2, 0, sub, t2r, t3i), to(2, 1, add, t2i, t3r))
        return [(to(0, 0, add, x0r, t1r), to(0, 1, add, x0i, t1i)), y1, y2]
    if p == 4:
        (x0r, x0i), (x1r, x1i), (x2r, x2i), (x3r, x3i) = x
        t0r, t0i, t1r, t1i = x0r + x2r, x0i + x2i, x0r - x2r, x0i - x2i
        t2r, t2i, t3r, t3i = x1r + x3r, x1i + x3i, x1r - x3r, x1i - x3i
        return [
            (to(0, 0, add, t0r, t2r), to(0, 1, add, t0i, t2i)),
            (to(1, 0, add, t1r, t3i), to(1, 1, sub, t1i, t3r)),
            (to(2, 0, sub, t0r, t2r), to(2, 1, sub, t0i, t2i)),
            (to(3, 0, sub, t1r, t3i), to(3, 1, add, t1i, t3r)),
        ]
    (x0r, x0i), (x1r, x1i), (x2r, x2i), (x3r, x3i), (x4r, x4i) = x
    c72, c144 = t(0.30901699437494745), t(-0.8090169943749475)
    s72, s144 = t(0.9510565162951535), t(0.5877852522924731)
    t1r, t1i, t2r, t2i = x1r + x4r, x1i + x4i, x2r + x3r, x2i + x3i
    t3r, t3i, t4r, t4i = x1r - x4r, x1i - x4i, x2r - x3r, x2i - x3i
    a1r, a1i = (x0r + c72 * t1r) + c144 * t2r, (x0i + c72 * t1i) + c144 * t2i
    a2r, a2i = (x0r + c144 * t1r) + c72 * t2r, (x0i + c144 * t1i) + c72 * t2i
    b1r, b1i = s72 * t3r + s144 * t4r, s72 * t3i + s144 * t4i
    b2r, b2i = s144 * t3r - s72 * t4r, s144 * t3i - s72 * t4i
    rest = [
        (to(1, 0, add, a1r, b1i), to(1, 1, sub, a1i, b1r)),
        (to(2, 0, add, a2r, b2i), to(2, 1, sub, a2i, b2r)),
        (to(3, 0, sub, a2r, b2i), to(3, 1, add, a2i, b2r)),
        (to(4, 0, sub, a1r, b1i), to(4, 1, add, a1i, b1r)),
    ]
    return [(to(0, 0, add, x0r + t1r, t2r), to(0, 1, add, x0i + t1i, t2i)), *rest]


def _stage(
    re: np.ndarray, im: np.ndarray, p: int, m: int, wr: np.ndarray, wi: np.ndarray, inverse: bool
) -> None:
    """One stage over positions × pairs arrays, in place (see ``_native_fft.h``).

    Each output is written straight into its slot (no copy back), except a
    forward output to be twiddled, which is twiddled into its slot.
    """
    t = re.dtype.type
    rr = re.reshape(-1, p, m, re.shape[-1])
    ii = im.reshape(-1, p, m, im.shape[-1])
    slots = [(rr[:, q], ii[:, q]) for q in range(p)]
    x = list(slots)
    if inverse and m > 1:
        x[1:] = [(xr * wr[k] + xi * wi[k], xi * wr[k] - xr * wi[k]) for k, (xr, xi) in
                 enumerate(x[1:])]  # fmt: skip
    out: _Slots
    if inverse:  # outputs 1 .. p-1 go to the slots in reverse order
        out = [slots[0], *slots[:0:-1]]
    elif m > 1:  # twiddled below
        out = [slots[0], *[None] * (p - 1)]
    else:
        out = list(slots)
    y = _dft(p, x, t, out)
    if not inverse and m > 1:
        for k, (yr, yi) in enumerate(y[1:]):
            np.subtract(yr * wr[k], yi * wi[k], out=slots[k + 1][0])
            np.add(yr * wi[k], yi * wr[k], out=slots[k + 1][1])


def convolve_pairs(re: np.ndarray, im: np.ndarray, axis: SpectralAxis) -> None:
    """Correlate lines circularly with the kernel of ``axis``, in place: the NumPy twin.

    ``re`` and ``im`` are ``(axis.length, pairs)`` C-contiguous arrays of the
    compute type: position by position, the even and the odd line of each pair.
    """
    response, stages = axis.parts()
    for p, m, wr, wi in stages:
        _stage(re, im, p, m, wr, wi, False)
    re *= response
    im *= response
    for p, m, wr, wi in reversed(stages):
        _stage(re, im, p, m, wr, wi, True)
