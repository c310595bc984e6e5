"""Drop-in fidelity: clipping, ties by the rule, Pillow's attributes and forms, the blur family."""

from fractions import Fraction

import numpy as np
import pytest
from conftest import photo_like, reference_correlate, reference_kernel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFilter

from pil_parallel_blur import (
    SUPPORTED_MODES,
    ParallelBoxBlur,
    ParallelGaussianFilter,
    ParallelKernelFilter,
    ParallelUnsharpMask,
    correlate,
    engine,
    gaussian_blur,
)
from pil_parallel_blur.engine import plan_correlation
from pil_parallel_blur.kernels import from_terms, result_grid, separable_terms

pytestmark = pytest.mark.usefixtures("each_engine")


def rounded(values: np.ndarray, dtype, half_up: bool = False) -> np.ndarray:
    """Reference rounding and clipping, in float64."""
    r = np.floor(values + 0.5) if half_up else np.rint(values)
    info = np.iinfo(dtype)
    return np.clip(r, info.min, info.max)


# ------------------------------------------------------------------ clipping
def test_the_cases_that_wrapped_around_now_clip():
    assert correlate(np.array([[200]], np.uint8), [[2.0]], n_jobs=1)[0, 0] == 255
    k = ParallelKernelFilter((3, 3), [0, 0, 0, 0, 2, 0, 0, 0, 0], 1)
    assert Image.new("L", (4, 3), 200).filter(k).getpixel((1, 1)) == 255
    assert Image.new("I;16", (4, 3), 50000).filter(k).getpixel((1, 1)) == 65535
    big = Image.new("I", (4, 3), 2**30 + 1)
    assert big.filter(k).getpixel((1, 1)) == 2**31 - 1
    assert Image.new("I", (4, 3), -(2**30) - 1).filter(k).getpixel((2, 2)) == -(2**31)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    ky=st.sampled_from([1, 3, 5, 11]),
    kx=st.sampled_from([1, 3, 7]),
    dtype=st.sampled_from([np.uint8, np.int8, np.uint16, np.int16, np.int32]),
    offset=st.integers(-300, 300),
    seed=st.integers(0, 2**16),
)
def test_integer_results_always_clip(h, w, ky, kx, dtype, offset, seed):
    """Any kernel (one or more terms, any signs), offset and size, kernels larger too."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, (h, w), dtype=np.int64, endpoint=True).astype(dtype)
    k = rng.integers(-4, 5, (ky, kx)).astype(float) * rng.choice([0.25, 1.0, 3.0])
    out = correlate(a, k, offset=float(offset), n_jobs=1)
    want = rounded(reference_correlate(a, k) + offset, dtype)
    assert out.dtype == a.dtype
    np.testing.assert_array_equal(out, want)  # integer weights: the reference is exact


# ---------------------------------------------------------------------- ties
def test_an_exact_half_rounds_to_even():
    assert correlate(np.array([[10]], np.uint8), [[3.0]], offset=1.5, n_jobs=1)[0, 0] == 32
    assert correlate(np.array([[11]], np.uint8), [[3.0]], offset=1.5, n_jobs=1)[0, 0] == 34
    assert correlate(np.array([[10, 11]], np.uint8), [[0, 0.5, 0.5]], n_jobs=1)[0, 0] == 10


TIE_KERNELS = {
    "binomial 3x3 / 16": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "[[0, .5, .5]]": np.array([[0, 0.5, 0.5]]),
    "laplacian / 2": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]) / 2,
}


@pytest.mark.parametrize("shape", [(40, 30, 3), (600, 400, 3)])  # the second: float32 path
@pytest.mark.parametrize("name", list(TIE_KERNELS))
def test_ties_follow_half_to_even_on_grid_kernels(shape, name):
    k = TIE_KERNELS[name]
    offset = 128.0 if "laplacian" in name else 0.0
    a = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    out = correlate(a, k, offset=offset, n_jobs=2)
    np.testing.assert_array_equal(out, rounded(reference_correlate(a, k) + offset, np.uint8))
    plan = plan_correlation(
        a.shape,
        a.dtype,
        from_terms(separable_terms(k), offset=offset, grid=result_grid(k, offset)),
    )
    assert plan.grid > 0
    assert plan.compute_dtype == (np.float32 if a.size > 2**17 else np.float64)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bits=st.integers(0, 6),
    ky=st.sampled_from([1, 3, 5]),
    kx=st.sampled_from([3, 5, 7]),
    offset_halves=st.integers(-64, 64),
    seed=st.integers(0, 2**16),
)
def test_random_dyadic_kernels_are_exact(bits, ky, kx, offset_halves, seed):
    rng = np.random.default_rng(seed)
    k = rng.integers(-8, 9, (ky, kx)) / 2.0**bits
    a = rng.integers(0, 256, (300, 160, 3), dtype=np.uint8)  # big enough for float32
    out = correlate(a, k, offset=offset_halves / 2, n_jobs=1)
    want = rounded(reference_correlate(a, k) + offset_halves / 2, np.uint8)
    np.testing.assert_array_equal(out, want)


def test_kernel_filter_ties_go_up_like_pillow():
    im = Image.fromarray(np.array([[10, 11, 12, 13]] * 3, np.uint8))
    f = ParallelKernelFilter((3, 3), [0, 0, 0, 0, 1, 1, 0, 0, 0], 2)
    assert np.asarray(im.filter(f))[1].tolist() == [11, 12, 13, 13]  # 10.5, 11.5, 12.5, 13


@pytest.mark.parametrize("shape", [(31, 23), (600, 400, 3)])
def test_kernel_filter_half_up_on_integer_kernels(shape):
    a = photo_like(*shape[:2], channels=shape[2] if len(shape) == 3 else 1, seed=4)
    weights = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    for scale, offset in [(16, 0), (10, 0.5), (6, -3)]:
        f = ParallelKernelFilter(weights, scale, offset, n_jobs=2)
        mode = "RGB" if len(shape) == 3 else "L"
        out = np.asarray(Image.fromarray(a, mode).filter(f))
        # integer sums first, then one division: exact ties stay exact
        exact = reference_correlate(a, weights[::-1].astype(float)) / scale + offset
        want = rounded(exact, np.uint8, True)
        np.testing.assert_array_equal(out, want)


# ------------------------------------------------------- attributes and forms
def test_gaussian_radius_defaults_to_2_and_can_be_set():
    a = photo_like(40, 50, seed=2)
    im = Image.fromarray(a)
    f = ParallelGaussianFilter(n_jobs=1)
    assert f.radius == 2 and f.sigma == 2 and f.size is None
    f.radius = 5
    assert f.sigma == 5 and f.kernel.size_x == 31
    want = np.asarray(im.filter(ParallelGaussianFilter(5, n_jobs=1)))
    np.testing.assert_array_equal(np.asarray(im.filter(f)), want)
    f.sigma = (1, 3)
    np.testing.assert_array_equal(
        np.asarray(im.filter(f)), np.asarray(im.filter(ParallelGaussianFilter((1, 3))))
    )
    f.size = 3
    assert f.kernel.size_x == f.kernel.size_y == 3
    with pytest.raises(ValueError, match="size"):
        f.size = 4
    with pytest.raises(ValueError, match="sigma"):
        f.radius = -1
    assert f.kernel.size_x == 3  # a refused value changes nothing


def test_pillow_gaussian_attribute_has_the_same_effect_as_ours():
    """What works on GaussianBlur works on ours: set radius, filter again."""
    im = Image.fromarray(photo_like(30, 30, seed=1))
    for cls in (ImageFilter.GaussianBlur, ParallelGaussianFilter):
        f = cls()
        f.radius = 4
        small = np.asarray(im.filter(cls(1))).astype(float)
        big = np.asarray(im.filter(f)).astype(float)
        assert big.std() < small.std()


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (((3, 3), [1, 2, 1, 2, 4, 2, 1, 2, 1]), {}),
        ((), {"size": (3, 3), "kernel": [1, 2, 1, 2, 4, 2, 1, 2, 1]}),
        (((3, 3),), {"kernel": [1, 2, 1, 2, 4, 2, 1, 2, 1]}),
        (((np.int64(3), np.int64(3)), [1, 2, 1, 2, 4, 2, 1, 2, 1]), {}),
        (((3, 3), [1, 2, 1, 2, 4, 2, 1, 2, 1], None, 0), {}),
        (([[1, 2, 1], [2, 4, 2], [1, 2, 1]],), {}),
        ((), {"kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "scale": 16, "offset": 0}),
    ],
)
def test_kernel_filter_takes_pillows_forms(args, kwargs):
    im = Image.fromarray(photo_like(20, 24, seed=7))
    want = np.asarray(im.filter(ParallelKernelFilter(np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]))))
    f = ParallelKernelFilter(*args, **kwargs)
    assert f.scale == 16 and f.offset == 0
    np.testing.assert_array_equal(np.asarray(im.filter(f)), want)


def test_kernel_filter_attributes_can_be_set():
    im = Image.fromarray(photo_like(20, 24, seed=8))
    f = ParallelKernelFilter((3, 3), [0, 0, 0, 0, 1, 0, 0, 0, 0])
    f.offset = 10
    assert np.asarray(im.filter(f)).astype(int).min() >= 10
    f.scale = 2
    f.offset = 0
    np.testing.assert_array_equal(
        np.asarray(im.filter(f)), np.floor(np.asarray(im) / 2 + 0.5).astype(np.uint8)
    )
    f.filterargs = ((3, 3), 1, 0, [0, 0, 0, 0, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(np.asarray(im.filter(f)), np.asarray(im))
    assert f.filterargs == ((3, 3), 1.0, 0.0, [0.0, 0, 0, 0, 1, 0, 0, 0, 0])
    f.weights = [[1, 1, 1]]
    assert f.scale == 1 and f.filterargs[0] == (3, 1)
    with pytest.raises(ValueError, match="scale"):
        f.scale = 0


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_64_bit_integer_arrays(dtype):
    rng = np.random.default_rng(3)
    a = rng.integers(0, 2**40, (30, 20), dtype=np.int64).astype(dtype)
    out = gaussian_blur(a, sigma=1.5, n_jobs=1)
    assert out.dtype == dtype
    ref = rounded(reference_correlate(a, reference_kernel(11, 1.5)), dtype)
    assert np.abs(out.astype(np.float64) - ref).max() <= 1
    top = np.full((5, 5), np.iinfo(dtype).max, dtype)
    assert (correlate(top, [[2.0]], n_jobs=1) == np.iinfo(dtype).max).all()


def test_bool_arrays_stay_refused():
    with pytest.raises(TypeError, match="dtype"):
        gaussian_blur(np.zeros((4, 4), bool), sigma=1)


# ------------------------------------------------------------------ box blur
def box_kernel(rx: float, ry: float) -> tuple[np.ndarray, float]:
    """Pillow's box as integer weights over one denominator (radii are multiples of 1/4)."""

    def taps(r):
        n = int(r)
        t = np.ones(2 * n + 1) * 4
        if r > n:
            t = np.concatenate([[(r - n) * 4], t, [(r - n) * 4]])
        return t, (2 * r + 1) * 4

    (ty, dy), (tx, dx) = taps(ry), taps(rx)
    return np.outer(ty, tx), dy * dx


@pytest.mark.parametrize("radius", [1, 2, 0.5, 1.5, 3.25, (2, 1), (0, 3)])
def test_box_blur_is_exact_and_close_to_pillows(radius):
    a = photo_like(90, 110, seed=3)
    im = Image.fromarray(a)
    rx, ry = radius if isinstance(radius, tuple) else (radius, radius)
    out = np.asarray(im.filter(ParallelBoxBlur(radius, n_jobs=2)))
    weights, denominator = box_kernel(rx, ry)
    exact = reference_correlate(a, weights) / denominator  # integer sums, one division
    np.testing.assert_array_equal(out, rounded(exact, np.uint8))
    pillow = np.asarray(im.filter(ImageFilter.BoxBlur(radius)))
    assert np.abs(out.astype(int) - pillow).max() <= 1  # Pillow rounds after each pass


def test_box_blur_zero_is_a_copy_and_radius_can_be_set():
    im = Image.fromarray(photo_like(20, 20, seed=5))
    f = ParallelBoxBlur(0)
    assert im.filter(f).tobytes() == im.tobytes()
    f.radius = 1
    assert f.radius == 1
    assert im.filter(f).tobytes() == im.filter(ParallelBoxBlur(1)).tobytes() != im.tobytes()
    for bad, error in [(-1, ValueError), ("2", TypeError), ((1, 2, 3), ValueError)]:
        with pytest.raises(error, match="radius"):
            ParallelBoxBlur(bad)


# -------------------------------------------------------------- unsharp mask
def unsharp_reference(a: np.ndarray, sigma: float, percent: int, threshold: int) -> np.ndarray:
    """Exact blur rounded to the type, sharpened where |diff| > threshold (strictly, as Pillow)."""
    size = 2 * int(np.ceil(3 * sigma)) + 1
    blurred = rounded(reference_correlate(a, reference_kernel(size, sigma)), a.dtype)
    diff = a.astype(np.float64) - blurred
    sharp = rounded(a + diff * percent / 100, a.dtype)
    return np.where(np.abs(diff) > threshold, sharp, a)


@pytest.mark.parametrize(
    ("radius", "percent", "threshold"), [(2, 150, 3), (1, 50, 0), (3.5, 137, 10), (1, 200, 1)]
)
def test_unsharp_mask_against_the_reference(radius, percent, threshold):
    a = photo_like(70, 90, seed=6)
    f = ParallelUnsharpMask(radius, percent, threshold, n_jobs=2)
    out = np.asarray(Image.fromarray(a).filter(f))
    want = unsharp_reference(a, radius, percent, threshold)
    assert np.abs(out.astype(int) - want).max() <= 2  # a blur tie off by 1, times 1 + percent
    assert (out == want).mean() >= 0.999


def test_unsharp_mask_defaults_attributes_and_errors():
    f = ParallelUnsharpMask()
    assert (f.radius, f.percent, f.threshold) == (2, 150, 3)
    im = Image.fromarray(photo_like(40, 40, seed=9))
    f.percent = 0
    assert im.filter(f).tobytes() == im.tobytes()
    f.percent, f.threshold, f.radius = 300, 0, 1
    want = ParallelUnsharpMask(1, 300, 0)
    assert im.filter(f).tobytes() == im.filter(want).tobytes()
    for kwargs, error, words in [
        ({"radius": -1}, ValueError, "sigma"),
        ({"percent": 1.5}, TypeError, "percent"),
        ({"threshold": -1}, ValueError, "threshold"),
        ({"threshold": "3"}, TypeError, "threshold"),
    ]:
        with pytest.raises(error, match=words):
            ParallelUnsharpMask(**kwargs)


@pytest.mark.parametrize("mode", SUPPORTED_MODES)
def test_box_and_unsharp_take_every_mode(mode):
    im = Image.new(mode, (13, 9))
    for f in (ParallelBoxBlur(1.5), ParallelUnsharpMask(1, 120, 0)):
        out = im.filter(f)
        assert out.mode == mode and out.size == im.size


@pytest.mark.parametrize("builtin", [ImageFilter.SMOOTH, ImageFilter.SHARPEN, ImageFilter.EMBOSS])
def test_pillows_builtin_kernels_convert_through_filterargs(builtin):
    """docs/pillow.md: ParallelKernelFilter(size, kernel, scale, offset) from filterargs."""
    size, scale, offset, kernel = builtin.filterargs
    ours = ParallelKernelFilter(size, kernel, scale, offset)
    im = Image.fromarray(photo_like(30, 40, seed=11))
    a, b = np.asarray(im.filter(ours)), np.asarray(im.filter(builtin))
    np.testing.assert_array_equal(a[2:-2, 2:-2], b[2:-2, 2:-2])  # Pillow copies the border


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("percent", [0, 1, 50, 150, 299, -100, 10**9, 2**40 - 1])
@pytest.mark.parametrize("threshold", [0, 2.5, 3, 300])
def test_the_compiled_unsharp_combination_is_the_exact_rule(dtype, percent, threshold):
    """The combination (compiled, or NumPy's on that engine) against exact fractions."""
    native = engine.native_module()  # None on the NumPy engine (each_engine)
    top = np.iinfo(dtype).max
    rng = np.random.default_rng(percent % 1000)
    a = rng.integers(0, top + 1, (37, 23, 3)).astype(dtype)
    blurred = np.clip(a.astype(np.int64) + rng.integers(-9, 10, a.shape), 0, top).astype(dtype)
    out = np.empty_like(a)
    engine.unsharp_rows(a, blurred, out, 0, a.shape[0], percent, threshold, native)
    want = np.empty_like(a)
    for i, (x, b) in enumerate(zip(a.ravel().tolist(), blurred.ravel().tolist(), strict=True)):
        exact = Fraction(100 * x + (x - b) * percent, 100)
        q = round(exact)  # Python rounds a Fraction half to even
        want.flat[i] = min(max(q, 0), top) if abs(x - b) > threshold else x
    np.testing.assert_array_equal(out, want)
    # the NumPy rule the engine falls back to gives the same integers
    twin = np.empty_like(a)
    engine.unsharp_rows(a, blurred, twin, 0, a.shape[0], percent, threshold)
    np.testing.assert_array_equal(twin, want)
    # and the result may be written over the blurred rows
    over = blurred.copy()
    engine.unsharp_rows(a, over, over, 0, a.shape[0], percent, threshold, native)
    np.testing.assert_array_equal(over, want)
