"""Large kernels through the discrete Fourier transform: a transform of many lines at once.

The direct passes cost a multiply-add per tap, so their time grows with the
radius; Pillow's box blurs do not. Past the radius where the two meet (see
``engine.cost``) a separable kernel with symmetric taps is applied as two
passes of whole lines:

1. **columns**: every column of one channel, edge-replicated by ``r_y``
   rows on each side, correlated with ``g_y`` into an intermediate plane in
   the plan's compute type;
2. **rows**: every row of the plane, edge-replicated by ``r_x`` pixels,
   correlated with ``g_x`` the same way, then offset, rounded and clipped
   into that channel of the output.

A line of length ``n`` is transformed at a length ``N ≥ n + 2r`` (the
smallest ``2^a·3^b·5^c``), so the circular correlation never wraps: the result
is the linear correlation.

**The transform.** Lines travel in pairs, line ``2i`` as the real part and
``2i + 1`` as the imaginary part of one complex line: the kernel's response is
real (symmetric taps), so the product with it keeps the two apart, and no
real-transform unpacking is needed. The forward transform decimates in
frequency, stage by stage (radices 4, 2, 3, 5), leaving the spectrum in
digit-reversed order; the response is stored in that order (and divided by
``N``), and the inverse undoes the stages in reverse order, so nothing is
ever reordered. The compiled engine runs each stage over a group of pairs as
64-byte vectors, one lane per pair (``_native_fft.h``); ``convolve_pairs`` is
its NumPy twin, vectorised over the pairs instead of the lanes. Both perform
the same IEEE operations in the same order (the C is compiled with
``-ffp-contract=off``, the twiddles and responses come from here), so they
give the same bits.

**Compute type.** The plan's: float32 for large 8-bit images, float64 for
everything else. 8-bit samples are transformed less 128 (the middle of their
range), which halves the float32 round-off; the ``128·Σg_y·Σg_x`` taken off is
added back in the finish.

**One channel at a time.** The channels go through both passes one after
the other (``columns(c)``, ``rows(c)``), so the intermediate image holds one
plane: the columns pass reads one channel's samples from the interleaved
image, and the rows pass finishes into that channel's samples of the output.

**Determinism by construction.** A line's partner is fixed by the image
alone: in channel ``c``, pixel column ``x`` pairs with ``x ^ 1`` and row ``y``
with ``y ^ 1`` (a last one without a partner pairs with zeros). The tiles of
both passes start on even pixel columns and rows, so every cut, backend,
``n_jobs``, SIMD level and engine computes each pair the same way.

Tests: test_spectral.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import ModuleType
from typing import NamedTuple

import numpy as np

from .finish import finish_samples
from .plan import ROUNDING_CODES, TYPE_CODES, CorrelationPlan, Tile

__all__ = [
    "SpectralPlan",
    "SpectralPass",
    "SpectralAxis",
    "plan_spectral",
    "suits_spectral",
    "columns_pass",
    "rows_pass",
    "convolve_pairs",
    "group_lines",
]

#: Line pairs the NumPy twin transforms at once: its temporaries then stay
#: within the caches for lines of a few thousand samples.
TWIN_PAIRS = 64


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


@dataclass(frozen=True, eq=False)
class SpectralPlan:
    """A plan computed through the FFT: both axes' transforms, the centre and the finish.

    Built once by ``plan_spectral`` (from the plan alone) and shipped to the
    workers with it. ``centre`` is taken off every sample before the columns
    pass; ``finish`` is the plan with ``centre·Σg_y·Σg_x`` added to its offset.
    """

    plan: CorrelationPlan
    axis_y: SpectralAxis
    axis_x: SpectralAxis
    centre: float
    finish: CorrelationPlan

    @property
    def mid_dtype(self) -> np.dtype:
        """Type of the intermediate image between the two passes: the plan's compute type."""
        return self.plan.compute_dtype

    @property
    def mid_shape(self) -> tuple[int, int, int]:
        """Shape of the intermediate image: ``(H, W, 1)``, one channel plane.

        The channels go through the passes one after the other, so the
        intermediate holds one plane (24 MP RGB at σ 64: 96 MB of float32, not 288).
        """
        return (self.plan.height, self.plan.width, 1)

    def columns(self, channel: int) -> SpectralPass:
        """Return the first pass of ``channel``, as a step the workers compute tile by tile."""
        return SpectralPass(self, True, channel)

    def rows(self, channel: int) -> SpectralPass:
        """Return the second pass of ``channel``, as a step the workers compute tile by tile."""
        return SpectralPass(self, False, channel)


class SpectralPass(NamedTuple):
    """One pass of one channel: ``columns`` (image → intermediate) or rows (→ output)."""

    spectral: SpectralPlan
    columns: bool
    channel: int = 0


def suits_spectral(plan: CorrelationPlan) -> bool:
    """Tell whether the plan's kind can go through the FFT at all (not whether it should).

    One separable term with symmetric taps on both axes (a real response), no
    result grid to snap to, and not a 64-bit integer image (whose samples
    float64 cannot hold exactly).
    """
    if len(plan.terms) != 1 or plan.grid:
        return False
    if plan.out_dtype.kind in "ui" and plan.out_dtype.itemsize == 8:
        return False
    g_y, g_x = plan.terms[0]
    return bool((g_y == g_y[::-1]).all() and (g_x == g_x[::-1]).all())


def plan_spectral(plan: CorrelationPlan) -> SpectralPlan:
    """Build the spectral plan of ``plan`` (which ``suits_spectral``)."""
    g_y, g_x = plan.terms[0]
    dtype = plan.compute_dtype
    centre = 128.0 if plan.out_dtype == np.uint8 else 0.0
    shift = centre * float(g_y.sum()) * float(g_x.sum())
    return SpectralPlan(
        plan=plan,
        axis_y=plan_axis(g_y, fast_length(plan.height + 2 * plan.r_y), dtype),
        axis_x=plan_axis(g_x, fast_length(plan.width + 2 * plan.r_x), dtype),
        centre=centre,
        finish=replace(plan, offset=plan.offset + shift),
    )


# ---- the NumPy twin of _native_fft.h: the same operations in the same order ----

_Pair = tuple[np.ndarray, np.ndarray]


def _dft(p: int, x: list[_Pair], t: type) -> list[_Pair]:
    """Return the radix-``p`` butterfly, forward (``e^{-2πi/p}``), as _native_fft.h computes it."""
    if p == 2:
        (x0r, x0i), (x1r, x1i) = x
        return [(x0r + x1r, x0i + x1i), (x0r - x1r, x0i - x1i)]
    if p == 3:
        (x0r, x0i), (x1r, x1i), (x2r, x2i) = x
        t1r, t1i = x1r + x2r, x1i + x2i
        half, sin60 = t(0.5), t(0.8660254037844386)
        t2r, t2i = x0r - half * t1r, x0i - half * t1i
        t3r, t3i = sin60 * (x1r - x2r), sin60 * (x1i - x2i)
        return [(x0r + t1r, x0i + t1i), (t2r + t3i, t2i - t3r), (t2r - t3i, t2i + t3r)]
    if p == 4:
        (x0r, x0i), (x1r, x1i), (x2r, x2i), (x3r, x3i) = x
        t0r, t0i, t1r, t1i = x0r + x2r, x0i + x2i, x0r - x2r, x0i - x2i
        t2r, t2i, t3r, t3i = x1r + x3r, x1i + x3i, x1r - x3r, x1i - x3i
        return [
            (t0r + t2r, t0i + t2i),
            (t1r + t3i, t1i - t3r),
            (t0r - t2r, t0i - t2i),
            (t1r - t3i, t1i + t3r),
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
    return [
        ((x0r + t1r) + t2r, (x0i + t1i) + t2i),
        (a1r + b1i, a1i - b1r),
        (a2r + b2i, a2i - b2r),
        (a2r - b2i, a2i + b2r),
        (a1r - b1i, a1i + b1r),
    ]


def _stage(
    re: np.ndarray, im: np.ndarray, p: int, m: int, wr: np.ndarray, wi: np.ndarray, inverse: bool
) -> None:
    """One stage over positions × pairs arrays, in place (see ``_native_fft.h``)."""
    t = re.dtype.type
    rr = re.reshape(-1, p, m, re.shape[-1])
    ii = im.reshape(-1, p, m, im.shape[-1])
    x = [(rr[:, q], ii[:, q]) for q in range(p)]
    if inverse and m > 1:
        x[1:] = [(xr * wr[k] + xi * wi[k], xi * wr[k] - xr * wi[k]) for k, (xr, xi) in
                 enumerate(x[1:])]  # fmt: skip
    y = _dft(p, x, t)
    if inverse:
        y = [y[0], *y[:0:-1]]
    elif m > 1:
        y[1:] = [(yr * wr[k] - yi * wi[k], yr * wi[k] + yi * wr[k]) for k, (yr, yi) in
                 enumerate(y[1:])]  # fmt: skip
    for q, (yr, yi) in enumerate(y):
        rr[:, q] = yr
        ii[:, q] = yi


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


def _pairs(lines: np.ndarray, dtype: np.dtype, centre: float) -> tuple[np.ndarray, np.ndarray]:
    """Split ``(length, count)`` lines into the pairs' parts, less ``centre`` (an odd last: 0)."""
    values = lines.astype(dtype)
    if centre:
        values -= dtype.type(centre)
    if values.shape[1] % 2:
        values = np.concatenate([values, np.zeros((len(values), 1), dtype)], axis=1)
    return np.ascontiguousarray(values[:, 0::2]), np.ascontiguousarray(values[:, 1::2])


def _unpair(re: np.ndarray, im: np.ndarray, count: int) -> np.ndarray:
    """Interleave the pairs' parts back into ``count`` lines (positions × lines)."""
    lines = np.empty((len(re), 2 * re.shape[1]), re.dtype)
    lines[:, 0::2] = re
    lines[:, 1::2] = im
    return lines[:, :count]


def _check_pairs(first_line: int) -> None:
    """Refuse a tile whose first column or row is odd: it would pair lines the image does not."""
    if first_line % 2:
        raise ValueError(
            "a spectral tile must start on an even column or row "
            f"(pairs are 2i, 2i + 1), got {first_line}"
        )


def columns_pass(
    src: np.ndarray,
    src_col0: int,
    mid: np.ndarray,
    mid_col0: int,
    tile: Tile,
    sp: SpectralPlan,
    native: ModuleType | None = None,
    channel: int = 0,
) -> None:
    """First pass: columns ``[tile.left, tile.right)`` of one channel correlated with ``g_y``.

    ``src`` holds whole-height image columns from ``src_col0`` on (shape
    ``(H, w)`` or ``(H, w, C)``, C-contiguous), ``mid`` intermediate columns
    from ``mid_col0`` on (shape ``(H, w, 1)``, of ``sp.mid_dtype``).
    ``tile.left`` is even. Through the compiled transform when ``native`` (the
    extension module) is given, else its NumPy twin; same values.
    """
    plan, axis = sp.plan, sp.axis_y
    h, c, r = plan.height, plan.channels, plan.r_y
    _check_pairs(tile.left)
    image = src.reshape(h, -1)
    inter = mid.reshape(h, -1)
    first = (tile.left - src_col0) * c + channel
    if native is not None:
        native.spectral_columns(
            src=image, src_type=TYPE_CODES[image.dtype], row_samples=image.shape[1],
            height=h, first=first, step=c, count=tile.right - tile.left, mid=inter,
            mid_width=inter.shape[1], mid_x0=tile.left - mid_col0, radius=r,
            length=axis.length, radices=axis.radices, table=axis.table,
            double=sp.mid_dtype == np.float64, centre=sp.centre,
        )  # fmt: skip
        return
    rows = np.clip(np.arange(axis.length) - r, 0, h - 1)
    step = 2 * TWIN_PAIRS
    for x0 in range(tile.left, tile.right, step):
        x1 = min(tile.right, x0 + step)
        at = first + (x0 - tile.left) * c
        block = image[:, at : at + (x1 - x0 - 1) * c + 1 : c][rows]
        re, im = _pairs(block, sp.mid_dtype, sp.centre)
        convolve_pairs(re, im, axis)
        inter[:, x0 - mid_col0 : x1 - mid_col0] = _unpair(re[r : r + h], im[r : r + h], x1 - x0)


def rows_pass(
    mid: np.ndarray,
    mid_row0: int,
    out: np.ndarray,
    out_row0: int,
    tile: Tile,
    sp: SpectralPlan,
    native: ModuleType | None = None,
    channel: int = 0,
) -> None:
    """Second pass: rows ``[tile.top, tile.bottom)`` of one channel with ``g_x``, finished.

    ``mid`` holds whole intermediate rows (``W`` samples each) from
    ``mid_row0`` on, ``out`` whole output rows (``plan.out_dtype``,
    C-contiguous, interleaved) from ``out_row0`` on; ``tile.top`` is even. The
    results are finished (offset, rounding, clipping) into the channel's
    samples of ``out``, by the compiled engine when ``native`` is given, else
    by NumPy; same values.
    """
    plan, axis, finish = sp.plan, sp.axis_x, sp.finish
    w, c, r = plan.width, plan.channels, plan.r_x
    _check_pairs(tile.top)
    lines = mid.reshape(-1, w)[tile.top - mid_row0 : tile.bottom - mid_row0]
    rows_out = out.reshape(-1, w, c)[tile.top - out_row0 : tile.bottom - out_row0]
    if native is not None:
        lo, hi = finish.clip if finish.clip is not None else (0.0, 0.0)
        native.spectral_rows(
            mid=lines, width=w, count=len(lines), radius=r, length=axis.length,
            radices=axis.radices, table=axis.table, double=sp.mid_dtype == np.float64,
            out=rows_out.reshape(-1)[channel:], out_type=TYPE_CODES[plan.out_dtype], step=c,
            offset=finish.offset, rounding=ROUNDING_CODES[finish.rounding],
            clip=finish.clip is not None, lo=lo, hi=hi,
        )  # fmt: skip
        return
    samples = np.clip(np.arange(axis.length) - r, 0, w - 1)
    step = 2 * TWIN_PAIRS
    for y0 in range(0, len(lines), step):
        y1 = min(len(lines), y0 + step)
        re, im = _pairs(lines[y0:y1][:, samples].T, sp.mid_dtype, 0.0)
        convolve_pairs(re, im, axis)
        result = _unpair(re[r : r + w], im[r : r + w], y1 - y0).astype(np.float64)
        finish_samples(result.T, finish, out=rows_out[y0:y1, :, channel])
