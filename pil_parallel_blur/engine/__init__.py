"""Correlating an image with a separable kernel: the only package that does arithmetic.

One operation, ``correlate_tile``, computes one tile of output (rows
``[top, bottom)`` × columns ``[left, right)``) of ``Σ_t outer(g_y_t, g_x_t)``
correlated with an image whose borders are replicated from the edge pixels,
reading the *unpadded* image rows it is given and writing straight into the
output. Every caller — in-process, threads, processes over memory-mapped
files, Dask workers — hands it tiles of one plan (``plan.py``).

Large kernels go another way, through a discrete Fourier transform of many
lines at once (``spectral.py``): two passes of whole lines, columns then rows,
chosen by ``choose`` (``choice.py``) from the plan alone where it is estimated
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
kernel and the plan's compute type — never on the tile it falls in, the worker
count, the backend, BLAS (not used) or the SIMD width (every width performs the
same IEEE operations per sample; the C code is compiled without fused
multiply-adds). The NumPy fallback performs those same operations, so it gives
the same bytes too.

This package face only hands on names: ``native`` loads the compiled modules,
``choice`` picks the method, ``compute`` runs a tile, and ``plan``,
``spectral``, ``transform``, ``boxes``, ``fallback``, ``cost``, ``extremes``,
``finish`` and ``unsharp`` hold the arithmetic.

Tests: test_accuracy.py, test_determinism.py, test_spectral.py.
"""

from __future__ import annotations

from .boxes import BoxPass, BoxPlan, plan_boxes
from .choice import Method, Nesting, choose, spectral_forced
from .compute import RowsCopy, Step, compute_tile, correlate_tile, exact_unsharp, pillow_unsharp
from .cost import box_seconds
from .extremes import float_range, scale_in
from .extremes import restore as restore_range
from .native import ENGINE_ENV, native_module, use_native
from .plan import CorrelationPlan, Tile, plan_correlation, rows_read
from .spectral import SpectralPass, SpectralPlan
from .unsharp import unsharp_rows

__all__ = [
    "ENGINE_ENV",
    "CorrelationPlan",
    "Tile",
    "plan_correlation",
    "rows_read",
    "correlate_tile",
    "SpectralPlan",
    "SpectralPass",
    "RowsCopy",
    "Step",
    "Method",
    "choose",
    "compute_tile",
    "unsharp_rows",
    "exact_unsharp",
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
