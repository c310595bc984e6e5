"""Shared test helpers: an independent float64 reference and accuracy checks.

Nothing here calls the package: the kernel is rebuilt from its formula and the
correlation is the direct 2-D sum of SPEC §3 (not the separable form).
"""

from __future__ import annotations

import ctypes
import math
import re
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from pil_parallel_blur import engine, testing


def reference_kernel(size, sigma) -> np.ndarray:
    """K[i, j] ∝ exp(-x²/(2σx²) - y²/(2σy²)), normalised by its 2-D sum."""
    sx, sy = size if isinstance(size, tuple) else (size, size)
    gx, gy = sigma if isinstance(sigma, tuple) else (sigma, sigma)
    x = np.arange(sx) - sx // 2
    y = np.arange(sy) - sy // 2
    xx, yy = np.meshgrid(x, y)  # xx varies along columns (axis 1)
    with np.errstate(over="ignore"):  # a tiny sigma: every tap but the centre is 0
        k = np.exp(-0.5 * (xx / gx) ** 2 - 0.5 * (yy / gy) ** 2)
    return k / k.sum()


def default_size(sigma: float) -> int:
    return 2 * math.ceil(3 * sigma) + 1


def reference_correlate(array: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Direct 2-D float64 correlation, every channel alone, edge-replicated borders."""
    a = np.asarray(array, dtype=np.float64)
    if a.size == 0:
        return a.copy()
    a3 = a.reshape(a.shape[0], a.shape[1], -1)
    ky, kx = kernel.shape
    padded = np.pad(a3, ((ky // 2, ky // 2), (kx // 2, kx // 2), (0, 0)), mode="edge")
    h, w = a3.shape[:2]
    out = np.zeros_like(a3)
    for i in range(ky):
        for j in range(kx):
            out += kernel[i, j] * padded[i : i + h, j : j + w]
    return out.reshape(a.shape)


def reference_blur(array: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Reference result in the input's dtype semantics: rint + clip for integers."""
    ref = reference_correlate(array, kernel)
    dtype = np.asarray(array).dtype
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return np.clip(np.rint(ref), info.min, info.max)
    return ref


def assert_spec_accuracy(out: np.ndarray, array: np.ndarray, kernel: np.ndarray) -> None:
    """SPEC §3: ±1 and ≥ 99.9 % identical for 8/16-bit; ±1 for int32; 1e-5 rel. for float."""
    ref = reference_blur(array, kernel)
    assert out.shape == array.shape
    assert out.dtype == array.dtype
    diff = np.abs(out.astype(np.float64) - ref)
    kind = array.dtype.kind
    if out.size == 0:
        return
    if kind in "ui" and array.dtype.itemsize <= 2:
        assert diff.max() <= 1, f"max error {diff.max()}"
        identical = float((diff == 0).mean())
        assert identical >= 0.999, f"only {identical:.5%} identical"
    elif kind in "ui":
        assert diff.max() <= 1, f"max error {diff.max()}"
    else:
        bound = 1e-5 * max(1.0, float(np.abs(array).max()))
        assert diff.max() <= bound, f"max error {diff.max()} > {bound}"


def photo_like(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Seeded uint8 image with ramps, hard edges, rings and noise (SPEC §8)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):
        ramp = 255 * (x / max(width - 1, 1)) * (0.3 + 0.2 * c)
        checker = 120 * (((x // 23) + (y // 17) + c) % 2)
        cy, cx = height / 2, width / 2
        rings = 60 * (np.sin(np.hypot(x - cx, y - cy) / (3 + c)) > 0)
        noise = rng.normal(0, 12, (height, width))
        planes.append(ramp + checker + rings + noise)
    img = np.clip(np.stack(planes, axis=-1), 0, 255).astype(np.uint8)
    return img if channels > 1 else img[..., 0]


@pytest.fixture
def parallel_always():
    """Make even tiny images go through the worker pool (the package's own seam)."""
    with testing.parallel_always():
        yield


@pytest.fixture(params=["native", "numpy"])
def each_engine(request):
    """Run a test on the compiled engine and again on the NumPy fallback."""
    if request.param == "numpy":
        with testing.numpy_engine():
            yield request.param
    else:
        assert engine.native_module() is not None, (
            "the compiled engine is not built here: python3 -m pip install -e ."
        )
        yield request.param


#: The last line of a batch: done / failed / skipped and the time.
SUMMARY = re.compile(
    r"^pil-parallel-blur: (\d+) done, (\d+) failed, (\d+) skipped in \d+\.\d\d s$"
)

#: The command line, as a subprocess (the module form: no PATH needed).
CLI = [sys.executable, "-m", "pil_parallel_blur"]


def run(*args, cwd=None) -> subprocess.CompletedProcess:
    """Run ``pil-parallel-blur ARGS`` and capture its output (5 minutes at most)."""
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def wait_for(ready, what: str, timeout: float = 300.0) -> None:
    """Wait until ``ready()`` is true (checked every 20 ms); fail naming ``what`` at ``timeout``.

    For readiness signals from a child (a file it wrote, a process gone):
    the limit is generous, so that a busy machine only makes the test slower.
    """
    end = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > end:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.02)


class _ArrowArray(ctypes.Structure):
    """The Arrow C data interface's ``ArrowArray``, as far as the buffers."""


_ArrowArray._fields_ = [
    *((name, ctypes.c_int64) for name in ("length", "nulls", "offset", "n_buffers", "n_kids")),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("kids", ctypes.POINTER(ctypes.POINTER(_ArrowArray))),
]


def stored_bytes(core):
    """Every byte Pillow stores for a one-block core, 4-byte pixels' pads included.

    Read through the core's Arrow export (a test may reach into Pillow's memory;
    the package does not).
    """
    capsule = core.__arrow_c_array__()
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    array = _ArrowArray.from_address(get(capsule, b"arrow_array"))
    if array.n_kids:  # one list of 4 bytes a pixel
        array = array.kids[0].contents
        size = array.length
    else:  # one sample a pixel
        size = array.length * np.asarray(Image.new(core.mode, (1, 1))).itemsize
    return ctypes.string_at(array.buffers[1], size)
