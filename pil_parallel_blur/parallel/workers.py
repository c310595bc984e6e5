"""The workers of one call: which joblib backend, how many, and our pool of threads.

joblib decides the backend and ``n_jobs``; ``Workers`` asks it once per call
and is passed down, so every later step sees the same answer.

Tests: test_parallel_engine.py, test_adapters.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..engine import Nesting
from . import joblib_adapter as jl
from .pool import Task, run_on_threads
from .settings import ParallelSettings

__all__ = ["Workers", "default_backend", "workers_forced"]

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

    def map_small(self, fn: Callable[..., object], items: Sequence[tuple[object, ...]]) -> None:
        """Run ``fn(*item)`` for every item and wait for all: short in-memory work.

        Whole-image copies and the unsharp combination. On joblib's threading
        backend they share our pool's threads, as many as the workers; on any
        other backend they run here, one after the other (``n_jobs=1`` means one
        core, and a process backend's workers are not in this process).
        """
        threads = max(1, self.count) if self.our_threads else 1
        tasks: list[Task] = [(fn, tuple(item)) for item in items]
        run_on_threads(threads, tasks)
