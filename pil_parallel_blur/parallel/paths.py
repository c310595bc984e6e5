"""The paths from tiles to workers and back: in-process, threads, processes, remote.

Data flows one way: image array → tiles → output array. Every path computes
the stages of tiles (``tiles.py``) with ``engine.compute_tile``, a stage after
the one before. The paths differ only in where each stage's input comes from
and where its output goes:

* in-process (one worker, small images, joblib's ``sequential``): the image
  array and fresh arrays;
* threads (``threading``): the same arrays, shared by the tiles;
* processes (``loky``, ``multiprocessing``, …): ``.npy`` files in a private
  folder (``files.py``), the image written once; workers map them;
* remote (Dask): each tile travels with what it reads and comes back as its
  values.

Tests: test_parallel_engine.py, test_parallel_faults.py, test_dask.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import cast

import numpy as np

from ..engine import (
    BoxPlan,
    CorrelationPlan,
    Method,
    Step,
    Tile,
    box_seconds,
    choose,
    compute_tile,
)
from . import joblib_adapter as jl
from .files import (
    create_shared_file,
    dump_image,
    make_private_folder,
    remove_folder,
    space_error,
    temp_root,
)
from .pool import Runner, Task, joblib_runner, thread_runner
from .settings import Progress
from .shielded import PROCESS_CALLS, CancelledError, Emit, run_shielded
from .tiles import Stage, box_stages, buffers, into_image, plan_stages
from .workers import Workers, workers_forced

__all__ = ["run_plan", "run_boxes"]

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


def run_plan(
    image: np.ndarray,
    plan: CorrelationPlan,
    workers: Workers,
    *,
    overwrite: bool = False,
    method: Method | None = None,
) -> np.ndarray:
    """Compute ``plan`` on ``image`` with ``workers``.

    Returns an ``(H, W, C)`` array of ``plan.out_dtype``. The settings'
    ``progress``, if given, is called in the caller's thread as
    ``progress(tiles_done, tiles)``. With ``overwrite`` (the caller owns
    ``image`` and has no further use for it) the result may be written over
    the image and returned in its place (``tiles.into_image``). ``method``:
    ``choose(plan, image)`` where the caller has made that choice already.
    """
    method = method or choose(plan, image)
    return _run(
        image, lambda n: plan_stages(plan, method.spectral, n), method.seconds, workers, overwrite
    )


def run_boxes(
    image: np.ndarray, plan: BoxPlan, workers: Workers, *, overwrite: bool = False
) -> np.ndarray:
    """Compute Pillow's box passes of ``plan`` on an ``(H, W, C)`` uint8 ``image``.

    ``overwrite`` as for ``run_plan``.
    """
    if not plan.stages:
        return image.copy()
    return _run(image, lambda n: box_stages(plan, n), box_seconds(plan), workers, overwrite)


def _run(
    image: np.ndarray,
    stages_for: Callable[[int], list[Stage]],
    seconds: float,
    workers: Workers,
    overwrite: bool,
) -> np.ndarray:
    """Run the stages cut for the workers (in-process when they would not pay)."""
    progress = workers.settings.progress
    smallest = MIN_PARALLEL_SECONDS
    if workers.our_threads:
        smallest = min(smallest, MIN_THREADS_SECONDS)

    def here(stages: list[Stage]) -> list[Stage]:
        # the in-memory paths may write the result over an image the caller gave up
        return into_image(stages, image) if overwrite else stages

    if workers.count <= 1 or (seconds < smallest and not workers_forced):
        return _in_memory(image, None, here(stages_for(1)), progress)
    stages = stages_for(workers.count)
    if workers.our_threads:
        return _in_memory(image, thread_runner(workers.count), here(stages), progress)
    # tiles as they finish where the backend can say so (multiprocessing cannot)
    streams = jl.supports_generator(workers.backend)

    def runner() -> Runner:
        return joblib_runner(jl.make_parallel(workers.n_jobs, workers.backend, streams))

    if workers.kind == "threads":
        return _in_memory(image, runner(), here(stages), progress)
    if workers.kind == "remote":
        return _remote(image, runner(), stages, progress)
    return _on_processes(image, runner, stages, workers)


def _compute(
    runner: Runner | None,
    stages: list[Stage],
    tasks: Callable[[Stage, int], Iterable[Task]],
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
    stages: list[Stage],
    progress: Progress | None,
) -> np.ndarray:
    """In-process and thread paths: tiles read the image and write ``out`` in place."""
    arrays = [image] + [np.empty(shape, dtype) for dtype, shape in buffers(stages)]

    def tasks(stage: Stage, i: int) -> list[Task]:
        src, dst = arrays[stage.src], arrays[stage.dst]
        return [(compute_tile, (src, 0, dst, 0, tile, stage.step)) for tile in stage.tiles]

    _compute(runner, stages, tasks, progress)
    return arrays[stages[-1].dst]


def _tile_from_files(src_path: str, dst_path: str, tile: Tile, step: Step) -> None:
    """Worker task of the process path: map the files, compute one tile."""
    src = np.load(src_path, mmap_mode="r")
    dst = np.load(dst_path, mmap_mode="r+")
    compute_tile(src, 0, dst, 0, tile, step)
    dst.flush()


def _on_processes(
    image: np.ndarray, runner: Callable[[], Runner], stages: list[Stage], workers: Workers
) -> np.ndarray:
    """Process path, shielded: one call at a time, in a helper thread, Ctrl-C handled."""
    progress = workers.settings.progress
    root = temp_root(workers.settings.temp_folder, image.nbytes * 2)

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


def _on_files(
    image: np.ndarray,
    runner: Runner,
    stages: list[Stage],
    root: str,
    progress: Progress | None,
    stop: threading.Event | None = None,
) -> np.ndarray:
    """Process path: dump the image once, workers map it and write shared files.

    The output, and for a spectral plan the intermediate image, are files in
    the same private folder.
    """
    made = buffers(stages)
    needed = image.nbytes + sum(int(np.prod(shape)) * dtype.itemsize for dtype, shape in made)
    try:
        folder = make_private_folder(root)
    except OSError as e:
        raise space_error(root, needed, e) from e
    try:
        paths = [str(folder / "image.npy")]
        paths += [str(folder / f"stage{i}.npy") for i in range(1, len(made))]
        paths.append(str(folder / "out.npy"))
        try:
            dump_image(image, paths[0])
            files = [
                create_shared_file(path, dtype, shape)
                for path, (dtype, shape) in zip(paths[1:], made, strict=True)
            ]
        except OSError as e:
            raise space_error(root, needed, e) from e

        def tasks(stage: Stage, i: int) -> list[Task]:
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
    stages: list[Stage],
    progress: Progress | None,
) -> np.ndarray:
    """Workers on other machines (Dask): each tile travels with what it reads, and back."""
    arrays = [image] + [np.empty(shape, dtype) for dtype, shape in buffers(stages)]

    def tasks(stage: Stage, i: int) -> Iterator[Task]:
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
    part: np.ndarray, first: int, tile: Tile, stage: Stage
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
