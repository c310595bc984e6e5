"""Dask (local 2-worker cluster) vs loky vs threads, same run, medians of 5.

    python benchmarks/dask_bench.py          # needs the dask and bench extras

Prints a Markdown table for docs/scaling.md, with the bytes each band ships.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from distributed import Client, LocalCluster

from pil_parallel_blur import gaussian_blur
from pil_parallel_blur.engine import plan_correlation, rows_read
from pil_parallel_blur.kernels import from_terms, resolve_kernel
from pil_parallel_blur.parallel import cut_tiles
from pil_parallel_blur.testimage import test_chart


def shipped_bytes(shape: tuple[int, int, int], size: int, sigma: float, workers: int) -> int:
    """Bytes sent to and from the workers: each tile's source rows out, its values back."""
    factors = resolve_kernel(size, sigma).factors(shape)
    plan = plan_correlation(shape, np.dtype(np.uint8), from_terms([factors]))
    row = shape[1] * shape[2]
    sent = 0
    for tile in cut_tiles(plan, workers):
        first, last = rows_read(plan, tile.top, tile.bottom)
        sent += (last - first) * row
    return sent + shape[0] * row


def main() -> None:
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    )
    client = Client(cluster)
    rows = []
    for label, (w, h) in {"3 MP": (2000, 1500), "24 MP": (6000, 4000)}.items():
        a = np.asarray(test_chart(w, h))
        for setting, (size, sigma) in {"a": (7, 2.0), "b": (49, 8.0)}.items():
            runs: dict[str, list[float]] = {"dask": [], "loky": [], "threading": []}
            for rep in range(6):
                for backend in runs:
                    t0 = time.perf_counter()
                    gaussian_blur(a, sigma=sigma, size=size, n_jobs=2, backend=backend)
                    if rep:
                        runs[backend].append(time.perf_counter() - t0)
            med = {k: statistics.median(v) for k, v in runs.items()}
            mb = shipped_bytes(a.shape, size, sigma, 2) / 1e6
            rows.append((label, setting, med, mb, a.nbytes / 1e6))
    print(
        "| image | setting | Dask, 2 workers | loky, 2 | threads, 2 | Dask ÷ loky | "
        "MB shipped (image MB) |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, setting, med, mb, img in rows:
        print(
            f"| {label} | {setting} | {med['dask']:.3f} | {med['loky']:.3f} | "
            f"{med['threading']:.3f} | {med['dask'] / med['loky']:.2f} | {mb:.0f} ({img:.0f}) |"
        )
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
