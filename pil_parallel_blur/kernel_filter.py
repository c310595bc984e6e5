"""Any kernel as a parallel ``Image.filter``: ``ImageFilter.Kernel`` without its limits.

Tests: test_kernel_filter.py.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np

from .filter_base import CorrelatingFilter
from .kernels import SeparableKernel, check_kernel, from_terms, result_grid, separable_terms
from .parallel import Progress, fill_parallel_doc
from .validators import check_number, is_size_pair

__all__ = ["ParallelKernelFilter", "check_kernel_sequence"]

_UNSET: Any = object()


def check_kernel_sequence(sequence: object, width: int, height: int) -> np.ndarray:
    """Pillow's ``(size, sequence)`` form: a flat row-major sequence of ``width × height``."""
    if width < 1 or height < 1:
        raise ValueError(f"kernel size must be positive, got {(width, height)!r}")
    try:
        flat = np.asarray(sequence, dtype=np.float64).ravel()
    except (TypeError, ValueError) as e:
        raise TypeError(f"kernel sequence must hold numbers, got {sequence!r}") from e
    if flat.size != width * height:
        raise ValueError(
            f"kernel sequence must have {width}x{height}={width * height} weights, got {flat.size}"
        )
    return check_kernel(flat.reshape(height, width))


@fill_parallel_doc
class ParallelKernelFilter(CorrelatingFilter):
    """Any convolution kernel for ``Image.filter``, computed in parallel over tiles.

    A drop-in for ``PIL.ImageFilter.Kernel`` without its limits: any odd
    size (rectangular too), every mode of
    [SUPPORTED_MODES][pil_parallel_blur.SUPPORTED_MODES], and the
    border filtered with edge replication instead of copied. Orientation,
    ``scale`` and ``offset`` mean what they mean for ``ImageFilter.Kernel``, and
    integer results are rounded half up as Pillow rounds them, so away from the
    border the result equals Pillow's for its 3×3 and 5×5 kernels.

    Call forms: ``ParallelKernelFilter(kernel, scale, offset)`` with a 2-D array,
    or Pillow's ``ParallelKernelFilter(size, kernel, scale, offset)`` with
    ``size = (width, height)`` and a flat sequence, positionally or by keyword
    (``size=``, ``kernel=``, ``scale=``, ``offset=``).

    Parameters
    ----------
    kernel : array-like
        A 2-D array of weights with odd sides, rows top to bottom as they
        appear on the image; or, with ``size``, a flat row-major sequence.
    scale : float, optional
        Each result is divided by it. Default: the sum of the weights, or 1
        when they sum to 0.
    offset : float, optional
        Added to each result after scaling. Default 0.
    size : (int, int), optional
        ``(width, height)`` of a flat ``kernel`` sequence (Pillow's form).
    {parallel_parameters}

    Attributes
    ----------
    weights : numpy.ndarray
        The 2-D kernel. ``weights``, ``scale``, ``offset`` and Pillow's
        ``filterargs`` can be set after construction, with the effect Pillow's have.

    Raises
    ------
    TypeError, ValueError
        For a bad kernel, scale, offset or parallel setting.

    Examples
    --------
    >>> from PIL import Image, ImageFilter
    >>> im = Image.new("L", (32, 32), 100)
    >>> im.filter(ParallelKernelFilter([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])).getpixel((5, 5))
    100
    >>> k = [1, 2, 1, 2, 4, 2, 1, 2, 1]
    >>> im.filter(ParallelKernelFilter((3, 3), k)).size   # ImageFilter.Kernel's form
    (32, 32)
    >>> ParallelKernelFilter(size=(3, 3), kernel=k).scale
    16.0
    """

    name = "ParallelKernel"

    def __init__(
        self,
        *args: Any,
        size: Any = None,
        kernel: Any = None,
        scale: float | None = _UNSET,
        offset: float = _UNSET,
        n_jobs: int | None = None,
        backend: str | None = None,
        temp_folder: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        rest = list(args)
        # Pillow's form leads with (width, height), then the flat sequence
        pillow_form = kernel is not None or (len(rest) > 1 and not isinstance(rest[1], Real))
        if size is None and rest and is_size_pair(rest[0]) and pillow_form:
            size = rest.pop(0)
        if kernel is None:
            if not rest:
                raise TypeError(
                    "ParallelKernelFilter needs a kernel (an array, or size and kernel)"
                )
            kernel = rest.pop(0)
        if size is not None:
            if not is_size_pair(size):
                raise TypeError(f"size must be (width, height), two ints, got {size!r}")
            weights = check_kernel_sequence(kernel, int(size[0]), int(size[1]))
        else:
            weights = check_kernel(kernel)
        if len(rest) > 2:
            raise TypeError(f"too many positional arguments: {args!r}")
        for name, value in zip(("scale", "offset"), rest, strict=False):
            if (scale if name == "scale" else offset) is not _UNSET:
                raise TypeError(f"{name} given both by position and by keyword")
            if name == "scale":
                scale = value
            else:
                offset = value
        self._weights = weights
        self._scale_arg: float | None = None
        self._offset = 0.0
        self.scale = None if scale is _UNSET else scale
        self.offset = 0.0 if offset is _UNSET else offset
        self._set_parallel(n_jobs, backend, temp_folder, progress)

    # -- Pillow's attributes, settable ------------------------------------
    @property
    def weights(self) -> np.ndarray:
        """The 2-D kernel, rows top to bottom."""
        return self._weights

    @weights.setter
    def weights(self, value: object) -> None:
        self._weights = check_kernel(value)
        self._check_scale()

    @property
    def scale(self) -> float:
        """The divisor: as given, else the sum of the weights (1 when they sum to 0)."""
        if self._scale_arg is not None:
            return self._scale_arg
        with np.errstate(over="ignore"):  # an overflowing sum is refused by _check_scale
            total = float(self._weights.sum())
        return total if total != 0 else 1.0

    @scale.setter
    def scale(self, value: float | None) -> None:
        self._scale_arg = None if value is None else check_number("scale", value)
        self._check_scale()

    def _check_scale(self) -> None:
        scale = self.scale
        if self._scale_arg is None and not np.isfinite(scale):
            raise ValueError(
                "kernel weights sum to more than a float holds; give scale= explicitly"
            )
        if scale == 0:
            raise ValueError("scale must not be 0 (it divides every result)")
        with np.errstate(over="ignore"):
            scaled = self._weights / scale
        if not np.isfinite(scaled).all():
            raise ValueError(
                f"scale={scale!r} is too small for these weights (weight / scale overflows)"
            )

    @property
    def offset(self) -> float:
        """Added to each result after scaling."""
        return self._offset

    @offset.setter
    def offset(self, value: float) -> None:
        self._offset = check_number("offset", value)

    @property
    def filterargs(self) -> tuple[tuple[int, int], float, float, list[float]]:
        """Pillow's ``(size, scale, offset, kernel)`` of ``ImageFilter.Kernel``."""
        h, w = self._weights.shape
        return (w, h), self.scale, self._offset, self._weights.ravel().tolist()

    @filterargs.setter
    def filterargs(self, value: tuple[Any, Any, Any, Any]) -> None:
        (w, h), scale, offset, flat = value
        self._weights = check_kernel_sequence(flat, int(w), int(h))
        self.scale = scale
        self.offset = offset

    @property
    def terms(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The separable terms the engine correlates with (Pillow's orientation, scaled)."""
        # Pillow's Kernel weights row 0 with the row *below* the pixel: correlate
        # with the kernel flipped upside down to match it.
        return separable_terms(self._weights[::-1] / self.scale)

    @property
    def grid(self) -> float | None:
        """``s`` when every exact result on an integer image is a multiple of ``1/s``."""
        w, s = self._weights, self.scale
        if bool((w == np.round(w)).all()) and s == round(s):
            # integer weights over an integer scale: results on a 1/scale grid,
            # or a finer one if the offset is a fraction of it
            return result_grid(np.array([[1.0]]), self._offset * s, abs(s))
        return result_grid(w / s, self._offset)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kernel={self._weights.tolist()!r}, scale={self.scale!r}, "
            f"offset={self._offset!r}, {self._settings_repr()})"
        )

    def _separable(self) -> SeparableKernel:
        return self.separable()

    def separable(self) -> SeparableKernel:
        """Return the kernel as the engine takes it: terms, offset, Pillow's rounding, grid."""
        return from_terms(self.terms, offset=self._offset, rounding="half_up", grid=self.grid)
