"""Ready-made kernels as filters: box blur, sharpen, unsharp mask, edges, emboss.

Each returns a [ParallelKernelFilter][pil_parallel_blur.ParallelKernelFilter]; keyword
arguments (``n_jobs``, ``backend``, ...) are passed on to it.

Tests: test_kernels.py, test_kernel_filter.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .kernel_filter import ParallelKernelFilter
from .kernels import gaussian_kernel
from .validators import check_nonnegative, check_odd_size

__all__ = ["box_blur", "sharpen", "unsharp_mask", "sobel", "laplacian", "emboss"]


def box_blur(size: int = 3, **kwargs: Any) -> ParallelKernelFilter:
    """Mean of a ``size × size`` square (any odd size).

    Parameters
    ----------
    size : int
        Odd side of the square. Default 3.
    **kwargs
        Passed to [ParallelKernelFilter][pil_parallel_blur.ParallelKernelFilter]
        (``n_jobs``, ``backend``, ...).

    Returns
    -------
    ParallelKernelFilter
    """
    size = check_odd_size("size", size)
    return ParallelKernelFilter(np.ones((size, size)), **kwargs)


def sharpen(**kwargs: Any) -> ParallelKernelFilter:
    """Pillow's ``ImageFilter.SHARPEN`` kernel (3×3, centre 32, others −2, scale 16).

    Parameters
    ----------
    **kwargs
        Passed to [ParallelKernelFilter][pil_parallel_blur.ParallelKernelFilter].

    Returns
    -------
    ParallelKernelFilter
    """
    k = np.full((3, 3), -2.0)
    k[1, 1] = 32
    return ParallelKernelFilter(k, 16, **kwargs)


def unsharp_mask(sigma: float = 2.0, amount: float = 1.0, **kwargs: Any) -> ParallelKernelFilter:
    """Unsharp masking as one kernel: ``(1 + amount)·δ − amount·G_σ`` (no threshold).

    Parameters
    ----------
    sigma : float
        Standard deviation of the Gaussian ``G_σ`` (size ``2·ceil(3σ)+1``).
    amount : float
        Strength; 1 adds back 100 % of the detail (Pillow's ``percent=100``).
    **kwargs
        Passed to [ParallelKernelFilter][pil_parallel_blur.ParallelKernelFilter].

    Returns
    -------
    ParallelKernelFilter
    """
    amount = check_nonnegative("amount", amount)
    g = gaussian_kernel(sigma=sigma)
    k = -amount * g
    k[g.shape[0] // 2, g.shape[1] // 2] += 1 + amount
    return ParallelKernelFilter(k, 1, **kwargs)


def sobel(axis: str = "x", offset: float = 0, **kwargs: Any) -> ParallelKernelFilter:
    """Sobel derivative along ``x`` (left to right) or ``y`` (top to bottom).

    Parameters
    ----------
    axis : {"x", "y"}
        Direction of the derivative.
    offset : float
        Added to the result; 128 shows negative slopes on 8-bit images.
    **kwargs
        Passed to [ParallelKernelFilter][pil_parallel_blur.ParallelKernelFilter].

    Returns
    -------
    ParallelKernelFilter
    """
    smooth, diff = np.array([1.0, 2.0, 1.0]), np.array([-1.0, 0.0, 1.0])
    if axis == "x":
        k = np.outer(smooth, diff)
    elif axis == "y":
        # ParallelKernelFilter, like Pillow, weights the top row with the row
        # below the pixel, so "+ below" is written in the top row.
        k = np.outer(diff[::-1], smooth)
    else:
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    return ParallelKernelFilter(k, 1, offset, **kwargs)


def laplacian(size: int = 3, offset: float = 0, **kwargs: Any) -> ParallelKernelFilter:
    """Edge detection by the negative Laplacian (``8·centre − neighbours`` at size 3).

    Any odd size ≥ 3: ``size² − 1`` at the centre and −1 elsewhere, which is
    Pillow's ``FIND_EDGES`` at size 3.

    Parameters
    ----------
    size : int
        Odd side ≥ 3.
    offset : float
        Added to the result.
    **kwargs
        Passed to [ParallelKernelFilter][pil_parallel_blur.ParallelKernelFilter].

    Returns
    -------
    ParallelKernelFilter
    """
    size = check_odd_size("size", size, smallest=3)
    k = -np.ones((size, size))
    k[size // 2, size // 2] = size * size - 1
    return ParallelKernelFilter(k, 1, offset, **kwargs)


def emboss(**kwargs: Any) -> ParallelKernelFilter:
    """Pillow's ``ImageFilter.EMBOSS`` kernel (3×3, scale 1, offset 128).

    Parameters
    ----------
    **kwargs
        Passed to [ParallelKernelFilter][pil_parallel_blur.ParallelKernelFilter].

    Returns
    -------
    ParallelKernelFilter
    """
    k = np.zeros((3, 3))
    k[0, 0], k[1, 1] = -1, 1
    return ParallelKernelFilter(k, 1, 128, **kwargs)
