"""``pil-parallel-blur demo``: a built-in test chart, blurred and compared with Pillow.

Tests: test_cli_demo.py.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..blur import gaussian_blur
from ..filters import ParallelGaussianFilter
from ..testimage import test_chart
from .common import UserError
from .files import save_atomic

__all__ = ["demo_command"]


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
    from .. import named

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


def demo_command(args: argparse.Namespace) -> int:
    """Run ``demo``: blur the test chart both ways and write the pictures."""
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
