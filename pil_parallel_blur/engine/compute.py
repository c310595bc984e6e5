"""Computing one tile of a step, with the compiled modules or their NumPy twins.

Tests: test_accuracy.py, test_determinism.py, test_pillow_family.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .boxes import BoxPass, box_pass
from .fallback import correlate_tile_numpy
from .native import loaded
from .plan import ROUNDING_CODES, TYPE_CODES, CorrelationPlan, Tile, pixel_samples
from .spectral import SpectralPass, columns_pass, rows_pass
from .unsharp import pillow_unsharp_rows, unsharp_rows

__all__ = [
    "RowsCopy",
    "Step",
    "compute_tile",
    "correlate_tile",
    "exact_unsharp",
    "pillow_unsharp",
]


@dataclass(frozen=True)
class RowsCopy:
    """The step that copies a tile's whole rows from ``src`` to ``dst`` as they are.

    It puts back results that were computed into a buffer of their own while
    their rows of the image were still to be read (``parallel.tiles.into_image``).
    Of pixels holding more samples than the plan's ``channels`` (when given),
    only the first ``channels`` are copied.
    """

    channels: int | None = None


#: What workers compute tile by tile: a direct plan, one pass of a spectral
#: plan, one stage of Pillow's box passes, or rows copied back.
Step = CorrelationPlan | SpectralPass | BoxPass | RowsCopy


def correlate_tile(
    src: np.ndarray,
    src_row0: int,
    out: np.ndarray,
    out_row0: int,
    tile: Tile,
    plan: CorrelationPlan,
) -> None:
    """Compute the output samples of ``tile`` into ``out``.

    Parameters
    ----------
    src : numpy.ndarray
        C-contiguous image rows from row ``src_row0`` on, dtype ``plan.out_dtype``
        in native byte order (a read-only memmap is fine), whole rows. It must
        hold every row of ``rows_read(plan, tile.top, tile.bottom)``. Its
        pixels may hold more samples than ``plan.channels`` (``pixel_samples``):
        the first ``plan.channels`` of each are filtered.
    src_row0 : int
        The image row ``src[0]`` holds.
    out : numpy.ndarray
        C-contiguous output rows from row ``out_row0`` on, whole rows of dtype
        ``plan.out_dtype`` (may be a shared memmap); only the tile is written,
        and of pixels holding more samples than ``plan.channels``, only the
        first ``plan.channels``.
    out_row0 : int
        The output row ``out[0]`` holds.
    tile : Tile
        The output rows and pixel columns to compute.
    plan : CorrelationPlan
        From ``plan_correlation``.
    """
    native = loaded.correlate
    if native is None:
        correlate_tile_numpy(src, src_row0, out, out_row0, tile, plan)
        return
    lo, hi = (0.0, 0.0) if plan.clip is None else plan.clip
    native.correlate(
        src=src,
        src_row0=src_row0,
        out=out,
        out_row0=out_row0,
        start=tile.top,
        stop=tile.bottom,
        col0=tile.left,
        col1=tile.right,
        height=plan.height,
        width=plan.width,
        channels=plan.channels,
        type=TYPE_CODES[plan.out_dtype],
        terms=plan.terms,
        double=plan.compute_dtype == np.float64,
        offset=plan.offset,
        rounding=max(ROUNDING_CODES[plan.rounding], 0),  # float results: not rounded
        lo=lo,
        hi=hi,
        grid=plan.grid,
        src_pixel=pixel_samples(src),
        out_pixel=pixel_samples(out),
    )


def compute_tile(
    src: np.ndarray, src0: int, dst: np.ndarray, dst0: int, tile: Tile, step: Step
) -> None:
    """Compute ``tile`` of ``step``: ``correlate_tile`` for a plan, a spectral or box pass, a copy.

    ``src0``/``dst0`` are the first image row ``src``/``dst`` hold, or for
    the spectral columns pass the first image column.
    """
    if isinstance(step, SpectralPass):
        compute = columns_pass if step.columns else rows_pass
        compute(src, src0, dst, dst0, tile, step.spectral, loaded.correlate, step.channel)
    elif isinstance(step, BoxPass):
        box_pass(src, src0, dst, dst0, tile, step, loaded.box)
    elif isinstance(step, RowsCopy):
        copied = slice(None) if step.channels is None else slice(0, step.channels)
        rows = src[tile.top - src0 : tile.bottom - src0]
        dst[tile.top - dst0 : tile.bottom - dst0, ..., copied] = rows[..., copied]
    else:
        correlate_tile(src, src0, dst, dst0, tile, step)


class _Combination:
    """An unsharp combination on rows ``[start, stop)`` with the compiled module loaded now.

    ``rows(image, blurred, out, start, stop, percent, threshold, native)`` is
    the rule (``unsharp.py``); ``module`` names the compiled module it takes
    (``loaded.correlate`` or ``loaded.box``), looked up at each call so that
    ``PIL_PARALLEL_BLUR_ENGINE`` and the tests' engine switch hold.
    """

    def __init__(self, rows: Callable[..., None], module: str) -> None:
        self.rows = rows
        self.module = module

    def __call__(self, *args: object) -> None:
        self.rows(*args, getattr(loaded, self.module))


#: The exact unsharp rule's combination (``ParallelUnsharpMask``).
exact_unsharp = _Combination(unsharp_rows, "correlate")
#: Pillow's (``pil_parallel_blur.pillow.UnsharpMask``).
pillow_unsharp = _Combination(pillow_unsharp_rows, "box")
