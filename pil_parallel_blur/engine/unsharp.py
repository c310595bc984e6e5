"""Unsharp masking's combination step: Pillow's threshold and percent rule, exactly.

Tests: test_fidelity.py.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

__all__ = ["unsharp_rows", "pillow_unsharp_rows"]


#: The types the compiled combination takes (unsigned 8 and 16 bits, native
#: byte order), and the largest ``|percent|`` its 64-bit integers hold.
NATIVE_UNSHARP = (np.dtype(np.uint8), np.dtype(np.uint16))
NATIVE_PERCENT = 1 << 40


def unsharp_rows(
    image: np.ndarray,
    blurred: np.ndarray,
    out: np.ndarray,
    start: int,
    stop: int,
    percent: int,
    threshold: float,
    native: ModuleType | None = None,
) -> None:
    """Unsharp-mask rows ``[start, stop)``: Pillow's threshold and percent rule, exactly.

    Where ``|image − blurred| > threshold`` (strictly, as Pillow):
    ``image + (image − blurred)·percent/100``, rounded half to even and clipped
    for integer types (computed in integers: ``(100·image + diff·percent) /
    100``, so every tie is a true tie); elsewhere
    the image sample unchanged. All three arrays share shape and dtype. With
    ``native`` (the compiled engine) the same integers in C for unsigned 8-
    and 16-bit samples.
    """
    a, b, o = image[start:stop], blurred[start:stop], out[start:stop]
    if (
        native is not None
        and image.dtype in NATIVE_UNSHARP
        and abs(percent) < NATIVE_PERCENT
        and all(r.dtype == image.dtype and r.flags.c_contiguous for r in (a, b, o))
    ):
        native.unsharp_lines(a, b, o, int(percent), float(threshold))
        return
    if image.dtype.kind in "ui":
        wide = a.astype(np.int64)
        diff = wide - b
        num = 100 * wide + diff * percent
        q, r = np.divmod(num, 100)  # floor division: 0 <= r < 100
        q += (2 * r > 100) | ((2 * r == 100) & (q % 2 == 1))
        info = np.iinfo(image.dtype)
        sharp = np.clip(q, info.min, info.max)
    else:
        wide = a.astype(np.float64)
        diff = wide - b
        sharp = wide + diff * percent / 100
    o[...] = np.where(np.abs(diff) > threshold, sharp, a)


def pillow_unsharp_rows(
    image: np.ndarray,
    blurred: np.ndarray,
    out: np.ndarray,
    start: int,
    stop: int,
    percent: int,
    threshold: int,
    native: ModuleType | None = None,
) -> None:
    """Pillow's own combination (``UnsharpMask.c``) on uint8 rows ``[start, stop)``.

    With ``native`` (the compiled box module) the same integer arithmetic in C.

    ``diff = image − blurred`` in C ints; where ``|diff| > threshold``,
    ``clip8(image + diff·percent / 100)`` with C's product (32-bit, wrapping)
    and C's division (toward zero); elsewhere the image's own value.
    """
    if native is not None:
        native.unsharp_lines(
            image[start:stop], blurred[start:stop], out[start:stop], percent, threshold
        )
        return
    a = image[start:stop].astype(np.int32)
    diff = a - blurred[start:stop].astype(np.int32)
    with np.errstate(over="ignore"):
        product = diff * np.int32(percent)  # wraps as C's int does
    step = np.abs(product) // 100 * np.sign(product)  # C's division: toward zero
    sharp = np.clip(a.astype(np.int64) + step, 0, 255)
    out[start:stop] = np.where(np.abs(diff) > threshold, sharp, a)
