"""The joblib side: every question the package asks joblib, in one place.

joblib decides the backend and the number of workers; the package asks it
which backend an enclosing ``joblib.parallel_config`` chose, makes backend
objects from its registry, and classifies them by the registry's own classes
(no class-name strings). Only ``context_backend`` reads a private name
(joblib has no public "was a backend chosen?" query); ``tests/test_adapters.py``
fails loudly if that name moves.

Tests: test_adapters.py.
"""

from __future__ import annotations

import importlib.util
import signal
from typing import Any

import joblib
import joblib.parallel
from joblib.externals.loky.process_executor import BrokenProcessPool, TerminatedWorkerError
from joblib.parallel import BACKENDS, get_active_backend

__all__ = [
    "BROKEN_POOL",
    "DASK_MISSING",
    "backend_kind",
    "backend_names",
    "context_backend",
    "context_n_jobs",
    "is_joblib_threading",
    "make_backend",
    "make_parallel",
    "dask_installed",
    "effective_workers",
    "supports_generator",
]

#: Backends named here but registered by joblib only on demand.
LAZY_BACKENDS = ("dask",)
#: Local process backends, whose workers leave Ctrl-C to the parent.
PROCESS_BACKENDS = ("loky", "multiprocessing")
#: What a pool whose worker died raises.
BROKEN_POOL = (TerminatedWorkerError, BrokenProcessPool)
DASK_MISSING = "backend='dask' needs dask.distributed: pip install 'pil-parallel-blur[dask]'"


def backend_names() -> list[str]:
    """Return the backend names joblib knows now, plus those it registers on demand."""
    return sorted(set(BACKENDS) | set(LAZY_BACKENDS))


def dask_installed() -> bool:
    """Tell whether ``dask.distributed`` can be imported (without importing it)."""
    return importlib.util.find_spec("distributed") is not None


def context_backend() -> object | None:
    """Return the backend an enclosing ``joblib.parallel_config`` set, else ``None``."""
    # joblib keeps the active config in a thread-local and has no public query
    # for it; read it, and fall back to "none chosen" if it moves.
    config = getattr(getattr(joblib.parallel, "_backend", None), "config", None)
    try:
        chosen = config["backend"] if config is not None else None
        unset = joblib.parallel.default_parallel_config["backend"]
    except (KeyError, TypeError, AttributeError):
        return None
    return None if chosen is None or chosen is unset else chosen


def context_n_jobs() -> int | None:
    """Return the ``n_jobs`` an enclosing ``joblib.parallel_config`` set, else ``None``."""
    n_jobs: int | None = get_active_backend()[1]
    return n_jobs


def quiet_worker() -> None:
    """Worker initializer: ignore Ctrl-C, which the parent handles; die on SIGTERM.

    A terminal sends SIGINT to the whole process group; the parent stops the
    pool, removes its files and reports once, so a worker's own
    ``KeyboardInterrupt`` traceback would only be noise. A forked worker may
    have inherited a Python SIGTERM handler from its parent; the pool stops
    its workers with SIGTERM, which must end them at once.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def make_backend(name: str) -> object:
    """Return a joblib backend instance for ``name``.

    Dask's is made on the current client (joblib 1.6 forwards
    ``Parallel(backend="dask")``'s nesting level to every submit, which then
    fails); local process backends start their workers with ``quiet_worker``.
    """
    if name == "dask":
        return _dask_backend()
    if name in PROCESS_BACKENDS:
        return BACKENDS[name](nesting_level=0, initializer=quiet_worker)
    return BACKENDS[name](nesting_level=0)


def _dask_backend() -> object:
    """Joblib's Dask backend on the current ``distributed.Client``, with one-line errors."""
    try:
        if "dask" not in BACKENDS:
            joblib.parallel.EXTERNAL_BACKENDS["dask"]()
    except ImportError:
        raise ImportError(DASK_MISSING) from None
    try:
        return BACKENDS["dask"]()
    except ValueError:
        raise ValueError(
            "backend='dask' needs a running dask.distributed Client in this process, "
            "e.g. distributed.Client('tcp://scheduler:8786')"
        ) from None


def _is_registered(backend: object, name: str) -> bool:
    cls = BACKENDS.get(name)
    return cls is not None and isinstance(backend, cls)


def backend_kind(backend: object) -> str:
    """Classify a joblib backend: ``inprocess``, ``threads``, ``remote`` or ``processes``.

    ``remote`` is joblib's Dask backend (workers that may be on other machines
    and cannot see this machine's files); any backend that is not sequential
    and does not say it uses threads is taken to be local processes.
    """
    if _is_registered(backend, "sequential"):
        return "inprocess"
    if getattr(backend, "uses_threads", False):
        return "threads"
    if _is_registered(backend, "dask"):
        return "remote"
    return "processes"


def is_joblib_threading(backend: object) -> bool:
    """Tell whether ``backend`` is joblib's standard threading backend (not a subclass)."""
    return type(backend) is BACKENDS.get("threading")


def effective_workers(backend: Any, n_jobs: int) -> int:
    """How many workers ``backend`` would run for ``n_jobs`` (its own rule)."""
    return int(backend.effective_n_jobs(n_jobs))


def supports_generator(backend: object) -> bool:
    """Tell whether ``backend`` can hand back results as they finish."""
    return bool(getattr(backend, "supports_return_generator", False))


def make_parallel(n_jobs: int, backend: object, streams: bool) -> joblib.Parallel:
    """Make a ``joblib.Parallel`` that dumps no arguments to files (ours are on disk already).

    ``streams``: return results as they finish (``generator_unordered``), else a list.
    """
    return joblib.Parallel(
        n_jobs=n_jobs,
        backend=backend,
        max_nbytes=None,
        return_as="generator_unordered" if streams else "list",
    )
