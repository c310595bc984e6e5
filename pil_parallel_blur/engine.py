"""Correlating rows of an image with a separable kernel: the only module that does arithmetic.

One operation, ``correlate_rows``, computes output rows ``[start, stop)`` of
``Σ_t outer(g_y_t, g_x_t)`` correlated with an image whose borders are
replicated from the edge pixels, reading the *unpadded* image rows it is given
and writing straight into the output. Every caller — in-process, threads,
processes over memory-mapped files, Dask workers — hands it a band of rows.

Two implementations compute it, with the same operations in the same order
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
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from types import ModuleType

import numpy as np

__all__ = [
    "BandPlan",
    "make_plan",
    "make_terms_plan",
    "correlate_rows",
    "source_rows",
    "native_module",
]

#: 8-bit images with fewer samples than this are computed in float64 (see make_terms_plan).
FLOAT32_MIN_SAMPLES = 1 << 17
#: Environment variable that forces the NumPy engine (``numpy``) or asks for the native one.
ENGINE_ENV = "PIL_PARALLEL_BLUR_ENGINE"
#: Output rows per chunk of the NumPy engine (bounds its temporaries).
_NUMPY_CHUNK_ROWS = 64

_TYPE_CODES = {
    np.dtype(np.uint8): 0,
    np.dtype(np.int8): 1,
    np.dtype(np.uint16): 2,
    np.dtype(np.int16): 3,
    np.dtype(np.uint32): 4,
    np.dtype(np.int32): 5,
    np.dtype(np.uint64): 6,
    np.dtype(np.int64): 7,
    np.dtype(np.float32): 8,
    np.dtype(np.float64): 9,
}
_RINT, _HALF_UP = 0, 1


def _load_native() -> ModuleType | None:
    """Import the compiled kernel once; warn once if it is missing.

    ``PIL_PARALLEL_BLUR_ENGINE=numpy`` uses the NumPy engine; ``native`` makes a
    missing extension an ``ImportError`` instead of a warning.
    """
    asked = os.environ.get(ENGINE_ENV, "").strip().lower()
    if asked not in ("", "native", "numpy"):
        raise ValueError(f"{ENGINE_ENV} must be 'native', 'numpy' or unset, got {asked!r}")
    if asked == "numpy":
        return None
    try:
        native = importlib.import_module("._native", __package__)
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


_NATIVE = _load_native()


def native_module() -> ModuleType | None:
    """Return the compiled kernel module in use, or ``None`` when the NumPy engine is."""
    return _NATIVE


@dataclass(frozen=True, eq=False)
class BandPlan:
    """Everything a worker needs to compute any band of rows of one image.

    Built once by ``make_terms_plan`` from the image's shape and dtype and
    the kernel's separable terms; never from ``n_jobs`` or the bands. The kernel
    is ``sum(outer(g_y, g_x) for g_y, g_x in terms)``; ``offset`` is added before
    rounding; a non-zero ``grid`` ``s`` snaps integer results to multiples of
    ``1/s`` before they are rounded.
    """

    height: int
    width: int
    channels: int
    terms: tuple[tuple[np.ndarray, np.ndarray], ...]
    out_dtype: np.dtype
    compute_dtype: np.dtype
    clip: tuple[float, float] | None
    rounding: str | None
    offset: float = 0.0
    grid: float = 0.0

    @property
    def r_y(self) -> int:
        """Vertical kernel radius (after folding taps beyond the image)."""
        return len(self.terms[0][0]) // 2

    @property
    def r_x(self) -> int:
        """Horizontal kernel radius (after folding)."""
        return len(self.terms[0][1]) // 2

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """Shape of the output array ``(H, W, C)``."""
        return (self.height, self.width, self.channels)

    def band_bounds(self, n_bands: int) -> list[tuple[int, int]]:
        """Cut the rows into at most ``n_bands`` bands of nearly equal height."""
        n_bands = max(1, min(n_bands, self.height))
        edges = np.linspace(0, self.height, n_bands + 1).round().astype(int)
        return [(int(a), int(b)) for a, b in pairwise(edges) if b > a]


def _fold(taps: np.ndarray, length: int) -> np.ndarray:
    """Shorten a kernel longer than the image without changing the result.

    With edge replication, every tap more than ``length - 1`` away from the
    centre reads the edge sample for every output sample, so those taps can be
    summed into the outermost tap that still sees a distinct sample. A 10001-tap
    kernel on a 10-pixel image then costs 19 taps, not ~10⁸ padded samples.
    """
    r, keep = len(taps) // 2, max(length - 1, 0)
    if r <= keep:
        return taps
    folded = taps[r - keep : r + keep + 1].copy()
    folded[0] += taps[: r - keep].sum()
    folded[-1] += taps[r + keep + 1 :].sum()
    return folded


def make_plan(
    shape: tuple[int, ...],
    dtype: np.dtype,
    g_y: np.ndarray,
    g_x: np.ndarray,
) -> BandPlan:
    """Plan the correlation of an ``(H, W)`` or ``(H, W, C)`` array with ``outer(g_y, g_x)``.

    Parameters
    ----------
    shape : tuple of int
        Shape of the image.
    dtype : numpy.dtype
        dtype of the image; also the output dtype.
    g_y, g_x : numpy.ndarray
        Odd-length 1-D kernel factors (rows, columns), float64.
    """
    return make_terms_plan(shape, dtype, [(g_y, g_x)])


def _clip_bounds(dtype: np.dtype) -> tuple[float, float]:
    """Return the type's range as floats that convert back into the type (2⁶³ does not)."""
    info = np.iinfo(dtype)
    lo, hi = float(info.min), float(info.max)
    if int(hi) > info.max:
        hi = float(np.nextafter(hi, 0))
    return lo, hi


def make_terms_plan(
    shape: tuple[int, ...],
    dtype: np.dtype,
    factors: list[tuple[np.ndarray, np.ndarray]],
    *,
    offset: float = 0.0,
    rounding: str = "rint",
    result_grid: float | None = None,
) -> BandPlan:
    """Plan the correlation with ``sum(outer(g_y, g_x) for g_y, g_x in factors) + offset``.

    Parameters
    ----------
    shape, dtype
        As for ``make_plan``.
    factors : list of (g_y, g_x)
        Separable terms; all ``g_y`` of one length, all ``g_x`` of one length.
    offset : float
        Added to every result before rounding.
    rounding : {"rint", "half_up"}
        How integer results are rounded: to nearest even on ties, or half up
        like Pillow's ``ImageFilter.Kernel``.
    result_grid : float, optional
        ``s`` when every exact result of an integer image is a multiple of
        ``1/s`` (integer weights over an integer scale ``s``, or dyadic weights
        and offset). Results are then snapped to that grid before rounding, so
        exact ties round by the rule (the separable split and float32 leave them
        a hair off .5); see below for when that is safe.
    """
    dtype = np.dtype(dtype)
    if dtype not in _TYPE_CODES:
        raise TypeError(f"the engine computes {sorted(map(str, _TYPE_CODES))}, not {dtype}")
    height, width = int(shape[0]), int(shape[1])
    channels = int(shape[2]) if len(shape) == 3 else 1
    pairs = [(np.asarray(y, np.float64), np.asarray(x, np.float64)) for y, x in factors]
    if not pairs or len({(len(y), len(x)) for y, x in pairs}) != 1:
        raise ValueError("factors must be one or more (g_y, g_x) pairs of equal lengths")
    pairs = [
        (np.ascontiguousarray(_fold(y, height)), np.ascontiguousarray(_fold(x, width)))
        for y, x in pairs
    ]
    if rounding not in ("rint", "half_up"):
        raise ValueError(f"rounding must be 'rint' or 'half_up', got {rounding!r}")
    negative = any(bool((y < 0).any() or (x < 0).any()) for y, x in pairs)
    integer = dtype.kind in "ui"
    # uint8 sums stay within ~1e-5 of a level in float32, so a sample differs
    # from the float64 reference only when its exact value is that close to .5
    # (about 2 in 100 000). On a small image one such sample would already be
    # more than the 0.1 % allowed, so small images, everything wider than 8 bits
    # (16-bit, int32, float) and kernels with several terms or negative weights
    # (sums that cancel) are computed in float64.
    #
    # Kernels on a result grid of 1/s are the exception: the computed value is
    # snapped to the nearest multiple of 1/s, which is the exact result while
    # the arithmetic error stays under 1/(4s). That error is estimated as
    # 16 ulp of the largest partial sum (max sample · Σ|K|): measured ≤ 9e-5
    # levels in float32 for integer kernels up to 15×15, 2–5× under this
    # estimate. Where float32 cannot promise it, float64 is used; where even
    # float64 cannot, nothing is snapped.
    samples = height * width * channels
    big8 = dtype.itemsize == 1 and samples > FLOAT32_MIN_SAMPLES
    # Σ|outer(y, x)| = Σ|y|·Σ|x|: no kernel-sized temporary
    abs_sum = float(sum(np.abs(y).sum() * np.abs(x).sum() for y, x in pairs))
    largest = float(max(abs(np.iinfo(dtype).min), np.iinfo(dtype).max)) if integer else 1.0
    reach = largest * abs_sum + abs(float(offset))

    def snaps(eps: float) -> bool:
        if result_grid is None or not integer:
            return False
        s = abs(float(result_grid))
        return 16 * eps * reach < 1 / (4 * s) and reach * s < 1 / (4 * eps)

    eps32, eps64 = float(np.finfo(np.float32).eps), float(np.finfo(np.float64).eps)
    narrow = big8 and ((len(pairs) == 1 and not negative) or snaps(eps32))
    compute = np.dtype(np.float32 if narrow else np.float64)
    grid = 0.0
    if result_grid is not None and snaps(eps32 if narrow else eps64):
        grid = abs(float(result_grid))
    clip: tuple[float, float] | None = None
    round_mode: str | None = None
    if integer:
        clip, round_mode = _clip_bounds(dtype), rounding
    return BandPlan(
        height=height,
        width=width,
        channels=channels,
        terms=tuple(pairs),
        out_dtype=dtype,
        compute_dtype=compute,
        clip=clip,
        rounding=round_mode,
        offset=float(offset),
        grid=grid,
    )


def source_rows(plan: BandPlan, start: int, stop: int) -> tuple[int, int]:
    """Return the image rows ``[first, last)`` that output rows ``[start, stop)`` read."""
    return max(start - plan.r_y, 0), min(stop + plan.r_y, plan.height)


def correlate_rows(
    src: np.ndarray,
    src_row0: int,
    out: np.ndarray,
    out_row0: int,
    start: int,
    stop: int,
    plan: BandPlan,
) -> None:
    """Compute output rows ``[start, stop)`` of ``plan`` into ``out``.

    Parameters
    ----------
    src : numpy.ndarray
        C-contiguous image rows from row ``src_row0`` on, dtype ``plan.out_dtype``
        in native byte order (a read-only memmap is fine). It must hold every
        row of ``source_rows``.
    src_row0 : int
        The image row ``src[0]`` holds.
    out : numpy.ndarray
        C-contiguous output rows from row ``out_row0`` on, dtype ``plan.out_dtype``
        (may be a shared memmap); only rows ``[start, stop)`` are written.
    out_row0 : int
        The output row ``out[0]`` holds.
    start, stop : int
        The output rows to compute.
    plan : BandPlan
        From ``make_terms_plan``.
    """
    if _NATIVE is not None:
        if plan.clip is None:
            lo, hi = 0.0, 0.0
        else:
            lo, hi = plan.clip
        _NATIVE.correlate(
            src,
            src_row0,
            out,
            out_row0,
            start,
            stop,
            plan.height,
            plan.width,
            plan.channels,
            _TYPE_CODES[plan.out_dtype],
            plan.terms,
            plan.compute_dtype == np.float64,
            plan.offset,
            _HALF_UP if plan.rounding == "half_up" else _RINT,
            lo,
            hi,
            plan.grid,
        )
        return
    _numpy_rows(src, src_row0, out, out_row0, start, stop, plan)


def _numpy_rows(
    src: np.ndarray,
    src_row0: int,
    out: np.ndarray,
    out_row0: int,
    start: int,
    stop: int,
    plan: BandPlan,
) -> None:
    """Compute rows with NumPy: the native kernel's operations, chunk by chunk of rows."""
    h, wc, c = plan.height, plan.width * plan.channels, plan.channels
    ry, rx = plan.r_y, plan.r_x
    ct = plan.compute_dtype
    image = src.reshape(-1, plan.width, c)
    rows_out = out.reshape(-1, wc)
    # symmetry is judged on the float64 taps, as the native kernel judges it
    taps = [(_taps(y, ct), _taps(x, ct)) for y, x in plan.terms]
    for y0 in range(start, stop, _NUMPY_CHUNK_ROWS):
        y1 = min(y0 + _NUMPY_CHUNK_ROWS, stop)
        first, last = source_rows(plan, y0, y1)
        block = image[first - src_row0 : last - src_row0].astype(ct)
        padded = np.pad(block, ((0, 0), (rx, rx), (0, 0)), mode="edge").reshape(len(block), -1)
        pick = np.clip(np.arange(y0 - ry, y1 + ry), 0, h - 1) - first
        total: np.ndarray | None = None
        for g_y, g_x in taps:
            across = _pass(_columns(padded, c, wc), g_x, fold=True)
            down = _pass(_rows(across[pick], y1 - y0), g_y, fold=False)
            total = down if total is None else np.add(total, down, out=total)
        assert total is not None
        rows_out[y0 - out_row0 : y1 - out_row0] = _finish(total, plan)


def _taps(g: np.ndarray, ct: np.dtype) -> tuple[np.ndarray, bool]:
    return g.astype(ct), bool((g == g[::-1]).all())


def _columns(padded: np.ndarray, c: int, n: int) -> Callable[[int], np.ndarray]:
    """Tap ``j`` of the horizontal pass: the samples ``j`` pixels right of each output's first."""
    return lambda j: padded[:, j * c : j * c + n]


def _rows(rows: np.ndarray, n: int) -> Callable[[int], np.ndarray]:
    """Tap ``j`` of the vertical pass: the rows ``j`` below each output's first."""
    return lambda j: rows[j : j + n]


def _pass(
    take: Callable[[int], np.ndarray], taps: tuple[np.ndarray, bool], *, fold: bool
) -> np.ndarray:
    """``Σ_j g[j]·take(j)`` in the native kernel's order.

    The horizontal pass folds symmetric taps (``g[r+k]·(a + b)``); the vertical
    pass never does (it sums the taps in order), as the native kernel does.
    """
    g, symmetric = taps
    r = len(g) // 2
    if fold and symmetric:
        acc = g[r] * take(r)
        for k in range(1, r + 1):
            pair = take(r - k) + take(r + k)
            pair *= g[r + k]
            acc += pair
        return acc
    acc = g[0] * take(0)
    for j in range(1, 2 * r + 1):
        acc += g[j] * take(j)
    return acc


def _finish(total: np.ndarray, plan: BandPlan) -> np.ndarray:
    """Offset, round and clip as the native kernel does; return values of the output dtype."""
    ct = plan.compute_dtype.type
    if plan.offset:
        total += ct(plan.offset)
    if plan.grid and plan.rounding is not None:
        total *= ct(plan.grid)
        np.rint(total, out=total)
        total /= ct(plan.grid)
    if plan.rounding == "half_up":
        total += ct(0.5)
        np.floor(total, out=total)
    elif plan.rounding == "rint":
        np.rint(total, out=total)
    if plan.clip is None:
        return total.astype(plan.out_dtype)
    np.clip(total, ct(plan.clip[0]), None, out=total)
    if plan.out_dtype.itemsize < 8:
        np.clip(total, None, ct(plan.clip[1]), out=total)
        return total.astype(plan.out_dtype)
    # float64 cannot hold 2^63 - 1: results from 2^63 (2^64) on saturate to the maximum
    top = total >= 2.0 ** (63 if plan.out_dtype.kind == "i" else 64)
    np.clip(total, None, ct(plan.clip[1]), out=total)
    out = total.astype(plan.out_dtype)
    out[top] = np.iinfo(plan.out_dtype).max
    return out


def unsharp_rows(
    image: np.ndarray,
    blurred: np.ndarray,
    out: np.ndarray,
    start: int,
    stop: int,
    percent: int,
    threshold: float,
) -> None:
    """Unsharp-mask rows ``[start, stop)``: Pillow's threshold and percent rule, exactly.

    Where ``|image − blurred| >= threshold``: ``image + (image − blurred)·percent/100``,
    rounded half to even and clipped for integer types (computed in integers:
    ``(100·image + diff·percent) / 100``, so every tie is a true tie); elsewhere
    the image sample unchanged. All three arrays share shape and dtype.
    """
    a = image[start:stop]
    if image.dtype.kind in "ui":
        wide = a.astype(np.int64)
        diff = wide - blurred[start:stop]
        num = 100 * wide + diff * percent
        q, r = np.divmod(num, 100)  # floor division: 0 <= r < 100
        q += (2 * r > 100) | ((2 * r == 100) & (q % 2 == 1))
        info = np.iinfo(image.dtype)
        sharp = np.clip(q, info.min, info.max)
    else:
        wide = a.astype(np.float64)
        diff = wide - blurred[start:stop]
        sharp = wide + diff * percent / 100
    out[start:stop] = np.where(np.abs(diff) >= threshold, sharp, a)
