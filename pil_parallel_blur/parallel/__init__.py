"""Cutting the output into tiles and computing them with the workers joblib gives.

Data flows one way: image array → tiles → output array. Every path computes
the tiles of one plan with ``engine.compute_tile``, in one or two stages: a
direct plan is one stage of tiles (image → output); a large kernel that goes
through the FFT two (image → intermediate by whole columns, then → output by
whole rows, the second started when the first is done). The paths differ
only in where each stage's input comes from and where its output goes:

* in-process (one worker, small images, joblib's ``sequential``): the image
  array and fresh arrays;
* threads (``threading``): the same arrays, shared by the tiles;
* processes (``loky``, ``multiprocessing``, …): ``.npy`` files in a private
  folder (``files.py``), the image written once; workers map them;
* remote (Dask): each tile travels with what it reads and comes back as its
  values.

A direct tile is a band of rows, or a part of one when a row is so long that
its buffers would not stay in cache or there are fewer rows than workers.

Tests: test_parallel_engine.py, test_parallel_faults.py, test_dask.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import pairwise
from math import ceil
from typing import NamedTuple, cast

import numpy as np

from .. import joblib_adapter as jl
from ..engine import (
    BoxPass,
    BoxPlan,
    CorrelationPlan,
    Nesting,
    SpectralPass,
    SpectralPlan,
    Step,
    Tile,
    box_seconds,
    compute_tile,
    direct_seconds,
    prefers_spectral,
    spectral_plan_for,
    spectral_seconds,
)
from .files import (
    create_shared_file,
    dump_image,
    make_private_folder,
    remove_folder,
    space_error,
    temp_root,
)
from .pool import Runner, Task, joblib_runner, run_on_threads, thread_runner
from .settings import PARALLEL_PARAMETERS, ParallelSettings, Progress, fill_parallel_doc
from .shielded import PROCESS_CALLS, CancelledError, Emit, run_shielded

__all__ = [
    "ParallelSettings",
    "Progress",
    "PARALLEL_PARAMETERS",
    "fill_parallel_doc",
    "Task",
    "Workers",
    "run_plan",
    "run_boxes",
    "cut_tiles",
    "estimated_seconds",
    "default_backend",
    "workers_forced",
]

#: Images whose in-process blur is estimated to take less than this many
#: seconds are blurred in-process: a joblib round costs ~10 ms (its result
#: polling sleeps in 10 ms steps), so workers only pay beyond ~2 rounds.
MIN_PARALLEL_SECONDS = 0.02
#: The same for our own thread pool, which starts tiles in well under a
#: millisecond back to back, but a few after the machine was idle (a sleeping
#: thread, a descheduled vCPU). On the development VM 2 threads win from
#: about 1 ms of work back to back, and lose ~0.4 ms at 6 ms of work after
#: 20 ms idle (benchmarks/shapes_bench.py); 5 ms weighs the two. Never above
#: ``MIN_PARALLEL_SECONDS``.
MIN_THREADS_SECONDS = 0.005
#: Bands per worker: a little over 1 so that a slow worker (the machine is
#: shared) does not hold everyone up, few enough that per-task cost stays small.
BANDS_PER_WORKER = 4
#: Samples of a row one tile spans at most: the engine's row buffers then stay
#: in cache and its memory does not grow with the row (a single row of 8 M
#: samples costs what a square image of the same size does).
MAX_TILE_ROW_SAMPLES = 1 << 16
#: Fewest pixels a tile spans, so that its halo (``2·r_x`` pixels filtered
#: again) stays a small part of its work.
MIN_TILE_SAMPLES = 4096


#: On (``testing.parallel_always``): every image goes to the workers.
workers_forced = Nesting()


def default_backend() -> str:
    """Our backend when neither the call nor ``parallel_config`` names one: threads.

    The engine releases the GIL and uses no BLAS, so threads share the image
    with no dump and no worker start-up (docs/benchmarks.md has the figures).
    """
    return "threading"


class Workers:
    """The workers joblib gives one call, resolved once from its settings and passed down.

    Attributes
    ----------
    settings : ParallelSettings
        What the caller asked for.
    backend : object
        The joblib backend object: the call's, else the enclosing
        ``joblib.parallel_config``'s, else ``default_backend()``'s.
    kind : str
        ``inprocess``, ``threads``, ``remote`` or ``processes``.
    n_jobs : int
        The call's, else the enclosing config's, else ``-1``.
    count : int
        How many workers that is (1 in-process).
    our_threads : bool
        joblib's standard threading backend: the tiles run on our pool.
    """

    def __init__(self, settings: ParallelSettings) -> None:
        self.settings = settings
        chosen = None if settings.backend is not None else jl.context_backend()
        self.backend = (
            chosen
            if chosen is not None
            else jl.make_backend(settings.backend or default_backend())
        )
        self.kind = jl.backend_kind(self.backend)
        n_jobs = settings.n_jobs
        if n_jobs is None:
            context = jl.context_n_jobs()
            n_jobs = context if context is not None else -1
        self.n_jobs = n_jobs
        self.count = 1 if self.kind == "inprocess" else jl.effective_workers(self.backend, n_jobs)
        self.our_threads = self.kind == "threads" and jl.is_joblib_threading(self.backend)

    @property
    def copy_threads(self) -> int:
        """How many of our pool's threads may share a whole-image copy (Pillow decode).

        The worker count on joblib's threading backend, else 1: ``n_jobs=1``
        means one core, and process backends' workers are not in this process.
        """
        return max(1, self.count) if self.our_threads else 1

    def run_small_tasks(self, tasks: list[Task]) -> None:
        """Run short in-memory tasks (copies, combinations) on ``copy_threads`` threads."""
        run_on_threads(self.copy_threads, tasks)


def estimated_seconds(plan: CorrelationPlan) -> float:
    """In-process time of ``plan`` on one core by the method the engine will choose.

    From the engine's measured cost model (``engine/cost.py``; figures in
    docs/benchmarks.md).
    """
    return spectral_seconds(plan) if prefers_spectral(plan) else direct_seconds(plan)


def cut_tiles(plan: CorrelationPlan, workers: int) -> list[Tile]:
    """Cut the output into tiles for ``workers``: bands of rows, split across when needed.

    ``BANDS_PER_WORKER`` bands per worker, each at least ``8·r_y`` rows high
    (a band filters the ``2·r_y`` rows it shares with its neighbours again:
    at most 25 % extra), never fewer than the workers while there are rows.
    A band is split across its columns when its rows are longer than
    ``MAX_TILE_ROW_SAMPLES``, or when there are too few rows to give every
    worker its share; each piece spans at least ``MIN_TILE_SAMPLES`` and
    ``8·r_x`` pixels. Decided from the shape, the kernel and ``workers``; the
    values computed do not depend on the cut.
    """
    wanted = workers * BANDS_PER_WORKER if workers > 1 else 1
    by_halo = plan.height // max(1, 8 * plan.r_y)
    n_rows = max(min(wanted, by_halo), min(workers, plan.height), 1)
    row_samples = plan.width * plan.channels
    n_cols = max(ceil(row_samples / MAX_TILE_ROW_SAMPLES), ceil(wanted / n_rows))
    narrowest = max(ceil(MIN_TILE_SAMPLES / plan.channels), 8 * plan.r_x, 1)
    n_cols = max(1, min(n_cols, plan.width // narrowest))
    rows = _cuts(plan.height, n_rows)
    cols = _cuts(plan.width, n_cols)
    return [Tile(top, bottom, left, right) for top, bottom in rows for left, right in cols]


def _cuts(length: int, n: int, step: int = 1) -> list[tuple[int, int]]:
    """``[0, length)`` cut into at most ``n`` nearly equal, non-empty parts.

    Every part starts on a multiple of ``step``.
    """
    n = max(1, min(n, length))
    edges = (np.linspace(0, length, n + 1) / step).round().astype(int) * step
    edges[-1] = length
    return [(int(a), int(b)) for a, b in pairwise(edges) if b > a]


class _Stage(NamedTuple):
    """One round of tiles: every tile of ``step`` computed from array ``src`` into ``dst``.

    The arrays of a run are the image (0) and the buffers the stages write,
    numbered in the order they are first written (``dst_dtype``,
    ``dst_shape``); the last is the result. A direct plan is one stage (image →
    output); a box plan a chain (each stage into a new buffer); a spectral plan
    two stages a channel (image → intermediate plane by columns, then → the
    output's channel by rows), each started when the one before is done.
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


def _stages(plan: CorrelationPlan, spectral: SpectralPlan | None, workers: int) -> list[_Stage]:
    """Return the stages of ``plan``: direct tiles, or the two passes of ``spectral``."""
    if spectral is None:
        return [_Stage(plan, cut_tiles(plan, workers), plan.out_dtype, plan.out_shape, 0, 1)]
    # even starts: the transform pairs line 2i with 2i + 1 (engine/spectral.py)
    columns = _column_tiles(plan.height, plan.width, workers, 2)
    rows = _row_tiles(plan.height, plan.width, workers, 2)
    mid = (spectral.mid_dtype, spectral.mid_shape)
    stages = []
    for c in range(plan.channels):  # one intermediate plane, reused by every channel
        stages.append(_Stage(spectral.columns(c), columns, *mid, 0, 1))
        stages.append(_Stage(spectral.rows(c), rows, plan.out_dtype, plan.out_shape, 1, 2))
    return stages


def _column_tiles(height: int, width: int, workers: int, step: int = 1) -> list[Tile]:
    """Return strips of whole columns, ``BANDS_PER_WORKER`` a worker, on multiples of ``step``."""
    n = workers * BANDS_PER_WORKER if workers > 1 else 1
    return [Tile(0, height, a, b) for a, b in _cuts(width, n, step)]


def _row_tiles(height: int, width: int, workers: int, step: int = 1) -> list[Tile]:
    """Return bands of whole rows, ``BANDS_PER_WORKER`` a worker, on multiples of ``step``."""
    n = workers * BANDS_PER_WORKER if workers > 1 else 1
    return [Tile(a, b, 0, width) for a, b in _cuts(height, n, step)]


def _box_stages(plan: BoxPlan, workers: int) -> list[_Stage]:
    """Return a box plan's stages: bands of whole rows, then strips of whole columns."""
    shape = (plan.height, plan.width, plan.channels)
    stages: list[_Stage] = []
    for step in plan.stages:
        cut = _column_tiles if step.vertical else _row_tiles
        tiles = cut(plan.height, plan.width, workers)
        i = len(stages)
        stages.append(_Stage(step, tiles, np.dtype(np.uint8), shape, i, i + 1))
    return stages


def _buffers(stages: list[_Stage]) -> list[tuple[np.dtype, tuple[int, ...]]]:
    """Return the type and shape of each buffer the stages write, by number (from 1)."""
    made: dict[int, tuple[np.dtype, tuple[int, ...]]] = {}
    for stage in stages:
        made.setdefault(stage.dst, (stage.dst_dtype, stage.dst_shape))
    return [made[i] for i in range(1, len(made) + 1)]


def _compute(
    runner: Runner | None,
    stages: list[_Stage],
    tasks: Callable[[_Stage, int], Iterable[Task]],
    progress: Progress | None,
    collect: Callable[[int, object], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run the stages' tasks (the one tile loop), a stage after the one before.

    ``tasks(stage, index)`` makes a stage's tasks; each result goes to
    ``collect(index, result)``; progress counts the tiles of every stage.
    Without a runner the tasks run here, one after the other, and progress is
    reported once at the end. Once ``stop`` is set, ``CancelledError`` is raised at
    the next finished tile (the runner then cancels the rest).
    """
    total = sum(len(stage.tiles) for stage in stages)
    done = 0
    for index, stage in enumerate(stages):
        if runner is None:
            for fn, args in tasks(stage, index):
                fn(*args)
            continue
        for result in runner(tasks(stage, index)):
            if stop is not None and stop.is_set():
                raise CancelledError
            done += 1
            if collect is not None:
                collect(index, result)
            if progress is not None:
                progress(done, total)
    if runner is None and progress is not None:
        progress(1, 1)


def _in_memory(
    image: np.ndarray,
    runner: Runner | None,
    stages: list[_Stage],
    progress: Progress | None,
) -> np.ndarray:
    """In-process and thread paths: tiles read the image and write ``out`` in place."""
    arrays = [image] + [np.empty(shape, dtype) for dtype, shape in _buffers(stages)]

    def tasks(stage: _Stage, i: int) -> list[Task]:
        src, dst = arrays[stage.src], arrays[stage.dst]
        return [(compute_tile, (src, 0, dst, 0, tile, stage.step)) for tile in stage.tiles]

    _compute(runner, stages, tasks, progress)
    return arrays[-1]


def _tile_from_files(src_path: str, dst_path: str, tile: Tile, step: Step) -> None:
    """Worker task of the process path: map the files, compute one tile."""
    src = np.load(src_path, mmap_mode="r")
    dst = np.load(dst_path, mmap_mode="r+")
    compute_tile(src, 0, dst, 0, tile, step)
    dst.flush()


def _on_files(
    image: np.ndarray,
    runner: Runner,
    stages: list[_Stage],
    root: str,
    progress: Progress | None,
    stop: threading.Event | None = None,
) -> np.ndarray:
    """Process path: dump the image once, workers map it and write shared files.

    The output, and for a spectral plan the intermediate image, are files in
    the same private folder.
    """
    buffers = _buffers(stages)
    needed = image.nbytes + sum(int(np.prod(shape)) * dtype.itemsize for dtype, shape in buffers)
    try:
        folder = make_private_folder(root)
    except OSError as e:
        raise space_error(root, needed, e) from e
    try:
        paths = [str(folder / "image.npy")]
        paths += [str(folder / f"stage{i}.npy") for i in range(1, len(buffers))]
        paths.append(str(folder / "out.npy"))
        try:
            dump_image(image, paths[0])
            files = [
                create_shared_file(path, dtype, shape)
                for path, (dtype, shape) in zip(paths[1:], buffers, strict=True)
            ]
        except OSError as e:
            raise space_error(root, needed, e) from e

        def tasks(stage: _Stage, i: int) -> list[Task]:
            return [
                (_tile_from_files, (paths[stage.src], paths[stage.dst], tile, stage.step))
                for tile in stage.tiles
            ]

        _compute(runner, stages, tasks, progress, stop=stop)
        # a private copy: an ordinary array (picklable, not shared with a fork)
        # that holds no space in the temp folder once the files are removed
        result = np.array(files[-1])
        del files
        return result
    finally:
        remove_folder(folder)


def _remote(
    image: np.ndarray,
    runner: Runner,
    stages: list[_Stage],
    progress: Progress | None,
) -> np.ndarray:
    """Workers on other machines (Dask): each tile travels with what it reads, and back."""
    arrays = [image] + [np.empty(shape, dtype) for dtype, shape in _buffers(stages)]

    def tasks(stage: _Stage, i: int) -> Iterator[Task]:
        src = arrays[stage.src]
        height = src.shape[0]
        for tile in stage.tiles:
            if stage.whole_columns:  # computed as a tile of its own, from column 0
                part, first = src[:, tile.left : tile.right], 0
            else:
                reach = stage.step.r_y if isinstance(stage.step, CorrelationPlan) else 0
                first, last = max(tile.top - reach, 0), min(tile.bottom + reach, height)
                part = src[first:last]
            yield (_shipped_tile, (np.ascontiguousarray(part), first, tile, stage))

    def collect(i: int, result: object) -> None:
        tile, values = cast(tuple[Tile, np.ndarray], result)
        stage, dst = stages[i], arrays[stages[i].dst]
        if stage.whole_columns:
            dst[:, tile.left : tile.right] = values
        elif stage.channel is not None:  # one channel's values come back
            dst[tile.top : tile.bottom, tile.left : tile.right, stage.channel] = values
        else:
            dst[tile.top : tile.bottom, tile.left : tile.right] = values

    _compute(runner, stages, tasks, progress, collect)
    return arrays[-1]


def _shipped_tile(
    part: np.ndarray, first: int, tile: Tile, stage: _Stage
) -> tuple[Tile, np.ndarray]:
    """Remote task: compute a tile from the part shipped with it; return the tile's values."""
    if stage.whole_columns:  # the part is these columns alone (starting on an even one)
        out = np.empty((*part.shape[:2], *stage.dst_shape[2:]), stage.dst_dtype)
        compute_tile(part, 0, out, 0, Tile(0, part.shape[0], 0, part.shape[1]), stage.step)
        return tile, out
    out = np.empty((tile.bottom - tile.top, *stage.dst_shape[1:]), stage.dst_dtype)
    compute_tile(part, first, out, tile.top, tile, stage.step)
    values = out[:, tile.left : tile.right]
    return tile, values if stage.channel is None else values[..., stage.channel]


def run_plan(image: np.ndarray, plan: CorrelationPlan, workers: Workers) -> np.ndarray:
    """Compute ``plan`` on ``image`` with ``workers``.

    Returns an ``(H, W, C)`` array of ``plan.out_dtype``. The settings'
    ``progress``, if given, is called in the caller's thread as
    ``progress(tiles_done, tiles)``.
    """
    spectral = spectral_plan_for(plan, image)
    seconds = direct_seconds(plan) if spectral is None else spectral_seconds(plan)
    return _run(image, lambda n: _stages(plan, spectral, n), seconds, workers)


def run_boxes(image: np.ndarray, plan: BoxPlan, workers: Workers) -> np.ndarray:
    """Compute Pillow's box passes of ``plan`` on an ``(H, W, C)`` uint8 ``image``."""
    if not plan.stages:
        return image.copy()
    return _run(image, lambda n: _box_stages(plan, n), box_seconds(plan), workers)


def _run(
    image: np.ndarray,
    stages_for: Callable[[int], list[_Stage]],
    seconds: float,
    workers: Workers,
) -> np.ndarray:
    """Run the stages cut for the workers (in-process when they would not pay)."""
    settings = workers.settings
    progress = settings.progress
    smallest = MIN_PARALLEL_SECONDS
    if workers.our_threads:
        smallest = min(smallest, MIN_THREADS_SECONDS)
    if workers.count <= 1 or (seconds < smallest and not workers_forced):
        return _in_memory(image, None, stages_for(1), progress)
    stages = stages_for(workers.count)
    if workers.our_threads:
        return _in_memory(image, thread_runner(workers.count), stages, progress)
    # tiles as they finish where the backend can say so (multiprocessing cannot)
    streams = jl.supports_generator(workers.backend)

    def runner() -> Runner:
        return joblib_runner(jl.make_parallel(workers.n_jobs, workers.backend, streams))

    if workers.kind == "threads":
        return _in_memory(image, runner(), stages, progress)
    if workers.kind == "remote":
        return _remote(image, runner(), stages, progress)
    root = temp_root(settings.temp_folder, image.nbytes * 2)

    def on_processes(emit: Emit, stop: threading.Event) -> np.ndarray:
        # in a helper thread with SIGINT blocked (workers start with it
        # blocked too), one process-path call at a time; progress is handed to
        # the caller's thread, which holds no lock while it calls back
        report = None if progress is None else (lambda done, total: emit((done, total)))
        with PROCESS_CALLS.lock:
            try:
                return _on_files(image, runner(), stages, root, report, stop)
            except jl.BROKEN_POOL:
                # a worker that died while idle (killed, out of memory) breaks the
                # shared executor for the next call that uses it; joblib replaces a
                # broken executor when asked again: try once more (a tile that
                # kills its worker fails again, and that is raised)
                return _on_files(image, runner(), stages, root, report, stop)

    def on_event(event: object) -> None:
        assert progress is not None
        done, total = cast(tuple[int, int], event)
        progress(done, total)

    return run_shielded(on_processes, on_event)
