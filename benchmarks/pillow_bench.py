"""Benchmark the Pillow-identical family (``pil_parallel_blur.pillow``) against Pillow.

    python benchmarks/pillow_bench.py               # 24 MP RGB, 5 runs (~2 min on 2 cores)
    python benchmarks/pillow_bench.py --quick       # 3 MP, 3 runs
    PIL_PARALLEL_BLUR_SIMD=avx2 python benchmarks/pillow_bench.py   # a lower SIMD level

Every figure is a median after a warm-up, ours and Pillow's interleaved in
each repetition, so the ratios compare runs made under the same load. Prints
the machine (CPU model, SIMD levels of both compiled modules) with every
table, checks that every result is Pillow's bytes, and writes
``benchmarks/results/pillow.json``. Also measures how far each family is
from the exact float64 Gaussian (on a 3 MP crop), for the docs' "which to use".
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

import pil_parallel_blur
from pil_parallel_blur import ParallelGaussianFilter, gaussian_blur, pillow
from pil_parallel_blur.about import cpu_model
from pil_parallel_blur.engine import native
from pil_parallel_blur.testimage import test_chart

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    info = pil_parallel_blur.info()
    box = native.loaded.box.simd_level() if native.loaded.box is not None else "numpy"
    return (
        f"{cpu_model()}, {info['cpus']} usable CPUs, exact engine {info['engine']} "
        f"({info['simd']}), Pillow-identical passes {box}, Pillow {Image.__version__}"
    )


def median_times(calls: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """Median seconds of each call, interleaved, after one warm-up round."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for rep in range(reps + 1):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            t0 = time.perf_counter()
            calls[name]()
            if rep:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 MP, 3 runs")
    parser.add_argument("--reps", type=int, default=None)
    args = parser.parse_args()
    reps = args.reps or (3 if args.quick else 5)
    width, height = (2000, 1500) if args.quick else (6000, 4000)
    im = test_chart(width, height)
    print(f"machine: {machine()}")
    print(f"image: built-in test chart {width}x{height} RGB, {reps} runs after a warm-up")
    cases = {
        "GaussianBlur(2)": (
            lambda n: pillow.GaussianBlur(2, n_jobs=n),
            ImageFilter.GaussianBlur(2),
        ),
        "GaussianBlur(50)": (
            lambda n: pillow.GaussianBlur(50, n_jobs=n),
            ImageFilter.GaussianBlur(50),
        ),
        "BoxBlur(2)": (lambda n: pillow.BoxBlur(2, n_jobs=n), ImageFilter.BoxBlur(2)),
        "BoxBlur(500)": (lambda n: pillow.BoxBlur(500, n_jobs=n), ImageFilter.BoxBlur(500)),
        "UnsharpMask(2, 150, 3)": (
            lambda n: pillow.UnsharpMask(2, 150, 3, n_jobs=n),
            ImageFilter.UnsharpMask(2, 150, 3),
        ),
    }
    rows = []
    print(
        f"{'filter':<24}{'Pillow s':>10}{'1 worker':>10}{'2 workers':>11}"
        f"{'÷ Pillow (2)':>14}{'2 ÷ 1':>8}  identical"
    )
    for name, (ours, theirs) in cases.items():
        t = median_times(
            {
                "pillow": lambda theirs=theirs: im.filter(theirs),
                "1": lambda ours=ours: im.filter(ours(1)),
                "2": lambda ours=ours: im.filter(ours(2)),
            },
            reps,
        )
        same = im.filter(ours(2)).tobytes() == im.filter(theirs).tobytes()
        row = {
            "filter": name,
            "pillow_s": t["pillow"],
            "one_s": t["1"],
            "two_s": t["2"],
            "ratio_two": t["2"] / t["pillow"],
            "speedup": t["1"] / t["2"],
            "identical": same,
        }
        rows.append(row)
        print(
            f"{name:<24}{t['pillow']:>10.3f}{t['1']:>10.3f}{t['2']:>11.3f}"
            f"{row['ratio_two']:>14.3f}{row['speedup']:>7.2f}×  {same}"
        )
    box = {r["filter"]: r["two_s"] for r in rows}
    radius_ratio = box["BoxBlur(500)"] / box["BoxBlur(2)"]
    print(f"cost at radius 500 ÷ cost at radius 2 (BoxBlur, 2 workers): {radius_ratio:.2f}")

    # how far each family is from the exact float64 Gaussian (3 MP crop)
    crop = im.crop((0, 0, min(width, 2000), min(height, 1500)))
    a = np.asarray(crop)
    accuracy = []
    for sigma in (2.0, 8.0, 25.0):
        ref = gaussian_blur(a.astype(np.float64), sigma, n_jobs=-1)
        ref = np.clip(np.rint(ref), 0, 255)
        for family, flt in (
            ("exact (ParallelGaussianFilter)", ParallelGaussianFilter(sigma)),
            ("Pillow-identical (pillow.GaussianBlur)", pillow.GaussianBlur(sigma)),
        ):
            out = np.asarray(crop.filter(flt), dtype=np.float64)
            err = np.abs(out - ref)
            accuracy.append(
                {
                    "sigma": sigma,
                    "family": family,
                    "max_error": float(err.max()),
                    "identical": float((err == 0).mean()),
                }
            )
            print(
                f"σ {sigma:>4g}  {family:<40} max error {err.max():>3.0f}, "
                f"{(err == 0).mean():.3%} identical to the float64 reference"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "image": f"{width}x{height} RGB",
        "reps": reps,
        "rows": rows,
        "radius_500_over_2": radius_ratio,
        "accuracy": accuracy,
    }
    level = native.loaded.box.simd_level() if native.loaded.box is not None else "numpy"
    name = "pillow.json" if not args.quick else "pillow-quick.json"
    (RESULTS / name.replace(".json", f"-{level}.json")).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
