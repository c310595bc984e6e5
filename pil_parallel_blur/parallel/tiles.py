"""Cutting the work of one call into stages of tiles, from the plan and the worker count.

A direct tile is a stripe of rows, or a part of one when a row is so long that
its buffers would not stay in cache or there are fewer rows than workers. A
spectral plan is cut into strips of whole columns, then stripes of whole rows;
Pillow's box passes the same way. Every cut is decided from the shape, the
kernel and the worker count; the values computed never depend on it.

Tests: test_parallel_engine.py, test_spectral.py.
"""

from __future__ import annotations

import dataclasses
from itertools import pairwise
from math import ceil
from typing import NamedTuple

import numpy as np

from ..engine import (
    BoxPass,
    BoxPlan,
    CorrelationPlan,
    RowsCopy,
    SpectralPass,
    SpectralPlan,
    Step,
    Tile,
)

__all__ = ["Stage", "cut_tiles", "plan_stages", "box_stages", "buffers", "into_image"]

#: Tiles per worker: a little over 1 so that a slow worker (the machine is
#: shared) does not hold everyone up, few enough that per-task cost stays small.
TILES_PER_WORKER = 4
#: Samples of a row one tile spans at most: the engine's row buffers then stay
#: in cache and its memory does not grow with the row (a single row of 8 M
#: samples costs what a square image of the same size does).
MAX_TILE_ROW_SAMPLES = 1 << 16
#: Fewest pixels a tile spans, so that its halo (``2·r_x`` pixels filtered
#: again) stays a small part of its work.
MIN_TILE_SAMPLES = 4096


def cut_tiles(plan: CorrelationPlan, workers: int) -> list[Tile]:
    """Cut the output into tiles for ``workers``: stripes of rows, split across when needed.

    ``TILES_PER_WORKER`` stripes per worker, each at least ``8·r_y`` rows high
    (a stripe filters the ``2·r_y`` rows it shares with its neighbours again:
    at most 25 % extra), never fewer than the workers while there are rows.
    A stripe is split across its columns when its rows are longer than
    ``MAX_TILE_ROW_SAMPLES``, or when there are too few rows to give every
    worker its share; each piece spans at least ``MIN_TILE_SAMPLES`` and
    ``8·r_x`` pixels. Decided from the shape, the kernel and ``workers``; the
    values computed do not depend on the cut.
    """
    wanted = workers * TILES_PER_WORKER if workers > 1 else 1
    by_halo = plan.height // max(1, 8 * plan.r_y)
    n_rows = max(min(wanted, by_halo), min(workers, plan.height), 1)
    row_samples = plan.width * plan.channels
    n_cols = max(ceil(row_samples / MAX_TILE_ROW_SAMPLES), ceil(wanted / n_rows))
    narrowest = max(ceil(MIN_TILE_SAMPLES / plan.channels), 8 * plan.r_x, 1)
    n_cols = max(1, min(n_cols, plan.width // narrowest))
    rows = cuts(plan.height, n_rows)
    cols = cuts(plan.width, n_cols)
    return [Tile(top, bottom, left, right) for top, bottom in rows for left, right in cols]


def cuts(length: int, n: int, step: int = 1) -> list[tuple[int, int]]:
    """``[0, length)`` cut into at most ``n`` nearly equal, non-empty parts.

    Every part starts on a multiple of ``step``.
    """
    n = max(1, min(n, length))
    edges = (np.linspace(0, length, n + 1) / step).round().astype(int) * step
    edges = np.minimum(edges, length)  # a multiple of a step over 2 may pass the end
    edges[-1] = length
    return [(int(a), int(b)) for a, b in pairwise(edges) if b > a]


class Stage(NamedTuple):
    """One round of tiles: every tile of ``step`` computed from array ``src`` into ``dst``.

    The arrays of a run are the image (0) and the buffers the stages write,
    numbered in the order they are first written (``dst_dtype``,
    ``dst_shape``); the last stage's ``dst`` is the result (the image itself
    when ``into_image`` moved it there). A direct plan is one stage (image →
    output); a box plan rows then columns (the second stage over the first's
    buffer, ``box_stages``); a spectral plan two stages a channel (image →
    intermediate plane by columns, then → the output's channel by rows), each
    started when the one before is done.
    """

    step: Step
    tiles: list[Tile]
    dst_dtype: np.dtype
    dst_shape: tuple[int, ...]
    src: int
    dst: int

    @property
    def channel(self) -> int | None:
        """The output channel a spectral rows stage writes (``None``: every channel)."""
        step = self.step
        return step.channel if isinstance(step, SpectralPass) and not step.columns else None

    @property
    def whole_columns(self) -> bool:
        """Its tiles are whole columns: a spectral columns pass, a vertical box stage."""
        step = self.step
        return (isinstance(step, SpectralPass) and step.columns) or (
            isinstance(step, BoxPass) and step.vertical
        )


def plan_stages(plan: CorrelationPlan, spectral: SpectralPlan | None, workers: int) -> list[Stage]:
    """Return the stages of ``plan``: direct tiles, or the two passes of ``spectral``."""
    if spectral is None:
        return [Stage(plan, cut_tiles(plan, workers), plan.out_dtype, plan.out_shape, 0, 1)]
    # even starts: the transform pairs line 2i with 2i + 1 (engine/spectral.py)
    columns = column_tiles(plan.height, plan.width, workers, 2)
    rows = row_tiles(plan.height, plan.width, workers, 2)
    mid = (spectral.mid_dtype, spectral.mid_shape)
    out = (plan.out_dtype, plan.out_shape)
    # one intermediate plane (buffer 1), reused by every channel
    return [
        Stage(step, columns, *mid, 0, 1) if step.columns else Stage(step, rows, *out, 1, 2)
        for step in spectral.passes()
    ]


def column_tiles(height: int, width: int, workers: int, step: int = 1) -> list[Tile]:
    """Return strips of whole columns, ``TILES_PER_WORKER`` a worker, on multiples of ``step``."""
    n = workers * TILES_PER_WORKER if workers > 1 else 1
    return [Tile(0, height, a, b) for a, b in cuts(width, n, step)]


def row_tiles(height: int, width: int, workers: int, step: int = 1) -> list[Tile]:
    """Return stripes of whole rows, ``TILES_PER_WORKER`` a worker, on multiples of ``step``."""
    n = workers * TILES_PER_WORKER if workers > 1 else 1
    return [Tile(a, b, 0, width) for a, b in cuts(height, n, step)]


def box_stages(plan: BoxPlan, workers: int) -> list[Stage]:
    """Return a box plan's stages: stripes of whole rows, then strips of whole columns.

    The first stage writes a new buffer; the next one writes over it (a tile
    reads and writes its own rows, or its own columns, alone).
    """
    shape = (plan.height, plan.width, plan.channels)
    stages: list[Stage] = []
    for step in plan.stages:
        cut = column_tiles if step.vertical else row_tiles
        tiles = cut(plan.height, plan.width, workers)
        src = 1 if stages else 0
        stages.append(Stage(_in_place(step, src == 1), tiles, np.dtype(np.uint8), shape, src, 1))
    return stages


def _in_place(step: BoxPass, in_place: bool) -> BoxPass:
    return dataclasses.replace(step, in_place=in_place)


def buffers(stages: list[Stage]) -> list[tuple[np.dtype, tuple[int, ...]]]:
    """Return the type and shape of each buffer the stages write, by number (from 1).

    A stage that writes over the image (array 0, see ``into_image``) makes none.
    """
    made: dict[int, tuple[np.dtype, tuple[int, ...]]] = {}
    for stage in stages:
        if stage.dst:
            made.setdefault(stage.dst, (stage.dst_dtype, stage.dst_shape))
    return [made[i] for i in range(1, len(made) + 1)]


def into_image(stages: list[Stage], image: np.ndarray) -> list[Stage]:
    """Return ``stages`` with the result written over ``image`` where nothing reads it after.

    For a caller that owns the image (``Image.filter``'s copy of the pixels):
    one buffer the size of the result fewer to allocate and to fault in. The
    result goes to array 0 when it has the image's type and shape, no stage
    that writes it reads the image, and every stage that reads the image after
    the result is first written reads a channel no stage has written by then
    (a spectral plan: the columns pass of channel c + 1 after the rows pass of
    channel c). A box plan's stages all run over the image (each tile reads
    and writes its own rows, or its own columns, alone). A direct plan's
    stripes are written over their own rows too (``_direct_over_image``).
    The image's pixels may hold more samples than the result's (Pillow's
    4-byte pixels of a 3-channel image): only the result's are written, the
    others stay as they are. Otherwise ``stages`` unchanged.
    """
    last = stages[-1]
    if last.dst == 0 or last.dst_dtype != image.dtype or not _holds(image, last.dst_shape):
        return stages
    if len(stages) == 1 and isinstance(last.step, CorrelationPlan):
        wider = tuple(last.dst_shape) != image.shape  # only the first channels are copied back
        return _direct_over_image(last, last.step, wider) or stages
    boxes = [s.step for s in stages if isinstance(s.step, BoxPass)]
    if len(boxes) == len(stages):
        # a box tile reads and writes its own rows or columns alone
        return [
            s._replace(step=_in_place(b, True), src=0, dst=0)
            for s, b in zip(stages, boxes, strict=True)
        ]
    if any(s.src == 0 for s in stages if s.dst == last.dst):
        return stages
    written: set[int | None] = set()
    for stage in stages:
        if stage.src == 0 and written:
            step = stage.step
            if not isinstance(step, SpectralPass) or not step.columns:
                return stages
            if step.channel in written or None in written:
                return stages
        if stage.dst == last.dst:
            written.add(stage.channel)
    return [s._replace(dst=0) if s.dst == last.dst else s for s in stages]


def _holds(image: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Tell whether ``image`` can hold a result of ``shape``: the same, or wider pixels."""
    if image.shape == tuple(shape):
        return True
    wide = image.ndim == len(shape) == 3 and image.shape[2] > shape[2]
    return wide and image.shape[:2] == tuple(shape[:2])


def _direct_over_image(stage: Stage, plan: CorrelationPlan, wider: bool) -> list[Stage] | None:
    """Return a direct plan's stripes written over their own rows; ``None``: not these tiles.

    Within a stripe the engine reads each image row once, before it writes
    any output row that row feeds (rows are filtered across in order into a
    ring; the NumPy engine keeps the rows above its chunk), so a stripe may
    write over its own rows. Its neighbours read the ``r_y`` rows on each side
    of a cut, though: the ``2·r_y`` rows around every cut are computed first
    into a buffer of their own (whose other pages are never touched), then
    the stripes' other rows over the image, then those rows copied back.
    Only stripes of whole rows, each at least ``4·r_y`` high. ``wider``: the
    image's pixels hold more samples than the plan's channels, and only those
    are copied back.
    """
    r, height, tiles = plan.r_y, plan.height, stage.tiles
    if any(t.left != 0 or t.right != plan.width or t.bottom - t.top < 4 * r for t in tiles):
        return None
    cuts_at = sorted({t.top for t in tiles} - {0})
    if r == 0 or not cuts_at:
        return [stage._replace(src=0, dst=0)]
    width = plan.width
    around = [Tile(max(c - r, 0), min(c + r, height), 0, width) for c in cuts_at]
    inside = [
        Tile(t.top + r if t.top else 0, t.bottom - r if t.bottom < height else height, 0, width)
        for t in tiles
    ]
    copy_back = RowsCopy(plan.channels if wider else None)
    return [
        stage._replace(tiles=around, src=0, dst=1),
        stage._replace(tiles=inside, src=0, dst=0),
        Stage(copy_back, around, stage.dst_dtype, stage.dst_shape, 1, 0),
    ]
