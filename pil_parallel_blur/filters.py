"""The Pillow filter class and the Pillow mode ↔ NumPy array adapters (SPEC §4, §5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from .blur import blur_array
from .kernels import KernelSpec, resolve_kernel
from .parallel import ParallelSettings, Progress

__all__ = ["ParallelGaussianFilter", "SUPPORTED_MODES"]

#: Modes the filter blurs (SPEC §4); Pillow's GaussianBlur takes only the 8-bit row.
SUPPORTED_MODES = (
    "L",
    "LA",
    "La",
    "RGB",
    "RGBA",
    "RGBa",
    "RGBX",
    "CMYK",
    "YCbCr",
    "LAB",
    "HSV",
    "I;16",
    "I;16L",
    "I;16B",
    "I;16N",
    "I",
    "F",
)


def check_mode(mode: str) -> None:
    """Raise the SPEC §4 ``ValueError`` for a mode the filter cannot blur."""
    if mode in SUPPORTED_MODES:
        return
    if mode in ("P", "PA"):
        raise ValueError(
            f"palette images (mode {mode!r}) cannot be filtered; "
            "convert to RGB or RGBA first, e.g. image.convert('RGBA')"
        )
    if mode == "1":
        raise ValueError(
            "bilevel images (mode '1') cannot be blurred; convert to L first, "
            "e.g. image.convert('L')"
        )
    raise ValueError(
        f"image mode {mode!r} is not supported; supported: {', '.join(SUPPORTED_MODES)}"
    )


def core_to_array(core: Any) -> np.ndarray:
    """Copy a Pillow ``ImagingCore`` into an ``(H, W)`` or ``(H, W, C)`` array."""
    # Image.filter hands filters the core object, not an Image; _new wraps it
    # without copying (it is how Image.filter itself wraps the result).
    return np.asarray(Image.Image()._new(core))


def array_to_core(array: np.ndarray, mode: str) -> Any:
    """Build a Pillow ``ImagingCore`` of ``mode`` from an array made by :func:`core_to_array`."""
    height, width = array.shape[:2]
    return Image.frombytes(mode, (width, height), np.ascontiguousarray(array)).im


class ParallelGaussianFilter(ImageFilter.MultibandFilter):
    """Exact Gaussian blur for ``Image.filter``, computed in parallel over bands.

    A drop-in replacement for :class:`PIL.ImageFilter.GaussianBlur`: the same
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
    n_jobs : int, optional
        Number of workers in joblib's convention (``-1`` all CPUs). Default:
        the enclosing ``joblib.parallel_config``'s, else all usable CPUs.
    backend : str, optional
        joblib backend name (``"loky"``, ``"threading"``,
        ``"multiprocessing"``, ``"sequential"``). Default: the enclosing
        ``joblib.parallel_config``'s, else joblib's default.
    temp_folder : str, optional
        Where process backends create their private memory-mapped files.
        Default ``$JOBLIB_TEMP_FOLDER``, else ``/dev/shm``, else the system
        temporary folder.
    progress : callable, optional
        Called as ``progress(bands_done, bands_total)`` in the calling thread
        as bands finish; for progress bars.

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
        self.sigma = sigma if sigma is not None else radius
        self.size = size
        self.kernel: KernelSpec = resolve_kernel(size, self.sigma, allow_zero=True)
        self.settings = ParallelSettings(n_jobs=n_jobs, backend=backend, temp_folder=temp_folder)
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be a callable or None, got {progress!r}")
        self.progress = progress

    @property
    def radius(self) -> float | Sequence[float] | None:
        """The standard deviation, under ``GaussianBlur``'s name."""
        return self.sigma

    def __repr__(self) -> str:
        k, s = self.kernel, self.settings
        sigma = k.sigma_x if k.sigma_x == k.sigma_y else (k.sigma_x, k.sigma_y)
        size = k.size_x if k.size_x == k.size_y else (k.size_x, k.size_y)
        return (
            f"{type(self).__name__}(size={size!r}, sigma={sigma!r}, n_jobs={s.n_jobs!r}, "
            f"backend={s.backend!r}, temp_folder={s.temp_folder!r})"
        )

    def filter(self, image: Any) -> Any:
        """Blur one Pillow ``ImagingCore`` (called by ``Image.filter``).

        Parameters
        ----------
        image : PIL ImagingCore
            What ``Image.filter`` passes: the image's core object.

        Returns
        -------
        PIL ImagingCore
            Same mode and size, blurred.

        Raises
        ------
        ValueError
            For modes that cannot be blurred (palette, bilevel, others).
        """
        check_mode(image.mode)
        if self.kernel.is_identity or image.size[0] * image.size[1] == 0:
            return image.copy()
        array = core_to_array(image)
        out = blur_array(array, self.kernel, self.settings, self.progress)
        return array_to_core(out, image.mode)
