"""Large kernels go through the FFT (engine/spectral.py): exact, deterministic, any shape.

Small kernels are forced through it here (the choice is patched) so that the
2-D float64 reference of conftest.py stays cheap; the kernels the engine
really sends there are checked against the separable float64 reference.
"""

import importlib
import itertools

import numpy as np
import pytest
from conftest import (
    assert_spec_accuracy,
    default_size,
    photo_like,
    reference_kernel,
)
from PIL import Image

import pil_parallel_blur as pb
from pil_parallel_blur import engine, parallel, testing
from pil_parallel_blur.engine import cost, plan_correlation, spectral, transform
from pil_parallel_blur.kernels import from_terms

pytestmark = pytest.mark.usefixtures("each_engine")


@pytest.fixture
def spectral_always():
    """Send every kernel the FFT can take through it, however small."""
    with testing.spectral_always():
        yield


def _gauss(sigma: float, size: int | None = None) -> np.ndarray:
    size = size or default_size(sigma)
    x = np.arange(size) - size // 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def separable_reference(array: np.ndarray, g_y: np.ndarray, g_x: np.ndarray) -> np.ndarray:
    """Float64 correlation with outer(g_y, g_x), edge-replicated, rint + clip for integers.

    Sums the taps directly along each axis: for kernels of hundreds of taps the
    2-D reference costs a full-image pass per tap pair; this one per tap.
    """
    a = np.asarray(array, dtype=np.float64)
    a3 = a.reshape(a.shape[0], a.shape[1], -1)
    ry, rx = len(g_y) // 2, len(g_x) // 2
    h, w = a3.shape[:2]
    padded = np.pad(a3, ((ry, ry), (0, 0), (0, 0)), mode="edge")
    down = sum(g_y[i] * padded[i : i + h] for i in range(len(g_y)))
    padded = np.pad(down, ((0, 0), (rx, rx), (0, 0)), mode="edge")
    out = sum(g_x[j] * padded[:, j : j + w] for j in range(len(g_x))).reshape(a.shape)
    if array.dtype.kind in "ui":
        info = np.iinfo(array.dtype)
        return np.clip(np.rint(out), info.min, info.max)
    return out


def _check_8bit(out: np.ndarray, ref: np.ndarray) -> None:
    diff = np.abs(out.astype(np.float64) - ref)
    assert diff.max() <= 1
    assert (diff == 0).mean() >= 0.999


# ------------------------------------------------------------- chosen for large σ
def test_large_sigma_goes_through_the_fft_and_small_does_not():
    """The choice is the cost model's, from the plan alone."""
    for sigma, expected in [(2.0, False), (8.0, False), (64.0, True), (100.0, True)]:
        g = _gauss(sigma)
        plan = plan_correlation((4000, 6000, 3), np.dtype(np.uint8), from_terms([(g, g)]))
        assert cost.prefers_spectral(plan) is expected, sigma


@pytest.mark.parametrize("sigma", [70.0, 100.0])
def test_large_sigma_on_a_photo_matches_the_reference(sigma):
    img = photo_like(330, 420, seed=2)
    g = _gauss(sigma)
    plan = plan_correlation(img.shape, img.dtype, from_terms([(g, g)]))
    assert engine.choose(plan, img).spectral is not None
    out = pb.gaussian_blur(img, sigma=sigma, n_jobs=1)
    _check_8bit(out, separable_reference(img, g, g))


def test_large_sigma_through_image_filter_matches_the_reference():
    img = photo_like(300, 380, seed=5)
    out = np.asarray(Image.fromarray(img).filter(pb.ParallelGaussianFilter(sigma=80, n_jobs=2)))
    g = _gauss(80.0)
    _check_8bit(out, separable_reference(img, g, g))


def test_a_kernel_larger_than_the_image_is_folded_and_stays_symmetric():
    """σ 100 on 90 × 70: the folded taps are symmetric to the bit, so the FFT takes them."""
    img = photo_like(90, 70, seed=3)
    g = _gauss(100.0)
    plan = plan_correlation(img.shape, img.dtype, from_terms([(g, g)]))
    g_y, g_x = plan.terms[0]
    assert (g_y == g_y[::-1]).all() and (g_x == g_x[::-1]).all()
    assert spectral.suits_spectral(plan)
    out = pb.gaussian_blur(img, sigma=100, n_jobs=1)
    _check_8bit(out, separable_reference(img, g, g))


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.float32, np.float64])
def test_wide_types_at_large_sigma(dtype):
    rng = np.random.default_rng(4)
    if np.dtype(dtype).kind == "f":
        img = (rng.standard_normal((200, 230)) * 1e3).astype(dtype)
    else:
        hi = 65535 if dtype == np.uint16 else 2**31 - 1
        img = rng.integers(0, hi, (200, 230), endpoint=True).astype(dtype)
    g = _gauss(45.0)
    plan = plan_correlation(img.shape, img.dtype, from_terms([(g, g)]))
    assert engine.choose(plan, img).spectral is not None
    out = pb.gaussian_blur(img, sigma=45, n_jobs=2, backend="threading")
    ref = separable_reference(img, g, g)
    diff = np.abs(out.astype(np.float64) - ref)
    if np.dtype(dtype).kind == "f":
        assert diff.max() <= 1e-5 * max(1.0, float(np.abs(img).max()))
    else:
        assert diff.max() <= 1
        if dtype == np.uint16:
            assert (diff == 0).mean() >= 0.999


def test_a_float_image_with_nan_stays_direct():
    """A NaN spreads over its whole line in a transform: such images go the direct way."""
    img = np.random.default_rng(1).random((150, 160)).astype(np.float32)
    img[10, 10] = np.nan
    g = _gauss(45.0)
    plan = plan_correlation(img.shape, img.dtype, from_terms([(g, g)]))
    assert cost.prefers_spectral(plan)
    assert engine.choose(plan, img).spectral is None
    out = pb.gaussian_blur(img, sigma=45, n_jobs=1)
    assert np.isnan(out[:140, :140]).all()  # within the kernel's reach of (10, 10)
    assert np.isfinite(out[:, 146:]).all()  # beyond it


# ------------------------------------------------ forced, against the 2-D reference
SHAPES = [(1, 1), (1, 37), (29, 1), (2, 3), (31, 47), (64, 40), (17, 90)]
KERNELS = [(7, 2.0), ((5, 11), (1.0, 3.0)), (31, 5.0)]


@pytest.mark.usefixtures("spectral_always")
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size,sigma", KERNELS)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_forced_spectral_matches_the_2d_reference(shape, size, sigma, channels):
    img = photo_like(*shape, channels=channels, seed=sum(shape) + channels)
    out = pb.gaussian_blur(img, size=size, sigma=sigma, n_jobs=1)
    assert_spec_accuracy(out, img, reference_kernel(size, sigma))


@pytest.mark.usefixtures("spectral_always")
@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.float32, np.float64]
)
def test_forced_spectral_every_type(dtype):
    rng = np.random.default_rng(7)
    if np.dtype(dtype).kind == "f":
        img = (rng.standard_normal((41, 53, 2)) * 500).astype(dtype)
    else:
        info = np.iinfo(dtype)
        img = rng.integers(info.min, info.max, (41, 53, 2), dtype=dtype, endpoint=True)
    out = pb.gaussian_blur(img, size=9, sigma=2.5, n_jobs=1)
    assert_spec_accuracy(out, img, reference_kernel(9, 2.5))


@pytest.mark.usefixtures("spectral_always")
@pytest.mark.parametrize(
    "mode", ["L", "RGB", "RGBA", "CMYK", "I;16", "I;16B", "I", "F"]
)  # fmt: skip
def test_forced_spectral_pillow_modes(mode):
    rng = np.random.default_rng(8)
    rgb = Image.fromarray(photo_like(37, 45, seed=9))
    if mode.startswith("I;16"):
        arr = rng.integers(0, 65536, (37, 45), dtype=np.uint16)
        im = Image.frombytes(mode, (45, 37), arr.astype(">u2" if mode == "I;16B" else "<u2"))
    elif mode in ("I", "F"):
        arr = rng.integers(-(10**6), 10**6, (37, 45)).astype(np.int32 if mode == "I" else "f4")
        im = Image.fromarray(arr)
    else:
        im = rgb.convert(mode)
    out = im.filter(pb.ParallelGaussianFilter(size=7, sigma=2, n_jobs=1))
    assert out.mode == im.mode and out.size == im.size
    before = np.asarray(im) if not mode.startswith("I;16") else arr
    after = np.asarray(out) if not mode.startswith("I;16") else _i16(out)
    assert_spec_accuracy(after, before, reference_kernel(7, 2.0))


def _i16(im: Image.Image) -> np.ndarray:
    dtype = ">u2" if im.mode == "I;16B" else "<u2"
    return np.frombuffer(im.tobytes(), dtype=dtype).reshape(im.size[1], im.size[0]).astype("u2")


@pytest.mark.usefixtures("spectral_always")
@pytest.mark.parametrize("rounding", ["rint", "half_up"])
@pytest.mark.parametrize("offset", [0.0, 2.5])
def test_forced_spectral_offset_and_rounding(rounding, offset):
    """The finish (offset, rounding rule, clipping) is the direct engines'."""
    img = photo_like(40, 50, seed=11)
    g = _gauss(3.0, 13)
    plan = plan_correlation(
        img.shape, img.dtype, from_terms([(g, g)], offset=offset, rounding=rounding)
    )
    assert engine.choose(plan, img).spectral is not None
    out = parallel.run_plan(img, plan, parallel.Workers(parallel.ParallelSettings(n_jobs=1)))
    exact = separable_reference(img.astype(np.float64), g, g) + offset
    rounded = np.floor(exact + 0.5) if rounding == "half_up" else np.rint(exact)
    ref = np.clip(rounded, 0, 255)
    _check_8bit(out, ref)


# ---------------------------------------------------------------- determinism
@pytest.mark.usefixtures("parallel_always")
def test_one_byte_string_for_every_backend_and_worker_count():
    img = photo_like(260, 310, seed=6)
    results = {
        pb.gaussian_blur(img, sigma=45, n_jobs=n, backend=b).tobytes()
        for b in ("threading", "loky", "sequential")
        for n in (1, 2, 3)
    }
    assert len(results) == 1


@pytest.mark.usefixtures("spectral_always")
@pytest.mark.parametrize("shape", [(57, 83, 3), (230, 310, 3)])  # float64, float32 transform
def test_the_cut_does_not_change_a_byte(shape):
    """Columns and rows shared out any way that starts tiles on even pixels: the same bytes."""
    h, w, _ = shape
    img = photo_like(h, w, seed=12)
    g = _gauss(4.0)
    plan = plan_correlation(img.shape, img.dtype, from_terms([(g, g)]))
    sp = spectral.plan_spectral(plan)
    native = engine.native_module()  # None on the NumPy engine
    outs = []
    for col_cuts, row_cuts in [([0, w], [0, h]), ([0, 2, 40, w], [0, 30, 32, h])]:
        mid = np.empty(sp.mid_shape, sp.mid_dtype)
        out = np.empty(plan.out_shape, plan.out_dtype)
        for c in range(3):
            for a, b in itertools.pairwise(col_cuts):
                tile = engine.Tile(0, h, a, b)
                spectral.columns_pass(img, 0, mid, 0, tile, sp, native, c)
            for a, b in itertools.pairwise(row_cuts):
                spectral.rows_pass(mid, 0, out, 0, engine.Tile(a, b, 0, w), sp, native, c)
        outs.append(out.tobytes())
    assert outs[0] == outs[1]


def test_a_tile_that_splits_a_pair_is_refused():
    """Column (row) 2i travels with 2i + 1: a tile starting on an odd one would pair others."""
    img = photo_like(20, 21, seed=1)
    g = _gauss(2.0)
    plan = plan_correlation(img.shape, img.dtype, from_terms([(g, g)]))
    sp = spectral.plan_spectral(plan)
    mid = np.empty(sp.mid_shape, sp.mid_dtype)
    out = np.empty(plan.out_shape, plan.out_dtype)
    native = engine.native_module()
    with pytest.raises(ValueError, match="even"):
        spectral.columns_pass(img, 0, mid, 0, engine.Tile(0, 20, 3, 21), sp, native, 1)
    with pytest.raises(ValueError, match="even"):
        spectral.rows_pass(mid, 0, out, 0, engine.Tile(5, 20, 0, 21), sp, native, 1)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_the_compiled_transform_and_numpy_give_the_same_bytes(dtype):
    """float32 (large 8-bit) and float64 transforms, offset and half-up finish: to the bit."""
    native = importlib.import_module("pil_parallel_blur._native")
    rng = np.random.default_rng(13)
    hi = np.iinfo(dtype).max
    img = rng.integers(0, hi, (245, 198, 3), dtype=dtype, endpoint=True)
    g_y, g_x = _gauss(13.0), _gauss(6.0)
    plan = plan_correlation(
        img.shape, img.dtype, from_terms([(g_y, g_x)], offset=0.5, rounding="half_up")
    )
    assert plan.compute_dtype == (np.float32 if dtype == np.uint8 else np.float64)
    sp = spectral.plan_spectral(plan)
    outs = []
    for module in (native, None):
        mid = np.empty(sp.mid_shape, sp.mid_dtype)
        out = np.empty(plan.out_shape, plan.out_dtype)
        for c in range(3):
            spectral.columns_pass(img, 0, mid, 0, plan.whole(), sp, module, c)
            spectral.rows_pass(mid, 0, out, 0, plan.whole(), sp, module, c)
        outs.append(out.tobytes())
    assert outs[0] == outs[1]


def test_the_compiled_passes_refuse_bad_arguments():
    native = importlib.import_module("pil_parallel_blur._native")
    src = np.zeros((4, 15), np.uint8)
    mid = np.zeros((4, 5), np.float32)
    axis = transform.plan_axis(np.array([0.25, 0.5, 0.25]), 8, np.dtype(np.float32))
    good = dict(
        src=src, src_type=0, row_samples=15, height=4, first=2, step=3, count=5, mid=mid,
        mid_width=5, mid_x0=0, radius=1, length=8, radices=axis.radices,
        table=axis.table, double=False, centre=128.0,
    )  # fmt: skip
    native.spectral_columns(**good)
    for change, message in [
        ({"first": 3}, "bad geometry"),  # the last line past the row
        ({"mid_x0": 1}, "bad geometry"),  # past the intermediate's width
        ({"radius": 5}, "bad geometry"),  # r + height > length
        ({"radices": bytes([4, 3])}, "radices"),  # product is not the length
        ({"radices": bytes([8])}, "radices"),
        ({"table": axis.table[:9]}, "table holds"),
        ({"mid": mid[:2]}, "mid holds"),
        ({"src_type": 7}, "unsupported sample type"),
    ]:
        with pytest.raises(ValueError, match=message):
            native.spectral_columns(**{**good, **change})
    with pytest.raises(TypeError):
        native.spectral_columns(*good.values())  # keywords only
    rows = dict(
        mid=mid, width=5, count=4, radius=1, length=8, radices=axis.radices,
        table=axis.table, double=False, out=np.zeros(60, np.uint8)[2:], out_type=0,
        step=3, offset=0.0, rounding=0, clip=True, lo=0.0, hi=255.0,
    )  # fmt: skip
    native.spectral_rows(**rows)
    with pytest.raises(ValueError, match="out holds"):
        native.spectral_rows(**{**rows, "out": np.zeros(60, np.uint8)[3:]})
    with pytest.raises(ValueError, match="mid holds"):
        native.spectral_rows(**{**rows, "count": 5})
    with pytest.raises(ValueError, match="unsupported sample type"):
        native.spectral_rows(**{**rows, "out": np.zeros(60, np.int64), "out_type": 7})


@pytest.mark.parametrize(
    "length", [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 25, 27, 30, 45, 64, 125, 360, 1000]
)
def test_the_transform_is_a_circular_correlation(length):
    """Every radix and mix of them, forward, product and inverse, against float64 sums."""
    rng = np.random.default_rng(length)
    taps = _gauss(0.8 + length / 7, 2 * min((length - 1) // 2, 4) + 1)  # N ≥ 2r + 1
    axis = transform.plan_axis(taps, length, np.dtype(np.float64))
    lines = rng.standard_normal((length, 6))
    re, im = lines[:, 0::2].copy(), lines[:, 1::2].copy()
    transform.convolve_pairs(re, im, axis)
    r = len(taps) // 2
    ref = sum(taps[r + k] * np.roll(lines, -k, axis=0) for k in range(-r, r + 1))
    assert np.abs(re - ref[:, 0::2]).max() < 1e-12
    assert np.abs(im - ref[:, 1::2]).max() < 1e-12


@pytest.mark.usefixtures("spectral_always")
@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 11, 13, 97, 101, 360, 375, 512])
def test_any_line_length_matches_the_reference(n):
    """Odd, prime and 5-smooth heights and widths, smaller and larger than the kernel."""
    img = photo_like(n, 40, seed=n)
    out = pb.gaussian_blur(img, size=9, sigma=2.5, n_jobs=1)
    assert_spec_accuracy(out, img, reference_kernel(9, 2.5))
    img = photo_like(23, n, channels=1, seed=n + 1)
    out = pb.gaussian_blur(img, size=9, sigma=2.5, n_jobs=1)
    assert_spec_accuracy(out, img, reference_kernel(9, 2.5))


@pytest.mark.usefixtures("spectral_always")
@pytest.mark.parametrize("sigma", [12.0, 24.0, 50.0, 150.0])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_photos_at_large_sigma_are_within_one_level(sigma, dtype):
    """8-bit photos (the float32 transform) and 16-bit (float64): max 1, ≥ 99.9 % identical."""
    img = photo_like(330, 420, seed=int(sigma))
    if dtype == np.uint16:
        img = img.astype(np.uint16) * 257 + np.uint16(int(sigma))
    g = _gauss(sigma)
    plan = plan_correlation(img.shape, img.dtype, from_terms([(g, g)]))
    assert plan.compute_dtype == (np.float32 if dtype == np.uint8 else np.float64)
    out = pb.gaussian_blur(img, sigma=sigma, n_jobs=2, backend="threading")
    _check_8bit(out, separable_reference(img, g, g))


def test_fast_lengths():
    for n in [1, 2, 7, 97, 1000, 4384, 6384, 10007]:
        m = transform.fast_length(n)
        assert m >= n
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        assert k == 1
        assert all(not _smooth(j) for j in range(n, m)), (
            f"{m} is not the smallest 5-smooth length from {n}"
        )


def _smooth(j: int) -> bool:
    for p in (2, 3, 5):
        while j % p == 0:
            j //= p
    return j == 1
