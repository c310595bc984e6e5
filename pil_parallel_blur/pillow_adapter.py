"""The Pillow side: modes the filters accept and copies between Pillow images and arrays.

Everything the package uses past Pillow's public API is in this module, each
use with a fallback that ``tests/test_adapters.py`` forces:

* ``Image._getencoder`` (the raw encoder, to copy a core into one NumPy
  buffer in chunks): else ``numpy.asarray`` of the image;
* ``Image.core.map_buffer`` (what ``Image.frombuffer`` calls; it makes a core
  whose memory is a buffer's): the result array becomes the new image's
  memory, as it is or widened to Pillow's 4-byte pixels by the compiled
  ``_native_pixels`` module; else the decoder hooks below;
* ``Image._getdecoder`` and ``Image.core.new`` (to decode stripes of rows into a
  new core on several threads): else ``Image.frombytes`` on one thread;
* ``Image.Image()._new``, which wraps the core ``Image.filter`` hands a filter
  into an ``Image`` for ``numpy.asarray``: only on the first fallback's path.
  A filter is given a bare core by Pillow's filter protocol, and no public
  call turns a core into bytes or an ``Image``.

Tests: test_adapters.py, test_accuracy.py (every mode).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from itertools import pairwise
from types import ModuleType
from typing import Any

import numpy as np
from PIL import Image


def _load_pixels() -> ModuleType | None:
    """Import the compiled widening of rows, if built (else Pillow's decoder copies)."""
    try:
        return importlib.import_module("pil_parallel_blur._native_pixels")
    except ImportError:
        return None


_native_pixels = _load_pixels()

__all__ = ["SUPPORTED_MODES", "check_mode", "core_to_array", "array_to_core"]

#: Modes the filters take; Pillow's GaussianBlur takes only the 8-bit ones (L to HSV).
SUPPORTED_MODES = (
    "L",
    "LA",
    "La",
    "RGB",
    "RGBA",
    "RGBa",
    "RGBX",
    "CMYK",
    "YCbCr",
    "LAB",
    "HSV",
    "I;16",
    "I;16L",
    "I;16B",
    "I;16N",
    "I",
    "F",
)


def check_mode(mode: str) -> None:
    """Raise a ``ValueError`` that says what to do for a mode the filters cannot take."""
    if mode in SUPPORTED_MODES:
        return
    if mode in ("P", "PA"):
        raise ValueError(
            f"palette images (mode {mode!r}) cannot be filtered; "
            "convert to RGB or RGBA first, e.g. image.convert('RGBA')"
        )
    if mode == "1":
        raise ValueError(
            "bilevel images (mode '1') cannot be blurred; convert to L first, "
            "e.g. image.convert('L')"
        )
    raise ValueError(
        f"image mode {mode!r} is not supported; supported: {', '.join(SUPPORTED_MODES)}"
    )


def private_hook(name: str) -> Any | None:
    """Return the private ``_getencoder``, ``_getdecoder`` or ``core.*`` hook, if Pillow has it."""
    core = getattr(Image, "core", None)
    owner, attribute = (core, name[5:]) if name.startswith("core.") else (Image, name)
    return getattr(owner, attribute, None)


_ENCODE_CHUNK = 1 << 18


def _layout(mode: str) -> tuple[np.dtype, tuple[int, ...]]:
    """Return the dtype and trailing shape ``numpy.asarray`` gives a mode (1×1 sample)."""
    sample = np.asarray(Image.new(mode, (1, 1)))
    return sample.dtype, sample.shape[2:]


def core_to_array(core: Any) -> np.ndarray:
    """Copy a Pillow ``ImagingCore`` into an ``(H, W)`` or ``(H, W, C)`` array.

    Same bytes as ``numpy.asarray(image)`` (Pillow's raw encoder in the image's
    own mode), but encoded in 256 KiB chunks straight into one NumPy buffer:
    ``tobytes`` joins its chunks into one more whole-image bytes object, which
    costs a copy and, for a fresh 72 MB allocation, ~0.04 s of page faults.
    """
    width, height = core.size
    dtype, tail = _layout(core.mode)
    out = np.empty((height, width, *tail), dtype=dtype)
    flat = out.reshape(-1).view(np.uint8)
    factory = private_hook("_getencoder")
    try:
        if factory is None:
            raise OSError("no raw encoder factory")
        encoder = factory(core.mode, "raw", core.mode)
    except OSError:  # a Pillow without it: one whole-image copy more
        return _from_raw(np.array(Image.Image()._new(core)), core.mode)
    # the raw encoder writes whole rows: its buffer must hold at least one
    chunk = max(_ENCODE_CHUNK, flat.size // max(height, 1))
    try:
        encoder.setimage(core, (0, 0, width, height))
        offset = 0
        while True:
            _, status, data = encoder.encode(chunk)
            flat[offset : offset + len(data)] = np.frombuffer(data, np.uint8)
            offset += len(data)
            if status:
                break
        if status < 0 or offset != flat.size:
            raise RuntimeError(f"encoder error {status} reading the image ({offset} bytes)")
    finally:
        encoder.cleanup()
    return _from_raw(out, core.mode)


#: Modes whose raw bytes are not the samples' own order: LAB's a* and b* are
#: handed out (and taken back) as signed bytes, where the image stores them
#: offset by 128 (128 is zero). The filters blur the stored, unsigned values.
_SIGNED_CHANNELS = {"LAB": slice(1, 3)}


def _from_raw(array: np.ndarray, mode: str) -> np.ndarray:
    """Turn raw-codec samples into the values the image stores (in place)."""
    channels = _SIGNED_CHANNELS.get(mode)
    if channels is not None:
        array[..., channels] ^= 0x80
    return array


def _to_raw(array: np.ndarray, mode: str) -> np.ndarray:
    """Turn stored values back into what the raw codec takes (a copy where they differ)."""
    channels = _SIGNED_CHANNELS.get(mode)
    if channels is None:
        return array
    raw = array.copy()
    raw[..., channels] ^= 0x80
    return raw


#: Images smaller than this are rebuilt with one ``Image.frombytes``.
_PARALLEL_DECODE_BYTES = 8 << 20


def _decode_rows(factory: Any, core: Any, mode: str, rows: np.ndarray, start: int) -> None:
    decoder = factory(mode, "raw", mode)
    try:
        decoder.setimage(core, (0, start, core.size[0], start + rows.shape[0]))
        _, status = decoder.decode(np.ascontiguousarray(rows))
        if status < 0:
            raise RuntimeError(f"decoder error {status} writing rows from {start}")
    finally:
        decoder.cleanup()


#: Rows of about this many bytes are decoded by one task.
_DECODE_CHUNK_BYTES = 4 << 20

#: Runs ``fn(*item)`` for every item and returns when all are done (on threads or here).
MapRows = Callable[[Callable[..., object], Sequence[tuple[object, ...]]], None]


#: Modes whose samples are stored as the array holds them (Pillow's raw decoder
#: copies them byte for byte): the array itself becomes the image's memory.
_STORED_AS_IS = frozenset(
    {"L", "I;16", "I;16L", "I;16B", "I;16N", "I", "F", "RGBA", "RGBa", "RGBX", "CMYK"}
)
#: Modes stored as 4 bytes a pixel for 3 samples (then 255) or 2 (L, L, L, A):
#: widened into a new array first.
_WIDENED = frozenset({"RGB", "YCbCr", "HSV", "LAB", "LA", "La"})


def _widened(array: np.ndarray, map_rows: MapRows | None) -> np.ndarray:
    """Return ``array`` widened to Pillow's 4-byte pixels, in stripes on ``map_rows``'s tasks."""
    height, width, channels = array.shape
    src = np.ascontiguousarray(array)
    out = np.empty((height, width, 4), np.uint8)
    n = max(1, -(-out.nbytes // _DECODE_CHUNK_BYTES)) if map_rows is not None else 1
    cuts = [height * i // n for i in range(n + 1)]
    assert _native_pixels is not None  # checked by the caller
    stripes = [(src, out, width, channels, a, b) for a, b in pairwise(cuts) if b > a]
    if map_rows is None or len(stripes) < 2:
        for stripe in stripes:
            _native_pixels.widen(*stripe)
    else:
        map_rows(_native_pixels.widen, stripes)
    return out


def _mapped_core(array: np.ndarray, mode: str, map_rows: MapRows | None) -> Any | None:
    """Hand ``array`` (or a widened copy) to Pillow as a new core's memory; ``None``: can't."""
    mapper = private_hook("core.map_buffer")
    if mapper is None:
        return None
    if mode in _STORED_AS_IS:
        contiguous = array.flags.c_contiguous and array.flags.writeable
        store = array if contiguous else np.array(array, order="C")
    elif mode in _WIDENED and _native_pixels is not None and array.dtype == np.uint8:
        store = _widened(array, map_rows)
    else:
        return None
    height, width = array.shape[:2]
    return mapper(store, (width, height), "raw", 0, (mode, 0, 1))


def array_to_core(array: np.ndarray, mode: str, map_rows: MapRows | None = None) -> Any:
    """Build a Pillow ``ImagingCore`` of ``mode`` from an array made by ``core_to_array``.

    The array is handed over: where Pillow can take a buffer as an image's
    memory, the new core keeps ``array`` itself (modes stored as the array
    holds them, such as L, RGBA, I and F) or a copy widened to Pillow's 4-byte
    pixels (RGB, YCbCr, HSV, LAB, LA, La), so the caller must not write to
    ``array`` afterwards. Otherwise, with ``map_rows`` (``Workers.map_small``)
    and a large image, stripes of rows are decoded into a new image by the
    tasks it runs (Pillow's decoder releases the GIL, so threads share the
    copy ``Image.frombytes`` does on one core).
    """
    mapped = _mapped_core(array, mode, map_rows)
    if mapped is not None:
        return mapped
    array = _to_raw(array, mode)
    height, width = array.shape[:2]
    new, factory = private_hook("core.new"), private_hook("_getdecoder")
    small = map_rows is None or array.nbytes < _PARALLEL_DECODE_BYTES
    if small or new is None or factory is None:
        return Image.frombytes(mode, (width, height), np.ascontiguousarray(array)).im
    core = new(mode, (width, height))
    n = max(2, -(-array.nbytes // _DECODE_CHUNK_BYTES))
    cuts = [height * i // n for i in range(n + 1)]
    stripes = [(factory, core, mode, array[a:b], a) for a, b in pairwise(cuts) if b > a]
    assert map_rows is not None  # not small
    map_rows(_decode_rows, stripes)
    return core
