"""SPEC §4/§5/§7: the Pillow filter as a drop-in for ImageFilter.GaussianBlur."""

import numpy as np
import pytest
from conftest import assert_spec_accuracy, photo_like, reference_kernel
from PIL import Image, ImageFilter
from skimage import data

from pil_parallel_blur import ParallelGaussianFilter

PILLOW_MODES = ["L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK"]


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.fromarray(data.astronaut())


# (GaussianBlur call, the same call with our class); each a Pillow idiom.
IDIOMS = [
    ("instance default", lambda cls: cls()),
    ("class itself", lambda cls: cls),
    ("positional radius", lambda cls: cls(2)),
    ("keyword radius", lambda cls: cls(radius=2)),
    ("float radius", lambda cls: cls(2.0)),
    ("tuple radius", lambda cls: cls((2, 5))),
    ("list radius", lambda cls: cls([3, 1])),
    ("radius 0", lambda cls: cls(0)),
    ("radius (0, 0)", lambda cls: cls((0, 0))),
]


@pytest.mark.parametrize(("name", "make"), IDIOMS, ids=[i[0] for i in IDIOMS])
@pytest.mark.parametrize("mode", PILLOW_MODES)
def test_same_calls_as_gaussianblur(photo, name, make, mode):
    im = photo.convert(mode)
    im.info["dpi"] = (300, 300)
    ours = im.filter(make(ParallelGaussianFilter))
    theirs = im.filter(make(ImageFilter.GaussianBlur))
    assert ours.mode == theirs.mode == mode
    assert ours.size == theirs.size == im.size
    assert ours.info == theirs.info == im.info
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if name.startswith("radius 0"):
        np.testing.assert_array_equal(a, np.asarray(im))
        np.testing.assert_array_equal(b, np.asarray(im))
    elif name in ("instance default", "class itself", "positional radius", "keyword radius"):
        # sigma 2, default size: Pillow's box approximation is close on a photo
        assert np.abs(a - b).mean() < 0.5
    else:
        assert np.abs(a - b).mean() < 1.0


def test_exact_where_pillow_is_not(photo):
    """On a real photo Pillow is levels off; we stay within SPEC §3."""
    arr = np.asarray(photo)
    ours = np.asarray(photo.filter(ParallelGaussianFilter(8, n_jobs=1)))
    theirs = np.asarray(photo.filter(ImageFilter.GaussianBlur(8)))
    assert_spec_accuracy(ours, arr, reference_kernel(49, 8.0))
    assert np.abs(theirs.astype(int) - ours).max() >= 3


def test_seed_form_and_parallel_keywords():
    im = Image.fromarray(photo_like(120, 90))
    for f in [
        ParallelGaussianFilter(size=7, sigma=2),
        ParallelGaussianFilter(sigma=3, n_jobs=2, backend="loky"),
        ParallelGaussianFilter(sigma=3, n_jobs=2, backend="threading"),
        ParallelGaussianFilter(size=(5, 9), sigma=(1, 2), n_jobs=-1),
    ]:
        out = im.filter(f)
        k = f.kernel
        ref = reference_kernel((k.size_x, k.size_y), (k.sigma_x, k.sigma_y))
        assert_spec_accuracy(np.asarray(out), np.asarray(im), ref)


def test_palette_is_kept_for_info_and_modes_are_named():
    im = Image.new("RGB", (10, 10), "red").convert("P")
    with pytest.raises(ValueError, match="palette images .* convert to RGB"):
        im.filter(ParallelGaussianFilter(2))
    with pytest.raises(ValueError, match="palette images"):
        im.convert("PA").filter(ParallelGaussianFilter(2))
    with pytest.raises(ValueError, match="bilevel images .* convert to L"):
        Image.new("1", (10, 10)).filter(ParallelGaussianFilter(2))


def test_name_and_repr():
    f = ParallelGaussianFilter((2, 5), n_jobs=2, backend="threading")
    assert f.name == "ParallelGaussianBlur"
    text = repr(f)
    for part in ["sigma=(2.0, 5.0)", "size=(13, 31)", "n_jobs=2", "backend='threading'"]:
        assert part in text
    assert f.radius == (2, 5)
    assert not callable(f)  # Image.filter would call an instance that defines __call__


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"radius": 2, "sigma": 2}, TypeError, "radius or sigma"),
        ({"radius": -1}, ValueError, "sigma must be a finite number >= 0, got -1"),
        ({"sigma": float("nan")}, ValueError, "sigma"),
        ({"sigma": float("inf")}, ValueError, "sigma"),
        ({"sigma": True}, TypeError, "sigma"),
        ({"sigma": "2"}, TypeError, "sigma"),
        ({"sigma": (1, 2, 3)}, ValueError, "pair"),
        ({"size": 6}, ValueError, "size must be an odd positive int, got 6"),
        ({"size": 0}, ValueError, "size"),
        ({"size": 7.5}, TypeError, "size"),
        ({"size": False}, TypeError, "size"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be a non-zero int"),
        ({"n_jobs": 1.5}, TypeError, "n_jobs"),
        ({"n_jobs": True}, TypeError, "n_jobs"),
        ({"n_jobs": "2"}, TypeError, "n_jobs"),
        ({"backend": "gpu"}, ValueError, "backend must be one of"),
        ({"backend": 3}, TypeError, "backend"),
        ({"temp_folder": "/no/such/folder"}, ValueError, "temp_folder"),
        ({"temp_folder": 5}, TypeError, "temp_folder"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs, error, words):
    with pytest.raises(error, match=words):
        ParallelGaussianFilter(**kwargs)


def test_positional_size_sigma_is_refused():
    with pytest.raises(TypeError):
        ParallelGaussianFilter(7, 2)  # type: ignore[misc]


@pytest.mark.parametrize("mode", ["RGB", "LA", "I;16B", "F"])
def test_large_image_rebuilt_by_parallel_decode(mode):
    """Over 8 MB the result image is decoded in stripes of rows by the thread pool."""
    rng = np.random.default_rng(1)
    n = len(Image.new(mode, (1, 1)).tobytes()) * 1500 * 3000
    raw = rng.integers(0, 256, n, dtype=np.uint8)
    if mode == "F":
        raw = (rng.random(n // 4) * 1000).astype("<f4").view(np.uint8)
    im = Image.frombytes(mode, (1500, 3000), raw.tobytes())
    parallel_out = im.filter(ParallelGaussianFilter(1.5, n_jobs=2, backend="threading"))
    serial_out = im.filter(ParallelGaussianFilter(1.5, n_jobs=1))
    assert parallel_out.mode == mode and parallel_out.size == im.size
    assert parallel_out.tobytes() == serial_out.tobytes()
    assert np.asarray(parallel_out).nbytes >= 8 << 20


def test_rows_wider_than_the_encoder_chunk():
    """A 90 000 × 24 RGB image: each row is 270 000 bytes, more than one 256 KiB chunk."""
    a = photo_like(24, 90_000, seed=4)
    out = np.asarray(Image.fromarray(a).filter(ParallelGaussianFilter(size=7, sigma=2)))
    assert_spec_accuracy(out, a, reference_kernel(7, 2.0))


def _filters_to_pickle():
    from pil_parallel_blur import (
        ParallelBoxBlur,
        ParallelKernelFilter,
        ParallelUnsharpMask,
        pillow,
    )

    return [
        ParallelGaussianFilter((2, 3.5), n_jobs=2),
        ParallelBoxBlur((2.5, 0.5)),
        ParallelUnsharpMask(1.5, 120, 2),
        ParallelKernelFilter([[1, 2, 1], [0, 1, 0], [1, 0, 1]]),
        pillow.GaussianBlur(2),
    ]


@pytest.mark.parametrize("flt", _filters_to_pickle(), ids=lambda f: type(f).__name__)
def test_filters_pickle_and_filter_alike(flt):
    """A filter travels to worker processes (a data loader's spawn) and blurs the same there."""
    import pickle

    again = pickle.loads(pickle.dumps(flt))
    im = Image.fromarray(photo_like(37, 29, seed=21))
    assert im.filter(again).tobytes() == im.filter(flt).tobytes()
    assert repr(again) == repr(flt)
