"""Peak memory of one blur above the loaded image, ours against Pillow's.

    python benchmarks/memory.py              # 24 MP RGB test chart, σ 64, 3 runs each
    python benchmarks/memory.py --sigma 2 --runs 5

Every run is a fresh process: it builds the chart (a NumPy array and a Pillow
image of it), notes its resident memory, blurs once, and reports its peak
resident memory (``VmHWM``, reset before the blur through
``/proc/self/clear_refs``; Linux) above that. Cases: ``Image.filter`` with
``ParallelGaussianFilter`` and with ``pillow.GaussianBlur`` (2 threads), the
array function ``gaussian_blur`` (2 threads), and Pillow's own
``GaussianBlur``. Prints the machine and the medians; peak ÷ Pillow's is the
figure docs/benchmarks.md quotes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

RUN = """
import json, sys, time
import numpy as np
from PIL import ImageFilter
from pil_parallel_blur import ParallelGaussianFilter, gaussian_blur, pillow
from pil_parallel_blur.testimage import test_chart

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise OSError(key + " not in /proc/self/status")

case, sigma = sys.argv[1], float(sys.argv[2])
im = test_chart(6000, 4000)
im.load()
a = np.asarray(im)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # the peak so far (building the chart) forgotten: VmHWM = VmRSS
base = status("VmRSS:")
t0 = time.perf_counter()
if case == "Image.filter, ParallelGaussianFilter":
    im.filter(ParallelGaussianFilter(sigma, n_jobs=2))
elif case == "Image.filter, pillow.GaussianBlur":
    im.filter(pillow.GaussianBlur(sigma, n_jobs=2))
elif case == "gaussian_blur (array)":
    gaussian_blur(a, sigma, n_jobs=2)
else:
    im.filter(ImageFilter.GaussianBlur(sigma))
seconds = time.perf_counter() - t0
print(json.dumps({"peak": status("VmHWM:") - base, "seconds": seconds}))
"""

CASES = [
    "Image.filter, ParallelGaussianFilter",
    "Image.filter, pillow.GaussianBlur",
    "gaussian_blur (array)",
    "Pillow GaussianBlur",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigma", type=float, default=64.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import pil_parallel_blur
    from pil_parallel_blur.about import cpu_model

    info = pil_parallel_blur.info()
    print(
        f"machine: {cpu_model()}, {info['cpus']} usable CPUs, engine {info['engine']} "
        f"({info['simd']})"
    )
    print(f"24 MP RGB test chart (72 MB), σ {args.sigma:g}, {args.runs} fresh processes each")
    peaks: dict[str, float] = {}
    for case in CASES:
        runs = []
        for _ in range(args.runs):
            done = subprocess.run(
                [sys.executable, "-c", RUN, case, str(args.sigma)],
                capture_output=True, text=True, check=True, timeout=600,
            )  # fmt: skip
            runs.append(json.loads(done.stdout.strip().splitlines()[-1])["peak"])
        peaks[case] = statistics.median(runs)
    pillow = peaks["Pillow GaussianBlur"]
    for case, peak in peaks.items():
        print(
            f"{case:<38} peak above the image {peak / 1e6:6.0f} MB, ÷ Pillow {peak / pillow:.2f}"
        )


if __name__ == "__main__":
    main()
