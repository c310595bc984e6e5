"""Cutting bands, dumping, memory-mapping, running joblib and cleaning up.

Data flows one way: image array → padded rows → bands → output array. Where
the padded rows and the output live depends on the kind of joblib backend:

* in-process (``n_jobs=1``, small images, joblib's ``sequential``): plain arrays;
* threads (``threading``): bands read the shared image and write the shared
  output in place;
* processes (``loky``, ``multiprocessing``, …): the image and the output are
  ``.npy`` files in a private temporary folder (mode 0700). The image is written
  once, uncompressed; workers map it read-only and write their bands into the
  output file mapped ``r+``. Nothing large is pickled either way, and the folder
  is removed in a ``finally``;
* remote (Dask): each band travels with the rows it reads and returns its rows.

Every path hands its bands to ``correlate_rows``, which replicates
the borders itself: no padded copy of the image is made anywhere.
"""

from __future__ import annotations

import atexit
import collections
import importlib.util
import os
import queue
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import cast

import joblib
import joblib.parallel
import numpy as np
from joblib.externals.loky.process_executor import BrokenProcessPool, TerminatedWorkerError
from joblib.parallel import BACKENDS, get_active_backend

from .engine import BandPlan, correlate_rows, source_rows

__all__ = ["ParallelSettings", "Progress", "run_plan"]

#: ``progress(bands_done, bands_total)``, called in the caller's thread.
Progress = Callable[[int, int], None]

#: Images whose in-process blur is estimated to take less than this many
#: seconds are blurred in-process: a joblib round costs ~10 ms (its result
#: polling sleeps in 10 ms steps), so workers only pay beyond ~2 rounds.
MIN_PARALLEL_SECONDS = 0.02
#: Bands per worker: a little over 1 so that a slow worker (the machine is
#: shared) does not hold everyone up, few enough that per-task cost stays small.
BANDS_PER_WORKER = 4
#: Backends named here but registered by joblib only on demand.
_LAZY_BACKENDS = ("dask",)
_TEMP_PREFIX = "pil-parallel-blur-"
_DASK_MISSING = "backend='dask' needs dask.distributed: pip install 'pil-parallel-blur[dask]'"


@dataclass(frozen=True)
class ParallelSettings:
    """Validated parallel options shared by the filter, the array API and the CLI.

    Parameters
    ----------
    n_jobs : int or None
        Number of workers in joblib's convention (``-1`` all CPUs, ``-2`` all
        but one, ...). ``None``: what the enclosing ``joblib.parallel_config``
        says, else all usable CPUs.
    backend : str or None
        A joblib backend name (``"loky"``, ``"threading"``,
        ``"multiprocessing"``, ``"sequential"``, ...). ``None``: the enclosing
        ``joblib.parallel_config``'s, else ``"threading"`` (see ``default_backend``).
    temp_folder : str or None
        Where process backends put their private dump folder. ``None``:
        ``$JOBLIB_TEMP_FOLDER``, else ``/dev/shm`` when it has room, else the
        system temporary directory.
    """

    n_jobs: int | None = None
    backend: str | None = None
    temp_folder: str | None = None

    def __post_init__(self) -> None:
        n_jobs = self.n_jobs
        if n_jobs is not None:
            if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, Integral):
                raise TypeError(
                    f"n_jobs must be an int or None, got {n_jobs!r} "
                    f"of type {type(n_jobs).__name__}"
                )
            if n_jobs == 0:
                raise ValueError(
                    "n_jobs must be a non-zero int (1, 2, ... workers; -1 all CPUs, "
                    "-2 all but one, ...) or None, got 0"
                )
            object.__setattr__(self, "n_jobs", int(n_jobs))
        backend = self.backend
        if backend is not None:
            if not isinstance(backend, str):
                raise TypeError(
                    f"backend must be a joblib backend name or None, got {backend!r} "
                    f"of type {type(backend).__name__}"
                )
            allowed = sorted(set(BACKENDS) | set(_LAZY_BACKENDS))
            if backend not in allowed:
                raise ValueError(f"backend must be one of {allowed} or None, got {backend!r}")
            if backend == "dask" and importlib.util.find_spec("distributed") is None:
                raise ImportError(_DASK_MISSING)
        folder = self.temp_folder
        if folder is not None:
            if not isinstance(folder, (str, os.PathLike)):
                raise TypeError(
                    f"temp_folder must be a path or None, got {folder!r} "
                    f"of type {type(folder).__name__}"
                )
            if not Path(folder).is_dir():
                raise ValueError(f"temp_folder must be an existing directory, got {folder!r}")
            object.__setattr__(self, "temp_folder", os.fspath(folder))


def _context_backend() -> object | None:
    """Return the backend an enclosing ``joblib.parallel_config`` set, else None."""
    # joblib keeps the active config in a thread-local; it has no public
    # "was a backend chosen?" query, so look, and fall back to "no" if it moves.
    config = getattr(joblib.parallel._backend, "config", None)
    try:
        chosen = config["backend"] if config is not None else None
        unset = joblib.parallel.default_parallel_config["backend"]
    except (KeyError, TypeError, AttributeError):
        return None
    return None if chosen is None or chosen is unset else chosen


def check_progress(progress: object) -> Progress | None:
    """Return ``progress`` if it is ``None`` or callable, else raise ``TypeError``."""
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be a callable progress(done, total) or None, got {progress!r}"
        )
    return progress


def default_backend() -> str:
    """Our backend when neither the call nor ``parallel_config`` names one: threads.

    The engine releases the GIL and uses no BLAS, so threads share the image
    with no dump and no worker start-up (docs/benchmarks.md has the figures).
    """
    return "threading"


def _resolve_backend(name: str | None) -> tuple[str | object, object, int | None]:
    """Return (what to pass to ``Parallel(backend=...)``, the backend object, context n_jobs)."""
    _, context_n_jobs = get_active_backend()
    if name is None:
        chosen = _context_backend()
        if chosen is not None:
            return chosen, chosen, context_n_jobs
        name = default_backend()
    instance = make_backend(name)
    if name in ("dask", *_PROCESS_BACKENDS):
        return instance, instance, context_n_jobs
    return name, instance, context_n_jobs


#: Local process backends whose workers leave Ctrl-C to the parent.
_PROCESS_BACKENDS = ("loky", "multiprocessing")


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
        return dask_backend()
    if name in _PROCESS_BACKENDS:
        return BACKENDS[name](nesting_level=0, initializer=quiet_worker)
    return BACKENDS[name](nesting_level=0)


def dask_backend() -> object:
    """Joblib's Dask backend on the current ``distributed.Client``, with one-line errors."""
    try:
        if "dask" not in BACKENDS:
            joblib.parallel.EXTERNAL_BACKENDS["dask"]()
    except ImportError:
        raise ImportError(_DASK_MISSING) from None
    try:
        return BACKENDS["dask"]()
    except ValueError:
        raise ValueError(
            "backend='dask' needs a running dask.distributed Client in this process, "
            "e.g. distributed.Client('tcp://scheduler:8786')"
        ) from None


def backend_kind(backend: object) -> str:
    """Classify a joblib backend: ``inprocess``, ``threads``, ``remote`` or ``processes``."""
    cls = type(backend).__name__
    if cls == "SequentialBackend":
        return "inprocess"
    if getattr(backend, "uses_threads", False):
        return "threads"
    if "Dask" in cls:
        return "remote"
    return "processes"


def _temp_root(explicit: str | None, nbytes: int) -> str:
    if explicit is not None:
        return explicit
    env = os.environ.get("JOBLIB_TEMP_FOLDER")
    if env:
        return env
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        try:
            if shutil.disk_usage(shm).free > 2 * nbytes:
                return shm
        except OSError:
            pass
    return tempfile.gettempdir()


def make_private_folder(root: str) -> Path:
    """Create a fresh folder under ``root``: mode 0700, unique name (``mkdtemp``).

    Its name carries this process's id, so that a folder left behind by a
    process that was killed (``SIGKILL``, ``SIGTERM``) is removed by the next
    call that makes one under the same root; folders still open at interpreter
    exit are removed then.
    """
    sweep_orphans(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-", dir=root))
    _OPEN_FOLDERS.add(folder)
    return folder


_OPEN_FOLDERS: set[Path] = set()


def _remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    _OPEN_FOLDERS.discard(folder)


@atexit.register
def _remove_open_folders() -> None:
    for folder in list(_OPEN_FOLDERS):
        _remove_folder(folder)


def sweep_orphans(root: str) -> None:
    """Remove our folders under ``root`` whose owning process no longer exists."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(_TEMP_PREFIX):
            continue
        pid_text = entry.name[len(_TEMP_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


def _band_from_files(
    image_path: str, out_path: str, start: int, stop: int, plan: BandPlan
) -> None:
    """Worker task of the process path: map the files, compute one band."""
    image = np.load(image_path, mmap_mode="r")
    out = np.load(out_path, mmap_mode="r+")
    correlate_rows(image, 0, out, 0, start, stop, plan)
    out.flush()


Task = tuple[Callable[..., object], tuple[object, ...]]
#: Runs tasks and yields each task's result as it finishes, in any order.
Runner = Callable[[Iterable[Task]], Iterator[object]]


def joblib_runner(parallel: joblib.Parallel) -> Runner:
    """Run tasks with a ``joblib.Parallel`` made with ``return_as="generator_unordered"``."""

    def run(tasks: Iterable[Task]) -> Iterator[object]:
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


class _BandPool:
    """The process's one pool of band threads, as large as the largest ``n_jobs - 1`` asked.

    joblib decides the backend and ``n_jobs``; this pool only runs the bands of
    its threading backend. Growing it replaces it (the old threads finish their
    bands and exit), so no more threads are ever alive than the largest
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

    def forget(self) -> None:
        """In a forked child: drop the parent's pool without touching its threads."""
        self.lock = threading.Lock()
        self.executor, self.size = None, 0


_BAND_POOL = _BandPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_BAND_POOL.forget)


def thread_runner(workers: int) -> Runner:
    """Run tasks on the calling thread plus a persistent pool of ``workers - 1`` threads.

    For joblib's "threading" backend. joblib's own result loop sleeps in 10 ms
    steps while it waits, which is most of a 3-megapixel blur; here the caller
    works on bands itself (one thread fewer to wake) and reports each band as it
    is done, and the pool is kept between calls. The first error stops the
    handing out of bands; bands already running finish before it is raised.
    """
    helpers = max(0, workers - 1)
    pool = _BAND_POOL.get(helpers)

    def run(tasks: Iterable[Task]) -> Iterator[object]:
        pending = collections.deque(tasks)
        total = len(pending)
        finished: queue.SimpleQueue[tuple[bool, object]] = queue.SimpleQueue()
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                try:
                    fn, args = pending.popleft()
                except IndexError:
                    return
                try:
                    finished.put((True, fn(*args)))
                except BaseException as e:  # handed to the caller, raised there
                    stop.set()
                    finished.put((False, e))
                    return

        running = []
        for _ in range(helpers if pool is not None else 0):
            try:
                running.append(pool.submit(work))  # type: ignore[union-attr]
            except RuntimeError:
                # the interpreter is shutting down (a thread outliving main), or
                # a concurrent call grew the pool: the caller does the bands
                break
        done = 0
        try:
            while done < total:
                task = None
                if not stop.is_set():
                    try:
                        task = pending.popleft()
                    except IndexError:
                        task = None
                if task is not None:
                    fn, args = task
                    try:
                        value = fn(*args)
                    except BaseException:
                        stop.set()
                        raise
                    done += 1
                    yield value
                    continue
                ok, value = finished.get()
                if not ok:
                    raise value  # type: ignore[misc]
                done += 1
                yield value
        finally:
            stop.set()
            pending.clear()
            wait(running)

    return run


def _drain(results: Iterable[object], total: int, progress: Progress | None) -> None:
    """Consume results as bands finish, reporting ``(done, total)``."""
    for done, _ in enumerate(results, start=1):
        if progress is not None:
            progress(done, total)


def _run_in_memory(
    image: np.ndarray,
    plan: BandPlan,
    runner: Runner | None,
    n_bands: int,
    progress: Progress | None = None,
) -> np.ndarray:
    """In-process and thread paths: bands read the image and write ``out`` in place."""
    out = np.empty(plan.out_shape, dtype=plan.out_dtype)
    if runner is None:
        correlate_rows(image, 0, out, 0, 0, plan.height, plan)
        _drain([None], 1, progress)
    else:
        bands = plan.band_bounds(n_bands)
        tasks: list[Task] = [(correlate_rows, (image, 0, out, 0, a, b, plan)) for a, b in bands]
        _drain(runner(tasks), len(bands), progress)
    return out


def dump_image(image: np.ndarray, path: str) -> None:
    """Write the image once, uncompressed, as a memory-mappable ``.npy``.

    Plain ``write`` calls of 4 MiB slices of the image's own buffer: no copy,
    and a failing write raises its real ``OSError`` (``ENOSPC``, ``EFBIG``).
    """
    header = {
        "descr": np.lib.format.dtype_to_descr(image.dtype),
        "fortran_order": False,
        "shape": image.shape,
    }
    data = np.ascontiguousarray(image).reshape(-1).view(np.uint8)
    step = 4 << 20
    with open(path, "wb") as f:
        np.lib.format.write_array_header_2_0(f, header)
        for start in range(0, len(data), step):
            f.write(data[start : start + step].data)


def _space_error(root: str, needed: int, error: OSError) -> OSError:
    """Explain a failed write of the process path: where, why and what to do instead."""
    return OSError(
        error.errno,
        f"cannot write the {needed / 1e6:.0f} MB shared copy of the image under {root} "
        f"({error.strerror or error}); pass temp_folder=... or set JOBLIB_TEMP_FOLDER to "
        "a writable folder with room, or use backend='threading' (no files)",
    )


def _create_out_file(path: str, plan: BandPlan) -> np.memmap:
    """Create the shared output file with its space reserved.

    A full disk then fails here, in the parent, with a message, instead of
    killing a worker with SIGBUS when it writes into a sparse mapping.
    """
    out = np.lib.format.open_memmap(path, mode="w+", dtype=plan.out_dtype, shape=plan.out_shape)
    if hasattr(os, "posix_fallocate"):
        fd = os.open(path, os.O_RDWR)
        try:
            os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
        finally:
            os.close(fd)
    return out


#: One process-path call at a time: loky's executor is shared by the whole
#: process, and resizing it for one call while another call's tasks run
#: deadlocks (4 threads with n_jobs 2 and 3 hung in 3 runs of 3).
_PROCESS_CALLS = threading.Lock()


def _run_on_files(
    image: np.ndarray,
    plan: BandPlan,
    runner: Runner,
    n_bands: int,
    root: str,
    progress: Progress | None = None,
) -> np.ndarray:
    needed = 2 * image.nbytes
    try:
        folder = make_private_folder(root)
    except OSError as e:
        raise _space_error(root, needed, e) from e
    try:
        image_path = str(folder / "image.npy")
        out_path = str(folder / "out.npy")
        try:
            dump_image(image, image_path)
            out = _create_out_file(out_path, plan)
        except OSError as e:
            raise _space_error(root, needed, e) from e
        bands = plan.band_bounds(n_bands)
        tasks: list[Task] = [
            (_band_from_files, (image_path, out_path, a, b, plan)) for a, b in bands
        ]
        _drain(runner(tasks), len(bands), progress)
        # a private copy: an ordinary array (picklable, not shared with a fork)
        # that holds no space in the temp folder once the files are removed
        result = np.array(out)
        del out
        return result
    finally:
        _remove_folder(folder)


def _run_remote(
    image: np.ndarray,
    plan: BandPlan,
    runner: Runner,
    n_bands: int,
    progress: Progress | None = None,
) -> np.ndarray:
    """Workers on other machines (Dask): each band travels with the rows it reads.

    Each task gets the image rows of ``source_rows`` (a slice of the
    image, sent as it is dispatched) and returns its output rows, which the
    parent writes into the output.
    """
    out = np.empty(plan.out_shape, dtype=plan.out_dtype)
    bands = plan.band_bounds(n_bands)
    tasks = (
        (_shipped_band, (image[slice(*source_rows(plan, a, b))], a, b, plan)) for a, b in bands
    )
    for done, result in enumerate(runner(tasks), start=1):
        start, rows = cast(tuple[int, np.ndarray], result)
        out[start : start + rows.shape[0]] = rows
        if progress is not None:
            progress(done, len(bands))
    return out


def _shipped_band(
    rows: np.ndarray, start: int, stop: int, plan: BandPlan
) -> tuple[int, np.ndarray]:
    """Remote task: compute a band from the image rows shipped with it; return its rows."""
    out = np.empty((stop - start, plan.width, plan.channels), dtype=plan.out_dtype)
    first = source_rows(plan, start, stop)[0]
    correlate_rows(np.ascontiguousarray(rows), first, out, start, start, stop, plan)
    return start, out


def band_count(plan: BandPlan, workers: int) -> int:
    """How many bands to cut for ``workers``: ``BANDS_PER_WORKER`` each, fewer for tall kernels.

    Each band filters the ``2·r_y`` rows it shares with its neighbours again, so
    bands are kept at least ``8·r_y`` rows high (at most 25 % extra
    horizontal work), but never fewer than the workers.
    """
    wanted = workers * BANDS_PER_WORKER
    by_halo = plan.height // max(1, 8 * plan.r_y)
    return max(min(wanted, by_halo), min(workers, plan.height))


def estimated_seconds(plan: BandPlan) -> float:
    """In-process time of ``plan`` on one core, from the measured cost per sample.

    The native engine in float32 on the development machine (docs/benchmarks.md):
    about ``1.2 + 0.36·r`` ns per output sample for a kernel of mean radius ``r``
    (both passes); float64 costs about twice that, each extra term as much again.
    """
    samples = plan.height * plan.width * plan.channels
    r = (plan.r_x + plan.r_y) / 2
    per_sample = (1.2 + 0.36 * r) * 1e-9 * plan.compute_dtype.itemsize / 4 * len(plan.terms)
    return samples * per_sample


def _resolve(settings: ParallelSettings) -> tuple[str | object, object, str, int, int]:
    """Backend argument, backend object, its kind, n_jobs and the number of workers."""
    backend_arg, backend, context_n_jobs = _resolve_backend(settings.backend)
    kind = backend_kind(backend)
    n_jobs = settings.n_jobs
    if n_jobs is None:
        n_jobs = context_n_jobs if context_n_jobs is not None else -1
    workers = 1 if kind == "inprocess" else backend.effective_n_jobs(n_jobs)  # type: ignore[attr-defined]
    return backend_arg, backend, kind, n_jobs, workers


def _own_threads(kind: str, backend: object) -> bool:
    """Tell whether this is joblib's standard threading backend (bands run on our pool)."""
    return kind == "threads" and type(backend).__name__ == "ThreadingBackend"


def copy_threads(settings: ParallelSettings) -> int:
    """How many of our pool's threads may share a whole-image copy (Pillow decode).

    The worker count when ``settings`` resolve to joblib's threading backend,
    else 1: ``n_jobs=1`` means one core, and process backends' workers are not
    in this process.
    """
    _, backend, kind, _, workers = _resolve(settings)
    return max(1, workers) if _own_threads(kind, backend) else 1


def run_on_threads(workers: int, tasks: list[Task]) -> None:
    """Run small tasks on our persistent pool of ``workers`` threads and wait for all."""
    for _ in thread_runner(workers)(tasks):
        pass


def run_plan(
    image: np.ndarray,
    plan: BandPlan,
    settings: ParallelSettings,
    progress: Progress | None = None,
) -> np.ndarray:
    """Blur ``image`` as ``plan`` says, with the workers ``settings`` ask for.

    Returns an ``(H, W, C)`` array of ``plan.out_dtype``. ``progress``, if
    given, is called in the caller's thread as ``progress(bands_done, bands)``.
    """
    backend_arg, backend, kind, n_jobs, workers = _resolve(settings)
    if workers <= 1 or estimated_seconds(plan) < MIN_PARALLEL_SECONDS or plan.height < 2:
        return _run_in_memory(image, plan, None, 1, progress)
    n_bands = band_count(plan, workers)
    if _own_threads(kind, backend):
        return _run_in_memory(image, plan, thread_runner(workers), n_bands, progress)
    # bands as they finish where the backend can say so (multiprocessing cannot)
    streams = getattr(backend, "supports_return_generator", False)
    return_as = "generator_unordered" if streams else "list"
    runner = joblib_runner(
        joblib.Parallel(n_jobs=n_jobs, backend=backend_arg, max_nbytes=None, return_as=return_as)
    )
    if kind == "threads":
        return _run_in_memory(image, plan, runner, n_bands, progress)
    if kind == "remote":
        return _run_remote(image, plan, runner, n_bands, progress)
    root = _temp_root(settings.temp_folder, image.nbytes * 2)
    with _PROCESS_CALLS:
        try:
            return _run_on_files(image, plan, runner, n_bands, root, progress)
        except _BROKEN_POOL:
            # a worker that died while idle (killed, out of memory) breaks the
            # shared executor for the next call that uses it; joblib replaces a
            # broken executor when asked again: try once more (a band that
            # kills its worker fails again, and that is raised)
            again = joblib.Parallel(
                n_jobs=n_jobs, backend=backend_arg, max_nbytes=None, return_as=return_as
            )
            return _run_on_files(image, plan, joblib_runner(again), n_bands, root, progress)


_BROKEN_POOL = (TerminatedWorkerError, BrokenProcessPool)
