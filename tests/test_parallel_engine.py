"""SPEC §3 determinism and §6 engine: tiles, dump, memmaps, clean-up."""

import os
import sys

import joblib
import numpy as np
import pytest
from conftest import assert_spec_accuracy, photo_like, reference_kernel
from PIL import Image, ImageFilter

from pil_parallel_blur import ParallelGaussianFilter, gaussian_blur, parallel, pillow, testing
from pil_parallel_blur.blur import correlate_array
from pil_parallel_blur.engine import plan_boxes, plan_correlation
from pil_parallel_blur.engine.spectral import plan_spectral
from pil_parallel_blur.kernels import from_terms, resolve_kernel
from pil_parallel_blur.parallel import ParallelSettings, paths
from pil_parallel_blur.parallel import tiles as tiling
from pil_parallel_blur.pillow_arrays import pillow_gaussian_array

# 803 rows: the stripes of 2 or 3 workers never divide it evenly.
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
    plan = plan_correlation(TALL.shape, TALL.dtype, from_terms([(g_y, g_x)]))
    for workers in (2, 3):
        tiles = parallel.cut_tiles(plan, workers)
        heights = {t.bottom - t.top for t in tiles}
        assert len(heights) > 1, "the test should cover unequal stripes"
        assert tiles[0].top == 0 and tiles[-1].bottom == TALL.shape[0]
    assert_spec_accuracy(
        np.frombuffer(results[("loky", 2)], np.uint8).reshape(TALL.shape),
        TALL,
        reference_kernel(size or resolve_kernel(None, sigma).size_x, sigma),
    )


def test_tiles_cover_the_output_once():
    g = resolve_kernel(7, 2).factors()
    for h, w, c in [
        (1, 9, 1),
        (15, 9, 3),
        (16, 9, 1),
        (17, 9, 1),
        (803, 9, 1),
        (1, 300_000, 1),
        (3, 90_000, 3),
        (40, 70_000, 1),
    ]:
        plan = plan_correlation((h, w, c), np.dtype(np.uint8), from_terms([g]))
        for workers in [1, 2, 3, 7, 100]:
            tiles = parallel.cut_tiles(plan, workers)
            hits = np.zeros((h, w), np.int64)
            for t in tiles:
                hits[t.top : t.bottom, t.left : t.right] += 1
            assert (hits == 1).all()
            widest = max(t.right - t.left for t in tiles) * c
            assert widest <= max(tiling.MAX_TILE_ROW_SAMPLES, w * c // 8 + 1) or len(tiles) > 1


def test_cuts_on_a_step_stay_inside_and_cover_once():
    """Parts start on multiples of the step and never pass the end, whatever the step."""
    for length in [1, 2, 15, 16, 17, 47, 100, 6000]:
        for step in [1, 2, 16, 32]:
            for n in [1, 2, 3, 7, 16, 100]:
                parts = tiling.cuts(length, n, step)
                hits = np.zeros(length, np.int64)
                for a, b in parts:
                    assert a % step == 0 and 0 <= a < b <= length
                    hits[a:b] += 1
                assert (hits == 1).all(), (length, step, n)


@pytest.mark.usefixtures("parallel_always")
def test_process_backend_maps_a_private_dump(tmp_path, monkeypatch):
    """Workers see one uncompressed dump in a 0700 folder, mapped read-only."""
    real = paths._tile_from_files
    seen = tmp_path / "seen"
    seen.mkdir()

    def spy(padded_path, out_path, tile, plan):
        start = tile.top
        padded = np.load(padded_path, mmap_mode="r")
        mode = os.stat(os.path.dirname(padded_path)).st_mode & 0o777
        (seen / f"{start}").write_text(
            f"{type(padded).__name__} {padded.flags.writeable} {oct(mode)} {os.getpid()}"
        )
        real(padded_path, out_path, tile, plan)

    monkeypatch.setattr(paths, "_tile_from_files", spy)
    work = tmp_path / "work"
    work.mkdir()
    out = gaussian_blur(TALL, sigma=2, size=7, n_jobs=2, backend="loky", temp_folder=str(work))
    notes = [p.read_text().split() for p in seen.iterdir()]
    assert len(notes) == 8  # 2 workers x 4 tiles
    assert {n[0] for n in notes} == {"memmap"}
    assert {n[1] for n in notes} == {"False"}
    assert {n[2] for n in notes} == {"0o700"}
    assert str(os.getpid()) not in {n[3] for n in notes}
    assert list(work.iterdir()) == []
    assert_spec_accuracy(out, TALL, reference_kernel(7, 2.0))


@pytest.mark.usefixtures("parallel_always")
@pytest.mark.parametrize("how", ["raise", "crash"])
def test_temp_folder_removed_after_failure(tmp_path, monkeypatch, how):
    def failing(padded_path, out_path, tile, plan):
        start = tile.top
        if start > 0:
            if how == "crash":
                os._exit(3)
            raise RuntimeError(f"tile {start} failed")

    monkeypatch.setattr(paths, "_tile_from_files", failing)
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


def test_threads_and_in_process_make_no_files(tmp_path, monkeypatch, parallel_always):
    monkeypatch.setenv("JOBLIB_TEMP_FOLDER", str(tmp_path))
    gaussian_blur(TALL, sigma=2, n_jobs=2, backend="threading")
    gaussian_blur(TALL, sigma=2, n_jobs=1, backend="loky")
    assert list(tmp_path.iterdir()) == []


def _tiles_of(call) -> int:
    """How many tiles a call was cut into, from its progress reports (1: in-process)."""
    totals = []
    call(lambda done, total: totals.append(total))
    return totals[-1]


def test_parallel_config_is_honoured(parallel_always):
    """n_jobs/backend None follow joblib.parallel_config."""
    calls = []
    with joblib.parallel_config(backend="threading", n_jobs=2):
        calls.append(_tiles_of(lambda p: gaussian_blur(TALL, sigma=2, progress=p)))
    with joblib.parallel_config(n_jobs=1):
        calls.append(_tiles_of(lambda p: gaussian_blur(TALL, sigma=2, progress=p)))
    with joblib.parallel_config(backend="sequential"):
        calls.append(_tiles_of(lambda p: gaussian_blur(TALL, sigma=2, progress=p)))
    assert calls == [8, 1, 1]


def test_default_backend_is_threads_after_a_plain_install(monkeypatch):
    """Threads by default, with or without threadpoolctl (nothing to hold to one thread)."""
    kinds = [parallel.Workers(ParallelSettings(2)).kind]
    with joblib.parallel_config(backend="loky"):
        kinds.append(parallel.Workers(ParallelSettings(2)).kind)
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import now fails
    kinds.append(parallel.Workers(ParallelSettings(2)).kind)
    assert kinds == ["threads", "processes", "threads"]


@pytest.mark.usefixtures("parallel_always")
@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_failing_tile_raises_once_and_pool_recovers(monkeypatch, backend):
    real = paths.compute_tile

    def failing(src, src_row0, out, out_row0, tile, plan):
        if tile.top > 0:
            raise ValueError(f"tile at row {tile.top} failed")
        return real(src, src_row0, out, out_row0, tile, plan)

    real_files = paths._tile_from_files

    def failing_files(padded_path, out_path, tile, plan):
        if tile.top > 0:
            raise ValueError(f"tile at row {tile.top} failed")
        return real_files(padded_path, out_path, tile, plan)

    if backend == "threading":
        monkeypatch.setattr(paths, "compute_tile", failing)
    else:
        monkeypatch.setattr(paths, "_tile_from_files", failing_files)
    with pytest.raises(ValueError, match="failed"):
        gaussian_blur(TALL, sigma=2, n_jobs=2, backend=backend)
    monkeypatch.undo()
    out = gaussian_blur(TALL, sigma=2, size=7, n_jobs=2, backend=backend)
    assert_spec_accuracy(out, TALL, reference_kernel(7, 2.0))


def test_progress_is_reported_per_tile(monkeypatch, parallel_always):
    seen = []
    gaussian_blur(
        TALL, sigma=2, n_jobs=2, backend="threading", progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(i, 8) for i in range(1, 9)]
    seen.clear()
    gaussian_blur(TALL[:10], sigma=2, n_jobs=1, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 1)]


@pytest.mark.parametrize("shape", [(1, 300_000, 1), (3, 90_000, 3), (5, 70_001, 1)])
def test_long_rows_cut_across_columns_match_the_reference(
    each_engine, monkeypatch, shape, parallel_always
):
    """Rows longer than a tile spans, or too few rows for the workers: tiles across columns."""
    rng = np.random.default_rng(sum(shape))
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    a = a[..., 0] if shape[2] == 1 else a
    sigma = (3.0, 1.5)
    plan = plan_correlation(
        shape, a.dtype, from_terms([resolve_kernel(None, sigma).factors(shape)])
    )
    assert len({(t.left, t.right) for t in parallel.cut_tiles(plan, 2)}) > 1
    results = {
        (backend, n): gaussian_blur(a, sigma=sigma, n_jobs=n, backend=backend).tobytes()
        for backend, n in [("threading", 1), ("threading", 2), ("loky", 2)]
    }
    assert len(set(results.values())) == 1
    out = np.frombuffer(results[("threading", 2)], np.uint8).reshape(a.shape)
    assert_spec_accuracy(out, a, reference_kernel((19, 11), sigma))


def test_our_threads_take_smaller_images_than_joblibs_backends():
    """Our pool pays from ~5 ms of work; a joblib round costs ~10 ms."""
    a = np.zeros((1024, 1024, 3), np.uint8)  # ~7 ms of single-core work
    calls = [
        _tiles_of(lambda p: gaussian_blur(a, sigma=2, n_jobs=2, backend="threading", progress=p)),
        _tiles_of(lambda p: gaussian_blur(a, sigma=2, n_jobs=2, backend="loky", progress=p)),
        _tiles_of(
            lambda p: gaussian_blur(
                a[:64, :64], sigma=2, n_jobs=2, backend="threading", progress=p
            )
        ),
    ]
    assert calls[0] > 1 and calls[1:] == [1, 1]


def _stage_writes(stages):
    return [(s.src, s.dst) for s in stages]


def test_the_result_goes_over_an_owned_image_only_where_nothing_reads_it_after():
    """``into_image``: box chains, spectral channels and direct stripes write over the image."""
    image = np.zeros((40, 50, 3), np.uint8)
    kernel = from_terms([resolve_kernel(None, 12.0).factors()])
    plan = plan_correlation(image.shape, image.dtype, kernel)
    # direct stripes lower than 4·r_y: their neighbours read most of their
    # rows, so never over the image
    direct = tiling.plan_stages(plan, None, 2)
    assert tiling.into_image(direct, image) == direct
    # spectral: the rows pass of channel c writes over the image before the
    # columns pass of channel c + 1 reads it, which reads another channel
    spectral = tiling.plan_stages(plan, plan_spectral(plan), 2)
    moved = tiling.into_image(spectral, image)
    assert _stage_writes(moved) == [(0, 1), (1, 0)] * 3
    assert tiling.buffers(moved) == [tiling.buffers(spectral)[0]]
    # not an image of another type or shape
    assert tiling.into_image(spectral, image.astype(np.uint16)) == spectral
    assert tiling.into_image(spectral, image[:, :49]) == spectral
    # Pillow's box passes: a tile reads and writes its own rows (or columns)
    # alone, so the second stage writes over the first one's buffer, and an
    # owned image takes both
    both = tiling.box_stages(plan_boxes(image.shape, 2.0, 3.0, 3), 2)
    assert _stage_writes(both) == [(0, 1), (1, 1)]
    assert [s.step.in_place for s in both] == [False, True]
    moved = tiling.into_image(both, image)
    assert _stage_writes(moved) == [(0, 0), (0, 0)]
    assert all(s.step.in_place for s in moved) and tiling.buffers(moved) == []
    one_axis = tiling.box_stages(plan_boxes(image.shape, 0.0, 3.0, 3), 2)
    assert _stage_writes(tiling.into_image(one_axis, image)) == [(0, 0)]
    assert tiling.into_image(one_axis, image[:, :49]) == one_axis


@pytest.mark.parametrize(
    ("height", "workers", "r"), [(64, 2, 3), (803, 3, 6), (97, 8, 1), (50, 1, 6)]
)
def test_direct_stripes_go_over_their_own_rows_and_the_rows_around_cuts_come_back(
    height, workers, r
):
    """The rows around every cut first into a buffer, the rest over the image, then copied back."""
    image = np.zeros((height, 30, 3), np.uint8)
    g = np.full(2 * r + 1, 1.0 / (2 * r + 1))
    plan = plan_correlation(image.shape, image.dtype, from_terms([(g, g)]))
    direct = tiling.plan_stages(plan, None, workers)
    moved = tiling.into_image(direct, image)
    cuts = sorted({t.top for t in direct[0].tiles} - {0})
    if not cuts:
        assert _stage_writes(moved) == [(0, 0)] and moved[0].tiles == direct[0].tiles
        return
    assert _stage_writes(moved) == [(0, 1), (0, 0), (1, 0)]
    around, inside, back = (s.tiles for s in moved)
    assert around == back and [t.top + r for t in around] == cuts
    # every output row is computed once, by a stripe that reads no row another
    # stripe writes over the image
    rows = [y for t in around + inside for y in range(t.top, t.bottom)]
    assert sorted(rows) == list(range(height))
    for t in inside:
        first, last = max(t.top - r, 0), min(t.bottom + r, height)
        others = [u for u in inside if u != t]
        assert not any(u.top < last and first < u.bottom for u in others)


@pytest.mark.usefixtures("parallel_always")
@pytest.mark.parametrize("n_jobs", [1, 2, 3])
@pytest.mark.parametrize("engine", ["native", "numpy"])
def test_direct_stripes_written_over_an_owned_image_give_the_same_bytes(n_jobs, engine):
    """σ 2 (one term) and a kernel of two terms, on an image the caller gives up."""
    a = photo_like(203, 57, seed=21)
    workers = parallel.Workers(ParallelSettings(n_jobs, "threading", None, None))
    gaussian = from_terms([resolve_kernel(13, 2.0).factors()])
    rng = np.random.default_rng(3)
    two = from_terms([(rng.random(9), rng.random(5)), (rng.random(9) - 0.5, rng.random(5))])
    for kernel in (gaussian, two):
        kept = correlate_array(a, kernel, workers)
        given = a.copy()
        if engine == "numpy":
            with testing.numpy_engine():
                out = correlate_array(given, kernel, workers, owned=True)
        else:
            out = correlate_array(given, kernel, workers, owned=True)
        assert np.shares_memory(out, given)
        np.testing.assert_array_equal(out, kept)
    assert_spec_accuracy(
        correlate_array(a.copy(), gaussian, workers, owned=True), a, reference_kernel(13, 2.0)
    )


@pytest.mark.usefixtures("parallel_always")
@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_an_owned_image_is_written_over_and_the_bytes_stay_right(n_jobs):
    """Spectral and box plans on an image the caller gives up: same bytes, no new result buffer."""
    a = photo_like(61, 47, seed=11)
    size, sigma = 41, 12.0
    workers = parallel.Workers(ParallelSettings(n_jobs, "threading", None, None))
    kernel = resolve_kernel(size, sigma).factors()
    with testing.spectral_always():
        given = a.copy()
        out = correlate_array(given, from_terms([kernel]), workers, owned=True)
        kept = correlate_array(a, from_terms([kernel]), workers)
    assert np.shares_memory(out, given)
    assert not np.shares_memory(kept, a)
    np.testing.assert_array_equal(out, kept)
    assert_spec_accuracy(out, a, reference_kernel(size, sigma))
    given = a.copy()
    ours = pillow_gaussian_array(given, 3.5, workers, owned=True)
    assert np.shares_memory(ours, given)
    pillows = Image.fromarray(a).filter(ImageFilter.GaussianBlur(3.5))
    np.testing.assert_array_equal(ours, np.asarray(pillows))


@pytest.mark.usefixtures("parallel_always")
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_arrays_the_caller_keeps_are_never_written_over(n_jobs):
    a = photo_like(61, 47, seed=12)
    before = a.copy()
    with testing.spectral_always():
        gaussian_blur(a, sigma=12.0, size=41, n_jobs=n_jobs)
    pillow.gaussian_blur(a, 3.5, n_jobs=n_jobs)
    pillow.box_blur(a, (2, 5), n_jobs=n_jobs)
    pillow.unsharp_mask(a, 3, 150, 2, n_jobs=n_jobs)
    np.testing.assert_array_equal(a, before)
    Image.fromarray(a).filter(ParallelGaussianFilter(12, n_jobs=n_jobs))
    np.testing.assert_array_equal(a, before)
