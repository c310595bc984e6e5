"""Pillow's own bytes on every core: ``GaussianBlur``, ``BoxBlur`` and ``UnsharpMask``.

The exact family (``ParallelGaussianFilter`` and its kin) computes the true
Gaussian; this module computes what Pillow computes — its extended box
passes in 24-bit fixed point, rounded to 8 bits after every pass — and gives
the installed Pillow's bytes, whatever the number of workers or the backend.
For pipelines trained on Pillow's blur (torchvision, Albumentations) that
must serve or test with the same bytes. Switch with one import line::

    from pil_parallel_blur.pillow import GaussianBlur  # was: from PIL.ImageFilter import ...

>>> from PIL import Image, ImageFilter
>>> from pil_parallel_blur import pillow
>>> im = Image.linear_gradient("L").rotate(30)
>>> im.filter(pillow.GaussianBlur(3)).tobytes() == im.filter(ImageFilter.GaussianBlur(3)).tobytes()
True

The classes take Pillow's arguments, keep Pillow's attributes and raise
Pillow's errors (``ValueError("image has wrong mode")`` for modes other than
L, LA, La, RGB, RGBA, RGBa, RGBX and CMYK), plus the keyword-only parallel
settings of the rest of the package. Each line of a pass depends on that line
alone, so bands of rows and strips of columns give Pillow's bytes exactly.

Tests: test_pillow_family.py.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from .engine import pillow_unsharp, plan_boxes
from .engine.boxes import gaussian_box_radius
from .filters import BandFilter, combine_by_rows
from .parallel import ParallelSettings, Progress, Workers, fill_parallel_doc, run_boxes
from .validators import split_pair

__all__ = [
    "GaussianBlur",
    "BoxBlur",
    "UnsharpMask",
    "gaussian_blur",
    "box_blur",
    "unsharp_mask",
    "PILLOW_MODES",
]

#: The modes Pillow's box, Gaussian and unsharp-mask filters take.
PILLOW_MODES = ("L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK")
#: Box passes per axis of Pillow's GaussianBlur and UnsharpMask.
GAUSSIAN_PASSES = 3


def _pair(radius: object) -> tuple[float, float]:
    """``(x, y)`` of a radius as Pillow's filters read one: a number, or a pair."""
    x, y = split_pair("radius", radius)
    return float(x), float(y)  # type: ignore[arg-type]


def _blur(array: np.ndarray, box_x: float, box_y: float, passes: int, workers: Workers) -> Any:
    """Pillow's box passes over an ``(H, W)`` or ``(H, W, C)`` uint8 array."""
    image = array if array.ndim == 3 else array[..., None]
    image = np.ascontiguousarray(image)
    plan = plan_boxes(image.shape, box_x, box_y, passes)
    return run_boxes(image, plan, workers).reshape(array.shape)


def _gaussian(array: np.ndarray, radius: object, workers: Workers) -> np.ndarray:
    x, y = _pair(radius)
    box_x = gaussian_box_radius(x, GAUSSIAN_PASSES)
    box_y = gaussian_box_radius(y, GAUSSIAN_PASSES)
    return _blur(array, box_x, box_y, GAUSSIAN_PASSES, workers)


def _unsharp(
    array: np.ndarray, radius: float, percent: int, threshold: int, workers: Workers
) -> np.ndarray:
    blurred = _gaussian(array, (radius, radius), workers)
    return combine_by_rows(pillow_unsharp, array, blurred, percent, threshold, workers)


def _is_zero(radius: object) -> bool:
    """Pillow's shortcut: ``radius == (0, 0) or radius == 0`` returns a copy."""
    return bool(radius == (0, 0) or radius == 0)


class _PillowFilter(BandFilter):
    """The exact family's parallel settings and flow, with Pillow's modes and checks.

    ``filter`` raises what Pillow's filter raises: ``"image has wrong mode"``
    for modes other than L, LA, La, RGB, RGBA, RGBa, RGBX and CMYK, and
    Pillow's radius errors.
    """

    def _check(self) -> None:
        """Raise the errors Pillow raises before it looks at the image."""

    def _admit(self, image: Any) -> bool:
        # Pillow's order: its zero-radius shortcut, its argument checks, the mode
        if self._is_identity():
            return False
        self._check()
        if image.mode not in PILLOW_MODES:
            raise ValueError("image has wrong mode")
        return image.size[0] * image.size[1] != 0

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._fields().items())
        return f"pillow.{type(self).__name__}({fields}, {self.settings.describe()})"

    def _fields(self) -> dict[str, object]:
        return {"radius": getattr(self, "radius", None)}


@fill_parallel_doc
class GaussianBlur(_PillowFilter):
    """Pillow's ``ImageFilter.GaussianBlur``, with Pillow's bytes, on every core.

    Three extended box passes per axis in 24-bit fixed point, exactly as
    Pillow computes them. For the true Gaussian (closer to it by 5 to 22
    levels), use [ParallelGaussianFilter][pil_parallel_blur.ParallelGaussianFilter].

    Parameters
    ----------
    radius : float or (float, float)
        Standard deviation, as Pillow's; a pair is ``(x, y)``. Default 2.
    {parallel_parameters}

    Examples
    --------
    >>> from PIL import Image, ImageFilter
    >>> im = Image.effect_mandelbrot((64, 48), (-2, -1, 1, 1), 40)
    >>> ours = im.filter(GaussianBlur((2, 5), n_jobs=2))
    >>> ours.tobytes() == im.filter(ImageFilter.GaussianBlur((2, 5))).tobytes()
    True
    """

    name = "GaussianBlur"

    def __init__(
        self,
        radius: float | Sequence[float] = 2,
        *,
        n_jobs: int | None = None,
        backend: str | None = None,
        temp_folder: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.radius = radius
        self._set_parallel(n_jobs, backend, temp_folder, progress)

    def _is_identity(self) -> bool:
        return _is_zero(self.radius)

    def _apply(self, array: np.ndarray, workers: Workers) -> np.ndarray:
        return _gaussian(array, self.radius, workers)


@fill_parallel_doc
class BoxBlur(_PillowFilter):
    """Pillow's ``ImageFilter.BoxBlur``, with Pillow's bytes, on every core.

    One box pass per axis in 24-bit fixed point; a fractional radius weighs
    the two outer pixels by its fraction. Costs the same for every radius.

    Parameters
    ----------
    radius : float or (float, float)
        Size of the box in each direction; a pair is ``(x, y)``. ``0`` returns
        a copy. Refused, as by Pillow, below 0 or from ``2**31``.
    {parallel_parameters}

    Examples
    --------
    >>> from PIL import Image, ImageFilter
    >>> im = Image.effect_mandelbrot((64, 48), (-2, -1, 1, 1), 40).convert("RGB")
    >>> im.filter(BoxBlur(1.5)).tobytes() == im.filter(ImageFilter.BoxBlur(1.5)).tobytes()
    True
    """

    name = "BoxBlur"

    def __init__(
        self,
        radius: float | Sequence[float],
        *,
        n_jobs: int | None = None,
        backend: str | None = None,
        temp_folder: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        xy = radius if isinstance(radius, (tuple, list)) else (radius, radius)
        if not all(value >= 0 for value in xy):
            raise ValueError("radius must be >= 0")
        if any(value >= 2**31 for value in xy):
            raise ValueError("radius too large")
        self.radius = radius
        self._set_parallel(n_jobs, backend, temp_folder, progress)

    def _is_identity(self) -> bool:
        return _is_zero(self.radius)

    def _apply(self, array: np.ndarray, workers: Workers) -> np.ndarray:
        x, y = _pair(self.radius)
        return _blur(array, x, y, 1, workers)


@fill_parallel_doc
class UnsharpMask(_PillowFilter):
    """Pillow's ``ImageFilter.UnsharpMask``, with Pillow's bytes, on every core.

    Pillow's Gaussian blur of ``radius``; then, where ``|image − blurred| >
    threshold`` (strictly), ``image + (image − blurred)·percent/100`` (the
    product divided as C divides, toward zero), clipped to 0–255; elsewhere
    the image's own value.

    Parameters
    ----------
    radius : float
        Blur radius. Default 2.
    percent : int
        Strength, in percent. Default 150.
    threshold : int
        Differences up to this are left alone. Default 3.
    {parallel_parameters}

    Examples
    --------
    >>> from PIL import Image, ImageFilter
    >>> im = Image.frombytes("L", (4, 1), bytes([100, 100, 120, 110]))
    >>> list(im.filter(UnsharpMask(1, 100, 9)).tobytes())
    [100, 100, 120, 110]
    >>> list(im.filter(ImageFilter.UnsharpMask(1, 100, 9)).tobytes())
    [100, 100, 120, 110]
    """

    name = "UnsharpMask"

    def __init__(
        self,
        radius: float = 2,
        percent: int = 150,
        threshold: int = 3,
        *,
        n_jobs: int | None = None,
        backend: str | None = None,
        temp_folder: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.radius = radius
        self.percent = percent
        self.threshold = threshold
        self._set_parallel(n_jobs, backend, temp_folder, progress)

    def _check(self) -> None:
        # Pillow's core takes (float, int, int): its type errors, at filter time
        float(self.radius)
        for name in ("percent", "threshold"):
            value = operator.index(getattr(self, name))  # Pillow's TypeError for a non-int
            if not -(2**31) <= value < 2**31:
                raise OverflowError(f"{name} {value} does not fit a C int, as Pillow needs")

    def _apply(self, array: np.ndarray, workers: Workers) -> np.ndarray:
        return _unsharp(array, float(self.radius), int(self.percent), int(self.threshold), workers)

    def _fields(self) -> dict[str, object]:
        return {"radius": self.radius, "percent": self.percent, "threshold": self.threshold}


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
    if _is_zero(radius) or a.size == 0:
        return a.copy()
    return _gaussian(a, radius, Workers(settings))


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
    BoxBlur(radius)  # Pillow's checks of the radius, and its errors
    a = _check_array(array)
    settings = ParallelSettings(n_jobs, backend, temp_folder, progress)
    if _is_zero(radius) or a.size == 0:
        return a.copy()
    x, y = _pair(radius)
    return _blur(a, x, y, 1, Workers(settings))


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
    UnsharpMask(radius, percent, threshold)._check()  # Pillow's type and range errors
    a = _check_array(array)
    settings = ParallelSettings(n_jobs, backend, temp_folder, progress)
    if a.size == 0:
        return a.copy()
    return _unsharp(a, float(radius), int(percent), int(threshold), Workers(settings))
