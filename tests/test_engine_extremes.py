"""The engine at the edges of its number types: huge floats, overflowing sums, odd memory.

Results are checked against the float64 reference of ``conftest.py`` (on a
copy scaled into range by a power of two, which is exact) or against a rule
written here, on both engines.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import assert_spec_accuracy, reference_kernel

from pil_parallel_blur import ParallelGaussianFilter, correlate, gaussian_blur, testing
from pil_parallel_blur.engine import choose, plan_correlation
from pil_parallel_blur.kernels import from_terms, resolve_kernel


@pytest.mark.parametrize("value", [1e305, 9e307, np.finfo(np.float64).max])
@pytest.mark.parametrize("sigma", [2, 60])  # the direct passes, then the FFT
def test_a_flat_float64_image_comes_back_unchanged(each_engine, value, sigma):
    for sign in (1, -1):
        a = np.full((40, 70), sign * value)
        out = gaussian_blur(a, sigma, n_jobs=1)
        assert np.array_equal(out, a), (out.min(), out.max())


@pytest.mark.parametrize("sigma", [1.5, 60])
def test_huge_float64_values_blur_like_scaled_ones(each_engine, sigma):
    rng = np.random.default_rng(5)
    a = rng.uniform(-1, 1, (30, 45)) * 1.7e308
    out = gaussian_blur(a, sigma, n_jobs=1)
    assert np.isfinite(out).all()
    scale = 2.0**-64  # exact: only the exponents change
    size = 2 * int(np.ceil(3 * sigma)) + 1
    ref_kernel = reference_kernel(size, sigma)
    assert_spec_accuracy(out * scale, a * scale, ref_kernel)


def test_infinities_stay_infinite(each_engine):
    a = np.zeros((9, 9))
    a[4, 4] = np.inf
    out = gaussian_blur(a, 1, n_jobs=1)
    assert out[4, 4] == np.inf and out[0, 0] == 0


def test_overflowing_integer_sums_agree_on_both_engines_and_never_wrap():
    """inf - inf is NaN: an integer result of it is 0 on both engines (not undefined)."""
    rng = np.random.default_rng(0)
    for _ in range(120):
        k = rng.choice([1e308, -1e308, 0.0, 1.0], size=(3, 3))
        a = (rng.integers(0, 3, (3, 4)).astype(np.uint64) * (2**62)).astype(np.uint64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = correlate(a, k, n_jobs=1)
            with testing.numpy_engine():
                numpy_out = correlate(a, k, n_jobs=1)
        assert np.array_equal(out, numpy_out), (k, a, out, numpy_out)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_unaligned_arrays_are_read_correctly(each_engine, dtype):
    a = np.random.default_rng(1).integers(0, 200, (37, 29, 3)).astype(dtype)
    raw = np.zeros(a.nbytes + 1, np.uint8)
    unaligned = np.frombuffer(raw.data, dtype=np.uint8, count=a.nbytes, offset=1).view(dtype)
    unaligned = unaligned.reshape(a.shape)
    unaligned[...] = a
    if a.dtype.itemsize > 1:
        assert not unaligned.flags.aligned
    out = gaussian_blur(unaligned, 2, n_jobs=1)
    assert np.array_equal(out, gaussian_blur(a, 2, n_jobs=1))


@pytest.mark.parametrize("shape", [(1, 200_000, 3), (2, 100_000, 3)])
def test_images_a_row_or_two_high_take_the_direct_passes(shape):
    """Each axis costed by its own lines: a million 1-sample columns are not worth a transform."""
    spec = resolve_kernel(None, 100)
    image = np.zeros(shape, np.uint8)
    plan = plan_correlation(shape, image.dtype, from_terms([spec.factors(shape)]))
    assert choose(plan, image).spectral is None


def test_large_images_still_take_the_fft_for_large_sigma():
    shape = (2000, 1500, 3)
    spec = resolve_kernel(None, 64)
    image = np.zeros(shape, np.uint8)
    plan = plan_correlation(shape, image.dtype, from_terms([spec.factors(shape)]))
    assert choose(plan, image).spectral is not None


@pytest.mark.parametrize("sigma", [1.1e15, 2.6e51, 6e307, (2, 1e300)])
def test_a_sigma_too_large_is_refused_at_construction(sigma):
    with pytest.raises(ValueError, match=r"sigma must be at most 1e\+15"):
        ParallelGaussianFilter(sigma)
    with pytest.raises(ValueError, match="sigma must be at most"):
        gaussian_blur(np.zeros((4, 4), np.uint8), sigma)


def test_the_largest_sigma_taken_blurs_to_the_edge_mean():
    """σ 1e15: every tap but the edges' folds onto the edges; a ramp becomes their mean."""
    a = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (6, 1))
    out = gaussian_blur(a, (1e15, 0), n_jobs=1)
    assert np.all(np.abs(out.astype(int) - (0 + 240) / 2) <= 1)
