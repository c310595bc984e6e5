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

**The transform** (``transform.py``, ``_native_fft.h``) runs over many lines
at once, two real lines as one complex line; the compiled engine and its
NumPy twin give the same bits.

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
from .plan import ROUNDING_CODES, TYPE_CODES, CorrelationPlan, Tile, pixel_samples
from .transform import SpectralAxis, convolve_pairs, fast_length, plan_axis

__all__ = [
    "SpectralPlan",
    "SpectralPass",
    "plan_spectral",
    "suits_spectral",
    "columns_pass",
    "rows_pass",
]

#: Line pairs the NumPy twin transforms at once: its temporaries then stay
#: within the caches for lines of a few thousand samples.
TWIN_PAIRS = 64


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

    def passes(self) -> list[SpectralPass]:
        """Return the passes in the order they run, as steps the workers compute tile by tile.

        For each channel, its columns (image → intermediate plane), then its
        rows (intermediate → the output's channel).
        """
        return [
            SpectralPass(self, columns, channel)
            for channel in range(self.plan.channels)
            for columns in (True, False)
        ]


class SpectralPass(NamedTuple):
    """One pass of one channel: ``columns`` (image → intermediate) or rows (→ output)."""

    spectral: SpectralPlan
    columns: bool
    channel: int


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


def _pairs(
    even: np.ndarray, odd: np.ndarray, dtype: np.dtype, centre: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the pairs' parts, ``(length, pairs)``, less ``centre``, from their lines.

    ``even`` holds the first line of each pair, ``odd`` the second (one fewer
    where the last line has no partner: it pairs with zeros).
    """
    re = np.ascontiguousarray(even, dtype=dtype)
    im = np.zeros_like(re)
    im[:, : odd.shape[1]] = odd
    if centre:
        re -= dtype.type(centre)
        im[:, : odd.shape[1]] -= dtype.type(centre)
    return re, im


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
    ``(H, w)`` or ``(H, w, P)``, C-contiguous, the channels the first ``C``
    samples of each pixel), ``mid`` intermediate columns
    from ``mid_col0`` on (shape ``(H, w, 1)``, of ``sp.mid_dtype``).
    ``tile.left`` is even. Through the compiled transform when ``native`` (the
    extension module) is given, else its NumPy twin; same values.
    """
    plan, axis = sp.plan, sp.axis_y
    h, r = plan.height, plan.r_y
    c = pixel_samples(src)  # samples from one pixel to the next
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
        at, end = first + (x0 - tile.left) * c, first + (x1 - 1 - tile.left) * c + 1
        even, odd = image[:, at : end : 2 * c][rows], image[:, at + c : end : 2 * c][rows]
        re, im = _pairs(even, odd, sp.mid_dtype, sp.centre)
        convolve_pairs(re, im, axis)
        a, n = x0 - mid_col0, x1 - x0  # the pairs' lines straight into their columns
        inter[:, a : a + n : 2] = re[r : r + h, : (n + 1) // 2]
        inter[:, a + 1 : a + n : 2] = im[r : r + h, : n // 2]


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
    C-contiguous, interleaved, pixels of at least ``C`` samples) from
    ``out_row0`` on; ``tile.top`` is even. The
    results are finished (offset, rounding, clipping) into the channel's
    samples of ``out``, by the compiled engine when ``native`` is given, else
    by NumPy; same values.
    """
    plan, axis, finish = sp.plan, sp.axis_x, sp.finish
    w, r = plan.width, plan.r_x
    c = pixel_samples(out)  # samples from one pixel to the next
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
        n = y1 - y0
        block = lines[y0:y1]
        re, im = _pairs(block[0::2][:, samples].T, block[1::2][:, samples].T, sp.mid_dtype, 0.0)
        convolve_pairs(re, im, axis)
        result = np.empty((n, w))  # float64, each line's results in its row
        result[0::2] = re[r : r + w].T
        result[1::2] = im[r : r + w, : n // 2].T
        finish_samples(result, finish, out=rows_out[y0:y1, :, channel])
