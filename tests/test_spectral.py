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
from pil_parallel_blur.engine import cost, plan_correlation, spectral

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
        plan = plan_correlation((4000, 6000, 3), np.dtype(np.uint8), [(g, g)])
        assert cost.prefers_spectral(plan) is expected, sigma


@pytest.mark.parametrize("sigma", [70.0, 100.0])
def test_large_sigma_on_a_photo_matches_the_reference(sigma):
    img = photo_like(330, 420, seed=2)
    g = _gauss(sigma)
    plan = plan_correlation(img.shape, img.dtype, [(g, g)])
    assert engine.spectral_plan_for(plan, img) is not None
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
    plan = plan_correlation(img.shape, img.dtype, [(g, g)])
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
    plan = plan_correlation(img.shape, img.dtype, [(g, g)])
    assert engine.spectral_plan_for(plan, img) is not None
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
    plan = plan_correlation(img.shape, img.dtype, [(g, g)])
    assert cost.prefers_spectral(plan)
    assert engine.spectral_plan_for(plan, img) is None
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
    plan = plan_correlation(img.shape, img.dtype, [(g, g)], offset=offset, rounding=rounding)
    assert engine.spectral_plan_for(plan, img) is not None
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
def test_the_cut_does_not_change_a_byte():
    """Columns and rows shared out any way: the same bytes (each line alone)."""
    img = photo_like(57, 83, seed=12)
    g = _gauss(4.0)
    plan = plan_correlation(img.shape, img.dtype, [(g, g)])
    sp = spectral.plan_spectral(plan)
    native = engine.native_module()  # None on the NumPy engine
    outs = []
    for col_cuts, row_cuts in [([0, 83], [0, 57]), ([0, 1, 40, 83], [0, 30, 31, 57])]:
        mid = np.empty(sp.mid_shape, sp.mid_dtype)
        out = np.empty(plan.out_shape, plan.out_dtype)
        for a, b in itertools.pairwise(col_cuts):
            spectral.columns_pass(img, 0, mid, 0, engine.Tile(0, 57, a, b), sp, native)
        for a, b in itertools.pairwise(row_cuts):
            spectral.rows_pass(mid, 0, out, 0, engine.Tile(a, b, 0, 83), sp, native)
        outs.append(out.tobytes())
    assert outs[0] == outs[1]


@pytest.mark.usefixtures("spectral_always")
def test_the_compiled_copies_and_numpy_give_the_same_bytes():
    """Both engines run the spectral passes: their copies and finish must agree to the bit."""
    native = importlib.import_module("pil_parallel_blur._native")
    rng = np.random.default_rng(13)
    img = rng.integers(0, 65536, (45, 38, 3), dtype=np.uint16)
    g_y, g_x = _gauss(3.0), _gauss(2.0)
    plan = plan_correlation(img.shape, img.dtype, [(g_y, g_x)], offset=0.5, rounding="half_up")
    sp = spectral.plan_spectral(plan)
    outs = []
    for module in (native, None):
        mid = np.empty(sp.mid_shape, sp.mid_dtype)
        out = np.empty(plan.out_shape, plan.out_dtype)
        spectral.columns_pass(img, 0, mid, 0, plan.whole(), sp, module)
        spectral.rows_pass(mid, 0, out, 0, plan.whole(), sp, module)
        outs.append(out.tobytes())
    assert outs[0] == outs[1]


def test_the_compiled_copies_refuse_short_buffers():
    native = importlib.import_module("pil_parallel_blur._native")
    src = np.zeros((4, 5, 3), np.uint8)
    lines = np.zeros((2, 3, 10))
    with pytest.raises(ValueError, match="bad geometry"):
        native.lines_from_columns(src, 0, 4, 15, 0, 6, lines, 10, 5, 3)  # r + height > length
    with pytest.raises(ValueError, match="lines holds"):
        native.lines_from_columns(src, 0, 4, 15, 0, 15, lines, 10, 10, 3)
    with pytest.raises(ValueError, match="out holds"):
        native.rows_from_lines(lines, 10, 2, 2, 5, 3, np.zeros(5, np.uint8), 0, 0.0, 0, 1, 0, 255)
    with pytest.raises(ValueError, match="unsupported sample type"):
        native.rows_from_lines(lines, 10, 2, 2, 5, 3, np.zeros(30, np.int64), 7, 0.0, 0, 1, 0, 1)


def test_line_strides_avoid_4k_multiples():
    for n in [1, 8, 64, 4096, 4500, 4608, 8192]:
        s = spectral.line_stride(n)
        assert n <= s < n + 64 and s % 64 == 8


def test_fast_lengths():
    for n in [1, 2, 7, 97, 1000, 4384, 6384, 10007]:
        m = spectral.fast_length(n)
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
