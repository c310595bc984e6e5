"""The NumPy engine (no compiled extension) against Pillow's ``GaussianBlur``.

    python benchmarks/numpy_engine.py                 # 24 MP RGB, σ 2, 8, 11, 16, 25, 64
    python benchmarks/numpy_engine.py --sigma 8 --runs 5

Runs with ``PIL_PARALLEL_BLUR_ENGINE=numpy`` (set before the package is
imported): the engine a machine without a C compiler gets. For each σ, the
medians of ``--runs`` runs after a warm-up, each peer's run interleaved
with the others': ``Image.filter(ParallelGaussianFilter(σ, n_jobs=2))``,
``gaussian_blur`` on the same array, and Pillow's own blur; then both ÷
Pillow. Past σ ≈ 12 on this image the engine takes its spectral passes (the
NumPy twin of the compiled transform), below that its direct passes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ["PIL_PARALLEL_BLUR_ENGINE"] = "numpy"

import numpy as np
from PIL import ImageFilter

import pil_parallel_blur
from pil_parallel_blur import ParallelGaussianFilter, gaussian_blur
from pil_parallel_blur.about import cpu_model
from pil_parallel_blur.testimage import test_chart


def main() -> None:
    """Time each σ and print the table, headed by the machine."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sigma", type=float, nargs="*", default=[2, 8, 11, 16, 25, 64])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    args = parser.parse_args()
    info = pil_parallel_blur.info()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, engine {info['engine']}")
    im = test_chart(6000, 4000)
    im.load()
    a = np.asarray(im)
    print("| σ | Image.filter | array | Pillow | Image.filter ÷ Pillow | array ÷ Pillow |")
    print("|---|---|---|---|---|---|")
    for sigma in args.sigma:
        peers = {
            "filter": lambda s=sigma: im.filter(ParallelGaussianFilter(s, n_jobs=2)),
            "array": lambda s=sigma: gaussian_blur(a, s, n_jobs=2),
            "pillow": lambda s=sigma: im.filter(ImageFilter.GaussianBlur(s)),
        }
        times: dict[str, list[float]] = {name: [] for name in peers}
        for run in range(args.runs + 1):
            for name, fn in peers.items():
                t0 = time.perf_counter()
                fn()
                if run:  # the first is the warm-up
                    times[name].append(time.perf_counter() - t0)
        f, r, p = (statistics.median(times[name]) for name in peers)
        print(f"| {sigma:g} | {f:.3f} s | {r:.3f} s | {p:.3f} s | {f / p:.2f} | {r / p:.2f} |")


if __name__ == "__main__":
    main()
