"""The adapters to Pillow and joblib: each private hook has a working fallback.

Pillow's private hooks are hidden from the adapter one at a time (Pillow itself
keeps them: its own ``tobytes`` needs them) and the filters must give the same
bytes through the fallbacks. joblib has no public
query for "which backend did an enclosing parallel_config choose?"; the test
of ``context_backend`` fails if the private name it reads moves.
"""

import pickle

import joblib
import numpy as np
import pytest
from conftest import photo_like, stored_bytes
from PIL import Image

from pil_parallel_blur import ParallelGaussianFilter, ParallelKernelFilter, pillow_adapter
from pil_parallel_blur.parallel import Workers, joblib_adapter

#: Over 8 MB, so that the result is decoded in stripes of rows on two threads.
BIG = Image.fromarray(photo_like(1800, 1700, seed=3))
SMALL_MODES = {
    "RGB": Image.fromarray(photo_like(60, 50, seed=4)),
    "I;16": Image.fromarray(photo_like(60, 50, seed=5)[..., 0].astype(np.uint16) * 250),
    "F": Image.fromarray(photo_like(60, 50, seed=6)[..., 0].astype(np.float32) / 7),
}


def _hide(monkeypatch, *names):
    """Make the adapter see a Pillow without the private hooks ``names``."""
    real = pillow_adapter.private_hook
    monkeypatch.setattr(
        pillow_adapter, "private_hook", lambda name: None if name in names else real(name)
    )


def _filtered(image):
    out = image.filter(ParallelGaussianFilter(3, n_jobs=2, backend="threading"))
    return out.mode, out.size, out.tobytes()


@pytest.mark.parametrize("mode", sorted(SMALL_MODES))
def test_without_the_raw_encoder_the_array_comes_from_numpy(monkeypatch, mode):
    image = SMALL_MODES[mode]
    want = _filtered(image)
    _hide(monkeypatch, "_getencoder")
    assert _filtered(image) == want


@pytest.mark.parametrize("hook", ["_getdecoder", "core.new"])
def test_without_a_decoder_hook_the_image_comes_from_frombytes(monkeypatch, hook):
    _hide(monkeypatch, "core.map_buffer")  # the decoder is map_buffer's fallback
    asked = []
    real = pillow_adapter.private_hook
    with monkeypatch.context() as m:
        m.setattr(pillow_adapter, "private_hook", lambda name: asked.append(name) or real(name))
        want = _filtered(BIG)
    assert hook in asked  # the decoding path uses it
    _hide(monkeypatch, "core.map_buffer", hook)
    assert _filtered(BIG) == want


#: Every mode the filters take, as a small image of photo-like samples.
def _small(mode, seed):
    pixels = photo_like(23, 31, seed=seed)
    if mode in ("RGB", "YCbCr", "HSV", "LAB"):
        return Image.frombytes(mode, (31, 23), pixels.tobytes())
    if mode in ("RGBA", "RGBa", "RGBX", "CMYK"):
        return Image.frombytes(mode, (31, 23), np.dstack([pixels, pixels[..., :1]]).tobytes())
    if mode in ("LA", "La"):
        return Image.frombytes(mode, (31, 23), pixels[..., :2].tobytes())
    if mode == "L":
        return Image.fromarray(pixels[..., 0])
    if mode == "I":
        return Image.fromarray(pixels[..., 0].astype(np.int32) * 9000 - 10**6)
    if mode == "F":
        return Image.fromarray(pixels[..., 0].astype(np.float32) / 7)
    return Image.fromarray(pixels[..., 0].astype(np.uint16) * 250).convert(mode)


@pytest.mark.parametrize("mode", pillow_adapter.SUPPORTED_MODES)
def test_an_array_handed_to_pillow_is_stored_as_pillows_decoder_stores_it(monkeypatch, mode):
    """Mapped (or widened) memory holds the bytes Pillow's raw decoder writes, pads included."""
    image = _small(mode, seed=len(mode))
    array = pillow_adapter.core_to_array(image.im)
    mapped = pillow_adapter.array_to_core(array.copy(), mode)
    _hide(monkeypatch, "core.map_buffer")
    decoded = pillow_adapter.array_to_core(array.copy(), mode)
    assert (mapped.mode, mapped.size) == (decoded.mode, decoded.size) == (mode, image.size)
    got, want = Image.Image()._new(mapped), Image.Image()._new(decoded)
    assert got.tobytes() == want.tobytes() == image.tobytes()
    assert stored_bytes(mapped) == stored_bytes(decoded)


@pytest.mark.parametrize("mode", pillow_adapter.SUPPORTED_MODES)
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_pillow_pastes_an_image_into_an_array_as_its_encoder_writes_it(monkeypatch, mode, n_jobs):
    """Stripes (and, for 4-byte pixels narrowed, blocks) of a few rows: every seam is crossed."""
    image = _small(mode, seed=len(mode) + 1)
    monkeypatch.setattr(pillow_adapter, "_STRIPE_BYTES", 500)
    monkeypatch.setattr(pillow_adapter, "_PASTE_BLOCK_BYTES", 300)
    workers = ParallelGaussianFilter(1, n_jobs=n_jobs, backend="threading").settings
    map_rows = Workers(workers).map_small  # n_jobs=1: every stripe on this thread
    pasted = pillow_adapter.core_to_array(image.im, map_rows)
    _hide(monkeypatch, "core.map_buffer")
    encoded = pillow_adapter.core_to_array(image.im, map_rows)
    assert pasted.dtype == encoded.dtype and pasted.shape == encoded.shape
    assert pasted.tobytes() == encoded.tobytes()


@pytest.mark.parametrize("mode", ["RGB", "LA"])
@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 8])
def test_narrow_rows_round_trip_through_pillow_at_every_width(mode, width):
    image = _small(mode, seed=width).crop((0, 0, width, 7))
    array = pillow_adapter.core_to_array(image.im)
    assert array.tobytes() == image.tobytes()
    back = Image.Image()._new(pillow_adapter.array_to_core(array.copy(), mode))
    assert back.tobytes() == image.tobytes()
    assert stored_bytes(back.im) == stored_bytes(image.im)


@pytest.mark.parametrize("mode", ["RGB", "LA", "LAB"])
def test_without_the_compiled_widening_the_decoder_builds_the_image(monkeypatch, mode):
    image = _small(mode, seed=9)
    want = image.filter(ParallelGaussianFilter(2, n_jobs=2))
    array = pillow_adapter.core_to_array(image.im)
    monkeypatch.setattr(pillow_adapter, "_native_pixels", None)
    assert pillow_adapter.core_to_array(image.im).tobytes() == array.tobytes()
    got = image.filter(ParallelGaussianFilter(2, n_jobs=2))
    assert got.tobytes() == want.tobytes()


def test_a_mapped_result_is_an_ordinary_writable_image():
    """Pillow owns the handed-over memory: the result can be drawn on, copied, pickled."""
    out = BIG.filter(ParallelGaussianFilter(2, n_jobs=2))
    assert not out.readonly
    before = out.getpixel((5, 7))
    twin = out.copy()
    out.putpixel((5, 7), (1, 2, 3))
    assert out.getpixel((5, 7)) == (1, 2, 3) and twin.getpixel((5, 7)) == before
    assert pickle.loads(pickle.dumps(out)).tobytes() == out.tobytes()


def test_a_strided_array_is_copied_before_pillow_takes_it():
    array = np.asarray(BIG.convert("L"))[:, ::2]
    core = pillow_adapter.array_to_core(array, "L")
    assert Image.Image()._new(core).tobytes() == np.ascontiguousarray(array).tobytes()


def test_the_hooks_are_there_in_this_pillow():
    """Fails when Pillow drops one: the fast path would be lost without a sound."""
    for name in ["_getencoder", "_getdecoder", "core.new", "core.map_buffer"]:
        assert callable(pillow_adapter.private_hook(name)), name


def test_every_pillow_hook_gone_at_once(monkeypatch):
    want = BIG.filter(ParallelKernelFilter([[1, 2, 1], [2, 4, 2], [1, 2, 1]], n_jobs=2))
    _hide(monkeypatch, "_getencoder", "_getdecoder", "core.new", "core.map_buffer")
    got = BIG.filter(ParallelKernelFilter([[1, 2, 1], [2, 4, 2], [1, 2, 1]], n_jobs=2))
    assert got.tobytes() == want.tobytes()


def test_the_enclosing_joblib_backend_is_seen():
    """Fails if joblib moves the private config context_backend reads."""
    assert joblib_adapter.context_backend() is None
    with joblib.parallel_config(backend="loky", n_jobs=3):
        chosen = joblib_adapter.context_backend()
        assert chosen is not None and joblib_adapter.backend_kind(chosen) == "processes"
        assert joblib_adapter.context_n_jobs() == 3
    with joblib.parallel_config(n_jobs=2):  # n_jobs only: no backend chosen
        assert joblib_adapter.context_backend() is None
    assert joblib_adapter.context_n_jobs() is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sequential", "inprocess"),
        ("threading", "threads"),
        ("loky", "processes"),
        ("multiprocessing", "processes"),
    ],
)
def test_backends_are_classified_by_joblibs_registry(name, kind):
    backend = joblib_adapter.make_backend(name)
    assert joblib_adapter.backend_kind(backend) == kind
    assert joblib_adapter.is_joblib_threading(backend) == (name == "threading")


def test_a_subclass_of_the_threading_backend_runs_through_joblib():
    threading_cls = joblib.parallel.BACKENDS["threading"]

    class Mine(threading_cls):
        pass

    backend = Mine()
    assert joblib_adapter.backend_kind(backend) == "threads"
    assert not joblib_adapter.is_joblib_threading(backend)


def _lab(a_values, b_value=128):
    width = len(a_values)
    a = Image.new("L", (width, 1))
    a.putdata(a_values)
    return Image.merge(
        "LAB", (Image.new("L", (width, 1), 50), a, Image.new("L", (width, 1), b_value))
    )


@pytest.mark.parametrize(
    "flt",
    [
        ParallelGaussianFilter(1),
        ParallelKernelFilter((3, 3), [1] * 9),
        pytest.param("box", id="box"),
        pytest.param("unsharp", id="unsharp"),
    ],
)
def test_lab_a_and_b_are_blurred_as_the_image_stores_them(flt):
    """a* and b* are stored offset by 128: 127 and 129 (−1 and +1) blur to about 128."""
    from pil_parallel_blur import ParallelBoxBlur, ParallelUnsharpMask

    if flt == "box":
        flt = ParallelBoxBlur(1)
    if flt == "unsharp":
        flt = ParallelUnsharpMask(1, 100, 0)
    im = _lab([127, 129, 127, 129, 127, 129])
    out = im.filter(flt)
    a_star = list(out.getchannel("A").tobytes())
    b_star = list(out.getchannel("B").tobytes())
    assert b_star == [128] * 6  # flat stays flat
    if isinstance(flt, ParallelUnsharpMask):
        assert all(abs(v - 128) <= 3 for v in a_star), a_star  # sharpened around 128
    else:
        assert all(abs(v - 128) <= 1 for v in a_star), a_star


def test_a_lab_photo_blurs_as_its_channels_do():
    """The LAB image blurred equals each stored channel blurred as an L image (±1)."""
    rgb = Image.fromarray(photo_like(70, 90, seed=8))
    lab = rgb.convert("LAB") if "LAB" in Image.MODES else None
    if lab is None or lab.mode != "LAB":  # Pillow converts RGB to LAB through ImageCms
        from PIL import ImageCms

        transform = ImageCms.buildTransform(
            ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"
        )
        lab = ImageCms.applyTransform(rgb, transform)
    out = lab.filter(ParallelGaussianFilter(2, n_jobs=1))
    for band in "LAB":
        alone = lab.getchannel(band).filter(ParallelGaussianFilter(2, n_jobs=1))
        got = np.asarray(out.getchannel(band), dtype=int)
        assert np.abs(got - np.asarray(alone, dtype=int)).max() <= 1, band
