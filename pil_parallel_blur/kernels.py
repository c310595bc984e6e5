"""Building and validating kernels: the Gaussian and the box (general kernels: ``kernel_terms``).

Every public entry point validates its arguments here, so that a bad ``size`` or
``sigma`` fails with the same message whether it came through the Pillow filter,
the array function or the command line.

Tests: test_kernels.py, test_errors.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .kernel_terms import (
    SeparableKernel,
    Terms,
    check_kernel,
    from_terms,
    result_grid,
    separable_terms,
)
from .validators import check_nonnegative, check_odd_size, is_pair, split_pair

__all__ = [
    "DEFAULT_SIGMA",
    "KernelSpec",
    "SeparableKernel",
    "box_kernel",
    "check_kernel",
    "from_terms",
    "gaussian_kernel",
    "gaussian_kernel_1d",
    "resolve_kernel",
    "result_grid",
    "separable_terms",
]

#: Pillow's ``GaussianBlur`` default standard deviation.
DEFAULT_SIGMA = 2.0
#: Tails of more taps than this are summed in closed form (see _tail_sum).
_EXPLICIT_TAIL_TAPS = 1 << 22


class KernelSpec(NamedTuple):
    """A validated, resolved separable Gaussian: sizes and sigmas per axis."""

    size_x: int
    size_y: int
    sigma_x: float
    sigma_y: float

    def factors(self, shape: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return the normalised 1-D factors ``(g_y, g_x)`` in float64.

        With the image's ``shape``, taps farther from the centre than the image
        is long are folded into the outermost tap that still reads a distinct
        sample (with edge replication they all read the edge sample): the same
        result, and a kernel of any size costs no more than twice the image.
        """
        height, width = (None, None) if shape is None else (int(shape[0]), int(shape[1]))
        return (
            _factor(self.size_y, self.sigma_y, height),
            _factor(self.size_x, self.sigma_x, width),
        )

    def transposed(self) -> KernelSpec:
        """Return this kernel with x and y swapped (for an image turned by 90°)."""
        return KernelSpec(self.size_y, self.size_x, self.sigma_y, self.sigma_x)

    def separable(self) -> SeparableKernel:
        """Return the Gaussian as the engine takes it (rounded half to even)."""
        return SeparableKernel(GaussianTerms(self), identity=self.is_identity)

    @property
    def is_identity(self) -> bool:
        """True when the kernel is a single 1 (``sigma == 0`` on both axes)."""
        return self.size_x == 1 and self.size_y == 1


@dataclass(frozen=True)
class GaussianTerms:
    """A resolved Gaussian as one term, folded to each image it meets."""

    spec: KernelSpec

    def __call__(self, height: int, width: int) -> Terms:
        """Return the term for an image of ``height`` × ``width``, folded to it."""
        return (self.spec.factors((height, width)),)


#: Largest sigma taken: a Gaussian this wide is flat over any image that fits
#: in memory, and the kernel's sizes and tail sums stay far from overflow.
MAX_SIGMA = 1e15


def _size_for(sigma: float) -> int:
    """Odd side covering ±3σ; 1 for ``sigma == 0``."""
    return 2 * math.ceil(3 * sigma) + 1


def resolve_kernel(
    size: object = None, sigma: object = None, *, allow_zero: bool = False
) -> KernelSpec:
    """Validate ``size``/``sigma`` and fill in the defaults (sigma 2, size covering ±3σ).

    Parameters
    ----------
    size : int or (int, int), optional
        Odd kernel side, or ``(x, y)`` sides. Default: ``2 * ceil(3 * sigma) + 1``.
    sigma : float or (float, float), optional
        Standard deviation, or ``(x, y)``. Default: 2.
    allow_zero : bool
        Accept ``sigma == 0`` (no blur on that axis), as the Pillow filter does.

    Returns
    -------
    KernelSpec
    """
    sig = DEFAULT_SIGMA if sigma is None else sigma
    sx_raw, sy_raw = split_pair("sigma", sig)
    sigma_x = check_nonnegative("sigma", sx_raw, sig, allow_zero=allow_zero, largest=MAX_SIGMA)
    sigma_y = check_nonnegative("sigma", sy_raw, sig, allow_zero=allow_zero, largest=MAX_SIGMA)
    if size is None:
        size_x, size_y = _size_for(sigma_x), _size_for(sigma_y)
    else:
        zx_raw, zy_raw = split_pair("size", size)
        size_x = check_odd_size("size", zx_raw, size)
        size_y = check_odd_size("size", zy_raw, size)
    # sigma == 0 means "no blur" on that axis, whatever the size.
    if sigma_x == 0:
        size_x = 1
    if sigma_y == 0:
        size_y = 1
    return KernelSpec(size_x, size_y, sigma_x, sigma_y)


def _gauss(x: np.ndarray, sigma: float) -> np.ndarray:
    # (x / σ)² rather than x² / (2σ²): a tiny σ (say 1e-200) must give a delta,
    # not 0/0; overflowing squares are exp(-inf) = 0, as they should be.
    with np.errstate(over="ignore"):
        return np.exp(-0.5 * (x / sigma) ** 2)


def _tail_sum(a: int, b: int, sigma: float) -> float:
    """``Σ exp(-x²/(2σ²))`` for ``x = a … b`` (``0 <= a <= b``).

    Summed term by term (in chunks) up to a few million terms. Longer tails
    only occur for σ above ~10⁶, where the Euler–Maclaurin formula with two
    correction terms is exact to far below float64 rounding (the next term is
    of order σ⁻⁶ of the sum).
    """
    if b - a + 1 <= _EXPLICIT_TAIL_TAPS:
        chunk = 1 << 20
        return float(
            sum(
                _gauss(np.arange(lo, min(lo + chunk, b + 1), dtype=np.float64), sigma).sum()
                for lo in range(a, b + 1, chunk)
            )
        )
    s2 = sigma * math.sqrt(2)
    integral = sigma * math.sqrt(math.pi / 2) * (math.erfc(a / s2) - math.erfc(b / s2))

    def f(x: float) -> float:
        return math.exp(-0.5 * (x / sigma) ** 2)

    def d1(x: float) -> float:
        return -x / sigma**2 * f(x)

    def d3(x: float) -> float:
        return (3 * x / sigma**4 - x**3 / sigma**6) * f(x)

    return integral + (f(a) + f(b)) / 2 + (d1(b) - d1(a)) / 12 - (d3(b) - d3(a)) / 720


def _factor(size: int, sigma: float, length: int | None = None) -> np.ndarray:
    """Normalised 1-D Gaussian of ``size`` taps, folded to ``2·length - 1`` taps if longer."""
    if sigma == 0 or size == 1:
        return np.ones(1)
    r = size // 2
    keep = r if length is None else min(r, max(length - 1, 0))
    g = _gauss(np.arange(-keep, keep + 1, dtype=np.float64), sigma)
    if keep < r:  # every tap beyond ±keep reads the edge sample: add it to the edge tap
        tail = _tail_sum(keep + 1, r, sigma)
        g[0] += tail
        g[-1] += tail
    normalised: np.ndarray = g / g.sum()
    return normalised


def gaussian_kernel_1d(size: int | None = None, sigma: float | None = None) -> np.ndarray:
    """Return a normalised 1-D Gaussian of odd length ``size``.

    Parameters
    ----------
    size : int, optional
        Odd positive length. Default: ``2 * ceil(3 * sigma) + 1``.
    sigma : float, optional
        Standard deviation, finite and ``> 0``. Default: 2.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(size,)`` summing to 1.
    """
    if is_pair(size) or is_pair(sigma):
        raise TypeError("gaussian_kernel_1d takes a single size and sigma, not pairs")
    spec = resolve_kernel(size, sigma)
    return _factor(spec.size_x, spec.sigma_x)


def gaussian_kernel(
    size: int | tuple[int, int] | None = None,
    sigma: float | tuple[float, float] | None = None,
) -> np.ndarray:
    """Return the normalised 2-D Gaussian kernel.

    ``K[i, j] ∝ exp(-x²/(2σx²) - y²/(2σy²))`` with ``x, y ∈ {-r … r}``,
    ``r = size // 2``; ``x`` runs along columns (axis 1), ``y`` along rows.

    Parameters
    ----------
    size : int or (int, int), optional
        Odd positive side, or ``(size_x, size_y)``. Default:
        ``2 * ceil(3 * sigma) + 1`` per axis, which covers ±3σ.
    sigma : float or (float, float), optional
        Standard deviation, finite and ``> 0``, or ``(sigma_x, sigma_y)``.
        Default: 2, Pillow's ``GaussianBlur`` default.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(size_y, size_x)`` that sums to 1. It is the
        outer product of two normalised 1-D factors.

    Raises
    ------
    TypeError
        If ``size`` is not an int (``bool`` is rejected) or ``sigma`` not a number.
    ValueError
        If ``size`` is even or non-positive, or ``sigma`` is not a
        finite number ``> 0``.

    Examples
    --------
    >>> k = gaussian_kernel(7, 2)
    >>> k.shape, round(float(k.sum()), 12)
    ((7, 7), 1.0)
    """
    g_y, g_x = resolve_kernel(size, sigma).factors()
    return np.outer(g_y, g_x)


def _box_taps(radius: float, length: int) -> np.ndarray:
    """Pillow's box: ``2·floor(r) + 1`` ones and the fraction at each end, over ``2r + 1``.

    On a line of ``length`` samples, taps that reach past it are folded into
    the outermost ones (they all read the edge sample), so a radius of 10⁷ on
    a 12-pixel image costs 23 taps, not 2·10⁷.
    """
    whole = int(radius)
    frac = radius - whole
    reach = whole + (1 if frac else 0)
    keep = min(reach, max(length - 1, 0))
    distance = np.abs(np.arange(-keep, keep + 1))
    taps = np.where(distance <= whole, 1.0, frac)
    if keep < reach:  # every tap from keep on reads the edge sample
        beyond = float(whole - keep) + frac  # weights past the outermost kept tap
        taps[0] += beyond
        taps[-1] += beyond
    weights: np.ndarray = taps / (2 * radius + 1)
    return weights


def _box_denominator(radius: float) -> int | None:
    """Return ``d`` when every weight of the box is a multiple of ``1/d``, else ``None``.

    So it is for an integer radius, or a fraction with a small power-of-two
    denominator.
    """
    frac = radius - int(radius)
    for bits in range(11):  # frac = p / 2^bits
        scale = 1 << bits
        if frac * scale == int(frac * scale):
            return round((2 * radius + 1) * scale)
    return None


def box_kernel(radius_x: float, radius_y: float) -> SeparableKernel:
    """Return Pillow's box blur of radius ``(x, y)`` as the engine takes it.

    Its grid is ``d_x·d_y`` when every weight of each factor is a multiple of
    ``1/d`` (see ``result_grid``), else ``None``. The taps are folded to the
    image: the cost does not grow with the radius.
    """
    d_x, d_y = _box_denominator(radius_x), _box_denominator(radius_y)
    grid = float(d_x * d_y) if d_x and d_y else None
    terms = BoxTerms(radius_x, radius_y)
    return SeparableKernel(terms, grid=grid, identity=radius_x == radius_y == 0)


@dataclass(frozen=True)
class BoxTerms:
    """Pillow's box of radius ``(x, y)`` as one term, folded to each image it meets."""

    radius_x: float
    radius_y: float

    def __call__(self, height: int, width: int) -> Terms:
        """Return the term for an image of ``height`` × ``width``, folded to it."""
        return ((_box_taps(self.radius_y, height), _box_taps(self.radius_x, width)),)
