"""Pillow's blur family on uint8 arrays: its box passes and unsharp rule, on the workers.

The array functions of ``pil_parallel_blur.pillow`` and what its filter
classes hand their arrays to; the arithmetic is ``engine/boxes.py``'s.

Tests: test_pillow_family.py.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from .blur import combine_rows
from .engine import pillow_unsharp, plan_boxes
from .engine.boxes import gaussian_box_radius
from .parallel import ParallelSettings, Progress, Workers, fill_parallel_doc, run_boxes
from .validators import split_pair

__all__ = [
    "PILLOW_MODES",
    "gaussian_blur",
    "box_blur",
    "unsharp_mask",
    "pillow_gaussian_array",
    "pillow_box_array",
    "pillow_unsharp_array",
    "check_box_radius",
    "check_unsharp",
    "is_zero",
]

#: The modes Pillow's box, Gaussian and unsharp-mask filters take.
PILLOW_MODES = ("L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK")
#: Box passes per axis of Pillow's GaussianBlur and UnsharpMask.
GAUSSIAN_PASSES = 3


def _pair(radius: object) -> tuple[float, float]:
    """``(x, y)`` of a radius as Pillow's filters read one: a number, or a pair."""
    x, y = split_pair("radius", radius)
    return float(x), float(y)  # type: ignore[arg-type]


def _blur(
    array: np.ndarray,
    box_x: float,
    box_y: float,
    passes: int,
    workers: Workers,
    owned: bool = False,
) -> np.ndarray:
    """Pillow's box passes over an ``(H, W)`` or ``(H, W, C)`` uint8 array.

    ``owned``: the caller gives ``array`` up; the result may be written over it.
    """
    image = array if array.ndim == 3 else array[..., None]
    image = np.ascontiguousarray(image)
    plan = plan_boxes(image.shape, box_x, box_y, passes)
    overwrite = owned or not np.may_share_memory(image, array)
    return run_boxes(image, plan, workers, overwrite=overwrite).reshape(array.shape)


def pillow_gaussian_array(
    array: np.ndarray, radius: object, workers: Workers, owned: bool = False
) -> np.ndarray:
    """Pillow's ``GaussianBlur`` of a validated array, on ``workers`` (``owned``: as ``_blur``)."""
    x, y = _pair(radius)
    box_x = gaussian_box_radius(x, GAUSSIAN_PASSES)
    box_y = gaussian_box_radius(y, GAUSSIAN_PASSES)
    return _blur(array, box_x, box_y, GAUSSIAN_PASSES, workers, owned)


def pillow_unsharp_array(
    array: np.ndarray, radius: float, percent: int, threshold: int, workers: Workers
) -> np.ndarray:
    """Pillow's ``UnsharpMask`` of a validated array, on ``workers``."""
    blurred = pillow_gaussian_array(array, (radius, radius), workers)
    return combine_rows(pillow_unsharp, array, blurred, percent, threshold, workers)


def pillow_box_array(
    array: np.ndarray, radius: object, workers: Workers, owned: bool = False
) -> np.ndarray:
    """Pillow's ``BoxBlur`` of a validated array, on ``workers`` (``owned``: as ``_blur``)."""
    x, y = _pair(radius)
    return _blur(array, x, y, 1, workers, owned)


def check_box_radius(radius: object) -> None:
    """Raise Pillow's ``BoxBlur`` errors: a radius below 0 or from ``2**31``."""
    xy = radius if isinstance(radius, (tuple, list)) else (radius, radius)
    if not all(value >= 0 for value in xy):
        raise ValueError("radius must be >= 0")
    if any(value >= 2**31 for value in xy):
        raise ValueError("radius too large")


def check_unsharp(radius: object, percent: object, threshold: object) -> None:
    """Raise the errors Pillow's core raises for ``UnsharpMask``'s (float, int, int)."""
    float(radius)  # type: ignore[arg-type]
    for name, given in (("percent", percent), ("threshold", threshold)):
        value = operator.index(given)  # type: ignore[arg-type]  # Pillow's TypeError
        if not -(2**31) <= value < 2**31:
            raise OverflowError(f"{name} {value} does not fit a C int, as Pillow needs")


def is_zero(radius: object) -> bool:
    """Pillow's shortcut: ``radius == (0, 0) or radius == 0`` returns a copy."""
    return bool(radius == (0, 0) or radius == 0)


def _check_array(array: object) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise TypeError(
            f"array must be a numpy.ndarray, got {type(array).__name__}; "
            "use numpy.asarray(image) for a Pillow image, or filter the image directly"
        )
    if array.dtype != np.uint8:
        raise TypeError(f"array dtype must be uint8 (Pillow's 8-bit modes), got {array.dtype}")
    if array.ndim not in (2, 3) or (array.ndim == 3 and not 1 <= array.shape[2] <= 4):
        raise ValueError(
            f"array must be (H, W) or (H, W, C) with C from 1 to 4, got shape {array.shape}"
        )
    return array


@fill_parallel_doc
def gaussian_blur(
    array: np.ndarray,
    radius: float | Sequence[float] = 2,
    *,
    n_jobs: int | None = None,
    backend: str | None = None,
    temp_folder: str | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Blur a uint8 array exactly as Pillow's ``GaussianBlur(radius)`` blurs the image.

    Parameters
    ----------
    array : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)`` uint8, ``C`` from 1 to 4.
    radius : float or (float, float)
        As ``GaussianBlur``'s. Default 2.
    {parallel_parameters}

    Returns
    -------
    numpy.ndarray
        The bytes Pillow gives, same shape.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image, ImageFilter
    >>> a = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    >>> pillows = np.asarray(Image.fromarray(a).filter(ImageFilter.GaussianBlur(2)))
    >>> bool((gaussian_blur(a, 2) == pillows).all())
    True
    """
    a = _check_array(array)
    settings = ParallelSettings(n_jobs, backend, temp_folder, progress)
    if is_zero(radius) or a.size == 0:
        return a.copy()
    return pillow_gaussian_array(a, radius, Workers(settings))


@fill_parallel_doc
def box_blur(
    array: np.ndarray,
    radius: float | Sequence[float],
    *,
    n_jobs: int | None = None,
    backend: str | None = None,
    temp_folder: str | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Blur a uint8 array exactly as Pillow's ``BoxBlur(radius)`` blurs the image.

    Parameters
    ----------
    array : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)`` uint8, ``C`` from 1 to 4.
    radius : float or (float, float)
        As ``BoxBlur``'s.
    {parallel_parameters}

    Returns
    -------
    numpy.ndarray
        The bytes Pillow gives, same shape.
    """
    check_box_radius(radius)  # Pillow's checks of the radius, and its errors
    a = _check_array(array)
    settings = ParallelSettings(n_jobs, backend, temp_folder, progress)
    if is_zero(radius) or a.size == 0:
        return a.copy()
    return pillow_box_array(a, radius, Workers(settings))


@fill_parallel_doc
def unsharp_mask(
    array: np.ndarray,
    radius: float = 2,
    percent: int = 150,
    threshold: int = 3,
    *,
    n_jobs: int | None = None,
    backend: str | None = None,
    temp_folder: str | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Sharpen a uint8 array exactly as Pillow's ``UnsharpMask`` sharpens the image.

    Parameters
    ----------
    array : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)`` uint8, ``C`` from 1 to 4.
    radius, percent, threshold
        As ``UnsharpMask``'s.
    {parallel_parameters}

    Returns
    -------
    numpy.ndarray
        The bytes Pillow gives, same shape.
    """
    check_unsharp(radius, percent, threshold)  # Pillow's type and range errors
    a = _check_array(array)
    settings = ParallelSettings(n_jobs, backend, temp_folder, progress)
    if a.size == 0:
        return a.copy()
    workers = Workers(settings)
    return pillow_unsharp_array(a, float(radius), int(percent), int(threshold), workers)
