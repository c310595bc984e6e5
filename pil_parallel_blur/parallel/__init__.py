"""Cutting the output into tiles and computing them with the workers joblib gives.

Data flows one way: image array → tiles → output array. Every path computes
the same tiles of one plan with ``engine.correlate_tile``; they differ only in
where the image rows come from and where the output rows go:

* in-process (one worker, small images, joblib's ``sequential``): the image
  array and a fresh output array;
* threads (``threading``): the same two arrays, shared by the bands;
* processes (``loky``, ``multiprocessing``, …): ``.npy`` files in a private
  folder (``files.py``), the image written once; workers map them;
* remote (Dask): each tile travels with the image rows it reads and comes back
  as its output rows.

A tile is a band of rows, or a part of one when a row is so long that its
buffers would not stay in cache or there are fewer rows than workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from itertools import pairwise
from math import ceil
from typing import cast

import numpy as np

from .. import joblib_adapter as jl
from ..engine import CorrelationPlan, Tile, correlate_tile, rows_read
from .files import (
    create_out_file,
    dump_image,
    make_private_folder,
    remove_folder,
    space_error,
    temp_root,
)
from .pool import Runner, Task, joblib_runner, run_on_threads, thread_runner
from .settings import PARALLEL_PARAMETERS, ParallelSettings, Progress, fill_parallel_doc

__all__ = [
    "ParallelSettings",
    "Progress",
    "PARALLEL_PARAMETERS",
    "fill_parallel_doc",
    "Task",
    "Workers",
    "run_plan",
    "cut_tiles",
    "estimated_seconds",
    "default_backend",
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
    """In-process time of ``plan`` on one core, from the measured cost per sample.

    The native engine in float32 on the development machine (docs/benchmarks.md):
    about ``1.2 + 0.36·r`` ns per output sample for a kernel of mean radius ``r``
    (both passes); float64 costs about twice that, each extra term as much again.
    """
    samples = plan.height * plan.width * plan.channels
    r = (plan.r_x + plan.r_y) / 2
    per_sample = (1.2 + 0.36 * r) * 1e-9 * plan.compute_dtype.itemsize / 4 * len(plan.terms)
    return samples * per_sample


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


def _cuts(length: int, n: int) -> list[tuple[int, int]]:
    """``[0, length)`` cut into at most ``n`` nearly equal, non-empty parts."""
    n = max(1, min(n, length))
    edges = np.linspace(0, length, n + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in pairwise(edges) if b > a]


def _compute(
    runner: Runner | None,
    tasks: Iterable[Task],
    total: int,
    progress: Progress | None,
    collect: Callable[[object], None] | None = None,
) -> None:
    """Run the tiles' tasks (the one tile loop): hand each result to ``collect``, report progress.

    Without a runner the tasks run here, one after the other, and progress is
    reported once at the end.
    """
    if runner is None:
        for fn, args in tasks:
            fn(*args)
        if progress is not None:
            progress(1, 1)
        return
    for done, result in enumerate(runner(tasks), start=1):
        if collect is not None:
            collect(result)
        if progress is not None:
            progress(done, total)


def _in_memory(
    image: np.ndarray,
    plan: CorrelationPlan,
    runner: Runner | None,
    tiles: list[Tile],
    progress: Progress | None,
) -> np.ndarray:
    """In-process and thread paths: tiles read the image and write ``out`` in place."""
    out = np.empty(plan.out_shape, dtype=plan.out_dtype)
    tasks: list[Task] = [(correlate_tile, (image, 0, out, 0, tile, plan)) for tile in tiles]
    _compute(runner, tasks, len(tasks), progress)
    return out


def _tile_from_files(image_path: str, out_path: str, tile: Tile, plan: CorrelationPlan) -> None:
    """Worker task of the process path: map the files, compute one tile."""
    image = np.load(image_path, mmap_mode="r")
    out = np.load(out_path, mmap_mode="r+")
    correlate_tile(image, 0, out, 0, tile, plan)
    out.flush()


#: One process-path call at a time: loky's executor is shared by the whole
#: process, and resizing it for one call while another call's tasks run
#: deadlocks (4 threads with n_jobs 2 and 3 hung in 3 runs of 3).
_PROCESS_CALLS = threading.Lock()


def _on_files(
    image: np.ndarray,
    plan: CorrelationPlan,
    runner: Runner,
    tiles: list[Tile],
    root: str,
    progress: Progress | None,
) -> np.ndarray:
    """Process path: dump the image once, workers map it and write a shared output file."""
    needed = 2 * image.nbytes
    try:
        folder = make_private_folder(root)
    except OSError as e:
        raise space_error(root, needed, e) from e
    try:
        image_path = str(folder / "image.npy")
        out_path = str(folder / "out.npy")
        try:
            dump_image(image, image_path)
            out = create_out_file(out_path, plan)
        except OSError as e:
            raise space_error(root, needed, e) from e
        tasks: list[Task] = [
            (_tile_from_files, (image_path, out_path, tile, plan)) for tile in tiles
        ]
        _compute(runner, tasks, len(tasks), progress)
        # a private copy: an ordinary array (picklable, not shared with a fork)
        # that holds no space in the temp folder once the files are removed
        result = np.array(out)
        del out
        return result
    finally:
        remove_folder(folder)


def _remote(
    image: np.ndarray,
    plan: CorrelationPlan,
    runner: Runner,
    tiles: list[Tile],
    progress: Progress | None,
) -> np.ndarray:
    """Workers on other machines (Dask): each tile travels with the image rows it reads."""
    out = np.empty(plan.out_shape, dtype=plan.out_dtype)
    tasks = (
        (_shipped_tile, (image[slice(*rows_read(plan, tile.top, tile.bottom))], tile, plan))
        for tile in tiles
    )

    def collect(result: object) -> None:
        tile, values = cast(tuple[Tile, np.ndarray], result)
        out[tile.top : tile.bottom, tile.left : tile.right] = values

    _compute(runner, tasks, len(tiles), progress, collect)
    return out


def _shipped_tile(rows: np.ndarray, tile: Tile, plan: CorrelationPlan) -> tuple[Tile, np.ndarray]:
    """Remote task: compute a tile from the image rows shipped with it; return its values."""
    out = np.empty((tile.bottom - tile.top, plan.width, plan.channels), dtype=plan.out_dtype)
    first = rows_read(plan, tile.top, tile.bottom)[0]
    correlate_tile(np.ascontiguousarray(rows), first, out, tile.top, tile, plan)
    return tile, out[:, tile.left : tile.right]


def run_plan(image: np.ndarray, plan: CorrelationPlan, workers: Workers) -> np.ndarray:
    """Compute ``plan`` on ``image`` with ``workers``.

    Returns an ``(H, W, C)`` array of ``plan.out_dtype``. The settings'
    ``progress``, if given, is called in the caller's thread as
    ``progress(tiles_done, tiles)``.
    """
    settings = workers.settings
    progress = settings.progress
    smallest = MIN_PARALLEL_SECONDS
    if workers.our_threads:
        smallest = min(smallest, MIN_THREADS_SECONDS)
    if workers.count <= 1 or estimated_seconds(plan) < smallest:
        return _in_memory(image, plan, None, cut_tiles(plan, 1), progress)
    tiles = cut_tiles(plan, workers.count)
    if workers.our_threads:
        return _in_memory(image, plan, thread_runner(workers.count), tiles, progress)
    # tiles as they finish where the backend can say so (multiprocessing cannot)
    streams = jl.supports_generator(workers.backend)

    def runner() -> Runner:
        return joblib_runner(jl.make_parallel(workers.n_jobs, workers.backend, streams))

    if workers.kind == "threads":
        return _in_memory(image, plan, runner(), tiles, progress)
    if workers.kind == "remote":
        return _remote(image, plan, runner(), tiles, progress)
    root = temp_root(settings.temp_folder, image.nbytes * 2)
    with _PROCESS_CALLS:
        try:
            return _on_files(image, plan, runner(), tiles, root, progress)
        except jl.BROKEN_POOL:
            # a worker that died while idle (killed, out of memory) breaks the
            # shared executor for the next call that uses it; joblib replaces a
            # broken executor when asked again: try once more (a tile that
            # kills its worker fails again, and that is raised)
            return _on_files(image, plan, runner(), tiles, root, progress)
