"""The Pillow side: modes the filters accept and copies between Pillow images and arrays.

Everything here that reaches past Pillow's public API (its raw encoder and
decoder factories, ``Image.core.new``) is in this module, each with a fallback
through public API (``numpy.asarray``, ``Image.frombytes``) that the tests force.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
from PIL import Image

from .parallel import Task, run_on_threads

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
    try:
        encoder = Image._getencoder(core.mode, "raw", core.mode)
    except (AttributeError, OSError):  # pragma: no cover - a Pillow without it
        return np.asarray(Image.Image()._new(core))
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
    return out


#: Images smaller than this are rebuilt with one ``Image.frombytes``.
_PARALLEL_DECODE_BYTES = 8 << 20


def _decode_rows(core: Any, mode: str, rows: np.ndarray, start: int) -> None:
    decoder = Image._getdecoder(mode, "raw", mode)
    try:
        decoder.setimage(core, (0, start, core.size[0], start + rows.shape[0]))
        _, status = decoder.decode(np.ascontiguousarray(rows))
        if status < 0:
            raise RuntimeError(f"decoder error {status} writing rows from {start}")
    finally:
        decoder.cleanup()


def array_to_core(array: np.ndarray, mode: str, threads: int = 1) -> Any:
    """Build a Pillow ``ImagingCore`` of ``mode`` from an array made by ``core_to_array``.

    With ``threads > 1`` and a large image, bands of rows are decoded into a new
    image by our thread pool (Pillow's decoder releases the GIL), which halves
    the whole-image copy ``Image.frombytes`` does on one core.
    """
    height, width = array.shape[:2]
    if threads <= 1 or array.nbytes < _PARALLEL_DECODE_BYTES:
        return Image.frombytes(mode, (width, height), np.ascontiguousarray(array)).im
    core = Image.core.new(mode, (width, height))
    n = threads * 2
    cuts = [height * i // n for i in range(n + 1)]
    tasks: list[Task] = [
        (_decode_rows, (core, mode, array[a:b], a)) for a, b in pairwise(cuts) if b > a
    ]
    run_on_threads(threads, tasks)
    return core
