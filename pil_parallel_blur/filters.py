"""Pillow's blur family as parallel filters: Gaussian, box and unsharp mask.

Tiny classes in the manner of ``PIL.ImageFilter``: they keep Pillow's attributes
(``radius``, ``percent``, ``threshold``; settable after construction, with the
effect Pillow's have), validate what they are given, and hand the image to the
engine through one image → array → image flow.

Tests: test_filter.py, test_fidelity.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .blur import unsharp_array
from .filter_base import ArrayFilter, CorrelatingFilter
from .kernel_terms import SeparableKernel
from .kernels import DEFAULT_SIGMA, KernelSpec, box_kernel, resolve_kernel
from .parallel import ParallelSettings, Progress, Workers, fill_parallel_doc
from .validators import check_int, check_nonnegative, split_pair

__all__ = ["ParallelGaussianFilter", "ParallelBoxBlur", "ParallelUnsharpMask"]


@fill_parallel_doc
class ParallelGaussianFilter(CorrelatingFilter):
    """Exact Gaussian blur for ``Image.filter``, computed in parallel over tiles.

    A drop-in replacement for ``PIL.ImageFilter.GaussianBlur``: the same
    call sites work (``ParallelGaussianFilter(2)``, ``((2, 5))``, the class
    itself), but the kernel is the true sampled Gaussian rather than three box
    blurs, and more modes are accepted (16-bit, ``I``, ``F``).

    Parameters
    ----------
    radius : float or (float, float), optional
        Standard deviation, as in ``GaussianBlur(radius)``; an alias of
        ``sigma``. A pair is ``(x, y)``. ``0`` returns an unchanged copy.
    size : int or (int, int), optional
        Odd kernel side, or ``(size_x, size_y)``. Default
        ``2 * ceil(3 * sigma) + 1``, which covers ±3σ.
    sigma : float or (float, float), optional
        Standard deviation (``>= 0``). Default 2, like ``GaussianBlur``.
    {parallel_parameters}

    Attributes
    ----------
    radius, sigma : float or (float, float)
        The standard deviation (2 by default). Setting either changes the blur,
        as setting ``GaussianBlur.radius`` does; an automatic size follows it.
    size : int, (int, int) or None
        The kernel side given (``None``: automatic). Settable.
    kernel : KernelSpec
        The resolved sizes and sigmas per axis (read-only).

    Raises
    ------
    TypeError
        If both ``radius`` and ``sigma`` are given, or an argument has the wrong type.
    ValueError
        If an argument has a bad value (the message says what is allowed).

    Examples
    --------
    >>> from PIL import Image
    >>> im = Image.new("RGB", (64, 48), "white")
    >>> im.filter(ParallelGaussianFilter(size=7, sigma=2)).size
    (64, 48)
    >>> im.filter(ParallelGaussianFilter).mode
    'RGB'
    >>> f = ParallelGaussianFilter()
    >>> f.radius, f.kernel.size_x
    (2.0, 13)
    >>> f.radius = 5
    >>> f.kernel.size_x
    31
    """

    name = "ParallelGaussianBlur"

    def __init__(
        self,
        radius: float | Sequence[float] | None = None,
        *,
        size: int | Sequence[int] | None = None,
        sigma: float | Sequence[float] | None = None,
        n_jobs: int | None = None,
        backend: str | None = None,
        temp_folder: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        if radius is not None and sigma is not None:
            raise TypeError(
                f"give radius or sigma, not both (got radius={radius!r}, sigma={sigma!r}); "
                "radius is an alias of sigma"
            )
        self._configure(size, sigma if sigma is not None else radius)
        self._set_parallel(n_jobs, backend, temp_folder, progress)

    @classmethod
    def from_kernel(cls, kernel: KernelSpec, settings: ParallelSettings) -> ParallelGaussianFilter:
        """Make the filter from values validated already (the command line's jobs)."""
        flt = cls.__new__(cls)
        flt.settings = settings
        sizes, sigmas = (kernel.size_x, kernel.size_y), (kernel.sigma_x, kernel.sigma_y)
        flt._keep(kernel, sizes, sigmas)
        return flt

    def _configure(self, size: object, sigma: object) -> None:
        """Validate and keep a size and sigma (``None``: the defaults)."""
        kernel = resolve_kernel(size, sigma, allow_zero=True)
        self._keep(kernel, size, DEFAULT_SIGMA if sigma is None else sigma)

    def _keep(self, kernel: KernelSpec, size: object, sigma: object) -> None:
        """Keep the resolved kernel, the one value the blur takes, and what was given."""
        self.kernel: KernelSpec = kernel
        self._terms = kernel.separable()
        self._size = size
        self._sigma = sigma

    @property
    def radius(self) -> Any:
        """The standard deviation, under ``GaussianBlur``'s name."""
        return self._sigma

    @radius.setter
    def radius(self, value: float | Sequence[float]) -> None:
        self._configure(self._size, value)

    sigma = radius

    @property
    def size(self) -> Any:
        """The kernel side given, or ``None`` for ``2 * ceil(3 * sigma) + 1``."""
        return self._size

    @size.setter
    def size(self, value: int | Sequence[int] | None) -> None:
        self._configure(value, self._sigma)

    def __repr__(self) -> str:
        k = self.kernel
        sigma = k.sigma_x if k.sigma_x == k.sigma_y else (k.sigma_x, k.sigma_y)
        size = k.size_x if k.size_x == k.size_y else (k.size_x, k.size_y)
        return f"{type(self).__name__}(size={size!r}, sigma={sigma!r}, {self._settings_repr()})"

    def _is_identity(self) -> bool:
        return self._terms.identity

    def _separable(self) -> SeparableKernel:
        return self._terms


@fill_parallel_doc
class ParallelBoxBlur(CorrelatingFilter):
    """Box blur for ``Image.filter``: ``PIL.ImageFilter.BoxBlur``, in parallel.

    Each pixel becomes the mean of the ``(2·radius + 1)``-sided square around
    it; a fractional radius weights the two outermost rows and columns by its
    fraction, as Pillow does. Borders are replicated from the edge pixels.
    Computed exactly (rounded once, half to even), where Pillow rounds after each
    pass in 8-bit fixed point; every mode of [SUPPORTED_MODES][pil_parallel_blur.SUPPORTED_MODES].

    Parameters
    ----------
    radius : float or (float, float)
        Size of the box in each direction (``>= 0``), or ``(x, y)``. ``0``
        returns an unchanged copy.
    {parallel_parameters}

    Attributes
    ----------
    radius : float or (float, float)
        Settable, with the effect Pillow's ``BoxBlur.radius`` has.

    Examples
    --------
    >>> from PIL import Image
    >>> im = Image.linear_gradient("L")
    >>> im.filter(ParallelBoxBlur(1)).getpixel((5, 100)) == im.getpixel((5, 100))
    True
    >>> ParallelBoxBlur((2, 0.5)).radius
    (2, 0.5)
    """

    name = "ParallelBoxBlur"

    def __init__(
        self,
        radius: float | Sequence[float],
        *,
        n_jobs: int | None = None,
        backend: str | None = None,
        temp_folder: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.radius = radius
        self._set_parallel(n_jobs, backend, temp_folder, progress)

    @property
    def radius(self) -> Any:
        """The radius given: a number, or ``(x, y)``."""
        return self._radius

    @radius.setter
    def radius(self, value: float | Sequence[float]) -> None:
        x, y = split_pair("radius", value)
        rx, ry = check_nonnegative("radius", x, value), check_nonnegative("radius", y, value)
        self._radius = tuple(value) if isinstance(value, (tuple, list)) else value
        self._terms = box_kernel(rx, ry)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(radius={self._radius!r}, {self._settings_repr()})"

    def _is_identity(self) -> bool:
        return self._terms.identity

    def _separable(self) -> SeparableKernel:
        return self._terms


@fill_parallel_doc
class ParallelUnsharpMask(ArrayFilter):
    """Unsharp mask for ``Image.filter``: ``PIL.ImageFilter.UnsharpMask`` with an exact blur.

    The image is blurred with the exact Gaussian of ``radius`` (rounded to the
    image's type); where ``|image − blurred| > threshold`` (strictly, as Pillow) the result is
    ``image + (image − blurred)·percent/100``, rounded (half to even) and
    clipped; elsewhere the pixel is unchanged. Pillow blurs with its box
    approximation and truncates ``(image − blurred)·percent/100`` toward zero.

    Parameters
    ----------
    radius : float or (float, float)
        Standard deviation of the blur (``>= 0``). Default 2.
    percent : int
        Strength of the sharpening, in percent. Default 150.
    threshold : int
        Differences up to this are left alone (``>= 0``); larger ones are sharpened. Default 3.
    {parallel_parameters}

    Attributes
    ----------
    radius, percent, threshold
        Settable, with the effect Pillow's have.

    Examples
    --------
    >>> from PIL import Image
    >>> im = Image.new("L", (20, 20), 100)
    >>> im.paste(200, (10, 0, 20, 20))
    >>> sharp = im.filter(ParallelUnsharpMask(radius=2, percent=150, threshold=3))
    >>> sharp.getpixel((9, 5)) < 100 < 200 < sharp.getpixel((10, 5))
    True
    """

    name = "ParallelUnsharpMask"

    def __init__(
        self,
        radius: float | Sequence[float] = 2,
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

    @property
    def radius(self) -> Any:
        """The standard deviation of the blur."""
        return self._radius

    @radius.setter
    def radius(self, value: float | Sequence[float]) -> None:
        self._terms = resolve_kernel(None, value, allow_zero=True).separable()
        self._radius = value

    @property
    def percent(self) -> int:
        """Strength, in percent."""
        return self._percent

    @percent.setter
    def percent(self, value: int) -> None:
        self._percent = check_int("percent", value)

    @property
    def threshold(self) -> int:
        """Smallest difference that is sharpened."""
        return self._threshold

    @threshold.setter
    def threshold(self, value: int) -> None:
        self._threshold = check_int("threshold", value, lowest=0)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(radius={self._radius!r}, percent={self._percent!r}, "
            f"threshold={self._threshold!r}, {self._settings_repr()})"
        )

    def _is_identity(self) -> bool:
        return self._terms.identity

    def _apply(self, array: np.ndarray, workers: Workers) -> np.ndarray:
        return unsharp_array(array, self._terms, self._percent, self._threshold, workers)
