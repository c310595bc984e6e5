import numpy as np
import pytest

from pil_parallel_blur import gaussian_blur


@pytest.mark.parametrize(
    ("array", "error", "words"),
    [
        ([[1, 2], [3, 4]], TypeError, "numpy.ndarray"),
        (np.zeros(5, np.uint8), ValueError, "dimensions"),
        (np.zeros((2, 2, 2, 2), np.uint8), ValueError, "dimensions"),
        (np.zeros((4, 4), bool), TypeError, "dtype"),
        (np.zeros((4, 4), complex), TypeError, "dtype"),
        (np.zeros((4, 4), object), TypeError, "dtype"),
    ],
)
def test_bad_arrays(array, error, words):
    with pytest.raises(error, match=words):
        gaussian_blur(array, sigma=1)


def test_bad_settings_are_named():
    a = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError, match="n_jobs"):
        gaussian_blur(a, n_jobs=0)
    with pytest.raises(ValueError, match="size"):
        gaussian_blur(a, size=4)


def test_input_is_not_modified():
    a = np.random.default_rng(0).integers(0, 255, (30, 30, 3), dtype=np.uint8)
    before = a.copy()
    gaussian_blur(a, sigma=3, n_jobs=1)
    np.testing.assert_array_equal(a, before)


def test_non_contiguous_input():
    a = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    view = a[::2, ::3]
    np.testing.assert_array_equal(
        gaussian_blur(view, sigma=2, n_jobs=1), gaussian_blur(view.copy(), sigma=2, n_jobs=1)
    )


@pytest.mark.parametrize("shape", [(3, 40, 50), (1, 20, 30), (4, 8, 9)])
def test_a_channels_first_array_is_blurred_as_given_with_a_warning(shape):
    a = np.zeros(shape, np.uint8)
    with pytest.warns(UserWarning, match="channels-first"):
        out = gaussian_blur(a, sigma=1, n_jobs=1)
    assert out.shape == shape


@pytest.mark.parametrize("shape", [(40, 50, 3), (3, 40, 4), (5, 40, 50), (3, 40)])
def test_channels_last_arrays_give_no_warning(shape):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gaussian_blur(np.zeros(shape, np.uint8), sigma=1, n_jobs=1)
