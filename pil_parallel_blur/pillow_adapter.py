"""The Pillow side: modes the filters accept and copies between Pillow images and arrays.

Everything the package uses past Pillow's public API is in this module, each
use with a fallback that ``tests/test_adapters.py`` forces:

* ``Image.core.map_buffer`` (what ``Image.frombuffer`` calls: a core whose
  memory is a buffer of ours), both ways. In, Pillow pastes the image into
  our array stripe by stripe on the workers' threads (its paste releases
  the GIL), as it stores it (``core_to_pixels``) or narrowed from 4-byte
  pixels by the compiled ``_native_pixels`` module; out, the result array
  becomes the new image's memory, as it is or widened by ``_native_pixels``.
  Else the hooks below (and without ``_native_pixels``, for its modes);
* ``Image._getencoder`` (the raw encoder, to copy a core into one NumPy
  buffer in chunks): else ``numpy.asarray`` of the image;
* ``Image._getdecoder`` and ``Image.core.new`` (to decode stripes of rows into a
  new core on several threads): else ``Image.frombytes`` on one thread;
* ``Image.Image()._new``, which wraps the core ``Image.filter`` hands a filter
  into an ``Image`` for ``numpy.asarray``: only on the encoder's fallback.
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

__all__ = [
    "SUPPORTED_MODES",
    "STORED_THREE",
    "check_mode",
    "core_to_array",
    "core_to_pixels",
    "array_to_core",
]

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


#: Runs ``fn(*item)`` for every item and returns when all are done (on threads or here).
MapRows = Callable[[Callable[..., object], Sequence[tuple[object, ...]]], None]

#: Rows of about this many bytes are copied by one task.
_STRIPE_BYTES = 4 << 20


def _stripes(height: int, nbytes: int, map_rows: MapRows | None) -> list[tuple[int, int]]:
    """Rows ``[a, b)`` of about ``_STRIPE_BYTES`` each (all rows at once without ``map_rows``)."""
    n = max(1, -(-nbytes // _STRIPE_BYTES)) if map_rows is not None else 1
    cuts = [height * i // n for i in range(n + 1)]
    return [(a, b) for a, b in pairwise(cuts) if b > a]


def _run(
    fn: Callable[..., object], items: list[tuple[Any, ...]], map_rows: MapRows | None
) -> None:
    """Call ``fn(*item)`` for every item, on ``map_rows``'s tasks when there are several."""
    if map_rows is None or len(items) < 2:
        for item in items:
            fn(*item)
    else:
        map_rows(fn, items)


#: Modes whose samples are stored as the array holds them (Pillow's raw decoder
#: copies them byte for byte): the array itself becomes the image's memory.
_STORED_AS_IS = frozenset(
    {"L", "I;16", "I;16L", "I;16B", "I;16N", "I", "F", "RGBA", "RGBa", "RGBX", "CMYK"}
)
#: Modes stored as 4 bytes a pixel for 3 samples (then 255) or 2 (L, L, L, A):
#: widened into a new array first.
_WIDENED = frozenset({"RGB", "YCbCr", "HSV", "LAB", "LA", "La"})
#: Modes of 3 channels in the first 3 bytes of 4-byte pixels: filterable as they are.
STORED_THREE = frozenset({"RGB", "YCbCr", "HSV", "LAB"})


def _pixel_bytes(mode: str) -> int:
    """Bytes a pixel of ``mode`` takes in Pillow's memory."""
    return 1 if mode == "L" else 2 if mode.startswith("I;16") else 4


_ENCODE_CHUNK = 1 << 18


def _layout(mode: str) -> tuple[np.dtype, tuple[int, ...]]:
    """Return the dtype and trailing shape ``numpy.asarray`` gives a mode (1×1 sample)."""
    sample = np.asarray(Image.new(mode, (1, 1)))
    return sample.dtype, sample.shape[2:]


def core_to_array(core: Any, map_rows: MapRows | None = None) -> np.ndarray:
    """Copy a Pillow ``ImagingCore`` into an ``(H, W)`` or ``(H, W, C)`` array.

    Same values as ``numpy.asarray(image)`` (LAB's a* and b* as stored,
    unsigned). Pillow pastes the image into buffers of ours, stripe by stripe
    on ``map_rows``'s tasks (its paste releases the GIL), and rows of 4-byte
    pixels are narrowed to the image's channels where they differ. Without
    those hooks, Pillow's raw encoder writes 256 KiB chunks straight into the
    array (``tobytes`` would join them into one more whole-image copy).
    """
    width, height = core.size
    dtype, tail = _layout(core.mode)
    out = np.empty((height, width, *tail), dtype=dtype)
    if out.size == 0 or _pasted(core, out, map_rows):
        return out
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


#: Rows of about this many bytes of 4-byte pixels are pasted, then narrowed, at a time.
_PASTE_BLOCK_BYTES = 512 << 10


def _paste_rows(mapper: Any, core: Any, out: np.ndarray, start: int, stop: int) -> None:
    """Have Pillow paste rows ``[start, stop)`` of ``core`` into ``out`` (mapped by ``mapper``)."""
    width, height = core.size
    if core.mode in _WIDENED and out.shape[2] != 4:  # Pillow's 4-byte pixels, narrowed into out
        rows = max(1, _PASTE_BLOCK_BYTES // (4 * width))
        scratch = np.empty((rows, width, 4), np.uint8)
        assert _native_pixels is not None  # checked by _pasted
        for top in range(start, stop, rows):
            count = min(rows, stop - top)
            stored = mapper(scratch, (width, count), "raw", 0, (core.mode, 0, 1))
            stored.paste(core, (0, -top, width, height - top))
            _native_pixels.copy_rows(scratch, out, width, out.shape[2], 0, top, count, False)
        return
    row_bytes = out.nbytes // height
    stored = mapper(out, (width, stop - start), "raw", start * row_bytes, (core.mode, 0, 1))
    stored.paste(core, (0, -start, width, height - start))


def core_to_pixels(core: Any, map_rows: MapRows | None = None) -> np.ndarray | None:
    """Copy a 3-channel image's pixels as Pillow stores them into an ``(H, W, 4)`` uint8 array.

    Each pixel's first three samples are the channels (``core_to_array``'s
    values), the fourth Pillow's unused byte; pasted stripe by stripe on
    ``map_rows``'s tasks. ``None`` for other modes, or without the hooks.
    """
    mapper = private_hook("core.map_buffer")
    if core.mode not in STORED_THREE or mapper is None or not hasattr(core, "paste"):
        return None
    width, height = core.size
    out = np.empty((height, width, 4), np.uint8)
    stripes = _stripes(height, out.nbytes, map_rows)
    _run(_paste_rows, [(mapper, core, out, a, b) for a, b in stripes], map_rows)
    return out


def _as_stored(array: np.ndarray, mode: str) -> bool:
    """Tell whether ``array`` holds a 3-channel mode's pixels as stored (``core_to_pixels``)."""
    return mode in STORED_THREE and array.ndim == 3 and array.shape[2] == 4


def _pasted(core: Any, out: np.ndarray, map_rows: MapRows | None) -> bool:
    """Copy ``core`` into ``out`` by Pillow's paste into our buffers; ``False`` if we can't."""
    mode, mapper = core.mode, private_hook("core.map_buffer")
    if mapper is None or not hasattr(core, "paste"):
        return False
    if mode not in _STORED_AS_IS and (mode not in _WIDENED or _native_pixels is None):
        return False
    stripes = _stripes(core.size[1], out.nbytes, map_rows)
    _run(_paste_rows, [(mapper, core, out, a, b) for a, b in stripes], map_rows)
    return True


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


def _widened(array: np.ndarray, map_rows: MapRows | None) -> np.ndarray:
    """Return ``array`` widened to Pillow's 4-byte pixels, in stripes on ``map_rows``'s tasks."""
    height, width, channels = array.shape
    src = np.ascontiguousarray(array)
    out = np.empty((height, width, 4), np.uint8)
    assert _native_pixels is not None  # checked by the caller
    stripes = _stripes(height, out.nbytes, map_rows)
    rows = [(src, out, width, channels, a, a, b - a, True) for a, b in stripes]
    _run(_native_pixels.copy_rows, rows, map_rows)
    return out


def _mapped_core(array: np.ndarray, mode: str, map_rows: MapRows | None) -> Any | None:
    """Hand ``array`` (or a widened copy) to Pillow as a new core's memory; ``None``: can't."""
    mapper = private_hook("core.map_buffer")
    if mapper is None:
        return None
    height, width = array.shape[:2]
    if mode in _STORED_AS_IS or (_as_stored(array, mode) and array.dtype == np.uint8):
        contiguous = array.flags.c_contiguous and array.flags.writeable
        store = array if contiguous else np.array(array, order="C")
    elif mode in _WIDENED and _native_pixels is not None and array.dtype == np.uint8:
        if array.ndim != 3 or array.shape[2] != (2 if mode in ("LA", "La") else 3):
            return None
        store = _widened(array, map_rows)
    else:
        return None
    if store.nbytes != height * width * _pixel_bytes(mode):  # not this mode's samples
        return None
    return mapper(store, (width, height), "raw", 0, (mode, 0, 1))


def array_to_core(array: np.ndarray, mode: str, map_rows: MapRows | None = None) -> Any:
    """Build a Pillow ``ImagingCore`` of ``mode`` from an array made by ``core_to_array``.

    Or by ``core_to_pixels`` (``(H, W, 4)`` uint8). The array is handed over:
    where Pillow can take a buffer as an image's memory, the new core keeps
    ``array`` itself (modes stored as the array holds them, such as L, RGBA,
    I and F, and the 4-byte pixels of ``core_to_pixels``) or a copy widened
    to Pillow's 4-byte pixels (RGB, YCbCr, HSV, LAB, LA, La), so the caller
    must not write to ``array`` afterwards. Otherwise, with ``map_rows`` (``Workers.map_small``)
    and a large image, stripes of rows are decoded into a new image by the
    tasks it runs (Pillow's decoder releases the GIL, so threads share the
    copy ``Image.frombytes`` does on one core).
    """
    mapped = _mapped_core(array, mode, map_rows)
    if mapped is not None:
        return mapped
    if _as_stored(array, mode):
        array = array[..., :3]  # the channels alone
    array = _to_raw(array, mode)
    height, width = array.shape[:2]
    new, factory = private_hook("core.new"), private_hook("_getdecoder")
    small = map_rows is None or array.nbytes < _PARALLEL_DECODE_BYTES
    if small or new is None or factory is None:
        return Image.frombytes(mode, (width, height), np.ascontiguousarray(array)).im
    core = new(mode, (width, height))
    stripes = _stripes(height, array.nbytes, map_rows)
    _run(_decode_rows, [(factory, core, mode, array[a:b], a) for a, b in stripes], map_rows)
    return core
