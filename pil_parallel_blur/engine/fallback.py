"""The NumPy engine: the native kernel's operations as NumPy element-wise steps.

Used when the compiled extension is missing, or on request
(``PIL_PARALLEL_BLUR_ENGINE=numpy``). Each output sample gets the same IEEE
operations in the same order as in the native kernel, so both engines give
the same bytes; no BLAS call is made, so neither depends on its threading.

A tile is computed a few rows at a time (``CHUNK_SAMPLES``), every step
writing into arrays allocated once per tile: the chunks stay in a core's
cache, and no step asks the system for fresh memory. Each image row is
filtered across once, into a window of rows that slides down the tile, and
the pass down reads the window.

Tests: test_accuracy.py and test_determinism.py (both engines).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .finish import finish_samples
from .plan import CorrelationPlan, Tile, pixel_samples

__all__ = ["correlate_tile_numpy"]

#: Samples a chunk's arrays hold (rows × samples of a row): 2 MB of float32, the
#: fastest of 2^16 to 2^21 on 24 MP RGB with 2 threads (fewer calls, each still
#: within reach of the caches).
CHUNK_SAMPLES = 1 << 19
#: Most output rows a chunk computes.
CHUNK_ROWS = 64

_Taps = tuple[np.ndarray, bool]


def correlate_tile_numpy(
    src: np.ndarray,
    src_row0: int,
    out: np.ndarray,
    out_row0: int,
    tile: Tile,
    plan: CorrelationPlan,
) -> None:
    """Compute ``tile`` as ``correlate_tile`` does, a chunk of rows at a time.

    ``out`` may be ``src`` (a tile written over its own rows): every image
    row is read before any output row at or below it is written.
    """
    w, c = plan.width, plan.channels
    # the first c samples of each pixel (pixels may hold more: compute.pixel_samples)
    image = src.reshape(-1, w, pixel_samples(src))[..., :c]
    rows_out = out.reshape(-1, w, pixel_samples(out))[..., :c]
    # the window's columns with their margins, the image's edge pixel repeated past it
    columns = np.clip(np.arange(tile.left - plan.r_x, tile.right + plan.r_x), 0, w - 1)
    m = max(1, min(CHUNK_ROWS, CHUNK_SAMPLES // (len(columns) * c), tile.bottom - tile.top))
    # silent, as the native kernel is, about infinities and NaN in the image
    # (and in the margins of each row, which mix two rows and are never used)
    with np.errstate(all="ignore"):
        for y0, k, total in _chunks(image, columns, src_row0, tile, plan, m):
            finish_samples(
                total[:k, : (tile.right - tile.left) * c].reshape(k, -1, c),
                plan,
                out=rows_out[y0 - out_row0 : y0 + k - out_row0, tile.left : tile.right],
            )


def _chunks(
    image: np.ndarray,
    columns: np.ndarray,
    src_row0: int,
    tile: Tile,
    plan: CorrelationPlan,
    m: int,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(y0, k, total)``: output rows ``y0 .. y0 + k - 1`` before the finish.

    Rows of ``image`` (``(rows, W, C)``) are read as the chunks need them, at
    ``columns`` (the tile's, with their margins). ``total`` holds ``k`` rows
    of ``len(columns)·C`` samples, the first ``(right - left)·C`` of each the
    results; it is reused by the next chunk.
    """
    h, ry, ct = plan.height, plan.r_y, plan.compute_dtype
    c = image.shape[2]
    wide = len(columns) * c  # samples of a row read, with its margins
    span = m + 2 * ry  # window rows a chunk reads
    # symmetry is judged on the float64 taps, as the native kernel judges it
    # (only across: it never folds the taps down)
    taps = [(y.astype(ct), _taps(x, ct)) for y, x in plan.terms]
    raw, scratch = np.empty((span, wide), ct), np.empty(span * wide, ct)
    windows = [_Window(span, m, wide, ct) for _ in taps]
    total, down = np.empty((m, wide), ct), np.empty((m, wide), ct)
    for y0 in range(tile.top, tile.bottom, m):
        k = min(m, tile.bottom - y0)
        # image rows y0 - ry .. y0 + k + ry - 1 (edge rows repeated); the
        # last chunk's window already holds all but the last k of them
        fresh = k + 2 * ry if y0 == tile.top else k
        ys = np.clip(np.arange(y0 + k + ry - fresh, y0 + k + ry), 0, h - 1) - src_row0
        read = raw[:fresh]
        np.copyto(read.reshape(fresh, -1, c), image[ys[:, None], columns], casting="unsafe")
        for t, (g_y, g_x) in enumerate(taps):
            rows = windows[t].slide(k + 2 * ry, fresh)
            _across(read.reshape(-1), g_x, c, rows[-fresh:].reshape(-1), scratch)
            acc = total if t == 0 else down
            _in_order(rows.reshape(-1), g_y, wide, acc[:k].reshape(-1), scratch)
            if t:
                np.add(total[:k], down[:k], out=total[:k])
        yield y0, k, total


class _Window:
    """Rows filtered across, for the pass down: a buffer the current chunk's rows slide over.

    ``slide(rows, fresh)`` returns the ``rows`` window rows of the next chunk,
    whose last ``fresh`` are for the caller to fill; the others are the last
    chunk's, kept (moved to the buffer's start only when it runs out).
    """

    def __init__(self, span: int, step: int, n: int, dtype: np.dtype) -> None:
        self.rows = np.zeros((2 * span + step, n), dtype)
        self.stop = 0  # the end of the last chunk's rows

    def slide(self, rows: int, fresh: int) -> np.ndarray:
        kept = rows - fresh
        start = self.stop - kept
        if start + rows > len(self.rows):
            self.rows[:kept] = self.rows[start : self.stop]
            start = 0
        self.stop = start + rows
        return self.rows[start : self.stop]


def _taps(g: np.ndarray, ct: np.dtype) -> _Taps:
    return g.astype(ct), bool((g == g[::-1]).all())


def _across(raw: np.ndarray, taps: _Taps, c: int, out: np.ndarray, scratch: np.ndarray) -> None:
    """``out[p] = Σ_j g[j]·raw[p + j·c]``, in the native kernel's horizontal order.

    ``raw`` and ``out`` are rows laid end to end, ``2·r·c`` samples longer
    than the row's results: the last ``2·r·c`` of each ``out`` row mix two
    rows and are never used. Symmetric taps are folded (``g[r+k]·(a + b)``),
    as the native kernel folds them.
    """
    g, symmetric = taps
    r = len(g) // 2
    n = len(out) - 2 * r * c
    tmp = scratch[:n]
    ahead = out[:n]

    def take(j: int) -> np.ndarray:
        return raw[j * c : j * c + n]

    if symmetric:
        np.multiply(take(r), g[r], out=ahead)
        for k in range(1, r + 1):
            np.add(take(r - k), take(r + k), out=tmp)
            np.multiply(tmp, g[r + k], out=tmp)
            np.add(ahead, tmp, out=ahead)
        return
    _in_order(raw, g, c, ahead, scratch)


def _in_order(
    values: np.ndarray, g: np.ndarray, stride: int, out: np.ndarray, scratch: np.ndarray
) -> None:
    """``out = Σ_j g[j]·values[j·stride : j·stride + len(out)]``, the taps in order.

    The pass down (``stride``: a row), which the native kernel never folds,
    and the pass across with asymmetric taps (``stride``: a pixel).
    """
    n = len(out)
    tmp = scratch[:n]
    np.multiply(values[:n], g[0], out=out)
    for j in range(1, len(g)):
        np.multiply(values[j * stride : j * stride + n], g[j], out=tmp)
        np.add(out, tmp, out=out)
