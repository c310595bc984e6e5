"""``pil-parallel-blur blur``: one image, or a batch spread over the workers.

Tests: test_cli.py, test_cli_usage.py, test_cli_outputs.py, test_dask.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager
from functools import partial
from pathlib import Path
from typing import cast

import joblib
import numpy as np
from PIL import Image

from ..about import usable_cpus
from ..blur import estimated_blur_seconds
from ..kernels import resolve_kernel
from ..parallel import ParallelSettings, default_backend
from ..parallel import joblib_adapter as jl
from ..parallel.pool import joblib_runner
from ..parallel.shielded import CancelledError, Emit, run_shielded
from .common import PROG, UserError, one_line, shown
from .files import (
    SAVES,
    bomb_guard_off,
    remove_partial_files,
)
from .inputs import plan_jobs
from .jobs import BlurJob, JobDone, run_job
from .progress import ProgressBar, progress_bar, show_progress

__all__ = ["blur_command"]

#: A single image whose blur is estimated to take longer gets a progress bar.
PROGRESS_SECONDS = 1.0


#: A batch worker blurs its image in-process: the batch itself is the parallelism.
_IN_WORKER = ParallelSettings(1, "sequential")
#: The process that runs the command (a batch worker in another process is not it).
_COMMAND_PID = os.getpid()


def _job_in_worker(job: BlurJob) -> tuple[Path, str | None, JobDone | None]:
    """Batch task: one image, in-process (the batch itself is the parallelism).

    Any error is that image's one line; the batch goes on.
    """
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we refuse, not warn
    if os.getpid() != _COMMAND_PID:
        # a worker process of ours: the size is checked by open_checked
        Image.MAX_IMAGE_PIXELS = None
    try:
        return job.src, None, run_job(job, _IN_WORKER)
    except Exception as e:
        return job.src, naming(job, e), None


def naming(job: BlurJob, e: BaseException) -> str:
    """One line for a failed job, naming its file once."""
    line = one_line(e)
    if line.startswith((f"{shown(job.src)}:", f"{shown(job.dst)}:")):
        return line
    if isinstance(e, MemoryError):
        return f"{shown(job.src)}: not enough memory"
    return f"{shown(job.src)}: {line}"


def blur_command(args: argparse.Namespace) -> int:
    """Run ``blur``: one image in parallel tiles, or a batch of whole images."""
    if args.output is None and args.out_dir is None:
        raise UserError("give -o/--output FILE (one input) or --out-dir DIR")
    if args.quality < 1 or args.quality > 100:
        raise UserError(f"--quality must be from 1 to 100, got {args.quality}")
    if args.pillow and args.size is not None:
        raise UserError(
            "--pillow takes no --size: Pillow's GaussianBlur sizes its boxes from the sigma"
        )
    # validated once, here, into the values every job uses
    args.kernel = resolve_kernel(args.size, args.sigma, allow_zero=True)
    settings = ParallelSettings(args.jobs, args.backend)  # dask not installed: refused here
    if args.backend == "dask" and not args.scheduler:
        raise UserError(
            "--backend dask needs --scheduler ADDRESS, the address of a running "
            "dask.distributed scheduler (e.g. --scheduler tcp://host:8786)"
        )
    _warn_about_jobs(args.jobs)
    args.created_out_dir = False
    started = time.perf_counter()
    try:
        with bomb_guard_off():
            jobs, errors = plan_jobs(args)
            for error in errors:
                print(f"{PROG}: error: {error}", file=sys.stderr)
            if len(jobs) == 1 and not args.scheduler:
                failed = _single(args, jobs[0], settings)
            else:
                failed = _batch(args, jobs) if jobs else 0
    finally:
        if args.created_out_dir and not any(Path(args.out_dir).iterdir()):
            Path(args.out_dir).rmdir()  # a run that wrote nothing leaves no new folder
    if len(jobs) + len(errors) > 1:
        _summary(args, len(jobs) - failed, failed, len(errors), time.perf_counter() - started)
    if failed + len(errors) == 0:
        return 0
    return 2 if len(jobs) + len(errors) <= 1 else 1


def _single(args: argparse.Namespace, job: BlurJob, settings: ParallelSettings) -> int:
    """One image, its tiles shared by the workers; return how many failed (0 or 1)."""
    est = _estimate(job)
    result: str | None = None
    result_file = sys.stdout
    notes: tuple[str, ...] = ()
    failed = 0
    with progress_bar(None, "tile", show_progress(args) and est > PROGRESS_SECONDS) as bar:
        try:
            done = run_job(job, dataclasses.replace(settings, progress=bar.update))
        except Exception as e:
            result, result_file = f"{PROG}: error: {naming(job, e)}", sys.stderr
            failed = 1
        else:
            notes = done.notes
            if not args.quiet:
                result = f"{shown(job.src)} -> {shown(job.dst)} ({done.seconds:.2f} s)"
    for note in notes:  # after the bar is gone, on lines of their own
        print(f"{PROG}: {note}", file=sys.stderr)
    if result is not None:
        print(result, file=result_file)
    return failed


def _batch(args: argparse.Namespace, jobs: list[BlurJob]) -> int:
    """Whole images spread over the workers; return how many failed."""
    failed = 0

    def report(event: object, bar: ProgressBar, count: list[int]) -> None:
        nonlocal failed
        src, error, done = cast(tuple[Path, str | None, JobDone | None], event)
        count[0] += 1
        bar.update(count[0], len(jobs))
        if error is not None:
            bar.say(f"{PROG}: error: {error}", file=sys.stderr)
            failed += 1
            return
        assert done is not None
        for note in done.notes:
            bar.say(f"{PROG}: {note}", file=sys.stderr)
        if not args.quiet:
            bar.say(f"{shown(src)} ({done.seconds:.2f} s)")

    with progress_bar(len(jobs), "image", show_progress(args)) as bar:
        count = [0]
        try:
            if args.scheduler:  # the cluster's client stays in this thread
                with _dask_parallel(args) as parallel:
                    for event in parallel(joblib.delayed(_job_in_worker)(j) for j in jobs):
                        report(event, bar, count)
            else:
                run_shielded(partial(_local_batch, args, jobs), lambda e: report(e, bar, count))
        finally:
            SAVES.close()  # an interrupted batch: let saves in flight finish first
            remove_partial_files(job.dst for job in jobs)
    return failed


def _local_batch(
    args: argparse.Namespace, jobs: list[BlurJob], emit: Emit, stop: threading.Event
) -> None:
    """Run the batch on local workers (in a helper thread where SIGINT is blocked)."""
    backend = jl.make_backend(args.backend or default_backend())
    n_jobs = args.jobs if args.jobs else -1
    streams = jl.supports_generator(backend)
    parallel = jl.make_parallel(n_jobs, backend, streams)
    # images as they finish; closing the runner cancels what has not started
    run = joblib_runner(parallel)
    if streams:
        calls = [jobs]
    else:
        # multiprocessing hands back a whole call's results at once and cannot
        # be stopped mid-call: a few images per call, on one pool, so that an
        # interrupt waits for a few images, not the whole batch
        per_call = 2 * max(1, jl.effective_workers(backend, n_jobs))
        calls = [jobs[a : a + per_call] for a in range(0, len(jobs), per_call)]
    with parallel:
        for call in calls:
            with closing(run((_job_in_worker, (job,)) for job in call)) as results:
                for result in results:
                    if stop.is_set():
                        raise CancelledError
                    emit(result)


def _summary(args: argparse.Namespace, done: int, failed: int, skipped: int, s: float) -> None:
    """Print the batch's last line: images done, failed and skipped, and the time."""
    line = f"{PROG}: {done} done, {failed} failed, {skipped} skipped in {s:.2f} s"
    if failed or skipped:
        print(line, file=sys.stderr)
    elif not args.quiet:
        print(line)


def _warn_about_jobs(jobs: int | None) -> None:
    """One line when ``--jobs`` asks for more workers than there are usable CPUs."""
    cpus = usable_cpus()
    if jobs is not None and jobs > cpus:
        print(
            f"{PROG}: warning: --jobs {jobs} is more than the {cpus} usable CPUs; "
            "the extra workers only take turns on them",
            file=sys.stderr,
        )


@contextmanager
def _dask_parallel(args: argparse.Namespace) -> Iterator[joblib.Parallel]:
    """joblib.Parallel over whole images on a Dask cluster (--scheduler).

    Each task opens its input and writes its output on the worker (the paths
    must be visible there), so images never pass through the client.
    """
    try:
        from distributed import Client
    except ImportError:
        raise UserError(
            "--scheduler needs dask.distributed: pip install 'pil-parallel-blur[dask]'"
        ) from None
    try:
        client = Client(args.scheduler, timeout=args.scheduler_timeout)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as e:
        raise UserError(
            f"cannot reach the Dask scheduler at {shown(args.scheduler)} ({one_line(e)})"
        ) from None
    try:
        yield jl.make_parallel(-1, jl.make_backend("dask"), streams=True)
    finally:
        client.close()  # type: ignore[no-untyped-call]


def _estimate(job: BlurJob) -> float:
    """Rough in-process seconds for ``job`` (header only, no decode)."""
    try:
        with Image.open(job.src) as im:
            w, h, channels = im.size[0], im.size[1], len(im.getbands())
    except Exception:
        return 0.0
    return estimated_blur_seconds((h, w, channels), np.dtype(np.uint8), job.kernel.separable())
