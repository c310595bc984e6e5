"""What one correlation computes: its plan, and the tiles of output it is cut into.

A plan is made once per call from the image's shape and dtype and the kernel's
separable terms, never from the workers or the tiles; every tile of output is
then computed from it alone, so the result cannot depend on how the output was
cut.

Tests: test_accuracy.py, test_fidelity.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

__all__ = [
    "CorrelationPlan",
    "KernelTerms",
    "Tile",
    "plan_correlation",
    "rows_read",
    "pixel_samples",
    "TYPE_CODES",
    "ROUNDING_CODES",
]

#: 8-bit images with fewer samples than this are computed in float64 (see plan_correlation).
FLOAT32_MIN_SAMPLES = 1 << 17

#: The sample types the engine computes, with their codes in the native kernel.
TYPE_CODES = {
    np.dtype(np.uint8): 0,
    np.dtype(np.int8): 1,
    np.dtype(np.uint16): 2,
    np.dtype(np.int16): 3,
    np.dtype(np.uint32): 4,
    np.dtype(np.int32): 5,
    np.dtype(np.uint64): 6,
    np.dtype(np.int64): 7,
    np.dtype(np.float32): 8,
    np.dtype(np.float64): 9,
}

#: The rounding rules, with their codes in the native kernel (no rounding: -1).
ROUNDING_CODES = {"rint": 0, "half_up": 1, None: -1}


class Tile(NamedTuple):
    """Output rows ``[top, bottom)`` × pixel columns ``[left, right)`` of one image."""

    top: int
    bottom: int
    left: int
    right: int


@dataclass(frozen=True, eq=False)
class CorrelationPlan:
    """Everything a worker needs to compute any tile of one image.

    Built once by ``plan_correlation`` from the image's shape and dtype and
    the kernel's separable terms; never from ``n_jobs`` or the tiles. The kernel
    is ``sum(outer(g_y, g_x) for g_y, g_x in terms)``; ``offset`` is added before
    rounding; a non-zero ``grid`` ``s`` snaps integer results to multiples of
    ``1/s`` before they are rounded.
    """

    height: int
    width: int
    channels: int
    terms: tuple[tuple[np.ndarray, np.ndarray], ...]
    out_dtype: np.dtype
    compute_dtype: np.dtype
    clip: tuple[float, float] | None
    rounding: str | None
    offset: float = 0.0
    grid: float = 0.0

    @property
    def r_y(self) -> int:
        """Vertical kernel radius (after folding taps beyond the image)."""
        return len(self.terms[0][0]) // 2

    @property
    def r_x(self) -> int:
        """Horizontal kernel radius (after folding)."""
        return len(self.terms[0][1]) // 2

    @property
    def averages(self) -> bool:
        """No negative weight and no offset: every result lies within the image's range."""
        return self.offset == 0 and all(
            bool((y >= 0).all() and (x >= 0).all()) for y, x in self.terms
        )

    def whole(self) -> Tile:
        """Return the tile that is the whole output."""
        return Tile(0, self.height, 0, self.width)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """Shape of the output array ``(H, W, C)``."""
        return (self.height, self.width, self.channels)


def _clip_bounds(dtype: np.dtype) -> tuple[float, float]:
    """Return the type's range as floats that convert back into the type (2⁶³ does not)."""
    info = np.iinfo(dtype)
    lo, hi = float(info.min), float(info.max)
    if int(hi) > info.max:
        hi = float(np.nextafter(hi, 0))
    return lo, hi


class KernelTerms(Protocol):
    """A kernel as ``kernels.py`` builds it (``SeparableKernel``): what a plan is made of."""

    @property
    def offset(self) -> float:
        """Added to every result before rounding."""
        ...  # pragma: no cover

    @property
    def rounding(self) -> str:
        """How integer results are rounded: ``"rint"`` or ``"half_up"``."""
        ...  # pragma: no cover

    @property
    def grid(self) -> float | None:
        """``s`` when every exact result on an integer image is a multiple of ``1/s``."""
        ...  # pragma: no cover

    @property
    def fold(self) -> Callable[[int, int], tuple[tuple[np.ndarray, np.ndarray], ...]]:
        """Return the terms ``(g_y, g_x)`` for an image of ``(height, width)``, folded to it."""
        ...  # pragma: no cover


def plan_correlation(
    shape: tuple[int, ...], dtype: np.dtype, kernel: KernelTerms
) -> CorrelationPlan:
    """Plan the correlation of an image of ``shape`` and ``dtype`` with ``kernel``.

    Parameters
    ----------
    shape : tuple of int
        Shape of the image, ``(H, W)`` or ``(H, W, C)``.
    dtype : numpy.dtype
        dtype of the image; also the output dtype.
    kernel : SeparableKernel
        From ``kernels.py``: its terms for this image (all ``g_y`` of one
        length, all ``g_x`` of one length, folded to the image), the offset
        added before rounding, how integer results are rounded (``"rint"``:
        to nearest even on ties; ``"half_up"``: like Pillow's
        ``ImageFilter.Kernel``), and the grid ``s`` when every exact result on
        an integer image is a multiple of ``1/s``. Results are then snapped to
        that grid before rounding, so exact ties round by the rule (the
        separable split and float32 leave them a hair off .5), where that is
        safe (``_snapped_grid``).
    """
    dtype = np.dtype(dtype)
    if dtype not in TYPE_CODES:
        raise TypeError(f"the engine computes {sorted(map(str, TYPE_CODES))}, not {dtype}")
    height, width = int(shape[0]), int(shape[1])
    channels = int(shape[2]) if len(shape) == 3 else 1
    pairs = tuple(
        (np.ascontiguousarray(y, np.float64), np.ascontiguousarray(x, np.float64))
        for y, x in kernel.fold(height, width)
    )
    if not pairs or len({(len(y), len(x)) for y, x in pairs}) != 1:
        raise ValueError("a kernel's terms must be one or more (g_y, g_x) pairs of equal lengths")
    if any(len(y) > max(2 * height - 1, 1) or len(x) > max(2 * width - 1, 1) for y, x in pairs):
        raise ValueError("a kernel's terms must be folded to the image (kernel_terms.fold_taps)")
    samples = height * width * channels
    compute, grid = _compute_type(dtype, samples, pairs, kernel.offset, kernel.grid)
    integer = dtype.kind in "ui"
    return CorrelationPlan(
        height=height,
        width=width,
        channels=channels,
        terms=pairs,
        out_dtype=dtype,
        compute_dtype=compute,
        clip=_clip_bounds(dtype) if integer else None,
        rounding=kernel.rounding if integer else None,
        offset=float(kernel.offset),
        grid=grid,
    )


def _compute_type(
    dtype: np.dtype,
    samples: int,
    pairs: tuple[tuple[np.ndarray, np.ndarray], ...],
    offset: float,
    result_grid: float | None,
) -> tuple[np.dtype, float]:
    """Return the compute type of a plan, and the grid its results are snapped to (0: none).

    uint8 sums stay within ~1e-5 of a level in float32, so a sample differs
    from the float64 reference only when its exact value is that close to .5
    (about 2 in 100 000). On a small image one such sample would already be
    more than the 0.1 % allowed, so small images, everything wider than 8 bits
    (16-bit, int32, float) and kernels with several terms or negative weights
    (sums that cancel) are computed in float64.

    Kernels on a result grid of 1/s are the exception: the computed value is
    snapped to the nearest multiple of 1/s, which is the exact result while
    the arithmetic error stays under 1/(4s). That error is estimated as
    16 ulp of the largest partial sum (max sample · Σ|K|): measured ≤ 9e-5
    levels in float32 for integer kernels up to 15×15, 2–5× under this
    estimate. Where float32 cannot promise it, float64 is used; where even
    float64 cannot, nothing is snapped.
    """
    negative = any(bool((y < 0).any() or (x < 0).any()) for y, x in pairs)
    integer = dtype.kind in "ui"
    big8 = dtype.itemsize == 1 and samples > FLOAT32_MIN_SAMPLES
    # Σ|outer(y, x)| = Σ|y|·Σ|x|: no kernel-sized temporary
    abs_sum = float(sum(np.abs(y).sum() * np.abs(x).sum() for y, x in pairs))
    largest = float(max(abs(np.iinfo(dtype).min), np.iinfo(dtype).max)) if integer else 1.0
    reach = largest * abs_sum + abs(float(offset))

    def snaps(eps: float) -> bool:
        if result_grid is None or not integer:
            return False
        s = abs(float(result_grid))
        return 16 * eps * reach < 1 / (4 * s) and reach * s < 1 / (4 * eps)

    eps32, eps64 = float(np.finfo(np.float32).eps), float(np.finfo(np.float64).eps)
    narrow = big8 and ((len(pairs) == 1 and not negative) or snaps(eps32))
    grid = 0.0
    if result_grid is not None and snaps(eps32 if narrow else eps64):
        grid = abs(float(result_grid))
    return np.dtype(np.float32 if narrow else np.float64), grid


def rows_read(plan: CorrelationPlan, top: int, bottom: int) -> tuple[int, int]:
    """Return the image rows ``[first, last)`` that output rows ``[top, bottom)`` read."""
    return max(top - plan.r_y, 0), min(bottom + plan.r_y, plan.height)


def pixel_samples(array: np.ndarray) -> int:
    """Return how many samples a pixel of ``(rows, W)`` or ``(rows, W, C)`` image rows holds.

    Usually the plan's channels; more where the array is Pillow's own 4-byte
    pixels of a 3-channel image (``pillow_adapter.core_to_pixels``), whose
    first three samples are the channels.
    """
    return int(array.shape[2]) if array.ndim == 3 else 1
