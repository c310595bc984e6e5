import math

import numpy as np
import pytest
from conftest import default_size, reference_kernel

from pil_parallel_blur import gaussian_kernel, gaussian_kernel_1d


@pytest.mark.parametrize(
    ("size", "sigma"),
    [
        (1, 1.0),
        (3, 0.5),
        (7, 2),
        (13, 2.0),
        (49, 8),
        (5, 100.0),
        ((5, 9), (1.5, 3.0)),
        ((9, 3), 2),
    ],
)
def test_kernel_matches_formula(size, sigma):
    k = gaussian_kernel(size, sigma)
    sx, sy = size if isinstance(size, tuple) else (size, size)
    assert k.shape == (sy, sx)
    assert k.dtype == np.float64
    np.testing.assert_allclose(k, reference_kernel(size, sigma), rtol=1e-12, atol=1e-15)
    assert math.isclose(k.sum(), 1.0, rel_tol=1e-12)


def test_anisotropic_x_is_the_column_axis():
    k = gaussian_kernel((3, 3), (0.5, 5.0))
    # wide along y (rows), narrow along x (columns): a column varies little
    assert np.ptp(k[:, 1]) < np.ptp(k[1, :])


@pytest.mark.parametrize(("sigma", "size"), [(0.5, 5), (2, 13), (8, 49), (25, 151), (1.01, 9)])
def test_size_defaults_to_three_sigma(sigma, size):
    assert default_size(sigma) == size
    assert gaussian_kernel(sigma=sigma).shape == (size, size)


def test_nothing_given_is_sigma_2():
    np.testing.assert_allclose(gaussian_kernel(), reference_kernel(13, 2.0), rtol=1e-12)


def test_one_d_factor_is_separable_part():
    g = gaussian_kernel_1d(7, 2)
    np.testing.assert_allclose(np.outer(g, g), gaussian_kernel(7, 2), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"size": 4}, ValueError, "size"),
        ({"size": 0}, ValueError, "size"),
        ({"size": -3}, ValueError, "size"),
        ({"size": 7.0}, TypeError, "size"),
        ({"size": True}, TypeError, "size"),
        ({"size": "7"}, TypeError, "size"),
        ({"size": (3, 4)}, ValueError, "size"),
        ({"size": (3, 5, 7)}, ValueError, "size"),
        ({"sigma": 0}, ValueError, "sigma"),
        ({"sigma": -1}, ValueError, "sigma"),
        ({"sigma": float("nan")}, ValueError, "sigma"),
        ({"sigma": float("inf")}, ValueError, "sigma"),
        ({"sigma": True}, TypeError, "sigma"),
        ({"sigma": "2"}, TypeError, "sigma"),
        ({"sigma": 1j}, TypeError, "sigma"),
    ],
)
def test_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words) as info:
        gaussian_kernel(**kwargs)
    value = next(iter(kwargs.values()))
    if not isinstance(value, float) or math.isfinite(value):
        assert repr(value) in str(info.value) or str(value) in str(info.value)


@pytest.mark.parametrize(("size", "sigma"), [(None, 5000.0), (10**6 + 1, 2.0), (None, 1e12)])
def test_any_size_and_sigma_resolve_and_fold(size, sigma):
    """No cap on the kernel (Pillow has none): on an image it folds to 2·n - 1 taps."""
    from pil_parallel_blur.kernels import resolve_kernel

    spec = resolve_kernel(size, sigma)
    g_y, g_x = spec.factors((7, 12))
    assert len(g_y) == 13 and len(g_x) == 23
    assert abs(g_y.sum() - 1) < 1e-12 and abs(g_x.sum() - 1) < 1e-12
    assert (g_y == g_y[::-1]).all()
