"""The ``pil-parallel-blur`` command: ``blur``, ``demo`` and ``bench``.

Exit status: 0 when everything was done; 1 when some images of a batch failed
(each reported in one line, the others done); 2 for bad arguments or when the
only image failed. Never a traceback, never a half-written output.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import joblib
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, UnidentifiedImageError

from .about import info, usable_cpus
from .blur import gaussian_blur
from .engine import make_plan
from .filters import ParallelGaussianFilter
from .kernels import resolve_kernel
from .parallel import (
    ParallelSettings,
    dask_backend,
    default_backend,
    estimated_seconds,
    make_backend,
)
from .testimage import test_chart

__all__ = ["main", "build_parser"]

PROG = "pil-parallel-blur"
#: Pillow's own decompression-bomb limit, kept unless --max-pixels says otherwise.
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
#: A single image whose blur is estimated to take longer gets a progress bar.
PROGRESS_SECONDS = 1.0
LOSSY_FORMATS = ("JPEG", "WEBP", "AVIF", "MPO")


class UserError(Exception):
    """An error the user can fix; printed as one line."""


# ------------------------------------------------------------------ saving
class _Saves:
    """Saves in flight in this process, so that an interrupted batch can let them end.

    Batch workers that are threads cannot be stopped mid-save; after Ctrl-C the
    command refuses new saves, waits for those in flight to be renamed into
    place, and only then removes what is left, so no ``.partial`` file outlives it.
    """

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.running = 0
        self.closed = False

    def begin(self, path: Path) -> None:
        with self.changed:
            if self.closed:
                raise UserError(f"{path}: not written (interrupted)")
            self.running += 1

    def end(self) -> None:
        with self.changed:
            self.running -= 1
            self.changed.notify_all()

    def close(self, timeout: float = 60.0) -> None:
        """Refuse new saves and wait (at most ``timeout`` s) for those in flight."""
        with self.changed:
            self.closed = True
            self.changed.wait_for(lambda: self.running == 0, timeout)

    def reopen(self) -> None:
        with self.changed:
            self.closed = False


_SAVES = _Saves()


def save_atomic(image: Image.Image, path: Path, fmt: str, params: dict[str, Any]) -> None:
    """Save to a temporary file in the destination folder, then rename over ``path``.

    A crash or an error leaves either the old file or the new one, never half of one.
    """
    _SAVES.begin(path)
    try:
        _save_atomic(image, path, fmt, params)
    finally:
        _SAVES.end()


def _save_atomic(image: Image.Image, path: Path, fmt: str, params: dict[str, Any]) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            image.save(f, format=fmt, **params)
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the name points at it
        # mkstemp makes the file 0600; give it the mode a plain open() would have
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    """Return the process umask, read without changing it (Linux), else the usual 022."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def save_params(source: Image.Image, fmt: str, quality: int) -> dict[str, Any]:
    """EXIF, ICC profile and DPI of ``source`` (where present), plus quality for lossy formats."""
    params: dict[str, Any] = {}
    for key in ("exif", "icc_profile", "dpi"):
        value = source.info.get(key)
        if value:
            params[key] = value
    if fmt in LOSSY_FORMATS:
        params["quality"] = quality
    return params


def remove_partial_files(jobs: Sequence[BlurJob]) -> None:
    """Remove temporary files that a killed worker left beside the outputs.

    A worker killed by a signal while saving cannot clean up after itself; its
    image is redone elsewhere (or reported), and its ``.NAME.*.partial`` stays.
    """
    for job in jobs:
        for stale in job.dst.parent.glob(f".{job.dst.name}.*.partial"):
            stale.unlink(missing_ok=True)


def format_for(path: Path, fallback: str | None) -> str:
    """Return the Pillow format for ``path``'s extension, else the input's format."""
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None and path.suffix == "" and fallback:
        return fallback
    if fmt is None:
        raise UserError(f"{path}: unknown image extension {path.suffix!r}")
    return fmt


# ------------------------------------------------------------------- jobs
@dataclass(frozen=True)
class BlurJob:
    """One image to blur: where from, where to, and how."""

    src: Path
    dst: Path
    sigma: Any
    size: Any
    quality: int
    max_pixels: int
    refuse_palette: bool = False


def open_checked(path: Path, max_pixels: int) -> Image.Image:
    """Open and fully load an image, with one-line errors for every way that fails.

    Pillow's own bomb guard is turned off here (this function applies
    ``max_pixels`` itself), and the process-wide setting is left as it was.
    """
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels or None
    try:
        return _open(path, max_pixels)
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _open(path: Path, max_pixels: int) -> Image.Image:
    try:
        im = Image.open(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not an image") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied") from None
    except UnidentifiedImageError:
        raise UserError(f"{path}: not an image Pillow can read") from None
    except Image.DecompressionBombError:
        raise UserError(_bomb_message(path, None, max_pixels)) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise UserError(f"{path}: cannot read image ({_one_line(e)})") from None
    w, h = im.size
    if max_pixels and w * h > max_pixels:
        raise UserError(_bomb_message(path, (w, h), max_pixels))
    try:
        im.load()
    except (OSError, SyntaxError, ValueError) as e:
        raise UserError(f"{path}: cannot read image ({e})") from None
    return im


def _bomb_message(path: Path, size: tuple[int, int] | None, limit: int) -> str:
    dims = f" of {size[0]}x{size[1]} pixels" if size else ""
    return (
        f"{path}: image{dims} is over the {limit}-pixel limit (decompression-bomb guard); "
        "raise it with --max-pixels N, or 0 for no limit"
    )


def run_job(
    job: BlurJob,
    n_jobs: int | None,
    backend: str | None,
    progress: Callable[[int, int], None] | None = None,
) -> float:
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
    sigma, size = job.sigma, job.size
    if im.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
        sigma, size = _swapped(sigma), _swapped(size)
    flt = ParallelGaussianFilter(
        sigma, size=size, n_jobs=n_jobs, backend=backend, progress=progress
    )
    t0 = time.perf_counter()
    try:
        out = work.filter(flt)
    except ValueError as e:
        raise UserError(f"{job.src}: {_one_line(e)}") from None
    seconds = time.perf_counter() - t0
    try:
        save_atomic(out, job.dst, fmt, save_params(im, fmt, job.quality))
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"{job.dst}: cannot write {fmt} ({e})") from None
    return seconds


def _job_in_worker(job: BlurJob) -> tuple[Path, str | None, float]:
    """Batch task: one image, in-process (the batch itself is the parallelism)."""
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we refuse, not warn
    try:
        return job.src, None, run_job(job, 1, "sequential")
    except (UserError, ValueError, TypeError, OSError) as e:
        return job.src, _naming(job, e), 0.0


def _naming(job: BlurJob, e: BaseException) -> str:
    """One line for a failed job, naming its file once."""
    line = _one_line(e)
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


def _swapped(value: Any) -> Any:
    """``(x, y)`` → ``(y, x)``; a single value stays."""
    return (value[1], value[0]) if isinstance(value, tuple) else value


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


# --------------------------------------------------------------- planning
def image_files(folder: Path) -> list[Path]:
    """Files of ``folder`` (not recursive) with an extension Pillow can open."""
    known = set(Image.registered_extensions())
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in known)


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
            BlurJob(
                src, dst, args.sigma, args.size, args.quality, args.max_pixels, args.refuse_palette
            )
        )
    return jobs, errors


# --------------------------------------------------------------- progress
class ProgressBar:
    """A tqdm bar on stderr, or nothing; ``say`` prints lines without breaking the bar.

    With ``make`` the bar is created at the first update, with that update's
    total (a single image reports its band count only then): it never shows a
    count that jumps.
    """

    def __init__(self, bar: Any, make: Callable[[int], Any] | None = None) -> None:
        self.bar = bar
        self._make = make

    def update(self, done: int, total: int) -> None:
        """Show ``done`` of ``total``."""
        if self.bar is None and self._make is not None:
            self.bar = self._make(total)
        if self.bar is not None:
            self.bar.total = total
            self.bar.n = done
            self.bar.refresh()

    def say(self, line: str, file: Any = None) -> None:
        """Print a line (stdout by default), above the bar when there is one."""
        file = file or sys.stdout
        if self.bar is not None:
            self.bar.write(line, file=file)
        else:
            print(line, file=file)


@contextmanager
def progress_bar(total: int | None, unit: str, enabled: bool) -> Iterator[ProgressBar]:
    """Show a tqdm bar on stderr (``cli`` extra); do nothing when disabled or not installed.

    ``total=None``: the bar appears at the first update, with its total. The bar
    is removed when the block ends, so lines printed after it start clean.
    """
    make: Callable[[int], Any] | None = None
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            print(
                f"{PROG}: progress bars need tqdm: pip install 'pil-parallel-blur[cli]'",
                file=sys.stderr,
            )
        else:
            make = partial(_new_bar, tqdm, unit)
    first = make(total) if make is not None and total is not None else None
    progress = ProgressBar(first, make)
    try:
        yield progress
    finally:
        if progress.bar is not None:
            progress.bar.close()


def _new_bar(tqdm: Any, unit: str, total: int) -> Any:
    """Return a tqdm bar of ``total`` on stderr that leaves no line behind when closed."""
    return tqdm(total=total, unit=unit, file=sys.stderr, leave=False)


def _show_progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


# --------------------------------------------------------------- commands
def _cmd_blur(args: argparse.Namespace) -> int:
    if args.output is None and args.out_dir is None:
        raise UserError("give -o/--output FILE (one input) or --out-dir DIR")
    if args.quality < 1 or args.quality > 100:
        raise UserError(f"--quality must be from 1 to 100, got {args.quality}")
    resolve_kernel(args.size, args.sigma, allow_zero=True)  # fail before any work
    ParallelSettings(n_jobs=args.jobs, backend=args.backend)
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
        with progress_bar(None, "band", _show_progress(args) and est > PROGRESS_SECONDS) as bar:
            try:
                seconds = run_job(job, args.jobs, args.backend, bar.update)
            except (UserError, ValueError, TypeError, OSError) as e:
                result, result_file = f"{PROG}: error: {_naming(job, e)}", sys.stderr
                failed += 1
            else:
                if not args.quiet:
                    result = f"{job.src} -> {job.dst} ({seconds:.2f} s)"
        if result is not None:  # after the bar is gone, on a line of its own
            print(result, file=result_file)
    elif jobs:
        with (
            _batch_parallel(args) as parallel,
            progress_bar(len(jobs), "image", _show_progress(args)) as bar,
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
                _SAVES.close()  # an interrupted batch: let saves in flight finish first
                remove_partial_files(jobs)
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
        backend = make_backend(args.backend or default_backend())
        n_jobs = args.jobs if args.jobs else -1
        # images as they finish where the backend can say so (multiprocessing cannot)
        streams = getattr(backend, "supports_return_generator", False)
        return_as = "generator_unordered" if streams else "list"
        yield joblib.Parallel(n_jobs=n_jobs, backend=backend, return_as=return_as)
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
        backend = dask_backend()
        yield joblib.Parallel(n_jobs=-1, backend=backend, return_as="generator_unordered")
    finally:
        client.close()


def _estimate(job: BlurJob) -> float:
    """Rough in-process seconds for ``job`` (header only, no decode)."""
    try:
        with Image.open(job.src) as im:
            w, h, bands = im.size[0], im.size[1], len(im.getbands())
    except Exception:
        return 0.0
    spec = resolve_kernel(job.size, job.sigma, allow_zero=True)
    plan = make_plan((h, w, bands), np.dtype(np.uint8), *spec.factors((h, w)))
    return estimated_seconds(plan)


def _comparison(
    original: Image.Image, ours: Image.Image, pillow: Image.Image, ref: np.ndarray
) -> Image.Image:
    """Side by side: crop of original, ours, Pillow, and |Pillow − exact| × 40."""
    w, h = original.size
    box = (w // 2 - w // 8, h // 2 - h // 3, w // 2 + w // 8, h // 2)
    diff = np.abs(np.asarray(pillow, dtype=np.float64) - ref).max(axis=-1)
    heat = Image.fromarray(np.clip(diff * 40, 0, 255).astype(np.uint8), "L").convert("RGB")
    tiles = [
        (original, "original"),
        (ours, "ParallelGaussianFilter (exact)"),
        (pillow, "Pillow GaussianBlur"),
        (heat, "|Pillow - exact| x 40"),
    ]
    cw, ch = box[2] - box[0], box[3] - box[1]
    sheet = Image.new("RGB", (cw * len(tiles), ch + 24), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (tile, label) in enumerate(tiles):
        sheet.paste(tile.crop(box), (i * cw, 24))
        draw.text((i * cw + 6, 5), label, fill=(0, 0, 0))
    return sheet


def _kernels_sheet(original: Image.Image, n_jobs: int | None, backend: str | None) -> Image.Image:
    """Draw the named kernels on a crop of the chart, labelled, in two rows of four."""
    from . import named

    w, h = original.size
    crop = original.crop((w // 2 - w // 6, h // 2 - h // 4, w // 2 + w // 6, h // 2 + h // 4))
    kw: dict[str, Any] = {"n_jobs": n_jobs, "backend": backend}
    tiles = [
        ("original", crop),
        ("box_blur(7)", crop.filter(named.box_blur(7, **kw))),
        ("sharpen()", crop.filter(named.sharpen(**kw))),
        ("unsharp_mask(2, 1.5)", crop.filter(named.unsharp_mask(2, 1.5, **kw))),
        ("sobel('x', 128)", crop.filter(named.sobel("x", 128, **kw))),
        ("sobel('y', 128)", crop.filter(named.sobel("y", 128, **kw))),
        ("laplacian(5)", crop.filter(named.laplacian(5, **kw))),
        ("emboss()", crop.filter(named.emboss(**kw))),
    ]
    cw, ch = crop.size
    sheet = Image.new("RGB", (cw * 4, (ch + 20) * 2), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, tile) in enumerate(tiles):
        x, y = (i % 4) * cw, (i // 4) * (ch + 20)
        sheet.paste(tile, (x, y + 20))
        draw.text((x + 6, y + 4), label, fill=(0, 0, 0))
    return sheet


def _cmd_demo(args: argparse.Namespace) -> int:
    out_dir = Path(args.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out_dir}: cannot create output folder ({e.strerror})") from None
    sigma = args.sigma
    t0 = time.perf_counter()
    original = test_chart(args.width, args.height)
    t_make = time.perf_counter() - t0
    flt = ParallelGaussianFilter(sigma, size=args.size, n_jobs=args.jobs, backend=args.backend)
    t0 = time.perf_counter()
    ours = original.filter(flt)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    pillow = original.filter(ImageFilter.GaussianBlur(sigma))
    t_pillow = time.perf_counter() - t0
    # float64 reference: the same kernel on float64 samples, rounded only at the end
    ref = gaussian_blur(
        np.asarray(original, dtype=np.float64), sigma=sigma, size=args.size, n_jobs=1
    )
    err_ours = np.abs(np.asarray(ours, dtype=np.float64) - np.rint(ref))
    err_pillow = np.abs(np.asarray(pillow, dtype=np.float64) - np.rint(ref))
    paths = {
        name: out_dir / f"{name}.png"
        for name in ("original", "blurred", "pillow", "comparison", "kernels")
    }
    for name, im in (
        ("original", original),
        ("blurred", ours),
        ("pillow", pillow),
        ("comparison", _comparison(original, ours, pillow, ref)),
        ("kernels", _kernels_sheet(original, args.jobs, args.backend)),
    ):
        save_atomic(im, paths[name], "PNG", {})
    print(f"test chart {args.width}x{args.height} made in {t_make:.2f} s")
    print(
        f"{flt!r}: {t_ours:.3f} s; max error {err_ours.max():.0f}, "
        f"{(err_ours == 0).mean():.3%} of samples exact"
    )
    print(
        f"Pillow GaussianBlur({sigma!r}): {t_pillow:.3f} s; max error {err_pillow.max():.0f}, "
        f"{(err_pillow == 0).mean():.3%} of samples exact"
    )
    for name, path in paths.items():
        print(f"{name:>10}: {path}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    plt: Any = None
    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as pyplot

            plt = pyplot
        except ImportError:
            raise UserError(
                "--plot needs matplotlib: pip install 'pil-parallel-blur[plot]'"
            ) from None
    if args.image:
        im = open_checked(Path(args.image), args.max_pixels)
        label = str(args.image)
    else:
        im = test_chart(3000, 2000)
        label = "built-in test chart 3000x2000"
    resolve_kernel(args.size, args.sigma, allow_zero=True)
    jobs = args.jobs or list(range(1, joblib.cpu_count() + 1))
    filters = {
        n: ParallelGaussianFilter(args.sigma, size=args.size, n_jobs=n, backend=args.backend)
        for n in jobs
    }
    times: dict[str, list[float]] = {f"{n}": [] for n in [*jobs, "pillow"]}
    can_pillow = im.mode in ("L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK")
    print(
        f"{label}, {im.mode}, sigma={args.sigma}, {args.reps} runs after a warm-up, "
        f"backend={args.backend or default_backend()}",
        flush=True,
    )
    for rep in range(args.reps + 1):  # the first round warms up workers and caches
        for n, flt in filters.items():
            t0 = time.perf_counter()
            im.filter(flt)
            if rep:
                times[f"{n}"].append(time.perf_counter() - t0)
        if can_pillow:
            t0 = time.perf_counter()
            im.filter(ImageFilter.GaussianBlur(args.sigma))
            if rep:
                times["pillow"].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    base = med[f"{jobs[0]}"]
    rows = []
    print(f"{'workers':>8} {'median s':>10} {'speedup':>8} {'÷ Pillow':>9}")
    for n in jobs:
        t = med[f"{n}"]
        vs = t / med["pillow"] if "pillow" in med else float("nan")
        rows.append(
            {
                "workers": n,
                "median_s": t,
                "speedup": base / t,
                "vs_pillow": vs,
                "runs": times[f"{n}"],
            }
        )
        print(f"{n:>8} {t:>10.4f} {base / t:>7.2f}× {vs:>9.3f}")
    if "pillow" in med:
        print(f"{'Pillow':>8} {med['pillow']:>10.4f}")
    result = {
        "image": label,
        "mode": im.mode,
        "sigma": args.sigma,
        "size": args.size,
        "backend": args.backend or default_backend(),
        "reps": args.reps,
        "rows": rows,
        "pillow_median_s": med.get("pillow"),
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["workers", "median_s", "speedup", "vs_pillow"])
            for r in rows:
                writer.writerow(
                    [
                        r["workers"],
                        f"{r['median_s']:.6f}",
                        f"{r['speedup']:.4f}",
                        f"{r['vs_pillow']:.4f}",
                    ]
                )
    if plt is not None:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(jobs, [r["speedup"] for r in rows], marker="o", label="measured")
        ax.plot(jobs, [n / jobs[0] for n in jobs], "k--", label="ideal")
        ax.set_xlabel("workers")
        ax.set_ylabel(f"speedup over {jobs[0]} worker(s)")
        ax.set_title(f"pil-parallel-blur, sigma={args.sigma!r}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=100)
        plt.close(fig)
    for name in ("json", "csv", "plot"):
        if getattr(args, name):
            print(f"wrote {getattr(args, name)}")
    return 0


# ---------------------------------------------------------------- parsing
def _int_at_least(lowest: int, wording: str) -> Callable[[str], int]:
    """Make an argparse type: an integer ``>= lowest``, with ``wording`` in its errors."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wording}, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"expected {wording}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "an integer >= 0")


def _one_or_pair(text: str, convert: Callable[[str], Any], wording: str) -> Any:
    """``N`` or ``X,Y`` (for --sigma and --size), each part through ``convert``."""
    try:
        parts = [convert(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {wording} or X,Y, got {text!r}") from None
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise argparse.ArgumentTypeError(f"expected {wording} or X,Y, got {text!r}")


def _sigma(text: str) -> float | tuple[float, float]:
    return _one_or_pair(text, float, "a number")


def _size(text: str) -> int | tuple[int, int]:
    return _one_or_pair(text, int, "an odd integer")


def _jobs(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _jobs_list(text: str) -> list[int]:
    try:
        values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 1,2,4, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers like 1,2,4, got {text!r}")
    return values


def _add_kernel_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sigma",
        "--radius",
        type=_sigma,
        default=2.0,
        metavar="S",
        help="standard deviation of the Gaussian, or X,Y (Pillow's radius)",
    )
    p.add_argument(
        "--size",
        type=_size,
        default=None,
        metavar="N",
        help="odd kernel side, or X,Y (default: 2*ceil(3*sigma)+1)",
    )


def _add_parallel_options(p: argparse.ArgumentParser, jobs_help: str) -> None:
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N", help=jobs_help)
    p.add_argument(
        "--backend",
        default=None,
        help="joblib backend: threading, loky, multiprocessing, sequential, dask "
        "(default: threading)",
    )


class _VersionAction(argparse.Action):
    """``--version``: one line with ``info``'s facts."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        facts = info()
        engine = f"native ({facts['simd']})" if facts["native"] else "numpy (no compiled engine)"
        print(
            f"{PROG} {facts['version']}: engine {engine}, default backend "
            f"{facts['default_backend']}, {facts['cpus']} usable CPUs"
        )
        parser.exit(0)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show ``(default: X)`` unless the help already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action) or text


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``pil-parallel-blur``."""
    fmt = _Formatter
    parser = _Parser(
        prog=PROG,
        formatter_class=fmt,
        description="Exact Gaussian blur for Pillow images, in parallel with joblib. "
        "Exit status: 0 all done, 1 some images of a batch failed, 2 bad arguments "
        "or the only image failed.",
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the version and the engine in use (native or NumPy, SIMD level, "
        "default backend, CPUs), then exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    blur = sub.add_parser(
        "blur",
        formatter_class=fmt,
        help="blur image files",
        description="Blur one image (-o) or many (--out-dir; folders are expanded, not "
        "recursively). A batch spreads whole images over the workers. Outputs keep "
        "the format (or take the one of -o's extension), EXIF, ICC profile and DPI; "
        "they are written atomically, and neither inputs nor existing files are "
        "overwritten without --overwrite.",
    )
    blur.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    where = blur.add_mutually_exclusive_group()
    where.add_argument(
        "-o", "--output", default=None, metavar="FILE", help="output file (one input only)"
    )
    where.add_argument(
        "--out-dir",
        default=None,
        metavar="DIR",
        help="output folder (created if missing); outputs keep input names",
    )
    _add_kernel_options(blur)
    _add_parallel_options(blur, "workers (joblib convention, -1 = all CPUs; default: all)")
    blur.add_argument(
        "--quality",
        type=int,
        default=95,
        help="JPEG/WebP/AVIF quality, 1-100 (ignored by lossless formats)",
    )
    blur.add_argument(
        "--overwrite", action="store_true", help="allow replacing existing files, inputs included"
    )
    blur.add_argument(
        "--max-pixels",
        type=_non_negative_int,
        default=DEFAULT_MAX_PIXELS,
        help="refuse larger images (decompression-bomb guard); 0 = no limit",
    )
    blur.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the images on this Dask scheduler (e.g. tcp://host:8786); each worker "
        "reads and writes its images, so the paths must be visible to the workers "
        "(default: local workers)",
    )
    blur.add_argument(
        "--scheduler-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the scheduler",
    )
    blur.add_argument(
        "--refuse-palette",
        action="store_true",
        help="refuse palette (P, PA) and bilevel (1) images; by default they are blurred "
        "as RGB, RGBA or L and saved as the output format allows (a GIF re-quantised)",
    )
    blur.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar and no per-image lines (errors still shown)",
    )
    blur.set_defaults(func=_cmd_blur)

    demo = sub.add_parser(
        "demo",
        formatter_class=fmt,
        help="blur a built-in test chart and compare with Pillow",
        description="Make a test chart in code (no download), blur it with "
        "ParallelGaussianFilter and with Pillow's GaussianBlur, and write the original, "
        "both results, a side-by-side comparison (with timings and errors) and the "
        "named kernels (box blur, sharpen, unsharp mask, Sobel, Laplacian, emboss) "
        "on a crop of the chart.",
    )
    demo.add_argument(
        "--out-dir",
        default="pil-parallel-blur-demo",
        metavar="DIR",
        help="folder for the pictures (created if missing)",
    )
    _add_kernel_options(demo)
    _add_parallel_options(demo, "workers (joblib convention, -1 = all CPUs; default: all)")
    demo.add_argument("--width", type=_positive_int, default=1200, help="chart width")
    demo.add_argument("--height", type=_positive_int, default=800, help="chart height")
    demo.set_defaults(func=_cmd_demo)

    bench = sub.add_parser(
        "bench",
        formatter_class=fmt,
        help="time the filter for several worker counts",
        description="Time ParallelGaussianFilter for each worker count, with Pillow's "
        "GaussianBlur beside it (interleaved, median of --reps runs after a warm-up); "
        "print a table, and write CSV, JSON and a speedup chart if asked.",
    )
    bench.add_argument(
        "image",
        nargs="?",
        default=None,
        metavar="IMAGE",
        help="image to time (default: a built-in 3000x2000 test chart)",
    )
    bench.add_argument(
        "--jobs",
        type=_jobs_list,
        default=None,
        metavar="1,2,4",
        help="worker counts to time (default: 1 up to the CPU count)",
    )
    bench.add_argument(
        "--backend",
        default=None,
        help="joblib backend (default: threading)",
    )
    _add_kernel_options(bench)
    bench.add_argument("--reps", type=_positive_int, default=5, help="timed runs per count")
    bench.add_argument(
        "--csv", default=None, metavar="FILE", help="write the table as CSV (default: not written)"
    )
    bench.add_argument(
        "--json",
        default=None,
        metavar="FILE",
        help="write all runs as JSON (default: not written)",
    )
    bench.add_argument(
        "--plot",
        default=None,
        metavar="FILE.png",
        help="write a speedup chart, needs the plot extra: matplotlib (default: not written)",
    )
    bench.add_argument(
        "--max-pixels",
        type=_non_negative_int,
        default=DEFAULT_MAX_PIXELS,
        help="refuse larger images; 0 = no limit",
    )
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we refuse, not warn
    previous = _on_sigterm(_raise_terminated)
    _SAVES.reopen()  # closed at the end of an earlier batch in this process
    try:
        return int(args.func(args))
    except (UserError, ValueError, TypeError, OSError, ImportError) as e:
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        _on_sigterm(previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: workers stopped, partial files removed, one line."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _on_sigterm(handler: Any) -> Any:
    """Install a SIGTERM handler (main thread only); return the previous one."""
    if threading.current_thread() is not threading.main_thread() or handler is None:
        return None
    return signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
