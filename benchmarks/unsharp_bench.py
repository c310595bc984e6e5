"""Unsharp masking against Pillow's ``UnsharpMask``, both families, through ``Image.filter``.

    python benchmarks/unsharp_bench.py                  # 24 MP RGB test chart, 5 runs
    PIL_PARALLEL_BLUR_SIMD=avx2 python benchmarks/unsharp_bench.py

``ParallelUnsharpMask`` (the exact blur, Pillow's rule) on 1 and 2 workers
and ``pillow.UnsharpMask`` (Pillow's bytes) on 2, each against Pillow's
``UnsharpMask(2, 150, 3)``: medians after a warm-up, all four interleaved in
every repetition. Prints the machine with the table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from PIL import ImageFilter

import pil_parallel_blur
from pil_parallel_blur import ParallelUnsharpMask, pillow
from pil_parallel_blur.about import cpu_model
from pil_parallel_blur.testimage import test_chart


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    info = pil_parallel_blur.info()
    print(f"machine: {cpu_model()}, {info['cpus']} usable CPUs, engine {info['engine']} "
          f"({info['simd']})")  # fmt: skip
    im = test_chart(6000, 4000)
    calls: dict[str, Callable[[], object]] = {
        "Pillow UnsharpMask": lambda: im.filter(ImageFilter.UnsharpMask(2, 150, 3)),
        "ParallelUnsharpMask, 1 worker": lambda: im.filter(
            ParallelUnsharpMask(2, 150, 3, n_jobs=1)
        ),
        "ParallelUnsharpMask, 2 workers": lambda: im.filter(
            ParallelUnsharpMask(2, 150, 3, n_jobs=2)
        ),
        "pillow.UnsharpMask, 2 workers": lambda: im.filter(
            pillow.UnsharpMask(2, 150, 3, n_jobs=2)
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in calls}
    for rep in range(args.reps + 1):
        for name, call in calls.items():
            t0 = time.perf_counter()
            call()
            if rep:
                times[name].append(time.perf_counter() - t0)
    theirs = statistics.median(times["Pillow UnsharpMask"])
    print(f"24 MP RGB test chart, UnsharpMask(2, 150, 3), medians of {args.reps}")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"{name:<32}{median:>8.3f} s  ÷ Pillow {median / theirs:.2f}")


if __name__ == "__main__":
    main()
