"""SPEC §3 determinism and §6 engine: bands, dump, memmaps, clean-up."""

import os
import sys

import joblib
import numpy as np
import pytest
from conftest import assert_spec_accuracy, photo_like, reference_kernel
from PIL import Image

from pil_parallel_blur import ParallelGaussianFilter, gaussian_blur, parallel
from pil_parallel_blur.engine import make_plan
from pil_parallel_blur.kernels import resolve_kernel

# 803 rows: the bands of 2 or 3 workers never divide it evenly.
TALL = photo_like(803, 41, seed=5)


@pytest.mark.usefixtures("parallel_always")
@pytest.mark.parametrize(("size", "sigma"), [(7, 2.0), (None, 8.0), (None, 25.0)])
def test_bytes_do_not_depend_on_jobs_or_backend(size, sigma):
    results = {}
    for backend in ["loky", "threading", "multiprocessing"]:
        for n_jobs in [1, 2, 3]:
            out = gaussian_blur(TALL, sigma=sigma, size=size, n_jobs=n_jobs, backend=backend)
            results[(backend, n_jobs)] = out.tobytes()
    assert len(set(results.values())) == 1
    g_y, g_x = resolve_kernel(size, sigma).factors()
    plan = make_plan(TALL.shape, TALL.dtype, g_y, g_x)
    for n in (2 * 4, 3 * 4):  # the band counts 2 and 3 workers use
        bounds = plan.band_bounds(n)
        heights = {b - a for a, b in bounds}
        assert len(heights) > 1, "the test should cover unequal bands"
        assert bounds[0][0] == 0 and bounds[-1][1] == TALL.shape[0]
    assert_spec_accuracy(
        np.frombuffer(results[("loky", 2)], np.uint8).reshape(TALL.shape),
        TALL,
        reference_kernel(size or resolve_kernel(None, sigma).size_x, sigma),
    )


def test_band_bounds_cover_rows_once():
    g = resolve_kernel(7, 2).factors()
    for h in [1, 15, 16, 17, 803]:
        plan = make_plan((h, 9), np.dtype(np.uint8), *g)
        for n in [1, 2, 3, 7, 100]:
            bounds = plan.band_bounds(n)
            rows = [r for a, b in bounds for r in range(a, b)]
            assert rows == list(range(h))


@pytest.mark.usefixtures("parallel_always")
def test_process_backend_maps_a_private_dump(tmp_path, monkeypatch):
    """Workers see one uncompressed dump in a 0700 folder, mapped read-only."""
    real = parallel._band_from_files
    seen = tmp_path / "seen"
    seen.mkdir()

    def spy(padded_path, out_path, start, stop, plan):
        padded = np.load(padded_path, mmap_mode="r")
        mode = os.stat(os.path.dirname(padded_path)).st_mode & 0o777
        (seen / f"{start}").write_text(
            f"{type(padded).__name__} {padded.flags.writeable} {oct(mode)} {os.getpid()}"
        )
        real(padded_path, out_path, start, stop, plan)

    monkeypatch.setattr(parallel, "_band_from_files", spy)
    work = tmp_path / "work"
    work.mkdir()
    out = gaussian_blur(TALL, sigma=2, size=7, n_jobs=2, backend="loky", temp_folder=str(work))
    notes = [p.read_text().split() for p in seen.iterdir()]
    assert len(notes) == 8  # 2 workers x 4 bands
    assert {n[0] for n in notes} == {"memmap"}
    assert {n[1] for n in notes} == {"False"}
    assert {n[2] for n in notes} == {"0o700"}
    assert str(os.getpid()) not in {n[3] for n in notes}
    assert list(work.iterdir()) == []
    assert_spec_accuracy(out, TALL, reference_kernel(7, 2.0))


@pytest.mark.usefixtures("parallel_always")
@pytest.mark.parametrize("how", ["raise", "crash"])
def test_temp_folder_removed_after_failure(tmp_path, monkeypatch, how):
    def failing(padded_path, out_path, start, stop, plan):
        if start > 0:
            if how == "crash":
                os._exit(3)
            raise RuntimeError(f"band {start} failed")

    monkeypatch.setattr(parallel, "_band_from_files", failing)
    expected = (
        RuntimeError
        if how == "raise"
        else joblib.externals.loky.process_executor.TerminatedWorkerError
    )
    with pytest.raises(expected):
        gaussian_blur(TALL, sigma=2, n_jobs=2, backend="loky", temp_folder=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("parallel_always")
def test_temp_folder_removed_after_success_on_filter(tmp_path):
    im = Image.fromarray(TALL)
    f = ParallelGaussianFilter(3, n_jobs=2, backend="multiprocessing", temp_folder=str(tmp_path))
    out = im.filter(f)
    assert list(tmp_path.iterdir()) == []
    assert_spec_accuracy(np.asarray(out), TALL, reference_kernel(19, 3.0))


def test_threads_and_in_process_make_no_files(tmp_path, monkeypatch):
    monkeypatch.setenv("JOBLIB_TEMP_FOLDER", str(tmp_path))
    monkeypatch.setattr(parallel, "MIN_PARALLEL_SECONDS", 0)
    gaussian_blur(TALL, sigma=2, n_jobs=2, backend="threading")
    gaussian_blur(TALL, sigma=2, n_jobs=1, backend="loky")
    assert list(tmp_path.iterdir()) == []


def test_parallel_config_is_honoured(monkeypatch):
    """n_jobs/backend None follow joblib.parallel_config."""
    calls = []
    real = parallel._run_in_memory

    def spy(image, plan, runner, n_bands, *rest):
        calls.append((runner is not None, n_bands))
        return real(image, plan, runner, n_bands, *rest)

    monkeypatch.setattr(parallel, "_run_in_memory", spy)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_SECONDS", 0)
    with joblib.parallel_config(backend="threading", n_jobs=2):
        gaussian_blur(TALL, sigma=2)
    with joblib.parallel_config(n_jobs=1):
        gaussian_blur(TALL, sigma=2)
    with joblib.parallel_config(backend="sequential"):
        gaussian_blur(TALL, sigma=2)
    assert calls == [(True, 8), (False, 1), (False, 1)]


def test_default_backend_is_threads_after_a_plain_install(monkeypatch):
    """Threads by default, with or without threadpoolctl (nothing to hold to one thread)."""
    monkeypatch.setattr(parallel, "MIN_PARALLEL_SECONDS", 0)
    kinds = []
    real = parallel.backend_kind

    def spy(backend):
        kinds.append(real(backend))
        return kinds[-1]

    monkeypatch.setattr(parallel, "backend_kind", spy)
    gaussian_blur(TALL, sigma=2, n_jobs=2)
    with joblib.parallel_config(backend="loky"):
        gaussian_blur(TALL, sigma=2, n_jobs=2)
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import now fails
    gaussian_blur(TALL, sigma=2, n_jobs=2)
    assert kinds == ["threads", "processes", "threads"]


@pytest.mark.usefixtures("parallel_always")
@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_failing_band_raises_once_and_pool_recovers(monkeypatch, backend):
    real = parallel.correlate_rows

    def failing(src, src_row0, out, out_row0, start, stop, plan):
        if start > 0:
            raise ValueError(f"band at row {start} failed")
        return real(src, src_row0, out, out_row0, start, stop, plan)

    real_files = parallel._band_from_files

    def failing_files(padded_path, out_path, start, stop, plan):
        if start > 0:
            raise ValueError(f"band at row {start} failed")
        return real_files(padded_path, out_path, start, stop, plan)

    if backend == "threading":
        monkeypatch.setattr(parallel, "correlate_rows", failing)
    else:
        monkeypatch.setattr(parallel, "_band_from_files", failing_files)
    with pytest.raises(ValueError, match="failed"):
        gaussian_blur(TALL, sigma=2, n_jobs=2, backend=backend)
    monkeypatch.undo()
    out = gaussian_blur(TALL, sigma=2, size=7, n_jobs=2, backend=backend)
    assert_spec_accuracy(out, TALL, reference_kernel(7, 2.0))


def test_progress_is_reported_per_band(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_PARALLEL_SECONDS", 0)
    seen = []
    gaussian_blur(
        TALL, sigma=2, n_jobs=2, backend="threading", progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(i, 8) for i in range(1, 9)]
    seen.clear()
    gaussian_blur(TALL[:10], sigma=2, n_jobs=1, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 1)]
