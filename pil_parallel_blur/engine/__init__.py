"""Correlating an image with a separable kernel: the only package that does arithmetic.

One operation, ``correlate_tile``, computes one tile of output (rows
``[top, bottom)`` × columns ``[left, right)``) of ``Σ_t outer(g_y_t, g_x_t)``
correlated with an image whose borders are replicated from the edge pixels,
reading the *unpadded* image rows it is given and writing straight into the
output. Every caller — in-process, threads, processes over memory-mapped
files, Dask workers — hands it tiles of one plan (``plan.py``).

Large kernels go another way, through a discrete Fourier transform of many
lines at once (``spectral.py``): two passes of whole lines, columns then rows,
chosen by ``spectral_plan_for`` from the plan alone where it is estimated
cheaper (``cost.py``): from σ ≈ 12 on a 24 MP RGB image. The compiled module
and its NumPy twin give the same bytes. ``compute_tile`` runs a tile of
either kind.

Two implementations compute a tile, with the same operations in the same order
for every output sample:

``native``
    The compiled kernel (``_native.c``): each input row converted to the compute
    type once and filtered horizontally once into a ring of rows, symmetric taps
    folded (``g·(a + b)``), the vertical pass read in cache-sized column tiles,
    vectorised across pixels at the SIMD level chosen once at import, without
    the GIL.
``numpy``
    The fallback when the extension is missing (or ``PIL_PARALLEL_BLUR_ENGINE=numpy``):
    the same passes as NumPy element-wise operations on chunks of rows.

Determinism by construction: a sample's value depends only on the image, the
kernel and the plan's compute type — never on the band it falls in, the worker
count, the backend, BLAS (not used) or the SIMD width (every width performs the
same IEEE operations per sample; the C code is compiled without fused
multiply-adds). The NumPy fallback performs those same operations, so it gives
the same bytes too.

Tests: test_accuracy.py, test_determinism.py, test_spectral.py.
"""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from types import ModuleType

import numpy as np

from .boxes import NATIVE_BOX, BoxPass, BoxPlan, box_pass, plan_boxes
from .cost import box_seconds, direct_seconds, prefers_spectral, spectral_seconds
from .extremes import float_range, scale_in
from .extremes import restore as restore_range
from .fallback import correlate_tile_numpy
from .plan import ROUNDING_CODES, TYPE_CODES, CorrelationPlan, Tile, plan_correlation, rows_read
from .spectral import (
    SpectralPass,
    SpectralPlan,
    columns_pass,
    plan_spectral,
    rows_pass,
    suits_spectral,
)
from .unsharp import pillow_unsharp_rows, unsharp_rows

__all__ = [
    "CorrelationPlan",
    "Tile",
    "plan_correlation",
    "rows_read",
    "correlate_tile",
    "SpectralPlan",
    "SpectralPass",
    "Step",
    "spectral_plan_for",
    "compute_tile",
    "direct_seconds",
    "spectral_seconds",
    "prefers_spectral",
    "unsharp_rows",
    "pillow_unsharp",
    "native_module",
    "use_native",
    "BoxPass",
    "BoxPlan",
    "plan_boxes",
    "box_seconds",
    "Nesting",
    "spectral_forced",
    "float_range",
    "scale_in",
    "restore_range",
]

#: Environment variable that forces the NumPy engine (``numpy``) or asks for the native one.
ENGINE_ENV = "PIL_PARALLEL_BLUR_ENGINE"

#: What workers compute tile by tile: a direct plan, one pass of a spectral
#: plan, or one stage of Pillow's box passes.
Step = CorrelationPlan | SpectralPass | BoxPass


def _asked_engine() -> str:
    """Return what ``PIL_PARALLEL_BLUR_ENGINE`` asks for: ``""``, ``native`` or ``numpy``."""
    asked = os.environ.get(ENGINE_ENV, "").strip().lower()
    if asked not in ("", "native", "numpy"):
        raise ValueError(f"{ENGINE_ENV} must be 'native', 'numpy' or unset, got {asked!r}")
    return asked


def _load_native(asked: str) -> ModuleType | None:
    """Import the compiled kernel once; warn once if it is missing.

    ``PIL_PARALLEL_BLUR_ENGINE=numpy`` uses the NumPy engine; ``native`` makes a
    missing extension an ``ImportError`` instead of a warning.
    """
    if asked == "numpy":
        return None
    try:
        native = importlib.import_module("pil_parallel_blur._native")
    except ImportError as e:
        if asked == "native":
            raise
        warnings.warn(
            f"pil_parallel_blur: the compiled engine is not available ({e}); using the "
            "NumPy engine, which gives the same results several times more slowly. "
            "Reinstall from source with a C compiler and the Python headers present "
            "(python3 -m pip install --force-reinstall --no-deps .) to get it.",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return native


_ASKED = _asked_engine()
_NATIVE = _load_native(_ASKED)
#: The compiled box passes of the Pillow-identical family (``None``: the NumPy twin).
_NATIVE_BOX = None if _ASKED == "numpy" else NATIVE_BOX


def native_module() -> ModuleType | None:
    """Return the compiled kernel module in use, or ``None`` when the NumPy engine is."""
    return _NATIVE


EngineState = tuple[ModuleType | None, ModuleType | None]


def use_native(state: EngineState | None) -> EngineState:
    """Set the compiled modules in use (``None``: the NumPy engine); return those before.

    For ``testing.numpy_engine``: both engines give the same bytes, so tests
    run each property on both in one process. ``state`` is what an earlier
    call returned, to put it back.
    """
    global _NATIVE, _NATIVE_BOX
    before = (_NATIVE, _NATIVE_BOX)
    _NATIVE, _NATIVE_BOX = (None, None) if state is None else state
    return before


class Nesting:
    """A switch that is on while at least one ``with`` block on it is open (any thread).

    The seams of ``testing`` are two of them: blocks may nest, and may be
    opened from several threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0

    def __enter__(self) -> None:
        with self._lock:
            self._depth += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1

    def __bool__(self) -> bool:
        return self._depth > 0


#: On (``testing.spectral_always``): every plan the FFT can take goes through it.
spectral_forced = Nesting()


def correlate_tile(
    src: np.ndarray,
    src_row0: int,
    out: np.ndarray,
    out_row0: int,
    tile: Tile,
    plan: CorrelationPlan,
) -> None:
    """Compute the output samples of ``tile`` into ``out``.

    Parameters
    ----------
    src : numpy.ndarray
        C-contiguous image rows from row ``src_row0`` on, dtype ``plan.out_dtype``
        in native byte order (a read-only memmap is fine), whole rows. It must
        hold every row of ``rows_read(plan, tile.top, tile.bottom)``.
    src_row0 : int
        The image row ``src[0]`` holds.
    out : numpy.ndarray
        C-contiguous output rows from row ``out_row0`` on, whole rows of dtype
        ``plan.out_dtype`` (may be a shared memmap); only the tile is written.
    out_row0 : int
        The output row ``out[0]`` holds.
    tile : Tile
        The output rows and pixel columns to compute.
    plan : CorrelationPlan
        From ``plan_correlation``.
    """
    if _NATIVE is not None:
        if plan.clip is None:
            lo, hi = 0.0, 0.0
        else:
            lo, hi = plan.clip
        _NATIVE.correlate(
            src=src,
            src_row0=src_row0,
            out=out,
            out_row0=out_row0,
            start=tile.top,
            stop=tile.bottom,
            col0=tile.left,
            col1=tile.right,
            height=plan.height,
            width=plan.width,
            channels=plan.channels,
            type=TYPE_CODES[plan.out_dtype],
            terms=plan.terms,
            double=plan.compute_dtype == np.float64,
            offset=plan.offset,
            rounding=max(ROUNDING_CODES[plan.rounding], 0),  # float results: not rounded
            lo=lo,
            hi=hi,
            grid=plan.grid,
        )
        return
    correlate_tile_numpy(src, src_row0, out, out_row0, tile, plan)


def spectral_plan_for(plan: CorrelationPlan, image: np.ndarray) -> SpectralPlan | None:
    """Return the spectral plan when ``plan`` is computed through the FFT, else ``None``.

    When the plan can be and is estimated cheaper that way (``cost.py``), and,
    for float images, every sample is finite: a NaN or an infinity spreads over
    its whole line in a transform, but only over the kernel's reach directly.
    """
    forced = bool(spectral_forced) and suits_spectral(plan)
    if not (forced or prefers_spectral(plan)):
        return None
    if plan.out_dtype.kind == "f" and not np.isfinite(image).all():
        return None
    return plan_spectral(plan)


def pillow_unsharp(
    image: np.ndarray,
    blurred: np.ndarray,
    out: np.ndarray,
    start: int,
    stop: int,
    percent: int,
    threshold: int,
) -> None:
    """Pillow's unsharp combination on rows ``[start, stop)``, compiled where it is built."""
    pillow_unsharp_rows(image, blurred, out, start, stop, percent, threshold, _NATIVE_BOX)


def compute_tile(
    src: np.ndarray, src0: int, dst: np.ndarray, dst0: int, tile: Tile, step: Step
) -> None:
    """Compute ``tile`` of ``step``: ``correlate_tile`` for a plan, or a spectral or box pass.

    ``src0``/``dst0`` are the first image row ``src``/``dst`` hold, or for
    the spectral columns pass the first image column.
    """
    if isinstance(step, SpectralPass):
        compute = columns_pass if step.columns else rows_pass
        compute(src, src0, dst, dst0, tile, step.spectral, _NATIVE, step.channel)
    elif isinstance(step, BoxPass):
        box_pass(src, src0, dst, dst0, tile, step, _NATIVE_BOX)
    else:
        correlate_tile(src, src0, dst, dst0, tile, step)
