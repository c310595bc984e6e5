"""``pil_parallel_blur.pillow``: the installed Pillow's bytes, whatever the workers.

Every comparison is against the installed Pillow's own filter on the same
image, never against this package's earlier output.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from conftest import photo_like
from PIL import Image, ImageFilter

from pil_parallel_blur import ParallelBoxBlur, ParallelUnsharpMask, pillow, testing
from pil_parallel_blur.engine import native, plan_boxes

MODES = pillow.PILLOW_MODES
RADII = [0, 0.5, 1, 1.5, 2.3, 5, 10.3, 50, 200]
SHAPES = [(1, 1), (1, 9), (9, 1), (3, 4), (17, 23), (40, 31)]


def _image(mode: str, shape: tuple[int, int], seed: int = 0) -> Image.Image:
    h, w = shape
    rng = np.random.default_rng(seed)
    bands = len(Image.new(mode, (1, 1)).getbands())
    a = rng.integers(0, 256, (h, w, bands), dtype=np.uint8)
    return Image.frombytes(mode, (w, h), a.tobytes())


def _same(ours: Image.Image, theirs: Image.Image) -> bool:
    return ours.mode == theirs.mode and ours.tobytes() == theirs.tobytes()


FAMILY = [
    (pillow.GaussianBlur, ImageFilter.GaussianBlur),
    (pillow.BoxBlur, ImageFilter.BoxBlur),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("ours", "theirs"), FAMILY, ids=["gaussian", "box"])
def test_every_mode_shape_and_radius_is_pillows_bytes(each_engine, mode, ours, theirs):
    for i, shape in enumerate(SHAPES):
        im = _image(mode, shape, seed=i)
        for radius in RADII:
            for xy in (radius, (radius, 1.5), (0, radius)):
                got = im.filter(ours(xy, n_jobs=1))
                assert _same(got, im.filter(theirs(xy))), (mode, shape, xy)


@pytest.mark.parametrize("radius", [0.5, 2, 10.3, 200])
def test_a_photo_is_pillows_bytes_for_every_worker_count_and_backend(radius):
    im = Image.fromarray(photo_like(300, 260, seed=3))
    for ours, theirs in FAMILY:
        want = im.filter(theirs(radius)).tobytes()
        with testing.parallel_always():
            for backend in ("threading", "loky"):
                for n_jobs in (1, 2, 3):
                    got = im.filter(ours(radius, n_jobs=n_jobs, backend=backend))
                    assert got.tobytes() == want, (ours, backend, n_jobs)


def test_the_multiprocessing_and_dask_free_paths_too():
    im = Image.fromarray(photo_like(120, 90, seed=4)).convert("RGBA")
    want = im.filter(ImageFilter.GaussianBlur(3)).tobytes()
    with testing.parallel_always():
        got = im.filter(pillow.GaussianBlur(3, n_jobs=2, backend="multiprocessing"))
        seq = im.filter(pillow.GaussianBlur(3, n_jobs=2, backend="sequential"))
    assert got.tobytes() == want and seq.tobytes() == want


@pytest.mark.parametrize(
    "args", [(2, 150, 3), (0.5, 100, 0), (5, 300, 10), (2, -50, 2), (0, 150, 3), (1.5, 10**7, 0)]
)
@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "CMYK"])
def test_unsharp_mask_is_pillows_bytes(each_engine, mode, args):
    im = _image(mode, (37, 29), seed=5)
    with testing.parallel_always():
        got = im.filter(pillow.UnsharpMask(*args, n_jobs=2))
    assert _same(got, im.filter(ImageFilter.UnsharpMask(*args)))


def test_random_radii_and_shapes_ten_thousand_cases():
    """Property: random modes, shapes, radii (pairs too) and filters — all identical."""
    rng = np.random.default_rng(2026)
    cases = 0
    for _ in range(10_000):
        mode = MODES[rng.integers(len(MODES))]
        shape = (int(rng.integers(1, 12)), int(rng.integers(1, 12)))
        im = _image(mode, shape, seed=int(rng.integers(1 << 30)))
        scale = float(10 ** rng.uniform(-1, 2.5))
        xy = scale if rng.random() < 0.6 else (scale, float(rng.uniform(0, 4)))
        kind = rng.integers(3)
        if kind == 0:
            pair = pillow.GaussianBlur(xy, n_jobs=1), ImageFilter.GaussianBlur(xy)
        elif kind == 1:
            pair = pillow.BoxBlur(xy, n_jobs=1), ImageFilter.BoxBlur(xy)
        else:
            args = (scale, int(rng.integers(-200, 400)), int(rng.integers(0, 20)))
            pair = pillow.UnsharpMask(*args, n_jobs=1), ImageFilter.UnsharpMask(*args)
        assert _same(im.filter(pair[0]), im.filter(pair[1])), (mode, shape, xy, kind)
        cases += 1
    assert cases == 10_000


@pytest.mark.parametrize("radius", [2**24, 1e9, 2.1e9])
def test_huge_radii_wrap_as_pillows_arithmetic_does(each_engine, radius):
    im = _image("RGB", (7, 9), seed=6)
    for ours, theirs in FAMILY:
        assert _same(im.filter(ours(radius, n_jobs=1)), im.filter(theirs(radius)))


@pytest.mark.parametrize("mode", ["I", "F", "I;16", "P", "1", "YCbCr", "LAB", "HSV", "PA"])
def test_modes_pillow_refuses_are_refused_with_pillows_error(mode):
    im = Image.new(mode, (8, 8))
    for ours, theirs in [*FAMILY, (pillow.UnsharpMask, ImageFilter.UnsharpMask)]:
        with pytest.raises(ValueError, match="image has wrong mode") as mine:
            im.filter(ours(2))
        with pytest.raises(ValueError) as pillows:
            im.filter(theirs(2))
        assert str(mine.value) == str(pillows.value)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda f: f.BoxBlur(-1), "radius must be >= 0"),
        (lambda f: f.BoxBlur((1, float("nan"))), "radius must be >= 0"),
        (lambda f: f.BoxBlur(2**31), "radius too large"),
    ],
)
def test_box_radius_errors_at_construction_are_pillows(make, words):
    with pytest.raises(ValueError, match=words):
        make(pillow)
    with pytest.raises(ValueError, match=words):
        make(ImageFilter)


@pytest.mark.parametrize("radius", [1e30, float("nan"), 3.5e9])
def test_gaussian_radius_errors_at_filter_time_are_pillows(radius):
    im = Image.new("L", (5, 5))
    with pytest.raises(ValueError) as pillows:
        im.filter(ImageFilter.GaussianBlur(radius))
    with pytest.raises(ValueError) as mine:
        im.filter(pillow.GaussianBlur(radius))
    assert str(mine.value) == str(pillows.value)


def test_a_negative_gaussian_radius_blurs_as_pillows_does():
    im = _image("L", (20, 20))
    assert _same(im.filter(pillow.GaussianBlur(-2)), im.filter(ImageFilter.GaussianBlur(-2)))


def test_pillows_attributes_and_defaults():
    g, b, u = pillow.GaussianBlur(), pillow.BoxBlur(3), pillow.UnsharpMask()
    assert (g.radius, b.radius) == (2, 3)
    assert (u.radius, u.percent, u.threshold) == (2, 150, 3)
    assert g.name == "GaussianBlur" and b.name == "BoxBlur" and u.name == "UnsharpMask"
    im = _image("RGB", (25, 30))
    g.radius = (1, 4)  # settable, with the effect Pillow's has
    assert _same(im.filter(g), im.filter(ImageFilter.GaussianBlur((1, 4))))
    assert _same(im.filter(pillow.GaussianBlur), im.filter(ImageFilter.GaussianBlur))


@pytest.mark.parametrize("channels", [None, 1, 2, 3, 4])
def test_the_array_functions_give_pillows_bytes(channels):
    shape = (33, 41) if channels is None else (33, 41, channels)
    a = np.random.default_rng(7).integers(0, 256, shape, dtype=np.uint8)
    mode = {None: "L", 1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    im = Image.fromarray(a.reshape(33, 41) if channels == 1 else a, mode)

    def pillows(flt):
        return np.asarray(im.filter(flt)).reshape(a.shape)

    assert np.array_equal(pillow.gaussian_blur(a, 3), pillows(ImageFilter.GaussianBlur(3)))
    assert np.array_equal(pillow.box_blur(a, (2, 0.5)), pillows(ImageFilter.BoxBlur((2, 0.5))))
    assert np.array_equal(
        pillow.unsharp_mask(a, 2, 120, 4), pillows(ImageFilter.UnsharpMask(2, 120, 4))
    )


@pytest.mark.parametrize(
    ("array", "error"),
    [
        (np.zeros((4, 4), np.uint16), TypeError),
        (np.zeros((4, 4, 5), np.uint8), ValueError),
        (np.zeros(4, np.uint8), ValueError),
        ([[1, 2]], TypeError),
    ],
)
def test_the_array_functions_refuse_what_pillow_cannot_hold(array, error):
    with pytest.raises(error):
        pillow.gaussian_blur(array, 2)


# the exact family's fixes that travel with this module


def test_exact_unsharp_mask_sharpens_only_past_the_threshold_as_pillow():
    im = Image.frombytes("L", (4, 1), bytes([100, 100, 120, 110]))
    ours = im.filter(ParallelUnsharpMask(1, 100, 9))
    assert (
        ours.getpixel((2, 0))
        == 120
        == im.filter(ImageFilter.UnsharpMask(1, 100, 9)).getpixel((2, 0))
    )


@pytest.mark.parametrize("radius", [10**7, 2**31 - 1])
def test_exact_box_blur_costs_nothing_more_for_a_huge_radius(radius):
    im = Image.fromarray(photo_like(12, 16, channels=1))
    tracemalloc.start()
    out = im.filter(ParallelBoxBlur(radius))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20, peak
    # every tap reads an edge: each row becomes the mean of its two edge pixels
    a = np.asarray(im, dtype=float)
    expected = np.mean(np.stack([a[0, 0], a[0, -1], a[-1, 0], a[-1, -1]]))
    assert np.abs(np.asarray(out, dtype=float) - expected).max() <= 1


@pytest.mark.parametrize("shape", [(1, 9, 1), (9, 1, 1), (5, 7, 3), (50, 33, 4)])
@pytest.mark.parametrize(
    ("radius", "passes"), [(0.5, 1), (2.5, 1), (7.0, 3), (40.0, 3), (1000, 1)]
)
def test_vertical_passes_over_their_own_input_are_pillows_bytes(shape, radius, passes):
    """The compiled vertical stage written over its input (``in_place``) against Pillow."""
    box = native.loaded.box
    assert box is not None, "the compiled box module is not built: python3 -m pip install -e ."
    rng = np.random.default_rng(int(radius * 10) + shape[0])
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    step = plan_boxes(shape, 0, radius, passes).stages[0]
    over = a.copy()
    h, w = shape[:2]
    box.box_lines(over, 0, over, 0, 0, h, 0, w, 1, step.radius, step.ww, step.fw, passes, True)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[shape[2]]
    im = Image.frombytes(mode, (w, h), a.tobytes())
    want = im
    for _ in range(passes):  # Pillow's GaussianBlur is 3 box passes of another radius
        want = want.filter(ImageFilter.BoxBlur((0, radius)))
    assert over.tobytes() == want.tobytes()
