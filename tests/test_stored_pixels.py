"""Filters working on Pillow's own 4-byte pixels of RGB, YCbCr, HSV and LAB images.

Pillow stores those modes' three bands in the first three bytes of 4-byte
pixels. The exact family's correlating filters read and write the bands where
they are (``pillow_adapter.core_to_pixels``, ``correlate_array(...,
channels=3)``), instead of narrowing a copy to 3 samples a pixel and widening
the result back. Every test compares against the 3-sample path, which the
accuracy tests compare against the float64 reference: the bands must be the
same bytes, the fourth byte of each pixel left as Pillow had it.
"""

import numpy as np
import pytest
from conftest import photo_like, stored_bytes
from PIL import Image

from pil_parallel_blur import (
    ParallelBoxBlur,
    ParallelGaussianFilter,
    ParallelKernelFilter,
    ParallelUnsharpMask,
    pillow_adapter,
)
from pil_parallel_blur.blur import correlate_array, plan_for
from pil_parallel_blur.engine import choose
from pil_parallel_blur.parallel import ParallelSettings, Workers

THREE_BANDS = ("RGB", "YCbCr", "HSV", "LAB")


def _image(mode, height=61, width=83, seed=0):
    return Image.frombytes(mode, (width, height), photo_like(height, width, seed=seed).tobytes())


def _with_fourth(bands, seed):
    """``bands`` (H, W, 3) in 4-sample pixels whose fourth samples are random."""
    pixels = np.empty((*bands.shape[:2], 4), bands.dtype)
    pixels[..., :3] = bands
    pixels[..., 3] = np.random.default_rng(seed).integers(0, 256, bands.shape[:2])
    return pixels


def _workers(n_jobs, backend="threading"):
    return Workers(ParallelSettings(n_jobs, backend, None, None))


@pytest.mark.parametrize("mode", THREE_BANDS)
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_the_pixels_are_pillows_bytes_with_the_bands_first(mode, n_jobs):
    image = _image(mode, seed=len(mode))
    pixels = pillow_adapter.core_to_pixels(image.im, _workers(n_jobs).map_small)
    assert pixels.shape == (61, 83, 4) and pixels.dtype == np.uint8
    assert pixels.tobytes() == stored_bytes(image.im)  # the fourth bytes included
    np.testing.assert_array_equal(pixels[..., :3], pillow_adapter.core_to_array(image.im))


@pytest.mark.parametrize("mode", ["L", "LA", "La", "RGBA", "RGBX", "CMYK", "I;16", "F"])
def test_other_modes_have_no_stored_pixels(mode):
    assert pillow_adapter.core_to_pixels(Image.new(mode, (5, 4)).im) is None


def test_without_pillows_buffer_hook_there_are_no_stored_pixels(monkeypatch):
    real = pillow_adapter.private_hook
    hidden = "core.map_buffer"
    monkeypatch.setattr(
        pillow_adapter, "private_hook", lambda name: None if name == hidden else real(name)
    )
    assert pillow_adapter.core_to_pixels(_image("RGB").im) is None


def test_stored_pixels_go_back_to_pillow_as_they_are():
    image = _image("RGB", seed=3)
    pixels = pillow_adapter.core_to_pixels(image.im)
    core = pillow_adapter.array_to_core(pixels, "RGB")
    assert stored_bytes(core) == stored_bytes(image.im)
    assert Image.Image()._new(core).tobytes() == image.tobytes()


#: Kernels through the direct passes, the spectral passes, and two terms.
KERNELS = {
    "direct": ParallelGaussianFilter(sigma=1.5)._terms,
    "spectral": ParallelGaussianFilter(sigma=20)._terms,
    "two terms": ParallelKernelFilter((3, 3), [1, 2, 1, 2, 9, 2, 1, 2, 3]).separable(),
}


#: 8-bit samples (the pixels Pillow stores), and others the engine reads the same way
DTYPES = {
    "uint8": lambda a: a,
    "uint16": lambda a: a.astype(np.uint16) * 257,
    "float32": lambda a: a.astype(np.float32) / 7,
}


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("n_jobs", [1, 2, 3])
@pytest.mark.parametrize("owned", [True, False])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_wider_pixels_have_their_bands_filtered_alone(
    each_engine, parallel_always, kernel, n_jobs, owned, dtype
):
    terms = KERNELS[kernel]
    bands = DTYPES[dtype](photo_like(300, 410, seed=n_jobs))
    if dtype == "uint8":
        plan, _ = plan_for(bands.shape, bands.dtype, terms)
        assert (choose(plan).spectral is not None) == (kernel == "spectral")
    want = correlate_array(bands.copy(), terms, _workers(1), owned=True)
    pixels = _with_fourth(bands, seed=n_jobs)
    given = pixels.copy()
    out = correlate_array(pixels, terms, _workers(n_jobs), owned=owned, channels=3)
    np.testing.assert_array_equal(out[..., :3], want)
    if out.shape[2] == 4:  # written over the pixels: their fourth samples untouched
        np.testing.assert_array_equal(out[..., 3], given[..., 3])
    if not owned:
        np.testing.assert_array_equal(pixels, given)


@pytest.mark.parametrize("kernel", ["direct", "spectral"])
def test_process_workers_read_wider_pixels_too(kernel):
    terms = KERNELS[kernel]
    bands = photo_like(300, 410, seed=7)
    want = correlate_array(bands.copy(), terms, _workers(1), owned=True)
    out = correlate_array(_with_fourth(bands, 7), terms, _workers(2, "loky"), channels=3)
    np.testing.assert_array_equal(out[..., :3], want)


def _narrowed_path(monkeypatch):
    """The filters' 3-sample path: no stored pixels."""
    monkeypatch.setattr("pil_parallel_blur.filter_base.core_to_pixels", lambda core, rows: None)


@pytest.mark.parametrize("mode", THREE_BANDS)
@pytest.mark.parametrize(
    "make",
    [
        lambda: ParallelGaussianFilter(sigma=2, n_jobs=2),
        lambda: ParallelGaussianFilter(sigma=20, n_jobs=3),
        lambda: ParallelBoxBlur(2.5, n_jobs=2),
        lambda: ParallelKernelFilter((3, 3), [1, 2, 1, 2, 9, 2, 1, 2, 3], n_jobs=2),
        lambda: ParallelUnsharpMask(2, 150, 3, n_jobs=2),
    ],
    ids=["gaussian", "spectral", "box", "kernel", "unsharp"],
)
def test_image_filter_on_stored_pixels_gives_the_narrowed_paths_bytes(
    monkeypatch, parallel_always, mode, make
):
    image = _image(mode, height=300, width=410, seed=len(mode))
    got = image.filter(make())
    _narrowed_path(monkeypatch)
    want = image.filter(make())
    assert (got.mode, got.size) == (want.mode, want.size)
    assert got.tobytes() == want.tobytes()
    # and the fourth byte of each pixel is Pillow's (255), as after a widening
    assert stored_bytes(got.im) == stored_bytes(want.im)


@pytest.mark.parametrize(("sigma", "stored"), [(2, True), (20, False)])
def test_only_the_direct_passes_take_stored_pixels(monkeypatch, sigma, stored):
    """The spectral passes take the narrowed copy: their plane beside 4-byte
    pixels would raise the peak memory above Pillow's."""
    image = _image("RGB", height=300, width=410)
    plan, _ = plan_for((300, 410, 3), np.dtype(np.uint8), ParallelGaussianFilter(sigma)._terms)
    assert (choose(plan).spectral is None) == stored
    taken = []
    real = pillow_adapter.core_to_pixels
    monkeypatch.setattr(
        "pil_parallel_blur.filter_base.core_to_pixels",
        lambda core, rows: taken.append(core.mode) or real(core, rows),
    )
    image.filter(ParallelGaussianFilter(sigma=sigma))
    assert taken == (["RGB"] if stored else [])
