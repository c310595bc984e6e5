"""Time the copies ``Image.filter`` adds around the blur, with Pillow's freed blocks kept or not.

    python benchmarks/pillow_copies.py            # 24 MP RGB, σ 2, 2 threads, 7 runs
    PIL_PARALLEL_BLUR_SIMD=avx2 python benchmarks/pillow_copies.py

Each setting runs in a fresh process (Pillow's block cache is process-wide):
by default (Pillow frees an image's 16 MB blocks when it goes) and with
``Image.core.set_blocks_max(32)`` (``PILLOW_BLOCKS_MAX=32``: freed blocks are
kept for the next image). Prints, per setting, the medians of
``Image.filter``, of ``gaussian_blur`` on the same array, their difference,
and ``Image.filter`` ÷ Pillow's ``GaussianBlur`` measured in the same process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable


def _median(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(keep_blocks: bool, runs: int, sigma: float) -> str:
    """Time one setting in this process; return its line."""
    import numpy as np
    from PIL import Image, ImageFilter

    from pil_parallel_blur import ParallelGaussianFilter, gaussian_blur
    from pil_parallel_blur.testimage import test_chart

    if keep_blocks:
        Image.core.set_blocks_max(32)  # type: ignore[attr-defined]
    im = test_chart(6000, 4000)
    im.load()
    a = np.asarray(im)
    flt = ParallelGaussianFilter(sigma, n_jobs=2)
    image = _median(lambda: im.filter(flt), runs)
    array = _median(lambda: gaussian_blur(a, sigma, n_jobs=2), runs)
    pillow = _median(lambda: im.filter(ImageFilter.GaussianBlur(sigma)), 3)
    name = "blocks kept" if keep_blocks else "default    "
    return (
        f"{name}: Image.filter {image * 1e3:6.1f} ms, array {array * 1e3:6.1f} ms, "
        f"difference {(image - array) * 1e3:5.1f} ms, ÷ Pillow {image / pillow:.3f}"
    )


def main() -> None:
    """Run each setting in a fresh process, twice, alternating; print the lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sigma", type=float, default=2.0)
    parser.add_argument("--child", choices=["default", "kept"])
    args = parser.parse_args()
    if args.child:
        print(measure(args.child == "kept", args.runs, args.sigma), flush=True)
        return
    import pil_parallel_blur
    from pil_parallel_blur.about import cpu_model

    info = pil_parallel_blur.info()
    engine = f"{info['engine']} ({info['simd']})"
    print(f"machine: {cpu_model()}, {info['cpus']} usable CPUs, engine {engine}")
    print(f"24 MP RGB test chart, sigma {args.sigma}, 2 threads, {args.runs} runs, medians")
    for _ in range(2):
        for child in ("default", "kept"):
            cmd = [sys.executable, __file__, "--child", child, "--runs", str(args.runs)]
            cmd += ["--sigma", str(args.sigma)]
            subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
