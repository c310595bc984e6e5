"""The array API: blur an ``(H, W)`` or ``(H, W, C)`` NumPy array."""

from __future__ import annotations

import numpy as np

from .engine import make_plan
from .kernels import KernelSpec, resolve_kernel
from .parallel import ParallelSettings, Progress, run_plan

__all__ = ["gaussian_blur", "blur_array"]

#: dtypes the array API accepts (SPEC §2: integers are rounded and clipped).
SUPPORTED_DTYPES = (
    np.uint8,
    np.int8,
    np.uint16,
    np.int16,
    np.uint32,
    np.int32,
    np.float16,
    np.float32,
    np.float64,
)


def _check_array(array: object) -> np.ndarray:
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
    return array


def blur_array(
    array: np.ndarray,
    spec: KernelSpec,
    settings: ParallelSettings,
    progress: Progress | None = None,
) -> np.ndarray:
    """Blur a validated array with a resolved kernel; same shape and dtype out."""
    if spec.is_identity or array.size == 0:
        return array.copy()
    g_y, g_x = spec.factors()
    # Work in native byte order; give the caller back the order they gave us.
    native = array.astype(array.dtype.newbyteorder("="), copy=False)
    plan = make_plan(native.shape, native.dtype, g_y, g_x)
    out = run_plan(native, plan, settings, progress).reshape(array.shape)
    return out.astype(array.dtype, copy=False)


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
    :func:`~pil_parallel_blur.gaussian_kernel`, borders replicated from the
    edge pixel. Integer results are rounded to nearest and clipped to the
    dtype's range; float results keep their dtype.

    Parameters
    ----------
    array : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)`` image of an integer or float dtype
        (``bool`` and complex are rejected).
    sigma : float or (float, float), optional
        Standard deviation (``>= 0``), or ``(sigma_x, sigma_y)``. Default 2.
        ``0`` on an axis leaves that axis unblurred.
    size : int or (int, int), optional
        Odd kernel side, or ``(size_x, size_y)``. Default
        ``2 * ceil(3 * sigma) + 1``.
    n_jobs : int, optional
        Number of workers (joblib convention: ``-1`` all CPUs). Default: the
        enclosing ``joblib.parallel_config``'s, else all usable CPUs.
    backend : str, optional
        joblib backend name, e.g. ``"loky"`` or ``"threading"``. Default: the
        enclosing ``joblib.parallel_config``'s, else joblib's default.
    temp_folder : str, optional
        Folder for the process backends' private memory-mapped files.
    progress : callable, optional
        Called as ``progress(bands_done, bands_total)`` in the calling thread
        as bands finish (once with ``(1, 1)`` when run in-process).

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
    settings = ParallelSettings(n_jobs=n_jobs, backend=backend, temp_folder=temp_folder)
    return blur_array(_check_array(array), spec, settings, progress)
