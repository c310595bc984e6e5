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
alone, so stripes of rows and strips of columns give Pillow's bytes exactly.

Tests: test_pillow_family.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .filter_base import ArrayFilter
from .parallel import Progress, Workers, fill_parallel_doc
from .pillow_arrays import (
    PILLOW_MODES,
    box_blur,
    check_box_radius,
    check_unsharp,
    gaussian_blur,
    is_zero,
    pillow_box_array,
    pillow_gaussian_array,
    pillow_unsharp_array,
    unsharp_mask,
)

__all__ = [
    "GaussianBlur",
    "BoxBlur",
    "UnsharpMask",
    "gaussian_blur",
    "box_blur",
    "unsharp_mask",
    "PILLOW_MODES",
]


class _PillowFilter(ArrayFilter):
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
        return bool(image.size[0] * image.size[1] != 0)

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
        return is_zero(self.radius)

    def _apply(self, array: np.ndarray, workers: Workers) -> np.ndarray:
        return pillow_gaussian_array(array, self.radius, workers, owned=True)


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
        check_box_radius(radius)
        self.radius = radius
        self._set_parallel(n_jobs, backend, temp_folder, progress)

    def _is_identity(self) -> bool:
        return is_zero(self.radius)

    def _apply(self, array: np.ndarray, workers: Workers) -> np.ndarray:
        return pillow_box_array(array, self.radius, workers, owned=True)


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
        check_unsharp(self.radius, self.percent, self.threshold)

    def _apply(self, array: np.ndarray, workers: Workers) -> np.ndarray:
        radius, percent, threshold = float(self.radius), int(self.percent), int(self.threshold)
        return pillow_unsharp_array(array, radius, percent, threshold, workers)

    def _fields(self) -> dict[str, object]:
        return {"radius": self.radius, "percent": self.percent, "threshold": self.threshold}
