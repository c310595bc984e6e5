"""The array API: blur an ``(H, W)`` or ``(H, W, C)`` NumPy array.

Tests: test_accuracy.py, test_array_api.py, test_engine_extremes.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from .engine import (
    CorrelationPlan,
    Method,
    choose,
    exact_unsharp,
    float_range,
    plan_correlation,
    restore_range,
    scale_in,
)
from .kernels import (
    SeparableKernel,
    check_kernel,
    from_terms,
    resolve_kernel,
    result_grid,
    separable_terms,
)
from .parallel import ParallelSettings, Progress, Workers, fill_parallel_doc, run_plan
from .validators import check_number

__all__ = [
    "gaussian_blur",
    "correlate",
    "correlate_array",
    "unsharp_array",
    "combine_rows",
    "correlate_image",
    "estimated_blur_seconds",
    "check_array",
]

#: dtypes the array API accepts (integers are rounded and clipped; 64-bit
#: integers are computed in float64, so exactly only up to 2**53).
SUPPORTED_DTYPES = tuple(
    np.dtype(code).type
    for code in ("u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8")
)


def check_array(array: object) -> np.ndarray:
    """Return ``array`` if it is an ``(H, W)``/``(H, W, C)`` ndarray of a supported dtype."""
    if isinstance(array, np.ma.MaskedArray):
        raise TypeError(
            "array must be a plain numpy.ndarray, got a masked array; its mask would be "
            "ignored: fill it first (array.filled(value)) or pass array.data"
        )
    if not isinstance(array, np.ndarray):
        raise TypeError(
            f"array must be a numpy.ndarray, got {type(array).__name__}; "
            "use numpy.asarray(image) for a Pillow image, or filter the image directly"
        )
    if array.ndim not in (2, 3):
        raise ValueError(
            f"array must have 2 (H, W) or 3 (H, W, C) dimensions, got shape {array.shape}"
        )
    if array.dtype.type not in SUPPORTED_DTYPES:
        names = ", ".join(np.dtype(t).name for t in SUPPORTED_DTYPES)
        raise TypeError(f"array dtype must be one of {names}; got {array.dtype}")
    if looks_channels_first(array.shape):
        warnings.warn(
            f"array of shape {array.shape} looks channels-first (C, H, W); it is blurred "
            f"as {array.shape[0]} rows of {array.shape[1]} pixels with {array.shape[2]} "
            "channels each. Pass numpy.moveaxis(array, 0, -1) for (H, W, C), and move "
            "the axis back after",
            UserWarning,
            stacklevel=3,
        )
    return array


def looks_channels_first(shape: tuple[int, ...]) -> bool:
    """Tell whether a 3-D shape is more likely ``(C, H, W)`` than ``(H, W, C)``.

    The last axis longer than 4 (no Pillow mode has more channels) and the
    first 1, 3 or 4 long, as the channels of a grey, RGB or RGBA image are.
    """
    return len(shape) == 3 and shape[2] > 4 and shape[0] in (1, 3, 4)


def correlate_array(
    array: np.ndarray,
    kernel: SeparableKernel,
    workers: Workers,
    *,
    owned: bool = False,
    channels: int | None = None,
) -> np.ndarray:
    """Correlate a validated array with ``kernel`` on ``workers``; same shape and dtype out.

    ``owned``: the caller gives ``array`` up (``Image.filter``'s own copy of
    the pixels), so the result may be written over it. A copy made here (a
    conversion, a transpose) is given up the same way.

    ``channels``: only the first ``channels`` samples of each pixel of an
    ``(H, W, P)`` array are the image's (``pillow_adapter.core_to_pixels``);
    the rest are left as they are. The result then has the array's layout
    where it was written over it, else ``(H, W, channels)``.
    """
    if kernel.identity or array.size == 0:
        return array.copy()
    shape = array.shape if channels is None else (*array.shape[:2], channels)
    plan, narrow = plan_for(shape, array.dtype, kernel)
    return _correlate_planned(array, plan, narrow, workers, owned, channels)


def correlate_image(
    shape: tuple[int, int, int],
    read_stored: Callable[[], np.ndarray | None],
    read_narrowed: Callable[[], np.ndarray],
    kernel: SeparableKernel,
    workers: Workers,
) -> np.ndarray:
    """Correlate a 3-channel 8-bit image read in the layout its plan suits.

    ``read_stored`` gives the pixels as Pillow stores them, ``(H, W, 4)``
    (``None`` if it cannot), ``read_narrowed`` an ``(H, W, 3)`` copy; either
    is given up. The direct passes take the stored pixels (no copy in; the
    result, written over them, goes back to Pillow as it is), the spectral
    passes the narrowed copy: beside their plane, 4-byte pixels would raise
    the peak memory above Pillow's.
    """
    plan, narrow = plan_for(shape, np.dtype(np.uint8), kernel)
    method = choose(plan)  # finite 8-bit samples: what run_plan would choose
    if not narrow and method.spectral is None:
        pixels = read_stored()
        if pixels is not None:
            return _correlate_planned(pixels, plan, narrow, workers, True, 3, method)
    return _correlate_planned(read_narrowed(), plan, narrow, workers, True, None, method)


def _correlate_planned(
    array: np.ndarray,
    plan: CorrelationPlan,
    narrow: bool,
    workers: Workers,
    owned: bool,
    channels: int | None,
    method: Method | None = None,
) -> np.ndarray:
    """``correlate_array``'s work on a plan made (``narrow``: transposed), maybe its method."""
    given = array
    if narrow:  # correlate the transpose with the transposed kernel, transpose back
        array = array.swapaxes(0, 1)
    found = float_range(array, plan.averages)
    # C-contiguous and aligned, in native byte order (float16 as float32): the
    # engine reads samples as their own type
    native = np.require(scale_in(array, found), dtype=plan.out_dtype, requirements=["C", "A"])
    overwrite = owned or not np.may_share_memory(native, given)
    out = run_plan(native, plan, workers, overwrite=overwrite, method=method)
    out = out.reshape(array.shape if channels is None else (*array.shape[:2], out.shape[-1]))
    out = restore_range(out.astype(array.dtype, copy=False), found)
    return out.swapaxes(0, 1).copy() if narrow else out


def plan_for(
    shape: tuple[int, ...], dtype: np.dtype, kernel: SeparableKernel
) -> tuple[CorrelationPlan, bool]:
    """Return the plan for an array of ``shape`` and ``dtype``, and whether it is transposed.

    A tall image so narrow that its rows cost more than their pixels is
    planned turned by 90° (``_is_narrow``). Decided from the shape alone, so
    the result is the same whatever the workers.
    """
    dtype = np.dtype(dtype)
    work = np.dtype(np.float32) if dtype == np.float16 else dtype.newbyteorder("=")
    narrow = _is_narrow(shape)
    if narrow:
        shape = (shape[1], shape[0], *shape[2:])
        kernel = kernel.transposed()
    return plan_correlation(shape, work, kernel), narrow


#: Rows of fewer samples than this cost more than their pixels (per-row work).
NARROW_ROW_SAMPLES = 32


def _is_narrow(shape: tuple[int, ...]) -> bool:
    """Tell whether an image is tall and so narrow that it is faster blurred transposed.

    Decided from the shape alone, so the result is the same whatever the workers.
    """
    height, width = shape[0], shape[1]
    samples = width * (shape[2] if len(shape) == 3 else 1)
    return samples < NARROW_ROW_SAMPLES and height > width


def estimated_blur_seconds(
    shape: tuple[int, ...], dtype: np.dtype, kernel: SeparableKernel
) -> float:
    """Rough single-core seconds to correlate an array of ``shape`` and ``dtype`` with ``kernel``.

    The same plan and the same choice of method the call makes (its samples
    taken to be finite).
    """
    return choose(plan_for(shape, dtype, kernel)[0]).seconds


#: Rows per task of the unsharp combination step.
UNSHARP_ROWS = 256


def unsharp_array(
    array: np.ndarray, kernel: SeparableKernel, percent: int, threshold: int, workers: Workers
) -> np.ndarray:
    """Unsharp-mask a validated array: blurred with ``kernel``, combined by Pillow's rule."""
    if kernel.identity or array.size == 0:
        return array.copy()
    blurred = correlate_array(array, kernel, workers)
    return combine_rows(exact_unsharp, array, blurred, percent, threshold, workers)


def combine_rows(
    combine: Callable[..., None],
    image: np.ndarray,
    blurred: np.ndarray,
    percent: int,
    threshold: int,
    workers: Workers,
) -> np.ndarray:
    """Unsharp masking's combination step, ``UNSHARP_ROWS`` rows a task on the workers.

    ``combine(image, blurred, out, start, stop, percent, threshold)`` fills rows
    ``[start, stop)`` of ``out`` (the exact rule, or Pillow's).
    """
    out = np.empty_like(image)
    starts = range(0, image.shape[0], UNSHARP_ROWS)
    workers.map_small(
        combine, [(image, blurred, out, a, a + UNSHARP_ROWS, percent, threshold) for a in starts]
    )
    return out


@fill_parallel_doc
def gaussian_blur(
    array: np.ndarray,
    sigma: float | tuple[float, float] | None = None,
    size: int | tuple[int, int] | None = None,
    *,
    n_jobs: int | None = None,
    backend: str | None = None,
    temp_folder: str | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Blur a NumPy image with an exact Gaussian, in parallel over stripes of rows.

    Every channel is correlated independently with the kernel of
    [gaussian_kernel][pil_parallel_blur.gaussian_kernel], borders replicated from the
    edge pixel. Integer results are rounded to nearest and clipped to the
    dtype's range; float results keep their dtype.

    Parameters
    ----------
    array : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)`` image of an integer or float dtype
        (``bool`` and complex are rejected). A ``(C, H, W)`` array (channels
        first, as PyTorch holds images) is not recognised: one whose last axis
        is longer than 4 and whose first is 1, 3 or 4 long is blurred as given,
        with a ``UserWarning``.
    sigma : float or (float, float), optional
        Standard deviation (``>= 0``), or ``(sigma_x, sigma_y)``. Default 2.
        ``0`` on an axis leaves that axis unblurred.
    size : int or (int, int), optional
        Odd kernel side, or ``(size_x, size_y)``. Default
        ``2 * ceil(3 * sigma) + 1``.
    {parallel_parameters}

    Returns
    -------
    numpy.ndarray
        Blurred image, same shape and dtype as ``array``.

    Raises
    ------
    TypeError, ValueError
        For a bad argument (the message names it, the value and what is allowed).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((5, 5), np.uint8); a[2, 2] = 255
    >>> int(gaussian_blur(a, sigma=1, size=3, n_jobs=1)[2, 2])
    52
    """
    kernel = resolve_kernel(size, sigma, allow_zero=True).separable()
    settings = ParallelSettings(n_jobs, backend, temp_folder, progress)
    return correlate_array(check_array(array), kernel, Workers(settings))


@fill_parallel_doc
def correlate(
    array: np.ndarray,
    kernel: object,
    offset: float = 0.0,
    *,
    n_jobs: int | None = None,
    backend: str | None = None,
    temp_folder: str | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Correlate an image array with any 2-D kernel, in parallel over stripes of rows.

    ``out[y, x] = Σ kernel[i, j] · in[y + i − r_y, x + j − r_x] + offset`` for
    every channel, borders replicated from the edge pixel (like
    ``scipy.ndimage.correlate(mode="nearest")``). Separable kernels take the
    fast path; any other kernel is split into at most ``min(rows, columns)``
    separable terms (singular value decomposition). Integer results are rounded
    to nearest and clipped to the dtype's range.

    Parameters
    ----------
    array : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)`` image of an integer or float dtype.
    kernel : array-like
        2-D kernel with odd sides (rectangular allowed), finite real numbers.
    offset : float
        Added to every result before rounding.
    {parallel_parameters}

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``array``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(9, dtype=np.uint8).reshape(3, 3)
    >>> correlate(a, [[0, 0, 0], [0, 0, 1], [0, 0, 0]], n_jobs=1)[0].tolist()
    [1, 2, 2]
    """
    weights = check_kernel(kernel)
    settings = ParallelSettings(n_jobs, backend, temp_folder, progress)
    shift = check_number("offset", offset)
    # dyadic weights and offset: exact ties stay ties
    grid = result_grid(weights, shift)
    terms = from_terms(separable_terms(weights), offset=shift, grid=grid)
    return correlate_array(check_array(array), terms, Workers(settings))
