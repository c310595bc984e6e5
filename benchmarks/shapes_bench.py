"""Small images and degenerate shapes, with the package's defaults.

    python benchmarks/shapes_bench.py

Two Markdown tables for docs/benchmarks.md, medians of 7 after a warm-up,
the cases interleaved, σ 2 (size 7), uint8:

* small RGB test charts, 1 worker against 2 threads, back to back and after
  20 ms of idle before each call (whether the package runs them in-process or
  on its thread pool is its own choice, as for a user);
* a square image, a 1-pixel-wide column and a single row of 8 M pixels each
  (one channel), 1 and 2 workers (threads).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from pil_parallel_blur import gaussian_blur
from pil_parallel_blur.testimage import test_chart

PIXELS = 2828 * 2828


def _median_times(
    images: dict[str, np.ndarray], idle: float = 0.0
) -> dict[tuple[str, int], float]:
    """Median seconds per (image, workers); ``idle``: seconds of sleep before each call."""
    times: dict[tuple[str, int], list[float]] = {}
    for rep in range(8):
        for workers in (1, 2):
            for name, a in images.items():
                time.sleep(idle)
                t0 = time.perf_counter()
                gaussian_blur(a, sigma=2, size=7, n_jobs=workers, backend="threading")
                if rep:
                    times.setdefault((name, workers), []).append(time.perf_counter() - t0)
    return {key: statistics.median(runs) for key, runs in times.items()}


def small_images() -> None:
    sides = (256, 512, 724, 1024, 2048)
    images = {f"{s}x{s} RGB": np.asarray(test_chart(s, s)) for s in sides}
    busy, idle = _median_times(images), _median_times(images, idle=0.02)
    print("| image (σ 2) | 1 worker | 2 threads | 1 worker, after 20 ms idle | 2 threads, idem |")
    print("|---|---|---|---|---|")
    for name in images:
        cells = [f"{m[(name, w)] * 1e3:.2f} ms" for m in (busy, idle) for w in (1, 2)]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    small_images()
    print()
    rng = np.random.default_rng(0)
    shapes = {
        "square 2828 × 2828": (2828, 2828),
        "column 1 × 8 M": (PIXELS, 1),
        "row 8 M × 1": (1, PIXELS),
    }
    images = {name: rng.integers(0, 256, shape, dtype=np.uint8) for name, shape in shapes.items()}
    med = _median_times(images)
    print("| shape (8 M pixels, σ 2) | 1 worker | 2 workers |")
    print("|---|---|---|")
    for name in images:
        print(f"| {name} | {med[(name, 1)]:.4f} s | {med[(name, 2)]:.4f} s |")


if __name__ == "__main__":
    main()
