"""The command line's arguments: value types, shared options, the parser.

Tests: test_cli.py, test_docs.py.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

from ..about import info
from .bench import bench_command
from .blur import blur_command
from .common import DEFAULT_MAX_PIXELS, PROG
from .demo import demo_command

__all__ = ["build_parser"]


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


_T = TypeVar("_T")


def _one_or_pair(text: str, convert: Callable[[str], _T], wording: str) -> _T | tuple[_T, _T]:
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
        "--pillow",
        action="store_true",
        help="blur with Pillow's own GaussianBlur arithmetic (its exact bytes, on every "
        "core) instead of the true Gaussian; Pillow's modes only, no --size",
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
    blur.set_defaults(func=blur_command)

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
    demo.set_defaults(func=demo_command)

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
    bench.add_argument(
        "--pillow",
        action="store_true",
        help="time pil_parallel_blur.pillow.GaussianBlur (Pillow's bytes) instead of "
        "ParallelGaussianFilter",
    )
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
    bench.set_defaults(func=bench_command)
    return parser
