"""Convolving bands of a padded array: the only module that does arithmetic.

The image is cut into *strips* of ``plan.strip_rows`` output rows on a grid fixed
by the image and the kernel alone. Bands handed to workers are whole numbers of
strips, so every strip is computed by the same operations in the same order
whatever ``n_jobs``, the backend or the number of bands: results are
byte-identical by construction (SPEC §3).

Two inner kernels share one signature (padded rows in, an ``(S, W·C)``
float view of the strip out):

``direct``
    Shifted-slice multiply-adds, one per tap and pass. Never multiplies a sample
    by a weight outside the kernel, so NaN/inf in float images spread exactly as
    in the direct 2-D correlation. Used for float inputs.
``gemm``
    Each pass is a banded matrix product done by BLAS, arranged so that neither
    pass wastes work on the channel interleave: the vertical pass computes the
    strip *transposed*, ``rowsᵀ @ Aᵀ`` → ``(W·C, S)``, which makes every column
    position a contiguous row of ``C·S`` values; the horizontal pass then
    multiplies ``B (T × T+2r)`` by overlapping blocks of ``T + 2r`` such rows (a
    strided view, no copy). One transposing copy at the very end writes the
    ``S`` rows into the output. Used for integer inputs.

A new inner kernel is a function ``(rows, plan) -> (S, W·C) float view``
registered in ``_STRIP_KERNELS``; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = [
    "BandPlan",
    "Term",
    "make_plan",
    "make_terms_plan",
    "pad_edge_rows",
    "pad_edge_into",
    "convolve_band",
    "convolve_band_from_image",
    "band_padded_rows",
    "convolve_shipped_band",
]

#: 8-bit images with fewer samples than this are computed in float64 (see make_plan).
FLOAT32_MIN_SAMPLES = 1 << 17

StripKernel = Callable[[np.ndarray, "BandPlan"], np.ndarray]


def _band_matrix(taps: np.ndarray, n: int) -> np.ndarray:
    """``(n, n + len(taps) - 1)`` matrix whose row ``i`` holds ``taps`` at ``i``."""
    k = len(taps)
    m = np.zeros((n, n + k - 1), dtype=np.float64)
    for i in range(n):
        m[i, i : i + k] = taps
    return m


@dataclass(frozen=True, eq=False)
class Term:
    """One separable part ``outer(g_y, g_x)`` of a kernel, with its banded matrices."""

    g_y: np.ndarray
    g_x: np.ndarray
    v_matrix: np.ndarray = field(repr=False)
    h_matrix: np.ndarray = field(repr=False)


@dataclass(frozen=True, eq=False)
class BandPlan:
    """Everything a worker needs to convolve any band of one image.

    Built once by :func:`make_plan` from the image's shape and dtype and the
    kernel's separable terms; never from ``n_jobs``, so the arithmetic cannot
    depend on it. The kernel is ``sum(outer(t.g_y, t.g_x) for t in terms)``;
    ``offset`` is added before rounding.
    """

    height: int
    width: int
    channels: int
    terms: tuple[Term, ...]
    out_dtype: np.dtype
    compute_dtype: np.dtype
    method: str
    strip_rows: int
    block_cols: int
    clip: tuple[float, float] | None
    rounding: str | None
    offset: float = 0.0
    tie_nudge: float = 1e-7

    @property
    def g_y(self) -> np.ndarray:
        """Vertical factor of the first term (the only one for a Gaussian)."""
        return self.terms[0].g_y

    @property
    def g_x(self) -> np.ndarray:
        """Horizontal factor of the first term."""
        return self.terms[0].g_x

    @property
    def r_y(self) -> int:
        """Vertical kernel radius."""
        return len(self.g_y) // 2

    @property
    def r_x(self) -> int:
        """Horizontal kernel radius."""
        return len(self.g_x) // 2

    @property
    def n_strips(self) -> int:
        """Number of strips covering the output rows."""
        return -(-self.height // self.strip_rows)

    @property
    def n_blocks(self) -> int:
        """Number of column blocks covering the output columns."""
        return -(-self.width // self.block_cols)

    @property
    def padded_shape(self) -> tuple[int, int, int]:
        """Shape of the padded input: halo plus extension to whole strips/blocks."""
        return (
            self.n_strips * self.strip_rows + 2 * self.r_y,
            self.n_blocks * self.block_cols + 2 * self.r_x,
            self.channels,
        )

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """Shape of the output array ``(H, W, C)``."""
        return (self.height, self.width, self.channels)

    def band_bounds(self, n_bands: int) -> list[tuple[int, int]]:
        """Cut the rows into at most ``n_bands`` bands of whole strips."""
        n_bands = max(1, min(n_bands, self.n_strips))
        edges = np.linspace(0, self.n_strips, n_bands + 1).round().astype(int)
        s = self.strip_rows
        return [(int(a) * s, min(int(b) * s, self.height)) for a, b in pairwise(edges) if b > a]


def _choose_method(dtype: np.dtype, r_y: int, r_x: int) -> tuple[str, int, int]:
    """Pick the inner kernel and the strip/block geometry (measured: docs/benchmarks.md).

    16 rows × 16 columns was fastest for kernels from 3 to 151 taps: taller strips
    make the final transposing copy leave the cache, wider blocks waste
    multiply-adds on the zeros of the banded matrix.
    """
    if dtype.kind == "f":
        return "direct", 32, 64
    return "gemm", 16, 16


def _fold(taps: np.ndarray, length: int) -> np.ndarray:
    """Shorten a kernel longer than the image without changing the result.

    With edge replication, every tap more than ``length - 1`` away from the
    centre reads the edge sample for every output sample, so those taps can be
    summed into the outermost tap that still sees a distinct sample. A 10001-tap
    kernel on a 10-pixel image then costs 19 taps, not ~10⁸ padded samples.
    """
    r, keep = len(taps) // 2, max(length - 1, 0)
    if r <= keep:
        return taps
    folded = taps[r - keep : r + keep + 1].copy()
    folded[0] += taps[: r - keep].sum()
    folded[-1] += taps[r + keep + 1 :].sum()
    return folded


def make_plan(
    shape: tuple[int, ...],
    dtype: np.dtype,
    g_y: np.ndarray,
    g_x: np.ndarray,
    *,
    method: str | None = None,
) -> BandPlan:
    """Plan the correlation of an ``(H, W)`` or ``(H, W, C)`` array with ``outer(g_y, g_x)``.

    Parameters
    ----------
    shape : tuple of int
        Shape of the unpadded image.
    dtype : numpy.dtype
        dtype of the image; also the output dtype.
    g_y, g_x : numpy.ndarray
        Odd-length 1-D kernel factors (rows, columns), float64.
    method : {"direct", "gemm"}, optional
        Force an inner kernel; by default it is chosen from the dtype.
    """
    return make_terms_plan(shape, dtype, [(g_y, g_x)], method=method)


def make_terms_plan(
    shape: tuple[int, ...],
    dtype: np.dtype,
    factors: list[tuple[np.ndarray, np.ndarray]],
    *,
    offset: float = 0.0,
    rounding: str = "rint",
    result_grid: float | None = None,
    method: str | None = None,
) -> BandPlan:
    """Plan the correlation with ``sum(outer(g_y, g_x) for g_y, g_x in factors) + offset``.

    Parameters
    ----------
    shape, dtype, method
        As for :func:`make_plan`.
    factors : list of (g_y, g_x)
        Separable terms; all ``g_y`` of one length, all ``g_x`` of one length.
    offset : float
        Added to every result before rounding.
    rounding : {"rint", "half_up"}
        How integer results are rounded: to nearest even on ties (SPEC §2), or
        half up like Pillow's ``ImageFilter.Kernel``.
    result_grid : float, optional
        ``s`` when every exact result of an integer image is a multiple of
        ``1/s`` (integer weights over an integer scale ``s``, integer offset).
        Then no result can lie near .5 without being exactly .5, which lets
        8-bit images with such kernels be computed in float32 (see below).
    """
    dtype = np.dtype(dtype)
    height, width = int(shape[0]), int(shape[1])
    channels = int(shape[2]) if len(shape) == 3 else 1
    pairs = [(np.asarray(y, np.float64), np.asarray(x, np.float64)) for y, x in factors]
    if not pairs or len({(len(y), len(x)) for y, x in pairs}) != 1:
        raise ValueError("factors must be one or more (g_y, g_x) pairs of equal lengths")
    pairs = [(_fold(y, height), _fold(x, width)) for y, x in pairs]
    g_y0, g_x0 = pairs[0]
    chosen, strip_rows, block_cols = _choose_method(dtype, len(g_y0) // 2, len(g_x0) // 2)
    if method is not None:
        if method not in _STRIP_KERNELS:
            raise ValueError(f"method must be one of {sorted(_STRIP_KERNELS)}, got {method!r}")
        chosen = method
    if rounding not in ("rint", "half_up"):
        raise ValueError(f"rounding must be 'rint' or 'half_up', got {rounding!r}")
    negative = any(bool((y < 0).any() or (x < 0).any()) for y, x in pairs)
    # uint8 sums stay within ~1e-5 of a level in float32, so a sample differs
    # from the float64 reference only when its exact value is that close to .5
    # (about 2 in 100 000). On a small image one such sample would already be
    # more than SPEC §3's 0.1 %, so small images, everything wider than 8 bits
    # (16-bit, int32, float) and kernels with several terms or negative weights
    # (sums that cancel) are computed in float64.
    #
    # Kernels on a result grid of 1/s are the exception: their exact results
    # are at least 1/(2s) from .5 unless exactly .5, so float32 is safe while
    # its error (measured ≤ 9e-5 for integer kernels up to 15×15; estimated
    # here as 1e-6 · max sample · Σ|K|, 2–5× above what was measured) stays
    # well under 1/(2s). Exact ties are then nudged up by twice that estimate.
    samples = height * width * channels
    big8 = dtype.itemsize == 1 and samples > FLOAT32_MIN_SAMPLES
    # Σ|outer(y, x)| = Σ|y|·Σ|x|: no kernel-sized temporary (10001² taps would be 800 MB)
    abs_sum = float(sum(np.abs(y).sum() * np.abs(x).sum() for y, x in pairs))
    error = 1e-6 * float(np.iinfo(dtype).max if dtype.kind in "ui" else 1) * abs_sum
    on_grid = result_grid is not None and 6 * error < 1 / (2 * abs(result_grid))
    narrow = big8 and ((len(pairs) == 1 and not negative) or on_grid)
    compute = np.dtype(np.float32 if narrow else np.float64)
    tie_nudge = 2 * error if narrow else 1e-7
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        clip: tuple[float, float] | None = (float(info.min), float(info.max))
        if not negative and offset == 0 and len(pairs) == 1:
            clip = None  # a non-negative normalised kernel cannot leave the range
        round_mode: str | None = rounding
    else:
        clip, round_mode = None, None
    terms = tuple(
        Term(
            g_y=y,
            g_x=x,
            # (S + 2r, S) for rowsᵀ @ Aᵀ, and (T, T + 2r)
            v_matrix=np.ascontiguousarray(_band_matrix(y, strip_rows).T, dtype=compute),
            h_matrix=np.ascontiguousarray(_band_matrix(x, block_cols), dtype=compute),
        )
        for y, x in pairs
    )
    return BandPlan(
        height=height,
        width=width,
        channels=channels,
        terms=terms,
        out_dtype=dtype,
        compute_dtype=compute,
        method=chosen,
        strip_rows=strip_rows,
        block_cols=block_cols,
        clip=clip,
        rounding=round_mode,
        offset=float(offset),
        tie_nudge=tie_nudge,
    )


def pad_edge_rows(image: np.ndarray, plan: BandPlan, start: int, out: np.ndarray) -> None:
    """Write rows ``[start, start + len(out))`` of the padded image into ``out``.

    The padded image is ``image`` with edge replication (``numpy.pad`` "edge"):
    the kernel radius on every side, plus the extension of the bottom and right
    edges to whole strips and blocks. Producing it a few rows at a time lets the
    process path stream it to its file without a whole-image copy in memory.
    """
    h, w = plan.height, plan.width
    ry, rx = plan.r_y, plan.r_x
    img = image.reshape(h, w, plan.channels)
    stop = start + out.shape[0]
    # padded row p shows image row clip(p - ry, 0, h - 1): three runs
    first, last = min(max(ry - start, 0), out.shape[0]), min(max(ry + h - start, 0), out.shape[0])
    core = out[:, rx : rx + w]
    if first:
        core[:first] = img[0]
    if last > first:
        core[first:last] = img[start + first - ry : start + last - ry]
    if stop - start > last:
        core[last:] = img[h - 1]
    out[:, :rx] = core[:, :1]
    out[:, rx + w :] = core[:, w - 1 : w]


def pad_edge_into(image: np.ndarray, padded: np.ndarray, plan: BandPlan) -> None:
    """Write the whole padded image (see :func:`pad_edge_rows`) into ``padded``."""
    pad_edge_rows(image, plan, 0, padded)


def _direct(rows: np.ndarray, plan: BandPlan) -> np.ndarray:
    s, c = plan.strip_rows, plan.channels
    flat_w = rows.shape[1] * c
    n = plan.n_blocks * plan.block_cols * c
    x = rows.reshape(rows.shape[0], flat_w).astype(plan.compute_dtype, copy=False)
    total = None
    for term in plan.terms:
        g_y = term.g_y.astype(plan.compute_dtype)
        g_x = term.g_x.astype(plan.compute_dtype)
        v = x[0:s] * g_y[0]
        tmp = np.empty_like(v)
        for i in range(1, len(g_y)):
            np.multiply(x[i : i + s], g_y[i], out=tmp)
            v += tmp
        o = v[:, 0:n] * g_x[0]
        tmp = np.empty_like(o)
        for j in range(1, len(g_x)):
            np.multiply(v[:, j * c : j * c + n], g_x[j], out=tmp)
            o += tmp
        total = o if total is None else np.add(total, o, out=total)
    assert total is not None
    return total


def _gemm(rows: np.ndarray, plan: BandPlan) -> np.ndarray:
    s, t, c, nb = plan.strip_rows, plan.block_cols, plan.channels, plan.n_blocks
    flat_w = rows.shape[1] * c
    x = rows.reshape(rows.shape[0], flat_w).astype(plan.compute_dtype, copy=False)
    total = None
    for term in plan.terms:
        vt = x.T @ term.v_matrix  # (Wp*C, S): vertical pass, transposed
        it = vt.itemsize
        blocks = as_strided(
            vt, (nb, t + 2 * plan.r_x, c * s), (t * c * s * it, c * s * it, it), writeable=False
        )
        r = term.h_matrix @ blocks  # (nb, T, C*S): horizontal pass
        total = r if total is None else np.add(total, r, out=total)
    assert total is not None
    return total.reshape(nb * t * c, s).T


_STRIP_KERNELS: dict[str, StripKernel] = {
    "direct": _direct,
    "gemm": _gemm,
}


def _finish(result: np.ndarray, plan: BandPlan) -> None:
    """Offset, round and clip a float strip (view) in place, as SPEC §2 asks for integers."""
    if plan.offset:
        result += plan.offset
    if plan.rounding == "rint":
        np.rint(result, out=result)
    elif plan.rounding == "half_up":
        # Integer kernels over an even scale give exact .5 ties, which half-up
        # rounding must send up; the separable split (SVD) and float32 can leave
        # them a little below. Nudge by far less than any non-tie can be from .5.
        result += 0.5 + plan.tie_nudge
        np.floor(result, out=result)
    if plan.clip is not None:
        np.clip(result, plan.clip[0], plan.clip[1], out=result)


def _store(out_rows: np.ndarray, result: np.ndarray, plan: BandPlan) -> None:
    """Copy the first rows and ``W·C`` columns of an ``(S, ≥W·C)`` result into ``out_rows``."""
    n = out_rows.shape[0]
    np.copyto(out_rows.reshape(n, -1), result[:n, : plan.width * plan.channels], casting="unsafe")


def convolve_band(
    padded: np.ndarray,
    out: np.ndarray,
    start: int,
    stop: int,
    plan: BandPlan,
    padded_start: int = 0,
    out_start: int = 0,
) -> None:
    """Convolve output rows ``[start, stop)`` of ``padded`` into ``out``.

    Parameters
    ----------
    padded : numpy.ndarray
        Padded rows from ``padded_start`` on (the whole padded image by default,
        shape ``plan.padded_shape``); may be a read-only memmap. Must reach
        padded row ``start + n·S + 2·r_y`` for the strips of the band.
    out : numpy.ndarray
        The whole output, shape ``plan.out_shape`` and dtype ``plan.out_dtype``
        (may be a shared memmap); only rows ``[start, stop)`` are written.
    start, stop : int
        Row bounds; ``start`` must be a multiple of ``plan.strip_rows``.
    plan : BandPlan
        From :func:`make_plan`.
    padded_start : int
        The padded-image row that ``padded[0]`` holds.
    out_start : int
        The output row that ``out[0]`` holds (0: ``out`` is the whole output).
    """
    s, halo = plan.strip_rows, 2 * plan.r_y
    _convolve_strips(
        lambda r0: padded[r0 - padded_start : r0 - padded_start + s + halo],
        out,
        start,
        stop,
        plan,
        out_start,
    )


def _convolve_strips(
    strip_rows: Callable[[int], np.ndarray],
    out: np.ndarray,
    start: int,
    stop: int,
    plan: BandPlan,
    out_start: int = 0,
) -> None:
    """Run the strip loop; ``strip_rows(r0)`` gives the padded rows of the strip at ``r0``."""
    s = plan.strip_rows
    if start % s:
        raise ValueError(f"start must be a multiple of strip_rows={s}, got {start}")
    kernel = _STRIP_KERNELS[plan.method]
    for r0 in range(start, stop, s):
        result = kernel(strip_rows(r0), plan)
        _finish(result, plan)
        _store(out[r0 - out_start : min(r0 + s, stop) - out_start], result, plan)


def band_padded_rows(image: np.ndarray, plan: BandPlan, start: int, stop: int) -> np.ndarray:
    """Return the padded rows band ``[start, stop)`` reads: its strips plus the halo."""
    s = plan.strip_rows
    end = start + -(-(stop - start) // s) * s + 2 * plan.r_y
    buffer = np.empty((end - start, *plan.padded_shape[1:]), dtype=plan.out_dtype)
    pad_edge_rows(image, plan, start, buffer)
    return buffer


def convolve_shipped_band(
    padded_rows: np.ndarray, start: int, stop: int, plan: BandPlan
) -> tuple[int, np.ndarray]:
    """Remote task: convolve a band shipped with its halo; return ``(start, rows)``."""
    out = np.empty((stop - start, plan.width, plan.channels), dtype=plan.out_dtype)
    convolve_band(padded_rows, out, start, stop, plan, padded_start=start, out_start=start)
    return start, out


def convolve_band_from_image(
    image: np.ndarray, out: np.ndarray, start: int, stop: int, plan: BandPlan
) -> None:
    """Convolve rows ``[start, stop)`` straight from the unpadded image.

    The shared-memory path: each strip's padded rows are written by
    :func:`pad_edge_rows` directly into one reused buffer of the compute dtype,
    so padding and the conversion to float are a single pass and no padded copy
    of the image is made. The buffer holds exactly the values a padded array
    would, so the result is byte-identical to :func:`convolve_band`'s.
    """
    rows = np.empty((plan.strip_rows + 2 * plan.r_y, *plan.padded_shape[1:]), plan.compute_dtype)

    def strip_rows(r0: int) -> np.ndarray:
        pad_edge_rows(image, plan, r0, rows)
        return rows

    _convolve_strips(strip_rows, out, start, stop, plan)
