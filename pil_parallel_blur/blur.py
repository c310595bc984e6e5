"""The array API: blur an ``(H, W)`` or ``(H, W, C)`` NumPy array.

Tests: test_accuracy.py, test_array_api.py, test_engine_extremes.py.
"""

from __future__ import annotations

import warnings

import numpy as np

from .engine import float_range, plan_correlation, restore_range, scale_in
from .kernels import (
    KernelSpec,
    check_kernel,
    resolve_kernel,
    result_grid,
    separable_terms,
)
from .parallel import (
    ParallelSettings,
    Progress,
    Workers,
    estimated_seconds,
    fill_parallel_doc,
    run_plan,
)
from .validators import check_number

__all__ = ["gaussian_blur", "correlate", "blur_array", "correlate_array", "check_array"]

#: dtypes the array API accepts (integers are rounded and clipped; 64-bit
#: integers are computed in float64, so exactly only up to 2**53).
SUPPORTED_DTYPES = (
    np.uint8,
    np.int8,
    np.uint16,
    np.int16,
    np.uint32,
    np.int32,
    np.uint64,
    np.int64,
    np.float16,
    np.float32,
    np.float64,
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
    factors: list[tuple[np.ndarray, np.ndarray]],
    workers: Workers,
    *,
    offset: float = 0.0,
    rounding: str = "rint",
    result_grid: float | None = None,
) -> np.ndarray:
    """Correlate a validated array with ``Σ outer(g_y, g_x) + offset``; same shape and dtype."""
    if array.size == 0:
        return array.copy()
    # Work on a C-contiguous array in native byte order (float16 as float32);
    # give the caller back the dtype they gave us.
    work = np.float32 if array.dtype == np.float16 else array.dtype.newbyteorder("=")
    narrow = _is_narrow(array.shape)
    if narrow:  # correlate the transpose with the transposed kernel, transpose back
        array = array.swapaxes(0, 1)
        factors = [(g_x, g_y) for g_y, g_x in factors]
    averaging = offset == 0 and all(
        bool((g_y >= 0).all() and (g_x >= 0).all()) for g_y, g_x in factors
    )
    found = float_range(array, averaging)
    # C-contiguous and aligned: the engine reads samples as their own type
    native = np.require(scale_in(array, found), dtype=work, requirements=["C", "A"])
    plan = plan_correlation(
        native.shape,
        native.dtype,
        factors,
        offset=offset,
        rounding=rounding,
        result_grid=result_grid,
    )
    out = run_plan(native, plan, workers).reshape(array.shape)
    out = restore_range(out.astype(array.dtype, copy=False), found)
    return out.swapaxes(0, 1).copy() if narrow else out


#: Rows of fewer samples than this cost more than their pixels (per-row work).
NARROW_ROW_SAMPLES = 32


def _is_narrow(shape: tuple[int, ...]) -> bool:
    """Tell whether an image is tall and so narrow that it is faster blurred transposed.

    Decided from the shape alone, so the result is the same whatever the workers.
    """
    height, width = shape[0], shape[1]
    samples = width * (shape[2] if len(shape) == 3 else 1)
    return samples < NARROW_ROW_SAMPLES and height > width


def estimated_blur_seconds(shape: tuple[int, ...], dtype: np.dtype, spec: KernelSpec) -> float:
    """Rough single-core seconds to blur an array of ``shape`` and ``dtype`` with ``spec``."""
    factors = [spec.factors(shape)]
    return estimated_seconds(plan_correlation(shape, np.dtype(dtype), factors))


def blur_array(
    array: np.ndarray,
    spec: KernelSpec,
    workers: Workers,
) -> np.ndarray:
    """Blur a validated array with a resolved Gaussian; same shape and dtype out."""
    if spec.is_identity or array.size == 0:
        return array.copy()
    return correlate_array(array, [spec.factors(array.shape)], workers)


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
    """Blur a NumPy image with an exact Gaussian, in parallel over bands of rows.

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
    spec = resolve_kernel(size, sigma, allow_zero=True)
    settings = ParallelSettings(n_jobs, backend, temp_folder, progress)
    return blur_array(check_array(array), spec, Workers(settings))


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
    """Correlate an image array with any 2-D kernel, in parallel over bands of rows.

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
    k = check_kernel(kernel)
    settings = ParallelSettings(n_jobs, backend, temp_folder, progress)
    shift = check_number("offset", offset)
    terms = separable_terms(k)
    grid = result_grid(k, shift)  # dyadic weights and offset: exact ties stay ties
    return correlate_array(
        check_array(array),
        terms,
        Workers(settings),
        offset=shift,
        result_grid=grid,
    )
