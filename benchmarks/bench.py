"""Benchmark pil-parallel-blur against its peers (docs/benchmarks.md says how).

    python benchmarks/bench.py            # full run (~15 min on 2 cores)
    python benchmarks/bench.py --quick    # 3 MP only, fewer runs (< 1 min)
    python benchmarks/bench.py --scaling-only   # both families, 1, 2, 4, ... workers (~1 min on 2)
    python benchmarks/bench.py --sweep-only     # σ 2–200 against Pillow and OpenCV (~3 min)

Needs the ``bench`` extra: ``pip install -e '.[bench]'``.

Every figure is the median of ``--reps`` runs after a warm-up; peers are
interleaved within each repetition (the order rotates), so ratios compare runs
made under the same machine load. Cold figures are first calls in a fresh
process (imports excluded, worker start-up included). Writes
``docs/benchmark-results.md``, ``docs/img/*.png`` and
``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"

try:
    import cv2
    import matplotlib
    import psutil  # noqa: F401  (the cold runs use it)
    import scipy
    from scipy import ndimage
except ImportError as e:  # pragma: no cover - message for the user
    sys.exit(f"benchmarks need the bench extra: pip install -e '.[bench]' ({e})")

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import PIL  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

import pil_parallel_blur  # noqa: E402
from pil_parallel_blur import ParallelGaussianFilter, gaussian_blur, pillow  # noqa: E402
from pil_parallel_blur.about import cpu_model, usable_cpus  # noqa: E402
from pil_parallel_blur.testimage import test_chart  # noqa: E402

SETTINGS = {"a": (7, 2.0), "b": (49, 8.0), "c": (151, 25.0)}
SIZES = {"3 MP": (2000, 1500), "24 MP": (6000, 4000)}
#: σ sweep (24 MP): ours and Pillow at every σ, OpenCV up to SWEEP_OPENCV_MAX
#: (its exact float32 path takes ~10 s a call beyond).
SWEEP = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 24.0, 25.0, 32.0, 48.0, 64.0, 100.0, 150.0, 200.0]
#: A large σ for the accuracy table (3 MP) and peak memory (24 MP): ours goes
#: through the FFT there (setting "d", not timed with every peer).
LARGE_SIGMA = 64.0
SWEEP_OPENCV_MAX = 32.0
SWEEP_PEERS = [
    "ours, 2 threads",
    "ours, Image.filter (default)",
    "Pillow GaussianBlur",
    "OpenCV uint8, 2 threads",
    "OpenCV float32, 2 threads",
]

Blur = Callable[[np.ndarray, Image.Image, int, float], object]


# --------------------------------------------------------------------- peers
def _cv2_f32(threads: int) -> Blur:
    def run(a: np.ndarray, im: Image.Image, size: int, sigma: float) -> np.ndarray:
        cv2.setNumThreads(threads)
        f = cv2.GaussianBlur(
            a.astype(np.float32), (size, size), sigma, borderType=cv2.BORDER_REPLICATE
        )
        return np.rint(f).astype(np.uint8)

    return run


def _cv2_u8(threads: int) -> Blur:
    def run(a: np.ndarray, im: Image.Image, size: int, sigma: float) -> np.ndarray:
        cv2.setNumThreads(threads)
        return cv2.GaussianBlur(a, (size, size), sigma, borderType=cv2.BORDER_REPLICATE)

    return run


def _scipy(a: np.ndarray, im: Image.Image, size: int, sigma: float) -> np.ndarray:
    r = size // 2
    f = ndimage.gaussian_filter(
        a.astype(np.float32), sigma=(sigma, sigma, 0), mode="nearest", truncate=r / sigma
    )
    return np.rint(f).astype(np.uint8)


def _pillow(a: np.ndarray, im: Image.Image, size: int, sigma: float) -> Image.Image:
    return im.filter(ImageFilter.GaussianBlur(sigma))


def _ours(n_jobs: int, backend: str | None) -> Blur:
    def run(a: np.ndarray, im: Image.Image, size: int, sigma: float) -> np.ndarray:
        return gaussian_blur(a, sigma=sigma, size=size, n_jobs=n_jobs, backend=backend)

    return run


def _ours_filter(a: np.ndarray, im: Image.Image, size: int, sigma: float) -> Image.Image:
    return im.filter(ParallelGaussianFilter(sigma, size=size))


PEERS: dict[str, Blur] = {
    "ours, 1 worker": _ours(1, None),
    "ours, 2 threads": _ours(2, "threading"),
    "ours, 2 loky processes": _ours(2, "loky"),
    "ours, Image.filter (default)": _ours_filter,
    "Pillow GaussianBlur": _pillow,
    "OpenCV float32, 1 thread": _cv2_f32(1),
    "OpenCV float32, 2 threads": _cv2_f32(2),
    "OpenCV uint8, 1 thread": _cv2_u8(1),
    "OpenCV uint8, 2 threads": _cv2_u8(2),
    "SciPy float32": _scipy,
}


# ------------------------------------------------------------------- helpers
def make_image(width: int, height: int) -> np.ndarray:
    RESULTS.mkdir(parents=True, exist_ok=True)
    cache = RESULTS / f"chart-{width}x{height}.npy"
    if cache.exists():
        return np.load(cache)
    a = np.asarray(test_chart(width, height, seed=0))
    np.save(cache, a)
    return a


def reference(a: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """float64 separable correlation (SciPy, independent of us), rint."""
    r = size // 2
    x = np.arange(-r, r + 1)
    g = np.exp(-(x * x) / (2 * sigma * sigma))
    g /= g.sum()
    f = a.astype(np.float64)
    f = ndimage.correlate1d(f, g, axis=0, mode="nearest")
    f = ndimage.correlate1d(f, g, axis=1, mode="nearest")
    return np.rint(f)


def warm_times(
    a: np.ndarray, names: list[str], size: int, sigma: float, reps: int
) -> dict[str, float]:
    im = Image.fromarray(a)
    times: dict[str, list[float]] = {n: [] for n in names}
    for rep in range(reps + 1):  # rep 0 is the warm-up
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            # let the previous peer's idle threads stop spinning (OpenCV's and
            # OpenBLAS's pools busy-wait a few ms after a call) before timing
            time.sleep(0.02)
            t0 = time.perf_counter()
            PEERS[name](a, im, size, sigma)
            dt = time.perf_counter() - t0
            if rep:
                times[name].append(dt)
    return {n: statistics.median(v) for n, v in times.items()}


COLD_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    import numpy as np
    sys.path.insert(0, {bench_dir!r})
    import bench, psutil
    a = np.load({path!r})
    from PIL import Image
    im = Image.fromarray(a)
    def hwm(pid):
        with open(f"/proc/{{pid}}/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) * 1024
        return 0
    def rss():
        return psutil.Process().memory_info().rss
    base = rss()
    t0 = time.perf_counter()
    bench.PEERS[{name!r}](a, im, {size}, {sigma})
    dt = time.perf_counter() - t0
    kids = psutil.Process().children(recursive=True)
    workers = []
    for k in kids:
        try:
            workers.append(hwm(k.pid))
        except OSError:
            pass
    print(json.dumps({{"seconds": dt, "parent_peak": hwm(os.getpid()) - base,
                       "worker_peaks": workers}}))
""")


def cold_run(path: Path, name: str, size: int, sigma: float) -> dict:
    code = COLD_SCRIPT.format(
        bench_dir=str(Path(__file__).parent), path=str(path), name=name, size=size, sigma=sigma
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600
    )
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def accuracy(a: np.ndarray, names: list[str], size: int, sigma: float) -> dict[str, dict]:
    ref = reference(a, size, sigma)
    im = Image.fromarray(a)
    out = {}
    for name in names:
        res = np.asarray(PEERS[name](a, im, size, sigma), dtype=np.float64)
        d = np.abs(res - ref)
        out[name] = {"max_error": float(d.max()), "identical": float((d == 0).mean())}
    return out


GENERAL_KERNELS = {
    "5x5 random integers (rank 5)": np.random.default_rng(5).integers(-3, 8, (5, 5)),
    "3x3 sharpen (Pillow SHARPEN)": np.array([[-2, -2, -2], [-2, 32, -2], [-2, -2, -2]]),
}


def general_kernels(a: np.ndarray, reps: int) -> dict[str, dict[str, float]]:
    """ParallelKernelFilter vs ImageFilter.Kernel vs cv2.filter2D (Image/array in and out)."""
    from pil_parallel_blur import ParallelKernelFilter

    im = Image.fromarray(a)
    table: dict[str, dict[str, float]] = {}
    for label, k in GENERAL_KERNELS.items():
        scale = float(k.sum()) or 1.0
        flat = [int(v) for v in k.ravel()]
        flipped = (k[::-1] / scale).astype(np.float32)  # Pillow's orientation
        runs: dict[str, Callable[[], object]] = {
            "ours, ParallelKernelFilter": lambda k=k: im.filter(ParallelKernelFilter(k)),
            "Pillow ImageFilter.Kernel": lambda f=flat, n=k.shape[0]: im.filter(
                ImageFilter.Kernel((n, n), f)
            ),
            "OpenCV filter2D uint8, 2 threads": lambda f=flipped: (
                cv2.setNumThreads(2),
                cv2.filter2D(a, -1, f, borderType=cv2.BORDER_REPLICATE),
            )[1],
        }
        times: dict[str, list[float]] = {n: [] for n in runs}
        for rep in range(reps + 1):
            for name, fn in runs.items():
                time.sleep(0.02)
                t0 = time.perf_counter()
                fn()
                if rep:
                    times[name].append(time.perf_counter() - t0)
        table[label] = {n: statistics.median(v) for n, v in times.items()}
    return table


def linearity(
    images: dict[str, np.ndarray], settings: dict[str, tuple[int, float]], reps: int
) -> dict[str, dict[str, float]]:
    """Ours alone, back to back (no peer in between): time per image and setting.

    In the interleaved run every call of ours follows another library's, and on
    this VM the first parallel call after a single-threaded one pays ~5-15 ms
    to wake the second vCPU; back to back shows how the work itself scales.
    """
    out: dict[str, dict[str, float]] = {}
    for label, a in images.items():
        if label == "photo":
            continue
        out[label] = {}
        for k, (size, sigma) in settings.items():
            runs = []
            for rep in range(reps + 1):
                t0 = time.perf_counter()
                gaussian_blur(a, sigma=sigma, size=size, n_jobs=2, backend="threading")
                if rep:
                    runs.append(time.perf_counter() - t0)
            out[label][k] = statistics.median(runs)
    return out


def small_images(reps: int) -> dict[str, dict[str, float]]:
    """In-process vs threads vs loky on small images: where parallelism starts to pay."""
    table: dict[str, dict[str, float]] = {}
    for side in (256, 512, 1024, 2048):
        a = make_image(side, side)
        names = ["ours, 1 worker", "ours, 2 threads", "ours, 2 loky processes"]
        import pil_parallel_blur.parallel.paths as par

        saved = par.MIN_PARALLEL_SECONDS
        par.MIN_PARALLEL_SECONDS = 0
        try:
            table[f"{side}x{side}"] = warm_times(a, names, 7, 2.0, reps)
        finally:
            par.MIN_PARALLEL_SECONDS = saved
    return table


def default_size(sigma: float) -> int:
    return 2 * int(np.ceil(3 * sigma)) + 1


def sigma_sweep(
    a: np.ndarray, reps: int, sigmas: list[float] | None = None
) -> dict[str, dict[str, float]]:
    """Time against σ (default sizes), peers interleaved at each σ."""
    table: dict[str, dict[str, float]] = {}
    for sigma in sigmas or SWEEP:
        names = [n for n in SWEEP_PEERS if "OpenCV" not in n or sigma <= SWEEP_OPENCV_MAX]
        print(f"sweep sigma {sigma:g} ...", flush=True)
        table[f"{sigma:g}"] = warm_times(a, names, default_size(sigma), sigma, reps)
    return table


def machine_line() -> str:
    """The machine and level every table is measured on: CPU model, CPUs, SIMD level, engine."""
    info = pil_parallel_blur.info()
    return (
        f"{cpu_model()}, {os.cpu_count()} CPUs, SIMD {info['simd']} "
        f"(of {', '.join(info.get('simd_levels', [])) or 'none'}), engine {info['engine']}"
    )


def sweep_table(sweep: dict[str, dict[str, float]], machine: str) -> str:
    """The σ sweep as a Markdown table, headed by the machine, with the ratios to the peers."""
    peers = [n for n in SWEEP_PEERS if any(n in per for per in sweep.values())]
    lines = [
        f"Machine: {machine}",
        "",
        "| σ | " + " | ".join(peers) + " | Image.filter ÷ Pillow | array ÷ OpenCV uint8 |",
        "|---|" + "---|" * (len(peers) + 2),
    ]
    for sigma, per in sweep.items():
        cells = [fmt(per[n]) if n in per else "—" for n in peers]
        ratio = per["ours, Image.filter (default)"] / per["Pillow GaussianBlur"]
        cv = per.get("OpenCV uint8, 2 threads")
        cv_ratio = f"{per['ours, 2 threads'] / cv:.2f}" if cv else "—"
        lines.append(f"| {sigma} | " + " | ".join(cells) + f" | {ratio:.2f} | {cv_ratio} |")
    return "\n".join(lines)


#: The cases of the scaling sweep: both families, as users call them.
SCALING_CASES: dict[str, Callable[[np.ndarray, Image.Image, int], object]] = {
    "exact σ 2 (array)": lambda a, im, n: gaussian_blur(
        a, sigma=2.0, size=7, n_jobs=n, backend="threading"
    ),
    "exact σ 25 (array)": lambda a, im, n: gaussian_blur(
        a, sigma=25.0, size=default_size(25.0), n_jobs=n, backend="threading"
    ),
    "Pillow's bytes: GaussianBlur(2)": lambda a, im, n: im.filter(
        pillow.GaussianBlur(2, n_jobs=n, backend="threading")
    ),
    "Pillow's bytes: BoxBlur(2)": lambda a, im, n: im.filter(
        pillow.BoxBlur(2, n_jobs=n, backend="threading")
    ),
    "Pillow's bytes: UnsharpMask(2, 150, 3)": lambda a, im, n: im.filter(
        pillow.UnsharpMask(2, 150, 3, n_jobs=n, backend="threading")
    ),
}


def worker_counts() -> list[int]:
    """1, 2, 4, ... workers, and the usable CPUs."""
    counts = [1]
    while counts[-1] * 2 <= usable_cpus():
        counts.append(counts[-1] * 2)
    if counts[-1] != usable_cpus():
        counts.append(usable_cpus())
    return counts


def scaling(a: np.ndarray, reps: int) -> dict[str, dict[str, float]]:
    """Both families (threads) with 1, 2, 4, ... workers up to the usable CPUs.

    The exact family array in → array out, the Pillow-identical family
    through ``Image.filter`` (its must row is measured so). In each repetition
    every worker count runs once, in an order that rotates, so that a slow
    spell of the machine does not fall on one count alone.
    """
    counts = worker_counts()
    im = Image.fromarray(a)
    table: dict[str, dict[str, float]] = {}
    for name, case in SCALING_CASES.items():
        runs: dict[str, list[float]] = {str(n): [] for n in counts}
        for rep in range(reps + 1):
            shift = rep % len(counts)
            for n in counts[shift:] + counts[:shift]:
                t0 = time.perf_counter()
                case(a, im, n)
                if rep:
                    runs[str(n)].append(time.perf_counter() - t0)
        table[name] = {n: statistics.median(v) for n, v in runs.items()}
        print(f"scaling {name}: {table[name]}", flush=True)
    return table


def scaling_table(sc: dict[str, dict[str, float]]) -> str:
    """Seconds, and the speed-up over 1 worker, per case and worker count."""
    counts = list(next(iter(sc.values())))
    lines = [
        "| case | " + " | ".join(f"{n} workers" for n in counts) + " |",
        "|---|" + "---|" * len(counts),
    ]
    for case, per in sc.items():
        t1 = per["1"]
        cells = " | ".join(f"{fmt(per[n])} ({t1 / per[n]:.2f}×)" for n in counts)
        lines.append(f"| {case} | {cells} |")
    return "\n".join(lines)


# ------------------------------------------------------------------- report
def fmt(t: float) -> str:
    return f"{t:.3f}" if t < 10 else f"{t:.1f}"


def write_report(res: dict) -> str:
    lines = [
        "# Benchmark results (generated)",
        "",
        f"Generated by `python benchmarks/bench.py{' --quick' if res['quick'] else ''}` "
        f"on {res['date']}; {res['machine']}. Medians of {res['reps']} runs after a warm-up, "
        "peers interleaved; seconds, numpy array in → array out (Pillow and "
        "`Image.filter`: Image in → Image out). Ratios are ours (2 threads) ÷ peer, "
        "measured in the same run.",
        "",
    ]
    for img, per in res["warm"].items():
        lines += [
            f"## Warm, {img}",
            "",
            "| peer | "
            + " | ".join(f"{k}) size {SETTINGS[k][0]}, σ {SETTINGS[k][1]:g}" for k in per)
            + " |",
            "|---|" + "---|" * len(per),
        ]
        names = list(next(iter(per.values())))
        for n in names:
            cells = []
            for k in per:
                t = per[k].get(n)
                ours = per[k]["ours, 2 threads"]
                cells.append("—" if t is None else f"{fmt(t)} ({ours / t:.2f}×)")
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("")
    if res.get("cold"):
        lines += [
            "## Cold (first call in a fresh process) and peak memory",
            "",
            "| image, setting | peer | cold s | parent peak above baseline (MB) | "
            "worker peaks (MB) |",
            "|---|---|---|---|---|",
        ]
        for key, per in res["cold"].items():
            for n, v in per.items():
                w = ", ".join(f"{p / 1e6:.0f}" for p in v["worker_peaks"]) or "—"
                lines.append(
                    f"| {key} | {n} | {fmt(v['seconds'])} | {v['parent_peak'] / 1e6:.0f} | {w} |"
                )
        lines.append("")
    lines += [
        "## Accuracy against the float64 reference (3 MP chart)",
        "",
        f"Settings a–c as above; d) size {default_size(LARGE_SIGMA)}, σ {LARGE_SIGMA:g} "
        "(ours through the FFT).",
        "",
        "| setting | peer | max abs error | samples identical |",
        "|---|---|---|---|",
    ]
    for k, per in res["accuracy"].items():
        for n, v in per.items():
            lines.append(f"| {k} | {n} | {v['max_error']:.0f} | {v['identical']:.3%} |")
    lines.append("")
    if res.get("general"):
        g = res["general"]
        lines += [
            f"## General kernels ({g['image']}, Image in → Image out; OpenCV array)",
            "",
            "| kernel | " + " | ".join(next(iter(g["times"].values()))) + " |",
            "|---|" + "---|" * 3,
        ]
        for label, per in g["times"].items():
            ours = per["ours, ParallelKernelFilter"]
            lines.append(
                f"| {label} | "
                + " | ".join(f"{fmt(v)} ({ours / v:.2f}×)" for v in per.values())
                + " |"
            )
        lines.append("")
    if res.get("small"):
        lines += [
            "## Small images (size 7, σ 2): in-process vs parallel",
            "",
            "| image | " + " | ".join(next(iter(res["small"].values()))) + " |",
            "|---|" + "---|" * 3,
        ]
        for img, per in res["small"].items():
            lines.append(
                f"| {img} | " + " | ".join(f"{v * 1e3:.1f} ms" for v in per.values()) + " |"
            )
        lines.append("")
    if res.get("linearity"):
        lin = res["linearity"]
        keys = list(next(iter(lin.values())))
        lines += [
            "## Ours alone, back to back (2 threads, no peer in between)",
            "",
            "| image | " + " | ".join(f"{k})" for k in keys) + " |",
            "|---|" + "---|" * len(keys),
        ]
        for label, per in lin.items():
            lines.append(f"| {label} | " + " | ".join(fmt(per[k]) for k in keys) + " |")
        lines.append("")
    if res.get("sweep"):
        lines += [
            "## Time against σ (24 MP RGB, default size 2·ceil(3σ)+1)",
            "",
            sweep_table(res["sweep"], res["machine"]),
            "",
        ]
    if res.get("scaling"):
        lines += [
            f"## Scaling ({res.get('scaling_image', '24 MP')} RGB, threads, "
            f"{res.get('cpus', '?')} usable CPUs)",
            "",
            scaling_table(res["scaling"]),
            "",
        ]
    lines += [
        "## Targets (issue 10)",
        "",
        "| check | measured | target | met |",
        "|---|---|---|---|",
    ]
    for row in res["targets"]:
        lines.append(f"| {row[0]} | {row[1]} | {row[2]} | {'yes' if row[3] else 'no'} |")
    lines.append("")
    lines += [
        "![speedup vs workers](img/speedup.png)",
        "",
        "![time vs kernel size](img/time-vs-kernel.png)",
        "",
    ]
    if res.get("sweep"):
        lines += ["![time vs sigma](img/time-vs-sigma.png)", ""]
    return "\n".join(lines)


def targets(res: dict) -> list[tuple[str, str, str, bool]]:
    rows: list[tuple[str, str, str, bool]] = []
    big = "24 MP" if "24 MP" in res["warm"] else "3 MP"
    w = res["warm"][big]
    ours, ours_filter = "ours, 2 threads", "ours, Image.filter (default)"
    u8, pillow = "OpenCV uint8, 2 threads", "Pillow GaussianBlur"
    for k, bound, moon in (("a", 1.5, 1.0), ("b", 1.0, 0.5), ("c", 0.6, 0.3)):
        if k in w:
            r = w[k][ours] / w[k][u8]
            label = f"{big} {k}) σ {SETTINGS[k][1]:g}: ours (array) ÷ OpenCV uint8"
            rows.append((label, f"{r:.3f}", f"≤ {bound}", bool(r <= bound)))
            rows.append((label, f"{r:.3f}", f"moonshot ≤ {moon}", bool(r <= moon)))
    if "a" in w:
        r = w["a"][ours_filter] / w["a"][pillow]
        label = f"{big} a) σ 2: Image.filter ÷ Pillow"
        rows.append((label, f"{r:.3f}", "≤ 1/8", r <= 1 / 8))
        rows.append((label, f"{r:.3f}", "moonshot ≤ 1/12", r <= 1 / 12))
    for sigma, per in res.get("sweep", {}).items():
        if float(sigma) in (8, 16, 32, 64, 100):
            r = per[ours_filter] / per[pillow]
            bound, moon = (1.5, 1.0) if float(sigma) == 100 else (1.0, 0.5)
            label = f"24 MP σ {sigma}: Image.filter ÷ Pillow"
            rows.append((label, f"{r:.3f}", f"≤ {bound}", bool(r <= bound)))
            rows.append((label, f"{r:.3f}", f"moonshot ≤ {moon}", bool(r <= moon)))
    for k in ("a", "b"):
        if k in w:
            s = w[k]["ours, 1 worker"] / w[k][ours]
            label = f"{big} {k}) speedup 2 threads ÷ 1 worker"
            rows.append((label, f"{s:.2f}×", "≥ 1.8×", s >= 1.8))
            rows.append((label, f"{s:.2f}×", "moonshot ≥ 1.95×", s >= 1.95))
    for k, per in res.get("accuracy", {}).items():
        v = per.get(ours)
        if v:
            ok = v["max_error"] <= 1 and v["identical"] >= 0.999
            rows.append(
                (
                    f"3 MP {k}) accuracy of ours",
                    f"max {v['max_error']:.0f}, {v['identical']:.3%}",
                    "±1, ≥ 99.9 %",
                    ok,
                )
            )
    for key, per in res.get("cold", {}).items():
        if key.startswith(big) and key.endswith("a)") and ours in per:
            mb = per[ours]["parent_peak"]
            nbytes = int(np.prod(SIZES[big])) * 3
            label = f"{key} parent peak ÷ image size"
            rows.append((label, f"{mb / nbytes:.2f}", "< 4", mb < 4 * nbytes))
    return rows


def plot(res: dict) -> None:
    img_dir = DOCS / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    big = "24 MP" if "24 MP" in res["warm"] else "3 MP"
    w = res["warm"][big]
    fig, ax = plt.subplots(figsize=(6, 4))
    for k in w:
        for label, name in (("threads", "ours, 2 threads"), ("loky", "ours, 2 loky processes")):
            t1 = w[k]["ours, 1 worker"]
            ax.plot([1, 2], [1, t1 / w[k][name]], marker="o", label=f"{k}) {label}")
    ax.plot([1, 2], [1, 2], "k--", label="ideal")
    ax.set_xlabel("workers (this machine has 2 cores)")
    ax.set_ylabel("speedup over 1 worker")
    ax.set_xticks([1, 2])
    ax.set_title(f"Speedup vs workers, {big} RGB")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(img_dir / "speedup.png", dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sizes = [SETTINGS[k][0] for k in w]
    for name in next(iter(w.values())):
        ax.plot(
            sizes,
            [w[k][name] for k in w],
            marker="o",
            label=name,
            linewidth=2.5 if name.startswith("ours") else 1,
        )
    ax.set_xlabel("kernel size (taps)")
    ax.set_ylabel("seconds (median)")
    ax.set_yscale("log")
    ax.set_title(f"Time vs kernel size, {big} RGB uint8")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(img_dir / "time-vs-kernel.png", dpi=100)
    plt.close(fig)
    if res.get("sweep"):
        sw = res["sweep"]
        sigmas = [float(x) for x in sw]
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name in SWEEP_PEERS:
            xs = [sg for sg in sigmas if name in sw[f"{sg:g}"]]
            ax.plot(
                xs,
                [sw[f"{sg:g}"][name] for sg in xs],
                marker="o",
                label=name,
                linewidth=2.5 if name.startswith("ours") else 1,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("σ (kernel size 2·ceil(3σ)+1)")
        ax.set_ylabel("seconds (median)")
        ax.set_title("Time vs σ, 24 MP RGB uint8, 2 cores")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(img_dir / "time-vs-sigma.png", dpi=100)
        plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 MP, settings a and b, 3 runs")
    parser.add_argument("--reps", type=int, default=None, help="runs per figure (default 5)")
    parser.add_argument("--photo", help="also time this photo (warm, all settings)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold runs")
    parser.add_argument("--no-sweep", action="store_true", help="skip the σ sweep")
    parser.add_argument(
        "--scaling-only",
        action="store_true",
        help="only the scaling sweep (1, 2, 4, ... workers), into results/scaling.json",
    )
    parser.add_argument(
        "--sweep-only",
        action="store_true",
        help="only the σ sweep (24 MP, no OpenCV float32), into results/sweep-<SIMD level>.json",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the report and charts from benchmarks/results/latest.json",
    )
    args = parser.parse_args()
    if args.report_only:
        res = json.loads((RESULTS / "latest.json").read_text())
        res["targets"] = targets(res)
        plot(res)
        (DOCS / "benchmark-results.md").write_text(write_report(res))
        return
    reps = args.reps or (3 if args.quick else 5)
    if args.scaling_only:
        a = make_image(*SIZES["24 MP"])
        table = scaling(a, reps)
        out: dict[str, object] = {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "cpus": usable_cpus(),
            "machine": machine_line(),
            "info": pil_parallel_blur.info(),
            "scaling": table,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "scaling.json").write_text(json.dumps(out, indent=1))
        print(f"{out['machine']}, {out['cpus']} usable CPUs, {out['date']}")
        print(scaling_table(table))
        return
    if args.sweep_only:
        a = make_image(*SIZES["24 MP"])
        SWEEP_PEERS.remove("OpenCV float32, 2 threads")
        sweep = sigma_sweep(a, args.reps or 3, [s for s in SWEEP if s >= 2])
        level = pil_parallel_blur.info()["simd"]
        out = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine_line(), "sweep": sweep}
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"sweep-{level}.json").write_text(json.dumps(out, indent=1))
        print(sweep_table(sweep, out["machine"]))
        return
    sizes = {"3 MP": SIZES["3 MP"]} if args.quick else dict(SIZES)
    settings = {k: SETTINGS[k] for k in (("a", "b") if args.quick else SETTINGS)}
    names = list(PEERS)
    res: dict = {
        "quick": args.quick,
        "reps": reps,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{machine_line()}; Python {platform.python_version()}, "
        f"Pillow {PIL.__version__}, NumPy {np.__version__}, OpenCV {cv2.__version__}, "
        f"SciPy {scipy.__version__}, pil-parallel-blur {pil_parallel_blur.__version__}",
        "cpus": usable_cpus(),
        "warm": {},
        "cold": {},
        "accuracy": {},
    }
    images = {label: make_image(*wh) for label, wh in sizes.items()}
    if args.photo:
        images["photo"] = np.asarray(Image.open(args.photo).convert("RGB"))
    for label, a in images.items():
        res["warm"][label] = {}
        for k, (size, sigma) in settings.items():
            print(f"warm {label} {k}) ...", flush=True)
            res["warm"][label][k] = warm_times(a, names, size, sigma, reps)
    if not args.no_cold:
        cold_names = [
            "ours, 2 threads",
            "ours, 2 loky processes",
            "ours, 1 worker",
            "Pillow GaussianBlur",
            "OpenCV float32, 2 threads",
        ]
        cold_reps = 1 if args.quick else reps
        for label, wh in sizes.items():
            path = RESULTS / f"chart-{wh[0]}x{wh[1]}.npy"
            for k in ("a",):
                key = f"{label} {k})"
                res["cold"][key] = {}
                print(f"cold {key} ...", flush=True)
                for n in cold_names:
                    runs = [cold_run(path, n, *SETTINGS[k]) for _ in range(cold_reps)]
                    res["cold"][key][n] = {
                        "seconds": statistics.median(r["seconds"] for r in runs),
                        "parent_peak": statistics.median(r["parent_peak"] for r in runs),
                        "worker_peaks": runs[len(runs) // 2]["worker_peaks"],
                    }
        if not args.quick:
            wh = SIZES["24 MP"]
            path = RESULTS / f"chart-{wh[0]}x{wh[1]}.npy"
            key = f"24 MP σ {LARGE_SIGMA:g}"
            res["cold"][key] = {}
            print(f"cold {key} ...", flush=True)
            for n in ("ours, 2 threads", "Pillow GaussianBlur"):
                runs = [
                    cold_run(path, n, default_size(LARGE_SIGMA), LARGE_SIGMA) for _ in range(3)
                ]
                res["cold"][key][n] = {
                    "seconds": statistics.median(r["seconds"] for r in runs),
                    "parent_peak": statistics.median(r["parent_peak"] for r in runs),
                    "worker_peaks": runs[1]["worker_peaks"],
                }
    print("accuracy ...", flush=True)
    a3 = images["3 MP"]
    for k, (size, sigma) in settings.items():
        acc_names = [
            n
            for n in names
            if "2 loky" not in n and "Image.filter" not in n and "1 thread" not in n
        ]
        res["accuracy"][k] = accuracy(a3, acc_names, size, sigma)
    if not args.quick:
        large = ["ours, 1 worker", "ours, 2 threads", "Pillow GaussianBlur"]
        res["accuracy"]["d"] = accuracy(a3, large, default_size(LARGE_SIGMA), LARGE_SIGMA)
    print("general kernels ...", flush=True)
    big = "24 MP" if "24 MP" in images else "3 MP"
    res["general"] = {"image": big, "times": general_kernels(images[big], reps)}
    print("linearity ...", flush=True)
    res["linearity"] = linearity(images, settings, reps)
    print("small images ...", flush=True)
    res["small"] = small_images(reps)
    if not args.quick and not args.no_sweep:
        res["sweep"] = sigma_sweep(images["24 MP"], 3)
    print("scaling ...", flush=True)
    res["scaling"] = scaling(images[big], reps)
    res["scaling_image"] = big
    res["targets"] = targets(res)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(res, indent=1))
    plot(res)
    report = write_report(res)
    (DOCS / "benchmark-results.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
