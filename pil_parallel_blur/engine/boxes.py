"""Pillow's own box passes, byte for byte: the arithmetic of ``pil_parallel_blur.pillow``.

Pillow blurs 8-bit images (``ImageFilter.BoxBlur``, ``GaussianBlur`` and
``UnsharpMask``) with extended box passes in 24-bit fixed point
(``src/libImaging/BoxBlur.c``). For a pass of float radius ``R``:
``r = (int)R``, ``ww = (uint32)(2²⁴ / (2R + 1))`` in float32, and
``fw = (2²⁴ − (2r + 1)·ww) / 2``; each output sample of a line is::

    (ww·Σ_{k=−r..r} in[clamp(x+k)] + fw·(in[clamp(x−r−1)] + in[clamp(x+r+1)]) + 2²³) >> 24

in unsigned 32-bit arithmetic (it wraps as Pillow's does for radii near 2³¹),
kept in 8 bits after every pass. All horizontal passes come first, then all
vertical ones. Each line depends on that line alone, so stripes of rows (the
horizontal passes) and strips of columns (the vertical ones) give Pillow's
bytes whatever the cut: a plan has two stages, like the spectral path.

Two implementations with the same integer arithmetic (so the same bytes by
construction, whatever the SIMD level): the compiled ``_native_box`` module
(Pillow's running sums; the vertical passes vectorised across columns), and
the NumPy twin below (closed-form window sums from prefix sums, modulo 2³²).

Tests: test_pillow_family.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from .plan import Tile

__all__ = ["BoxPlan", "BoxPass", "box_weights", "gaussian_box_radius", "plan_boxes", "box_pass"]

_ONE = 1 << 24
_MASK = (1 << 32) - 1


def gaussian_box_radius(radius: float, passes: int) -> float:
    """Pillow's ``_gaussian_blur_radius``: the extended box radius for a Gaussian, in float32.

    The same operations in the same precisions as ``BoxBlur.c`` (float32
    where it computes in ``float``, float64 where in ``double``), so the
    radius, and hence the weights, are Pillow's to the bit.
    """
    f32 = np.float32
    with np.errstate(all="ignore"):
        r = f32(radius)
        sigma2 = f32(r * r) / f32(passes)
        length = f32(math.sqrt(12.0 * float(sigma2) + 1.0)) if sigma2 >= 0 else f32("nan")
        base = f32(math.floor((float(length) - 1.0) / 2.0)) if math.isfinite(length) else length
        a = (f32(2) * base + f32(1)) * (base * (base + f32(1)) - f32(3) * sigma2)
        a = a / (f32(6) * (sigma2 - (base + f32(1)) * (base + f32(1))))
        return float(base + a)


def box_weights(radius: float) -> tuple[int, int, int]:
    """Return Pillow's ``(r, ww, fw)`` for a pass of float32 radius ``radius``."""
    value = np.float32(radius)
    r = int(value)
    ww = int(np.float32(_ONE) / (value * np.float32(2) + np.float32(1)))
    fw = ((_ONE - ((2 * r + 1) * ww)) & _MASK) // 2
    return r, ww, fw


@dataclass(frozen=True)
class BoxPass:
    """One stage of a box plan: every pass along rows (``vertical=False``) or along columns."""

    vertical: bool
    radius: int
    ww: int
    fw: int
    passes: int
    #: The stage writes over its own input (``parallel.tiles``): the compiled
    #: vertical passes then keep the rows they still read in a ring.
    in_place: bool = False


@dataclass(frozen=True)
class BoxPlan:
    """Pillow's box passes over one ``(H, W, C)`` uint8 image: zero, one or two stages."""

    height: int
    width: int
    channels: int
    stages: tuple[BoxPass, ...]


def plan_boxes(shape: tuple[int, ...], radius_x: float, radius_y: float, passes: int) -> BoxPlan:
    """Plan Pillow's ``passes`` box passes of float32 radii ``(radius_x, radius_y)``.

    An axis whose radius is 0 is skipped, as Pillow skips it. The radii are
    checked as Pillow checks them (``ValueError``, Pillow's words).
    """
    stages = []
    for vertical, radius in ((False, radius_x), (True, radius_y)):
        value = np.float32(radius)
        if not value >= 0:
            raise ValueError("radius must be >= 0")
        if value >= np.float32(2**31):
            raise ValueError("radius too large")
        if value != 0:
            stages.append(BoxPass(vertical, *box_weights(float(value)), passes))
    height, width = int(shape[0]), int(shape[1])
    channels = int(shape[2]) if len(shape) == 3 else 1
    return BoxPlan(height, width, channels, tuple(stages))


def box_pass(
    src: np.ndarray,
    src0: int,
    dst: np.ndarray,
    dst0: int,
    tile: Tile,
    step: BoxPass,
    native: ModuleType | None,
) -> None:
    """Compute ``tile`` of one stage: whole rows (horizontal) or whole columns (vertical).

    ``src`` and ``dst`` are ``(H', W, C)`` uint8 arrays holding image rows from
    ``src0`` and ``dst0``; a horizontal tile is rows ``[top, bottom)`` (all
    columns), a vertical one columns ``[left, right)`` (all rows).
    """
    if native is not None:
        native.box_lines(
            src,
            src0,
            dst,
            dst0,
            tile.top,
            tile.bottom,
            tile.left,
            tile.right,
            int(step.vertical),
            step.radius,
            step.ww,
            step.fw,
            step.passes,
            in_place=step.in_place,
        )
        return
    # the passes run along axis 0: the rows' axis for a vertical stage, else the columns'
    along = 0 if step.vertical else 1
    block = src[tile.top - src0 : tile.bottom - src0, tile.left : tile.right]
    lines = np.moveaxis(np.asarray(block, dtype=np.int64), along, 0)
    for _ in range(step.passes):
        lines = _blur_lines(lines, step)
    dst[tile.top - dst0 : tile.bottom - dst0, tile.left : tile.right] = np.moveaxis(
        lines, 0, along
    )


def _blur_lines(lines: np.ndarray, step: BoxPass) -> np.ndarray:
    """One pass along axis 0 of ``lines`` (int64 samples 0–255): Pillow's formula, mod 2³²."""
    n = lines.shape[0]
    r = step.radius
    x = np.arange(n, dtype=np.int64)
    first, last = lines[0], lines[n - 1]
    prefix = np.concatenate([np.zeros_like(lines[:1]), np.cumsum(lines, axis=0)])
    lo, hi = np.maximum(x - r, 0), np.minimum(x + r, n - 1)
    tail = (slice(None), *([None] * (lines.ndim - 1)))
    below = np.maximum(r - x, 0)[tail]  # taps left of the line read its first sample
    above = np.maximum(x + r - (n - 1), 0)[tail]  # and right of it, its last
    window = prefix[hi + 1] - prefix[lo] + below * first + above * last
    window &= _MASK
    far = lines[np.maximum(x - r - 1, 0)] + lines[np.minimum(x + r + 1, n - 1)]
    bulk = (window * step.ww + far * step.fw + (1 << 23)) & _MASK
    out: np.ndarray = bulk >> 24
    return out
