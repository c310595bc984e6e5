"""Where 2 workers lose against 1: the phases of a Pillow-identical ``Image.filter`` call.

    python benchmarks/phases.py              # pillow.BoxBlur(2), 24 MP RGB test chart
    python benchmarks/phases.py --radius 500

Times each phase of ``Image.filter(pillow.BoxBlur(radius))`` on 1 and 2
workers (medians of 7, each repetition after one of Pillow's own filters, so
that freed memory is handed out again as in real use): the copy in (Pillow's
paste into our array), the horizontal and the vertical box stage (with the
buffers and tiles of the real call: both write over the filter's copy), the
copy out (into the new image's memory), and the whole call. Then the same box
passes on a 64 × 1024 RGB tile that stays in cache, 3000 times a thread on 1
and on 2 threads: how far work that does not stream through memory scales
on this machine. Uses the package's internals (``pillow_adapter``,
``pillow_arrays``); prints the machine with the tables.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np
from PIL import ImageFilter

import pil_parallel_blur
from pil_parallel_blur import pillow
from pil_parallel_blur.about import cpu_model
from pil_parallel_blur.engine import compute_tile, native
from pil_parallel_blur.engine.boxes import plan_boxes
from pil_parallel_blur.parallel import ParallelSettings, Workers
from pil_parallel_blur.parallel.pool import thread_runner
from pil_parallel_blur.parallel.tiles import box_stages, buffers, into_image
from pil_parallel_blur.pillow_adapter import array_to_core, core_to_array
from pil_parallel_blur.testimage import test_chart


def stages_timed(a: np.ndarray, radius: float, n: int) -> tuple[float, float]:
    """Seconds of the horizontal and the vertical stage, as ``Image.filter`` runs them.

    The stages and buffers of the real call (``into_image``): both write over
    ``a``, the filter's own copy of the pixels.
    """
    stages = into_image(box_stages(plan_boxes(a.shape, radius, radius, 1), n), a)
    arrays = [a] + [np.empty(shape, dtype) for dtype, shape in buffers(stages)]
    runner = thread_runner(n) if n > 1 else None
    seconds = []
    for stage in stages:
        src, dst = arrays[stage.src], arrays[stage.dst]
        tasks = [(compute_tile, (src, 0, dst, 0, tile, stage.step)) for tile in stage.tiles]
        t0 = time.perf_counter()
        if runner is None:
            for fn, args in tasks:
                fn(*args)
        else:
            for _ in runner(tasks):
                pass
        seconds.append(time.perf_counter() - t0)
    return seconds[0], seconds[1]


def phases(radius: float, reps: int) -> None:
    im = test_chart(6000, 4000)
    im.load()
    core = im.im
    times: dict[tuple[str, int], list[float]] = {}
    for rep in range(reps + 1):
        im.filter(ImageFilter.BoxBlur(radius))
        for n in (1, 2):
            workers = Workers(ParallelSettings(n, None, None, None))
            t0 = time.perf_counter()
            a = core_to_array(core, workers.map_small)
            t1 = time.perf_counter()
            horizontal, vertical = stages_timed(a, radius, n)
            t2 = time.perf_counter()
            out = array_to_core(a, "RGB", workers.map_small)
            t3 = time.perf_counter()
            del a, out
            t4 = time.perf_counter()
            im.filter(pillow.BoxBlur(radius, n_jobs=n))
            t5 = time.perf_counter()
            if rep:
                for name, dt in (
                    ("copy in (paste)", t1 - t0),
                    ("horizontal stage", horizontal),
                    ("vertical stage", vertical),
                    ("copy out (widen)", t3 - t2),
                    ("Image.filter, whole", t5 - t4),
                ):
                    times.setdefault((name, n), []).append(dt)
    print(f"Image.filter(pillow.BoxBlur({radius:g})), 24 MP RGB, medians of {reps}")
    print(f"{'phase':<22}{'1 worker':>10}{'2 workers':>11}{'2 ÷ 1':>8}")
    for name in dict.fromkeys(k for k, _ in times):
        one = statistics.median(times[(name, 1)])
        two = statistics.median(times[(name, 2)])
        print(f"{name:<22}{one * 1e3:>8.1f}ms{two * 1e3:>9.1f}ms{one / two:>7.2f}×")


def in_cache(reps: int) -> None:
    box = native.loaded.box
    if box is None:
        print("in cache: the compiled box module is not built")
        return
    tile = np.random.default_rng(0).integers(0, 256, (64, 1024, 3), dtype=np.uint8)
    outs = [np.empty_like(tile) for _ in range(2)]
    step = plan_boxes(tile.shape, 0, 2, 1).stages[0]

    def work(i: int) -> None:
        for _ in range(3000):
            box.box_lines(tile, 0, outs[i], 0, 0, 64, 0, 1024, 1, step.radius, step.ww, step.fw, 3)

    def run(k: int) -> float:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(k)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    for _ in range(reps):
        one, two = run(1), run(2)
        print(
            f"in cache: 1 thread {one:.2f} s, 2 threads (twice the work) {two:.2f} s: "
            f"{2 * one / two:.2f}×"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--radius", type=float, default=2.0)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    info = pil_parallel_blur.info()
    box = native.loaded.box.simd_level() if native.loaded.box is not None else "numpy"
    print(f"machine: {cpu_model()}, {info['cpus']} usable CPUs, box passes {box}")
    phases(args.radius, args.reps)
    in_cache(3)


if __name__ == "__main__":
    main()
