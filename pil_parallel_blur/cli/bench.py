"""``pil-parallel-blur bench``: time the filter for several worker counts beside Pillow.

Tests: test_cli.py, test_cli_messages.py.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path
from typing import Any

import joblib
from PIL import ImageFilter

from .. import pillow
from ..filters import ParallelGaussianFilter
from ..kernels import resolve_kernel
from ..parallel import default_backend
from ..testimage import test_chart
from .common import UserError, shown
from .files import open_checked
from .jobs import PALETTE_OR_BILEVEL, working_mode

#: The modes Pillow's own GaussianBlur takes.
PILLOW_BLUR_MODES = ("L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK")

__all__ = ["bench_command"]


def bench_command(args: argparse.Namespace) -> int:
    """Run ``bench``: time each worker count and Pillow, print and write the table."""
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
        label = shown(args.image)
        if im.mode in PALETTE_OR_BILEVEL:  # as blur does: the frame shown, in L, RGB or RGBA
            im = im.convert(working_mode(im))
    else:
        im = test_chart(3000, 2000)
        label = "built-in test chart 3000x2000"
    resolve_kernel(args.size, args.sigma, allow_zero=True)
    jobs = args.jobs or list(range(1, joblib.cpu_count() + 1))
    if args.pillow and args.size is not None:
        raise UserError("--pillow takes no --size: Pillow's GaussianBlur sizes its boxes itself")
    filters: dict[int, Any] = {
        n: (
            pillow.GaussianBlur(args.sigma, n_jobs=n, backend=args.backend)
            if args.pillow
            else ParallelGaussianFilter(args.sigma, size=args.size, n_jobs=n, backend=args.backend)
        )
        for n in jobs
    }
    times: dict[str, list[float]] = {f"{n}": [] for n in [*jobs, "pillow"]}
    can_pillow = im.mode in PILLOW_BLUR_MODES
    runs = "1 run" if args.reps == 1 else f"{args.reps} runs"
    family = "pil_parallel_blur.pillow.GaussianBlur" if args.pillow else "ParallelGaussianFilter"
    print(
        f"{family}, {label}, {im.mode}, sigma={args.sigma}, {runs} after a warm-up, "
        f"backend={args.backend or default_backend()}",
        flush=True,
    )
    if not can_pillow:
        print(f"Pillow cannot blur mode {im.mode!r} images: no Pillow column", flush=True)
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
    pillow_column = f" {'÷ Pillow':>9}" if "pillow" in med else ""
    print(f"{'workers':>8} {'median s':>10} {'speedup':>8}{pillow_column}")
    for n in jobs:
        t = med[f"{n}"]
        vs = t / med["pillow"] if "pillow" in med else None
        rows.append(
            {
                "workers": n,
                "median_s": t,
                "speedup": base / t,
                "vs_pillow": vs,
                "runs": times[f"{n}"],
            }
        )
        ratio = f" {vs:>9.3f}" if vs is not None else ""
        print(f"{n:>8} {t:>10.4f} {base / t:>7.2f}×{ratio}")
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
                        "" if r["vs_pillow"] is None else f"{r['vs_pillow']:.4f}",
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
