"""``pil-parallel-blur blur``: one image, or a batch spread over the workers."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from PIL import Image

from .. import joblib_adapter as jl
from ..about import usable_cpus
from ..blur import estimated_blur_seconds
from ..filters import ParallelGaussianFilter
from ..kernels import KernelSpec, resolve_kernel
from ..parallel import ParallelSettings, default_backend
from .common import PROG, UserError, one_line
from .files import (
    SAVES,
    format_for,
    image_files,
    open_checked,
    remove_partial_files,
    save_atomic,
    save_params,
)
from .progress import progress_bar, show_progress

__all__ = ["blur_command", "BlurJob", "run_job"]

#: A single image whose blur is estimated to take longer gets a progress bar.
PROGRESS_SECONDS = 1.0


@dataclass(frozen=True)
class BlurJob:
    """One image to blur: where from, where to, and how."""

    src: Path
    dst: Path
    kernel: KernelSpec
    quality: int
    max_pixels: int
    refuse_palette: bool = False


def run_job(job: BlurJob, settings: ParallelSettings) -> float:
    """Blur one image file into another; return the seconds spent blurring."""
    im = open_checked(job.src, job.max_pixels)
    fmt = format_for(job.dst, im.format)
    work = im
    if im.mode in PALETTE_OR_BILEVEL:
        if job.refuse_palette:
            raise UserError(
                f"{job.src}: {_PALETTE_WORDS[im.mode]} images (mode {im.mode!r}) are refused "
                "(--refuse-palette); leave it out to blur them as "
                f"{_working_mode(im)} and save them as the output format allows"
            )
        work = im.convert(_working_mode(im))
    # --sigma X,Y and --size X,Y are as a viewer shows the photo: swap them when
    # its EXIF orientation turns the stored pixels by 90° (orientations 5 to 8)
    kernel = job.kernel
    if im.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
        kernel = kernel.transposed()
    flt = ParallelGaussianFilter.from_kernel(kernel, settings)
    t0 = time.perf_counter()
    try:
        out = work.filter(flt)
    except ValueError as e:
        raise UserError(f"{job.src}: {one_line(e)}") from None
    seconds = time.perf_counter() - t0
    try:
        save_atomic(out, job.dst, fmt, save_params(im, fmt, job.quality))
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"{job.dst}: cannot write {fmt} ({e})") from None
    return seconds


#: A batch worker blurs its image in-process: the batch itself is the parallelism.
_IN_WORKER = ParallelSettings(1, "sequential")


def _job_in_worker(job: BlurJob) -> tuple[Path, str | None, float]:
    """Batch task: one image, in-process (the batch itself is the parallelism)."""
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we refuse, not warn
    try:
        return job.src, None, run_job(job, _IN_WORKER)
    except (UserError, ValueError, TypeError, OSError) as e:
        return job.src, naming(job, e), 0.0


def naming(job: BlurJob, e: BaseException) -> str:
    """One line for a failed job, naming its file once."""
    line = one_line(e)
    if line.startswith((f"{job.src}:", f"{job.dst}:")):
        return line
    return f"{job.src}: {line}"


#: Pillow modes the blur cannot take as they are: converted first (or refused).
PALETTE_OR_BILEVEL = ("P", "PA", "1")

_PALETTE_WORDS = {"P": "palette", "PA": "palette", "1": "bilevel"}
#: The EXIF tag that says how a viewer turns the stored pixels.
EXIF_ORIENTATION = 0x0112


def _working_mode(im: Image.Image) -> str:
    """Return the mode a palette or bilevel image is blurred in: L, RGB or RGBA."""
    if im.mode == "1":
        return "L"
    if im.mode == "PA" or "transparency" in im.info:
        return "RGBA"
    return "RGB"


def plan_jobs(args: argparse.Namespace) -> tuple[list[BlurJob], list[str]]:
    """Turn the inputs into jobs, and into error lines for what cannot be done."""
    inputs: list[Path] = []
    errors: list[str] = []
    if args.output is not None:
        if not args.output.strip():
            raise UserError("-o/--output is an empty path; give a file name, or use --out-dir DIR")
        if len(args.inputs) != 1:
            raise UserError(
                "-o/--output takes exactly one input file; use --out-dir DIR for several"
            )
        only = args.inputs[0]
        if not only.strip():
            raise UserError(
                "the input is an empty path (an unset variable?); give one image file, "
                "or use --out-dir DIR for folders"
            )
        if Path(only).is_dir():
            raise UserError(
                f"{only}: is a folder; -o/--output takes one input file, use --out-dir DIR"
            )
    for name in args.inputs:
        if not name.strip():
            errors.append("an input is an empty path (an unset variable?); skipped")
            continue
        p = Path(name)
        if p.is_dir():
            found = image_files(p)
            if not found:
                errors.append(f"{p}: no image files in this folder")
            inputs.extend(found)
        elif p.exists():
            inputs.append(p)
        else:
            errors.append(f"{p}: no such file")
    jobs: list[BlurJob] = []
    seen: dict[Path, Path] = {}
    out_dir = Path(args.out_dir) if args.out_dir else None
    if out_dir is not None:
        if not inputs:
            return jobs, errors  # nothing to write: make no folder
        args.created_out_dir = not out_dir.exists()
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"{out_dir}: cannot create output folder ({e.strerror})") from None
        if not os.access(out_dir, os.W_OK):
            raise UserError(f"{out_dir}: output folder is not writable")
    for src in inputs:
        # only the file name of an input is used: nothing is written outside out_dir
        dst = Path(args.output) if args.output else out_dir / src.name  # type: ignore[operator]
        key = dst.resolve()
        if key in seen:
            errors.append(f"{src}: same output name as {seen[key]} ({dst}); skipped")
            continue
        if key == src.resolve() and not args.overwrite:
            errors.append(f"{src}: output would overwrite the input; pass --overwrite to allow")
            continue
        if dst.exists() and not args.overwrite:
            errors.append(f"{dst}: already exists; pass --overwrite to replace it")
            continue
        if not dst.parent.is_dir():
            errors.append(f"{dst}: folder {dst.parent} does not exist")
            continue
        seen[key] = src
        jobs.append(
            BlurJob(src, dst, args.kernel, args.quality, args.max_pixels, args.refuse_palette)
        )
    return jobs, errors


def blur_command(args: argparse.Namespace) -> int:
    """Run ``blur``: one image in parallel bands, or a batch of whole images."""
    if args.output is None and args.out_dir is None:
        raise UserError("give -o/--output FILE (one input) or --out-dir DIR")
    if args.quality < 1 or args.quality > 100:
        raise UserError(f"--quality must be from 1 to 100, got {args.quality}")
    # validated once, here, into the values every job uses
    args.kernel = resolve_kernel(args.size, args.sigma, allow_zero=True)
    settings = ParallelSettings(args.jobs, args.backend)
    _warn_about_jobs(args.jobs)
    args.created_out_dir = False
    jobs, errors = plan_jobs(args)
    for error in errors:
        print(f"{PROG}: error: {error}", file=sys.stderr)
    failed = len(errors)
    if len(jobs) == 1 and not args.scheduler:
        job = jobs[0]
        est = _estimate(job)
        result: str | None = None
        result_file = sys.stdout
        with progress_bar(None, "band", show_progress(args) and est > PROGRESS_SECONDS) as bar:
            try:
                seconds = run_job(job, dataclasses.replace(settings, progress=bar.update))
            except (UserError, ValueError, TypeError, OSError) as e:
                result, result_file = f"{PROG}: error: {naming(job, e)}", sys.stderr
                failed += 1
            else:
                if not args.quiet:
                    result = f"{job.src} -> {job.dst} ({seconds:.2f} s)"
        if result is not None:  # after the bar is gone, on a line of its own
            print(result, file=result_file)
    elif jobs:
        with (
            _batch_parallel(args) as parallel,
            progress_bar(len(jobs), "image", show_progress(args)) as bar,
        ):
            try:
                results = parallel(joblib.delayed(_job_in_worker)(job) for job in jobs)
                for done, (src, error, seconds) in enumerate(results, start=1):
                    bar.update(done, len(jobs))
                    if error is not None:
                        bar.say(f"{PROG}: error: {error}", file=sys.stderr)
                        failed += 1
                    elif not args.quiet:
                        bar.say(f"{src} ({seconds:.2f} s)")
            finally:
                SAVES.close()  # an interrupted batch: let saves in flight finish first
                remove_partial_files(job.dst for job in jobs)
    if args.created_out_dir and not any(Path(args.out_dir).iterdir()):
        Path(args.out_dir).rmdir()  # a run that wrote nothing leaves no new folder
    if failed == 0:
        return 0
    return 2 if len(jobs) + len(errors) <= 1 else 1


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
def _batch_parallel(args: argparse.Namespace) -> Iterator[joblib.Parallel]:
    """joblib.Parallel over whole images: local workers, or a Dask cluster (--scheduler).

    On a cluster each task opens its input and writes its output on the worker
    (the paths must be visible there), so images never pass through the client.
    """
    if not args.scheduler:
        backend = jl.make_backend(args.backend or default_backend())
        n_jobs = args.jobs if args.jobs else -1
        # images as they finish where the backend can say so (multiprocessing cannot)
        yield jl.make_parallel(n_jobs, backend, jl.supports_generator(backend))
        return
    try:
        from distributed import Client
    except ImportError:
        raise UserError(
            "--scheduler needs dask.distributed: pip install 'pil-parallel-blur[dask]'"
        ) from None
    try:
        client = Client(args.scheduler, timeout=args.scheduler_timeout)
    except (OSError, TimeoutError) as e:
        raise UserError(f"cannot reach the Dask scheduler at {args.scheduler} ({e})") from None
    try:
        yield jl.make_parallel(-1, jl.make_backend("dask"), streams=True)
    finally:
        client.close()


def _estimate(job: BlurJob) -> float:
    """Rough in-process seconds for ``job`` (header only, no decode)."""
    try:
        with Image.open(job.src) as im:
            w, h, bands = im.size[0], im.size[1], len(im.getbands())
    except Exception:
        return 0.0
    return estimated_blur_seconds((h, w, bands), np.dtype(np.uint8), job.kernel)
