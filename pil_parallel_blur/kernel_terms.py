"""General kernels as the engine takes them: validation, separable terms, folding, grids.

``SeparableKernel`` is the one value every filter and array function hands
to ``correlate_array``: built once per filter or call, here or in
``kernels.py`` (the Gaussian and the box).

Tests: test_kernel_filter.py, test_fidelity.py, test_kernels.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SeparableKernel",
    "Terms",
    "check_kernel",
    "fold_taps",
    "from_terms",
    "result_grid",
    "separable_terms",
]

#: Separable terms ``(g_y, g_x)``: the kernel is ``Σ outer(g_y, g_x)``.
Terms = tuple[tuple[np.ndarray, np.ndarray], ...]


@dataclass(frozen=True, eq=False)
class SeparableKernel:
    """What one filter or call correlates with, built once here and handed to the engine.

    ``Σ outer(g_y, g_x) + offset`` for the terms ``fold(height, width)``
    gives for an image of that size: taps farther from the centre than the
    image is long are folded into the outermost tap that still reads a
    distinct sample (with edge replication they all read the edge sample), so
    the result is the same and a kernel of any size costs no more than twice
    the image. ``fold`` is a plain value with a ``__call__`` (``GaussianTerms``,
    ``BoxTerms``, ``ExplicitTerms``, ``Transposed``), so the kernel, and the
    filters that hold it, pickle. Integer results are rounded by ``rounding``
    (``"rint"``, half to even, or ``"half_up"`` like ``ImageFilter.Kernel``);
    a ``grid`` ``s`` says every exact result on an integer image is a multiple
    of ``1/s``, so exact ties can be kept ties. ``identity``: the kernel is a
    single 1.
    """

    fold: Callable[[int, int], Terms]
    offset: float = 0.0
    rounding: str = "rint"
    grid: float | None = None
    identity: bool = False

    def transposed(self) -> SeparableKernel:
        """Return this kernel for the image turned by 90° (x and y swapped)."""
        swapped = Transposed(self.fold)
        return SeparableKernel(swapped, self.offset, self.rounding, self.grid, self.identity)


@dataclass(frozen=True)
class Transposed:
    """The terms of a kernel for the image turned by 90°: ``fold``'s, x and y swapped."""

    fold: Callable[[int, int], Terms]

    def __call__(self, height: int, width: int) -> Terms:
        """Return the terms for an image of ``height`` × ``width``, folded to it."""
        return tuple((g_x, g_y) for g_y, g_x in self.fold(width, height))


@dataclass(frozen=True, eq=False)
class ExplicitTerms:
    """Terms given as taps (a general kernel's), folded to each image they meet."""

    pairs: Terms

    def __call__(self, height: int, width: int) -> Terms:
        """Return the terms for an image of ``height`` × ``width``, folded to it."""
        return tuple((fold_taps(y, height), fold_taps(x, width)) for y, x in self.pairs)


def check_kernel(kernel: object, name: str = "kernel") -> np.ndarray:
    """Validate a 2-D kernel: finite real numbers, odd sides.

    Returns
    -------
    numpy.ndarray
        The kernel as a float64 array of shape ``(rows, columns)``.
    """
    try:
        k = np.asarray(kernel)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a 2-D array of numbers, got {kernel!r}") from e
    if k.dtype == object or k.dtype.kind not in "uif":
        raise TypeError(
            f"{name} must be a 2-D array of real numbers, got {kernel!r} (dtype {k.dtype})"
        )
    if k.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, columns), got shape {k.shape}")
    rows, cols = k.shape
    if rows % 2 == 0 or cols % 2 == 0 or rows == 0 or cols == 0:
        raise ValueError(f"{name} sides must be odd, got shape {k.shape}")
    k = k.astype(np.float64)
    if not np.isfinite(k).all():
        raise ValueError(f"{name} must hold finite numbers, got {kernel!r}")
    return k


def separable_terms(
    kernel: np.ndarray, rtol: float = 1e-12
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split a 2-D kernel into separable terms: ``kernel ≈ Σ outer(g_y, g_x)``.

    The terms come from the singular value decomposition, keeping singular
    values above ``rtol`` times the largest: a rank-1 (separable) kernel gives
    one term, any kernel at most ``min(rows, columns)`` terms. The sum equals the
    kernel to ~1e-15 of its largest weight.

    Parameters
    ----------
    kernel : numpy.ndarray
        float64 ``(rows, columns)`` kernel.
    rtol : float
        Relative threshold under which a singular value counts as zero.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        ``(g_y, g_x)`` pairs; ``[(zeros, zeros)]`` for an all-zero kernel.
    """
    largest = float(np.abs(kernel).max()) if kernel.size else 0.0
    if largest == 0:
        return [(np.zeros(kernel.shape[0]), np.zeros(kernel.shape[1]))]
    # decomposed at a scale where no product overflows (weights near 1e308),
    # the scale shared back between both factors
    u, s, vt = np.linalg.svd(kernel / largest)
    keep = [i for i in range(len(s)) if s[i] > rtol * s[0]]
    root = np.sqrt(largest)
    return [(u[:, i] * (np.sqrt(s[i]) * root), vt[i] * (np.sqrt(s[i]) * root)) for i in keep]


def fold_taps(taps: np.ndarray, length: int) -> np.ndarray:
    """Shorten explicit taps longer than the image without changing the result.

    With edge replication, every tap more than ``length - 1`` away from the
    centre reads the edge sample for every output sample, so those taps can be
    summed into the outermost tap that still sees a distinct sample. A 10001-tap
    kernel on a 10-pixel image then costs 19 taps, not ~10⁸ padded samples.
    """
    taps = np.ascontiguousarray(taps, dtype=np.float64)
    r, keep = len(taps) // 2, max(length - 1, 0)
    if r <= keep:
        return taps
    folded = taps[r - keep : r + keep + 1].copy()
    # both tails summed from the outside in, so a symmetric kernel stays
    # symmetric to the last bit (the spectral path and the folded taps need it)
    folded[0] += taps[: r - keep].sum()
    folded[-1] += np.ascontiguousarray(taps[r + keep + 1 :][::-1]).sum()
    return folded


def from_terms(
    terms: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    offset: float = 0.0,
    rounding: str = "rint",
    grid: float | None = None,
) -> SeparableKernel:
    """Return explicit separable terms ``(g_y, g_x)`` as the engine takes them.

    Raises ``ValueError`` unless there are one or more terms, all ``g_y`` of
    one odd length and all ``g_x`` of one odd length, and for a rounding
    other than ``"rint"`` and ``"half_up"``.
    """
    pairs = tuple((np.asarray(y, np.float64), np.asarray(x, np.float64)) for y, x in terms)
    lengths = {(len(y), len(x)) for y, x in pairs}
    if len(lengths) != 1 or any(n % 2 == 0 for n in next(iter(lengths))):
        raise ValueError("terms must be one or more (g_y, g_x) pairs of equal, odd lengths")
    if rounding not in ("rint", "half_up"):
        raise ValueError(f"rounding must be 'rint' or 'half_up', got {rounding!r}")

    return SeparableKernel(ExplicitTerms(pairs), float(offset), rounding, grid)


def result_grid(
    kernel: np.ndarray, offset: float = 0.0, base: float = 1.0, max_bits: int = 24
) -> float | None:
    """Return the grid of exact results on integer images, if it is a fine binary one.

    ``base · 2^k`` for the smallest ``k <= max_bits`` that makes every weight
    times ``2^k`` and ``offset · 2^k`` integers (dyadic weights): every exact
    result is then a multiple of ``1/(base · 2^k)``. ``None`` when there is none.
    """
    for bits in range(max_bits + 1):
        m = 2.0**bits
        scaled = kernel * m
        if bool((scaled == np.round(scaled)).all()) and offset * m == round(offset * m):
            return base * m
    return None
