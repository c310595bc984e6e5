"""The NumPy engine: the native kernel's operations as NumPy element-wise steps.

Used when the compiled extension is missing, or on request
(``PIL_PARALLEL_BLUR_ENGINE=numpy``). Each output sample gets the same IEEE
operations in the same order as in the native kernel, so both engines give
the same bytes; no BLAS call is made, so neither depends on its threading.

Tests: test_accuracy.py and test_determinism.py (both engines).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .finish import finish_samples
from .plan import CorrelationPlan, Tile, pixel_samples, rows_read

__all__ = ["correlate_tile_numpy"]

#: Output rows per chunk (bounds the temporaries).
CHUNK_ROWS = 64


def correlate_tile_numpy(
    src: np.ndarray,
    src_row0: int,
    out: np.ndarray,
    out_row0: int,
    tile: Tile,
    plan: CorrelationPlan,
) -> None:
    """Compute ``tile`` as ``correlate_tile`` does, chunk by chunk of rows."""
    h, w, c = plan.height, plan.width, plan.channels
    ry, rx = plan.r_y, plan.r_x
    ct = plan.compute_dtype
    # the first c samples of each pixel (pixels may hold more: compute.pixel_samples)
    image = src.reshape(-1, w, pixel_samples(src))[..., :c]
    rows_out = out.reshape(-1, w, pixel_samples(out))[..., :c]
    n = (tile.right - tile.left) * c
    # the window's columns with their margins, the image's edge pixel repeated past it
    columns = np.clip(np.arange(tile.left - rx, tile.right + rx), 0, w - 1)
    # symmetry is judged on the float64 taps, as the native kernel judges it
    taps = [(_taps(y, ct), _taps(x, ct)) for y, x in plan.terms]
    kept: tuple[int, np.ndarray] | None = None  # the last chunk's first row and rows read
    for y0 in range(tile.top, tile.bottom, CHUNK_ROWS):
        y1 = min(y0 + CHUNK_ROWS, tile.bottom)
        first, last = rows_read(plan, y0, y1)
        # rows above y0 as they were read before the last chunk wrote its
        # results: ``out`` may be ``src`` (a tile written over its own rows)
        start = y0 if kept is not None else first
        block = image[start - src_row0 : last - src_row0][:, columns].astype(ct)
        if kept is not None:
            above = kept[1][first - kept[0] : y0 - kept[0]]
            block = np.concatenate([above, block])
        kept = (first, block)
        padded = block.reshape(len(block), -1)
        pick = np.clip(np.arange(y0 - ry, y1 + ry), 0, h - 1) - first
        total: np.ndarray | None = None
        for g_y, g_x in taps:
            across = _pass(_columns(padded, c, n), g_x, fold=True)
            down = _pass(_rows(across[pick], y1 - y0), g_y, fold=False)
            total = down if total is None else np.add(total, down, out=total)
        assert total is not None
        rows_out[y0 - out_row0 : y1 - out_row0, tile.left : tile.right] = finish_samples(
            total, plan
        ).reshape(y1 - y0, -1, c)


def _taps(g: np.ndarray, ct: np.dtype) -> tuple[np.ndarray, bool]:
    return g.astype(ct), bool((g == g[::-1]).all())


def _columns(padded: np.ndarray, c: int, n: int) -> Callable[[int], np.ndarray]:
    """Tap ``j`` of the horizontal pass: the samples ``j`` pixels right of each output's first."""
    return lambda j: padded[:, j * c : j * c + n]


def _rows(rows: np.ndarray, n: int) -> Callable[[int], np.ndarray]:
    """Tap ``j`` of the vertical pass: the rows ``j`` below each output's first."""
    return lambda j: rows[j : j + n]


def _pass(
    take: Callable[[int], np.ndarray], taps: tuple[np.ndarray, bool], *, fold: bool
) -> np.ndarray:
    """``Σ_j g[j]·take(j)`` in the native kernel's order.

    The horizontal pass folds symmetric taps (``g[r+k]·(a + b)``); the vertical
    pass never does (it sums the taps in order), as the native kernel does.
    """
    g, symmetric = taps
    r = len(g) // 2
    if fold and symmetric:
        acc: np.ndarray = g[r] * take(r)
        for k in range(1, r + 1):
            pair = take(r - k) + take(r + k)
            pair *= g[r + k]
            acc += pair
        return acc
    acc = np.asarray(g[0] * take(0))
    for j in range(1, 2 * r + 1):
        acc += g[j] * take(j)
    return acc
