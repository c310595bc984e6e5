"""Float images at the edge of their range: scaled into range, and kept within it.

Float64 samples near the largest double overflow in the passes: a folded pair
of taps adds two samples (``g·(a + b)``) and a transform adds a whole line, so
from about 1e305 the spectral path returned NaN and from about 9e307 the direct
one infinities. Images whose largest finite magnitude is past ``SAFE_MAGNITUDE``
are scaled by a power of two before the passes and back after (exact: only the
exponents change; samples under about 2⁻⁹⁵⁸ lose bits to subnormals, far
inside the float accuracy bound, which is relative to the largest magnitude).
A kernel with no negative weight and no offset averages, so its exact result
lies within the image's own range; float results are clipped to that range,
so a flat image comes back unchanged.

Tests: test_engine_extremes.py.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["FloatRange", "float_range", "scale_in", "restore"]

#: Largest finite magnitude the passes take as it is: 2⁹⁶⁰ leaves 2⁶⁴ of headroom
#: for sums over the longest line a transform can hold.
SAFE_MAGNITUDE = 2.0**960


class FloatRange(NamedTuple):
    """What ``restore`` needs: the power of two divided out, and the range to keep."""

    exponent: int
    low: float | None
    high: float | None


def float_range(image: np.ndarray, averaging: bool) -> FloatRange | None:
    """Return how to treat a float ``image`` (``None`` for integer images or nothing to do).

    ``averaging``: the kernel's weights are all ``>= 0`` and there is no offset,
    so results can be clipped to the image's finite range (only when every
    sample is finite: an infinity must stay one).
    """
    if image.dtype.kind != "f" or image.size == 0:
        return None
    low, high = float(np.min(image)), float(np.max(image))
    finite = math.isfinite(low) and math.isfinite(high)
    largest = max(abs(low), abs(high)) if finite else _largest_finite(image)
    exponent = 0
    if image.dtype == np.float64 and largest > SAFE_MAGNITUDE:
        exponent = math.frexp(largest)[1] - math.frexp(SAFE_MAGNITUDE)[1]
    if not (averaging and finite) and exponent == 0:
        return None
    return FloatRange(exponent, low if averaging and finite else None, high if finite else None)


def _largest_finite(image: np.ndarray) -> float:
    magnitude = np.abs(image)
    return float(np.max(magnitude, initial=0.0, where=np.isfinite(magnitude)))


def scale_in(image: np.ndarray, found: FloatRange | None) -> np.ndarray:
    """Divide ``image`` by ``2**exponent`` (a new array), or return it as it is."""
    if found is None or found.exponent == 0:
        return image
    scaled: np.ndarray = np.ldexp(image, -found.exponent)
    return scaled


def restore(out: np.ndarray, found: FloatRange | None) -> np.ndarray:
    """Multiply ``out`` back by ``2**exponent`` and clip it to the image's range, in place."""
    if found is None:
        return out
    if found.exponent:
        with np.errstate(over="ignore"):  # a hair past the largest double: clipped below
            np.ldexp(out, found.exponent, out=out)
    if found.low is not None and found.high is not None:
        np.clip(out, out.dtype.type(found.low), out.dtype.type(found.high), out=out)
    return out
