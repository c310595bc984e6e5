"""Running tasks: the package's one pool of tile threads, and joblib's ``Parallel``.

A task is ``(function, arguments)``; a runner takes tasks and yields their
results as they finish, in any order. joblib decides the backend and
``n_jobs``. For joblib's standard threading backend the tiles run on
``TILE_POOL``, one bounded pool of threads for the whole process (joblib's own
result loop sleeps in 10 ms steps, most of a small blur); every other backend
runs them through ``joblib.Parallel``.

Tests: test_parallel_lifecycle.py, test_parallel_engine.py.
"""

from __future__ import annotations

import atexit
import collections
import os
import queue
import threading
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import NamedTuple

import joblib

__all__ = ["Task", "Runner", "TILE_POOL", "joblib_runner", "thread_runner", "run_on_threads"]

Task = tuple[Callable[..., object], tuple[object, ...]]
#: Runs tasks and yields each task's result as it finishes, in any order.
#: A generator (closing it cancels what has not started).
Runner = Callable[[Iterable[Task]], Generator[object, None, None]]


def joblib_runner(parallel: joblib.Parallel) -> Runner:
    """Run tasks with a ``joblib.Parallel`` made with ``return_as="generator_unordered"``."""

    def run(tasks: Iterable[Task]) -> Generator[object, None, None]:
        results = parallel(joblib.delayed(fn)(*args) for fn, args in tasks)
        try:
            yield from results
        finally:
            # closing a generator makes joblib cancel what has not started and
            # wait for the rest, before the caller removes any files
            close = getattr(results, "close", None)
            if close is not None:
                close()

    return run


class _TilePool:
    """The process's one pool of tile threads, as large as the largest ``n_jobs - 1`` asked.

    joblib decides the backend and ``n_jobs``; this pool only runs the tiles of
    its threading backend. Growing it replaces it (the old threads finish their
    tiles and exit), so no more threads are ever alive than the largest
    ``n_jobs`` in use. Its threads are joined at interpreter exit like every
    ``ThreadPoolExecutor``'s; after ``fork`` the child starts a new one (the
    parent's threads do not exist there).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.executor: ThreadPoolExecutor | None = None
        self.size = 0

    def get(self, helpers: int) -> ThreadPoolExecutor | None:
        """Return the pool, grown to at least ``helpers`` threads (``None`` for 0)."""
        if helpers <= 0:
            return None
        with self.lock:
            if self.executor is None or self.size < helpers:
                old = self.executor
                self.executor = ThreadPoolExecutor(helpers, "pil-parallel-blur")
                self.size = helpers
                if old is not None:
                    old.shutdown(wait=False)
            return self.executor

    def shutdown(self) -> None:
        """Let the pool's threads finish what they run and end (at interpreter exit)."""
        with self.lock:
            executor, self.executor, self.size = self.executor, None, 0
        if executor is not None:
            executor.shutdown(wait=False)

    def forget(self) -> None:
        """In a forked child: drop the parent's pool without touching its threads."""
        self.lock = threading.Lock()
        self.executor, self.size = None, 0


#: The process's one pool of tile threads.
TILE_POOL = _TilePool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=TILE_POOL.forget)
atexit.register(TILE_POOL.shutdown)


def thread_runner(workers: int) -> Runner:
    """Run tasks on the calling thread plus a persistent pool of ``workers - 1`` threads.

    For joblib's "threading" backend. joblib's own result loop sleeps in 10 ms
    steps while it waits, which is most of a 3-megapixel blur; here the caller
    works on tiles itself (one thread fewer to wake) and reports each tile as it
    is done, and the pool is kept between calls. The first error stops the
    handing out of tiles; tiles already running finish before it is raised.
    """
    helpers = max(0, workers - 1)
    pool = TILE_POOL.get(helpers)

    def run(tasks: Iterable[Task]) -> Generator[object, None, None]:
        shared = _Shared(collections.deque(tasks), queue.SimpleQueue(), threading.Event())
        total = len(shared.pending)
        running = []
        for _ in range(helpers if pool is not None else 0):
            try:
                running.append(pool.submit(_helper, shared))  # type: ignore[union-attr]
            except RuntimeError:
                # the interpreter is shutting down (a thread outliving main), or
                # a concurrent call grew the pool: the caller does the tiles
                break
        try:
            yield from _results(shared, total)
        finally:
            shared.stop.set()
            shared.pending.clear()
            wait(running)

    return run


class _Shared(NamedTuple):
    """What the caller and the helpers of one run share."""

    pending: collections.deque[Task]
    finished: queue.SimpleQueue[tuple[bool, object]]
    stop: threading.Event


def _helper(shared: _Shared) -> None:
    """Take tasks of a run on a pool thread until none is left or one failed."""
    while not shared.stop.is_set():
        try:
            fn, args = shared.pending.popleft()
        except IndexError:
            return
        try:
            shared.finished.put((True, fn(*args)))
        except BaseException as e:  # handed to the caller, raised there
            shared.stop.set()
            shared.finished.put((False, e))
            return


def _results(shared: _Shared, total: int) -> Generator[object, None, None]:
    """Run tasks on the calling thread while any are left, then collect the helpers' results."""
    done = 0
    while done < total:
        task = None
        if not shared.stop.is_set():
            try:
                task = shared.pending.popleft()
            except IndexError:
                task = None
        if task is not None:
            fn, args = task
            try:
                value = fn(*args)
            except BaseException:
                shared.stop.set()
                raise
            done += 1
            yield value
            continue
        ok, value = shared.finished.get()
        if not ok:
            raise value  # type: ignore[misc]
        done += 1
        yield value


def run_on_threads(workers: int, tasks: list[Task]) -> None:
    """Run small tasks on our persistent pool of ``workers`` threads and wait for all."""
    for _ in thread_runner(workers)(tasks):
        pass
