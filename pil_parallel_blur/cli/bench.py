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
from PIL import Image, ImageFilter

from .. import pillow
from ..filters import ParallelGaussianFilter
from ..kernels import resolve_kernel
from ..parallel import default_backend
from ..pillow import PILLOW_MODES
from ..testimage import test_chart
from .common import UserError, shown
from .files import open_checked
from .jobs import PALETTE_OR_BILEVEL, working_mode

__all__ = ["bench_command"]


def bench_command(args: argparse.Namespace) -> int:
    """Run ``bench``: time each worker count and Pillow, print and write the table."""
    plt = _pyplot() if args.plot else None
    im, label = _bench_image(args)
    resolve_kernel(args.size, args.sigma, allow_zero=True)
    jobs = args.jobs or list(range(1, joblib.cpu_count() + 1))
    if args.pillow and args.size is not None:
        raise UserError("--pillow takes no --size: Pillow's GaussianBlur sizes its boxes itself")
    can_pillow = im.mode in PILLOW_MODES
    runs = "1 run" if args.reps == 1 else f"{args.reps} runs"
    family = "pil_parallel_blur.pillow.GaussianBlur" if args.pillow else "ParallelGaussianFilter"
    print(
        f"{family}, {label}, {im.mode}, sigma={args.sigma}, {runs} after a warm-up, "
        f"backend={args.backend or default_backend()}",
        flush=True,
    )
    if not can_pillow:
        print(f"Pillow cannot blur mode {im.mode!r} images: no Pillow column", flush=True)
    times = _time_filters(im, args, jobs, can_pillow)
    rows = _print_table(jobs, times)
    result = {
        "image": label,
        "mode": im.mode,
        "sigma": args.sigma,
        "size": args.size,
        "backend": args.backend or default_backend(),
        "reps": args.reps,
        "rows": rows,
        "pillow_median_s": statistics.median(times["pillow"]) if times["pillow"] else None,
    }
    _write(args, result, rows, jobs, plt)
    return 0


def _pyplot() -> Any:
    """Return ``matplotlib.pyplot`` on the Agg backend, or say how to install it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot
    except ImportError:
        raise UserError("--plot needs matplotlib: pip install 'pil-parallel-blur[plot]'") from None
    return pyplot


def _bench_image(args: argparse.Namespace) -> tuple[Image.Image, str]:
    """Return the image to time and how to name it: the one given, or the test chart."""
    if not args.image:
        return test_chart(3000, 2000), "built-in test chart 3000x2000"
    im = open_checked(Path(args.image), args.max_pixels)
    if im.mode in PALETTE_OR_BILEVEL:  # as blur does: the frame shown, in L, RGB or RGBA
        im = im.convert(working_mode(im))
    return im, shown(args.image)


def _time_filters(
    im: Image.Image, args: argparse.Namespace, jobs: list[int], can_pillow: bool
) -> dict[str, list[float]]:
    """Time each worker count (and Pillow), ``args.reps`` rounds after a warm-up round."""
    filters: dict[int, Any] = {
        n: (
            pillow.GaussianBlur(args.sigma, n_jobs=n, backend=args.backend)
            if args.pillow
            else ParallelGaussianFilter(args.sigma, size=args.size, n_jobs=n, backend=args.backend)
        )
        for n in jobs
    }
    times: dict[str, list[float]] = {f"{n}": [] for n in [*jobs, "pillow"]}
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
    return times


def _print_table(jobs: list[int], times: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Print the medians, speed-ups and ratios to Pillow; return them as rows."""
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
    return rows


def _write(
    args: argparse.Namespace,
    result: dict[str, Any],
    rows: list[dict[str, Any]],
    jobs: list[int],
    plt: Any,
) -> None:
    """Write the JSON, CSV and plot asked for, and say so."""
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["workers", "median_s", "speedup", "vs_pillow"])
            for r in rows:
                vs = "" if r["vs_pillow"] is None else f"{r['vs_pillow']:.4f}"
                writer.writerow([r["workers"], f"{r['median_s']:.6f}", f"{r['speedup']:.4f}", vs])
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
