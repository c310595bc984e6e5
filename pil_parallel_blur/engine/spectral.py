"""Large kernels through the discrete Fourier transform: exact, and cheaper past σ ≈ 30.

The direct passes cost a multiply-add per tap, so their time grows with the
radius; Pillow's box blurs do not. Past the radius where the two meet (see
``engine.cost``) a separable kernel is applied as two passes of whole lines:

1. **columns**: every column of every channel, edge-replicated by ``r_y``
   rows on each side, correlated with ``g_y`` through ``numpy.fft`` (real
   transform, product with the kernel's frequency response, inverse), into an
   intermediate image in the plan's compute type;
2. **rows**: every row of the intermediate, edge-replicated by ``r_x``
   pixels, correlated with ``g_x`` the same way, then offset, rounded and
   clipped into the output.

A line of length ``n`` is transformed at a length ``N ≥ n + 2r`` (the
smallest ``2^a·3^b·5^c``), so the circular correlation never wraps: the result
is the linear correlation of SPEC §2, with float64 round-off of about
``1e-13`` of the line's magnitude (the direct float32 passes leave ~``1e-5``
levels). Workers take ranges of columns, then ranges of rows.

Determinism by construction: each line is transformed alone at a length
fixed by the image and the kernel (NumPy's FFT runs line by line, in one
thread, and gives the same bits whatever the batch), the kernel's response is
real (symmetric taps), so its product is one IEEE multiply per component,
and everything else is copying. So the bytes do not depend on how the
columns and rows are shared out, on the backend or on the engine (native or
NumPy: both use this path for the same plans).

Tests: test_spectral.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import NamedTuple

import numpy as np

from .finish import finish_samples
from .plan import ROUNDING_CODES, TYPE_CODES, CorrelationPlan, Tile

__all__ = [
    "SpectralPlan",
    "SpectralPass",
    "plan_spectral",
    "suits_spectral",
    "columns_pass",
    "rows_pass",
]

#: float64 samples in one chunk of columns being transformed (~12 MB per
#: temporary, two or three at a time per worker): wider chunks copy longer runs
#: of each image row. Columns pass of 24 MP RGB at σ 64, one core: 0.3 / 0.6 /
#: 0.9 / 1.5 / 2.4 M samples took 1.61 / 1.47 / 1.38 / 1.23 / 1.20 s.
CHUNK_SAMPLES = 1_500_000
#: ... and in the rows pass (~1 MB): 32 / 64 / 128 / 256 K samples took
#: 1.41 / 1.06 / 0.97–1.00 / 1.05 s.
ROW_SAMPLES = 1 << 17
#: Image rows copied into (and out of) a chunk of columns at a time: the block
#: stays in cache and its pages in the TLB (a whole-height strided copy of a
#: 24 MP image ran 5× slower).
BLOCK_ROWS = 256


def fast_length(n: int) -> int:
    """Return the smallest ``2^a·3^b·5^c ≥ n`` (a length NumPy's FFT handles fastest)."""
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


@dataclass(frozen=True, eq=False)
class SpectralPlan:
    """A plan computed through the FFT: transform lengths and the kernel's responses.

    Built once by ``plan_spectral`` (from the plan alone) and shipped to the
    workers with it. ``response_*`` is the real frequency response of the
    centred taps, stored as complex so the product with a spectrum is one
    NumPy multiply (its imaginary parts are zero, so every component gets
    exactly one IEEE multiply).
    """

    plan: CorrelationPlan
    length_y: int
    length_x: int
    response_y: np.ndarray
    response_x: np.ndarray

    @property
    def mid_dtype(self) -> np.dtype:
        """Type of the intermediate image between the two passes: the plan's compute type."""
        return self.plan.compute_dtype

    @property
    def mid_shape(self) -> tuple[int, int, int]:
        """Shape of the intermediate image: ``(H, C, W)``, each row's channels apart.

        The rows pass then reads whole lines; the columns pass fills it.
        """
        return (self.plan.height, self.plan.channels, self.plan.width)

    @property
    def columns(self) -> SpectralPass:
        """The first pass, as a step the workers compute tile by tile."""
        return SpectralPass(self, True)

    @property
    def rows(self) -> SpectralPass:
        """The second pass, as a step the workers compute tile by tile."""
        return SpectralPass(self, False)


class SpectralPass(NamedTuple):
    """One pass of a spectral plan: ``columns`` (image → intermediate) or rows (→ output)."""

    spectral: SpectralPlan
    columns: bool


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


def _response(taps: np.ndarray, length: int) -> np.ndarray:
    """Return the real frequency response of ``taps`` centred on sample 0, at ``length``."""
    r = len(taps) // 2
    centred = np.zeros(length)
    centred[: r + 1] = taps[r:]
    if r:
        centred[length - r :] = taps[:r]
    return np.fft.rfft(centred).real.astype(np.complex128)


def plan_spectral(plan: CorrelationPlan) -> SpectralPlan:
    """Build the spectral plan of ``plan`` (which ``suits_spectral``)."""
    length_y = fast_length(plan.height + 2 * plan.r_y)
    length_x = fast_length(plan.width + 2 * plan.r_x)
    g_y, g_x = plan.terms[0]
    return SpectralPlan(
        plan=plan,
        length_y=length_y,
        length_x=length_x,
        response_y=_response(g_y, length_y),
        response_x=_response(g_x, length_x),
    )


def _pad(lines: np.ndarray, r: int, n: int) -> None:
    """Repeat each line's first sample (at ``r``) before it and its last (``r + n - 1``) after."""
    lines[..., :r] = lines[..., r : r + 1]
    lines[..., r + n :] = lines[..., r + n - 1 : r + n]


def _transform(lines: np.ndarray, response: np.ndarray) -> None:
    """Correlate whole lines circularly with the kernel of ``response``, in place."""
    spectrum = np.fft.rfft(lines, axis=-1)
    np.multiply(spectrum, response, out=spectrum)
    np.fft.irfft(spectrum, n=lines.shape[-1], axis=-1, out=lines)


def line_stride(length: int) -> int:
    """Return how many float64 apart to store lines of ``length``: ≥ it, ≡ 8 mod 64.

    Lines a multiple of 4 KiB apart all fall in the same cache sets, and
    copying across them misses on every line: 4608 samples (36 KiB) made the
    columns pass of a 24 MP image 1.9× slower than 4500 did. 8 more doubles
    than a multiple of 64 puts consecutive lines one cache line apart in set.
    """
    return length + (8 - length) % 64


def _lines(count: int, channels: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Return a buffer of ``count × channels`` lines ``line_stride(length)`` apart; its view."""
    buffer = np.empty((count, channels, line_stride(length)))
    return buffer, buffer[..., :length]


def columns_pass(
    src: np.ndarray,
    src_col0: int,
    mid: np.ndarray,
    mid_col0: int,
    tile: Tile,
    sp: SpectralPlan,
    native: ModuleType | None = None,
) -> None:
    """First pass: columns ``[tile.left, tile.right)`` of the image correlated with ``g_y``.

    ``src`` holds whole-height image columns from ``src_col0`` on (shape
    ``(H, w)`` or ``(H, w, C)``, C-contiguous), ``mid`` intermediate columns
    from ``mid_col0`` on (shape ``(H, C, w)``, of ``sp.mid_dtype``). A few
    columns at a time become contiguous float64 lines: through the compiled
    copies when ``native`` (the extension module) is given, else NumPy's
    transposing assignments, ``BLOCK_ROWS`` rows at a time. Same values.
    """
    plan = sp.plan
    h, c, r, n_fft = plan.height, plan.channels, plan.r_y, sp.length_y
    image = src.reshape(h, -1, c)
    inter = mid.reshape(h, c, -1)
    step = max(1, CHUNK_SAMPLES // (c * n_fft))
    for x0 in range(tile.left, tile.right, step):
        x1 = min(tile.right, x0 + step)
        buffer, lines = _lines(x1 - x0, c, n_fft)
        if native is not None:
            native.lines_from_columns(
                image, TYPE_CODES[image.dtype], h, image.shape[1] * c,
                (x0 - src_col0) * c, (x1 - x0) * c, buffer, buffer.shape[2], n_fft, r,
            )  # fmt: skip
            _transform(lines, sp.response_y)
            native.columns_from_lines(
                buffer, buffer.shape[2], r, h, c, x1 - x0, inter,
                inter.dtype == np.float64, inter.shape[2], x0 - mid_col0,
            )  # fmt: skip
            continue
        for y0 in range(0, h, BLOCK_ROWS):
            y1 = min(h, y0 + BLOCK_ROWS)
            block = image[y0:y1, x0 - src_col0 : x1 - src_col0]
            lines[:, :, r + y0 : r + y1] = block.transpose(1, 2, 0)
        _pad(lines, r, h)
        _transform(lines, sp.response_y)
        result = lines[..., r : r + h]
        for y0 in range(0, h, BLOCK_ROWS):
            y1 = min(h, y0 + BLOCK_ROWS)
            inter[y0:y1, :, x0 - mid_col0 : x1 - mid_col0] = result[:, :, y0:y1].transpose(2, 1, 0)


def rows_pass(
    mid: np.ndarray,
    mid_row0: int,
    out: np.ndarray,
    out_row0: int,
    tile: Tile,
    sp: SpectralPlan,
    native: ModuleType | None = None,
) -> None:
    """Second pass: rows ``[tile.top, tile.bottom)`` of the intermediate with ``g_x``, finished.

    ``mid`` holds whole intermediate rows (``(C, W)`` each) from ``mid_row0``
    on, ``out`` whole output rows (``plan.out_dtype``, C-contiguous) from
    ``out_row0`` on. The results are finished (offset, rounding, clipping) and
    interleaved into ``out`` by the compiled copies when ``native`` is given,
    else by NumPy; same values.
    """
    plan = sp.plan
    w, c, r, n_fft = plan.width, plan.channels, plan.r_x, sp.length_x
    inter = mid.reshape(-1, c, w)
    rows_out = out.reshape(-1, w, c)
    step = max(1, ROW_SAMPLES // (c * n_fft))
    rounding = ROUNDING_CODES[plan.rounding]
    lo, hi = plan.clip if plan.clip is not None else (0.0, 0.0)
    for y0 in range(tile.top, tile.bottom, step):
        y1 = min(tile.bottom, y0 + step)
        buffer, lines = _lines(y1 - y0, c, n_fft)
        lines[:, :, r : r + w] = inter[y0 - mid_row0 : y1 - mid_row0]
        _pad(lines, r, w)
        _transform(lines, sp.response_x)
        target = rows_out[y0 - out_row0 : y1 - out_row0]
        if native is not None:
            native.rows_from_lines(
                buffer, buffer.shape[2], r, y1 - y0, w, c, target, TYPE_CODES[plan.out_dtype],
                plan.offset, rounding, plan.clip is not None, lo, hi,
            )  # fmt: skip
        else:
            finish_samples(lines[..., r : r + w], plan, out=target.transpose(0, 2, 1))
