"""The Pillow filter class and the Pillow mode ↔ NumPy array adapters (SPEC §4, §5)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from .blur import blur_array, correlate_array
from .kernels import KernelSpec, check_kernel, check_number, resolve_kernel, separable_terms
from .parallel import ParallelSettings, Progress, Task, copy_threads, run_on_threads

__all__ = ["ParallelGaussianFilter", "ParallelKernelFilter", "SUPPORTED_MODES"]

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


_ENCODE_CHUNK = 1 << 18


def _layout(mode: str) -> tuple[np.dtype, tuple[int, ...]]:
    """Return the dtype and trailing shape ``numpy.asarray`` gives a mode (1×1 sample)."""
    sample = np.asarray(Image.new(mode, (1, 1)))
    return sample.dtype, sample.shape[2:]


def core_to_array(core: Any) -> np.ndarray:
    """Copy a Pillow ``ImagingCore`` into an ``(H, W)`` or ``(H, W, C)`` array.

    Same bytes as ``numpy.asarray(image)`` (Pillow's raw encoder in the image's
    own mode), but encoded in 256 KiB chunks straight into one NumPy buffer:
    ``tobytes`` joins its chunks into one more whole-image bytes object, which
    costs a copy and, for a fresh 72 MB allocation, ~0.04 s of page faults.
    """
    width, height = core.size
    dtype, tail = _layout(core.mode)
    out = np.empty((height, width, *tail), dtype=dtype)
    flat = out.reshape(-1).view(np.uint8)
    try:
        encoder = Image._getencoder(core.mode, "raw", core.mode)
    except (AttributeError, OSError):  # pragma: no cover - a Pillow without it
        return np.asarray(Image.Image()._new(core))
    try:
        encoder.setimage(core, (0, 0, width, height))
        offset = 0
        while True:
            _, status, data = encoder.encode(_ENCODE_CHUNK)
            flat[offset : offset + len(data)] = np.frombuffer(data, np.uint8)
            offset += len(data)
            if status:
                break
        if status < 0 or offset != flat.size:
            raise RuntimeError(f"encoder error {status} reading the image ({offset} bytes)")
    finally:
        encoder.cleanup()
    return out


#: Images smaller than this are rebuilt with one ``Image.frombytes``.
_PARALLEL_DECODE_BYTES = 8 << 20


def _decode_rows(core: Any, mode: str, rows: np.ndarray, start: int) -> None:
    decoder = Image._getdecoder(mode, "raw", mode)
    try:
        decoder.setimage(core, (0, start, core.size[0], start + rows.shape[0]))
        _, status = decoder.decode(np.ascontiguousarray(rows))
        if status < 0:
            raise RuntimeError(f"decoder error {status} writing rows from {start}")
    finally:
        decoder.cleanup()


def array_to_core(array: np.ndarray, mode: str, threads: int = 1) -> Any:
    """Build a Pillow ``ImagingCore`` of ``mode`` from an array made by :func:`core_to_array`.

    With ``threads > 1`` and a large image, bands of rows are decoded into a new
    image by our thread pool (Pillow's decoder releases the GIL), which halves
    the whole-image copy ``Image.frombytes`` does on one core.
    """
    height, width = array.shape[:2]
    if threads <= 1 or array.nbytes < _PARALLEL_DECODE_BYTES:
        return Image.frombytes(mode, (width, height), np.ascontiguousarray(array)).im
    core = Image.core.new(mode, (width, height))
    n = threads * 2
    cuts = [height * i // n for i in range(n + 1)]
    tasks: list[Task] = [
        (_decode_rows, (core, mode, array[a:b], a)) for a, b in pairwise(cuts) if b > a
    ]
    run_on_threads(threads, tasks)
    return core


class _BandFilter(ImageFilter.MultibandFilter):
    """What both filters share: parallel settings and the image → array → image flow."""

    settings: ParallelSettings
    progress: Progress | None

    def _set_parallel(
        self,
        n_jobs: int | None,
        backend: str | None,
        temp_folder: str | None,
        progress: Progress | None,
    ) -> None:
        self.settings = ParallelSettings(n_jobs=n_jobs, backend=backend, temp_folder=temp_folder)
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be a callable or None, got {progress!r}")
        self.progress = progress

    def _is_identity(self) -> bool:
        return False

    def _apply(self, array: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def filter(self, image: Any) -> Any:
        """Filter one Pillow ``ImagingCore`` (called by ``Image.filter``).

        Parameters
        ----------
        image : PIL ImagingCore
            What ``Image.filter`` passes: the image's core object.

        Returns
        -------
        PIL ImagingCore
            Same mode and size, filtered.

        Raises
        ------
        ValueError
            For modes that cannot be filtered (palette, bilevel, others).
        """
        check_mode(image.mode)
        if self._is_identity() or image.size[0] * image.size[1] == 0:
            return image.copy()
        out = self._apply(core_to_array(image))
        return array_to_core(out, image.mode, copy_threads(self.settings))


class ParallelGaussianFilter(_BandFilter):
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
        self._set_parallel(n_jobs, backend, temp_folder, progress)

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

    def _is_identity(self) -> bool:
        return self.kernel.is_identity

    def _apply(self, array: np.ndarray) -> np.ndarray:
        return blur_array(array, self.kernel, self.settings, self.progress)


_UNSET: Any = object()


def _is_size_pair(value: object) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )


class ParallelKernelFilter(_BandFilter):
    """Any convolution kernel for ``Image.filter``, computed in parallel over bands.

    A drop-in for :class:`PIL.ImageFilter.Kernel` without its limits: any odd
    size (rectangular too), every mode of :data:`SUPPORTED_MODES`, and the
    border filtered with edge replication instead of copied. Orientation,
    ``scale`` and ``offset`` mean what they mean for ``ImageFilter.Kernel``, and
    integer results are rounded half up as Pillow rounds them, so away from the
    border the result equals Pillow's for its 3×3 and 5×5 kernels.

    Parameters
    ----------
    kernel : array-like or (int, int)
        A 2-D array of weights with odd sides, rows top to bottom as they
        appear on the image; or Pillow's form ``(size, sequence)``:
        ``ParallelKernelFilter((3, 3), [..9 weights..], scale, offset)``.
    scale : float, optional
        Each result is divided by it. Default: the sum of the weights, or 1
        when they sum to 0.
    offset : float, optional
        Added to each result after scaling. Default 0.
    n_jobs, backend, temp_folder, progress
        As for :class:`ParallelGaussianFilter`.

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
    """

    name = "ParallelKernel"

    def __init__(
        self,
        kernel: Any,
        *args: Any,
        scale: float | None = _UNSET,
        offset: float = _UNSET,
        n_jobs: int | None = None,
        backend: str | None = None,
        temp_folder: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        positional = list(args)
        if _is_size_pair(kernel) and positional and not np.isscalar(positional[0]):
            width, height = kernel
            weights = check_kernel_sequence(positional.pop(0), width, height)
        else:
            weights = check_kernel(kernel)
        if len(positional) > 2:
            raise TypeError(f"too many positional arguments: {args!r}")
        for name, value in zip(("scale", "offset"), positional, strict=False):
            if (scale if name == "scale" else offset) is not _UNSET:
                raise TypeError(f"{name} given both by position and by keyword")
            if name == "scale":
                scale = value
            else:
                offset = value
        total = float(weights.sum())
        if scale is _UNSET or scale is None:
            scale = total if total != 0 else 1.0
        scale = check_number("scale", scale)
        if scale == 0:
            raise ValueError("scale must not be 0 (it divides every result)")
        self.weights = weights
        self.scale = scale
        self.offset = 0.0 if offset is _UNSET else check_number("offset", offset)
        self._set_parallel(n_jobs, backend, temp_folder, progress)
        # Pillow's Kernel weights row 0 with the row *below* the pixel: correlate
        # with the kernel flipped upside down to match it.
        self.terms = separable_terms(weights[::-1] / scale)
        # integer weights, scale and offset: every exact result is a multiple of 1/scale
        integral = bool((weights == np.round(weights)).all()) and scale == round(scale)
        self._grid = scale if integral and self.offset == round(self.offset) else None

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"{type(self).__name__}(kernel={self.weights.tolist()!r}, scale={self.scale!r}, "
            f"offset={self.offset!r}, n_jobs={s.n_jobs!r}, backend={s.backend!r}, "
            f"temp_folder={s.temp_folder!r})"
        )

    def _apply(self, array: np.ndarray) -> np.ndarray:
        return correlate_array(
            array,
            self.terms,
            self.settings,
            self.progress,
            offset=self.offset,
            rounding="half_up",
            result_grid=self._grid,
        )


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
