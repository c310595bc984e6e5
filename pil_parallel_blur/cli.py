"""Command line: ``pil-parallel-blur demo`` (and, as they land, ``blur`` and ``bench``).

Every failure the user can cause ends in one line on stderr and exit status 2
(1 for internal errors), never a traceback (SPEC §7).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .blur import gaussian_blur
from .filters import ParallelGaussianFilter
from .testimage import test_chart

__all__ = ["main"]


class UserError(Exception):
    """An error the user can fix; printed as one line."""


def _save_atomic(image: Image.Image, path: Path, **params: object) -> None:
    """Save via a temporary file in the same folder, then rename."""
    tmp = path.with_name(f".{path.name}.partial-{id(image):x}{path.suffix}")
    try:
        image.save(tmp, format=Image.registered_extensions().get(path.suffix.lower()), **params)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


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


def _cmd_demo(args: argparse.Namespace) -> int:
    out_dir = Path(args.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create output folder {out_dir}: {e.strerror}") from e
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
    # float64 reference: the same kernel applied to float64 samples, no rounding
    ref = gaussian_blur(
        np.asarray(original, dtype=np.float64), sigma=sigma, size=args.size, n_jobs=1
    )
    err_ours = np.abs(np.asarray(ours, dtype=np.float64) - np.rint(ref))
    err_pillow = np.abs(np.asarray(pillow, dtype=np.float64) - np.rint(ref))
    paths = {
        name: out_dir / f"{name}.png" for name in ("original", "blurred", "pillow", "comparison")
    }
    _save_atomic(original, paths["original"])
    _save_atomic(ours, paths["blurred"])
    _save_atomic(pillow, paths["pillow"])
    _save_atomic(_comparison(original, ours, pillow, ref), paths["comparison"])
    print(f"test chart {args.width}x{args.height} made in {t_make:.2f} s")
    print(
        f"{flt!r}: {t_ours:.3f} s; max error {err_ours.max():.0f}, "
        f"{(err_ours == 0).mean():.3%} of samples exact"
    )
    print(
        f"Pillow GaussianBlur({sigma}): {t_pillow:.3f} s; max error {err_pillow.max():.0f}, "
        f"{(err_pillow == 0).mean():.3%} of samples exact"
    )
    for name, path in paths.items():
        print(f"{name:>10}: {path}")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _jobs(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``pil-parallel-blur``."""
    parser = argparse.ArgumentParser(
        prog="pil-parallel-blur",
        description="Exact Gaussian blur for Pillow images, in parallel with joblib.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="blur a built-in test chart and compare with Pillow",
        description="Make a test chart in code (no download), blur it with "
        "ParallelGaussianFilter and with Pillow's GaussianBlur, and write the original, "
        "both results and a side-by-side comparison.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.add_argument(
        "--out-dir",
        default="pil-parallel-blur-demo",
        help="folder for the pictures (created if missing)",
    )
    demo.add_argument(
        "--sigma", "--radius", type=_number, default=2.0, help="standard deviation of the Gaussian"
    )
    demo.add_argument(
        "--size",
        type=_positive_int,
        default=None,
        help="odd kernel side (default: 2*ceil(3*sigma)+1)",
    )
    demo.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        help="workers, joblib convention (-1 = all CPUs; default all)",
    )
    demo.add_argument(
        "--backend",
        default=None,
        help="joblib backend: loky, threading, multiprocessing, sequential",
    )
    demo.add_argument("--width", type=_positive_int, default=1200, help="chart width")
    demo.add_argument("--height", type=_positive_int, default=800, help="chart height")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (UserError, ValueError, TypeError, OSError, ImportError) as e:
        print(f"pil-parallel-blur: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pil-parallel-blur: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
