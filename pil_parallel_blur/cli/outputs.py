"""What an output format can hold, and the conversion a user expects when it cannot.

Decided before anything is blurred, from the image's mode and the output
format alone, by saving a tiny image of that mode in that format and reading
it back (Pillow's writers convert some modes silently, and badly: a 16-bit
image written as WebP came out all white, as GIF one grey):

* the format keeps the mode: nothing to do;
* 8-bit grey or colour (with alpha, if the format keeps alpha) that the
  writer converts the usual way (grey WebP as RGB, GIF as a palette): nothing
  to do either;
* 16- and 32-bit integer samples into an 8-bit format: scaled to 8 bits
  (``>> 8``, not clipped), with a note;
* alpha into a format without transparency (JPEG, BMP): the alpha channel is
  dropped, with a note;
* CMYK, YCbCr, LAB, HSV and RGBX into a format that cannot store them: RGB,
  with a note;
* anything else (32-bit float outside TIFF, say): refused, before blurring.

Tests: test_cli_outputs.py.
"""

from __future__ import annotations

import io
from functools import cache

import numpy as np
from PIL import Image

from .common import UserError, shown

__all__ = ["fit_to_format", "to_mode"]

#: Modes with more than 8 bits per sample that become 8-bit grey by ``>> 8``.
_WIDE = ("I;16", "I;16L", "I;16B", "I;16N", "I")
#: Where each other mode goes when the format cannot hold it, and why.
_FALLBACK = {
    "RGBA": ("RGB", "alpha dropped: {fmt} has no transparency"),
    "RGBa": ("RGB", "alpha dropped: {fmt} has no transparency"),
    "LA": ("L", "alpha dropped: {fmt} has no transparency"),
    "La": ("L", "alpha dropped: {fmt} has no transparency"),
    "CMYK": ("RGB", "written as RGB: {fmt} cannot store CMYK"),
    "YCbCr": ("RGB", "written as RGB: {fmt} cannot store YCbCr"),
    "LAB": ("RGB", "written as RGB: {fmt} cannot store LAB"),
    "HSV": ("RGB", "written as RGB: {fmt} cannot store HSV"),
    "RGBX": ("RGB", "written as RGB: {fmt} cannot store RGBX"),
}
#: 8-bit modes whose usual conversion by a writer (to RGB, to a palette) is expected.
_PLAIN = ("L", "LA", "RGB", "RGBA")


@cache
def _read_back(mode: str, fmt: str) -> Image.Image | None:
    """Save a 2×2 image of ``mode`` as ``fmt`` and read it back; ``None`` if that fails."""
    buffer = io.BytesIO()
    try:
        Image.new(mode, (2, 2)).save(buffer, format=fmt)
        buffer.seek(0)
        back = Image.open(buffer)
        back.load()
    except Exception:
        return None
    return back


def _keeps(mode: str, fmt: str) -> bool:
    back = _read_back(mode, fmt)
    if back is None:
        return False
    if mode.startswith("I;16"):
        return back.mode.startswith("I;16")
    return back.mode == mode


def _converts_plainly(mode: str, fmt: str) -> bool:
    """Tell whether the writer converts this 8-bit grey or colour mode as expected."""
    back = _read_back(mode, fmt)
    if mode not in _PLAIN or back is None:
        return False
    keeps_alpha = "A" in back.getbands() or "transparency" in back.info
    return keeps_alpha or "A" not in mode


def fit_to_format(mode: str, fmt: str, path: object) -> tuple[str, str | None]:
    """Return the mode to blur and write ``mode`` in for ``fmt``, and a note (or ``None``).

    Raises ``UserError`` naming ``path`` when no expected conversion fits.
    """
    if _keeps(mode, fmt) or _converts_plainly(mode, fmt):
        return mode, None
    if mode in _WIDE:
        target = "L"
        bits = "32" if mode == "I" else "16"
        note = f"{bits}-bit samples scaled to 8 bits (>> 8): {fmt} holds 8 bits a sample"
    elif mode in _FALLBACK:
        target, why = _FALLBACK[mode]
        note = why.format(fmt=fmt)
    else:
        target, note = "", ""
    if target and (_keeps(target, fmt) or _converts_plainly(target, fmt)):
        return target, note
    raise UserError(
        f"{shown(path)}: {fmt} cannot hold mode {mode!r} images; "
        "choose another output extension (.tif holds every mode)"
    )


def to_mode(im: Image.Image, target: str) -> Image.Image:
    """Convert ``im`` to ``target`` as ``fit_to_format`` decided."""
    if im.mode == target:
        return im
    if im.mode in _WIDE:
        samples = np.asarray(im).astype(np.int64) >> 8
        return Image.fromarray(np.clip(samples, 0, 255).astype(np.uint8), "L")
    if im.mode == "La":
        im = im.convert("LA")
    return im.convert(target)
