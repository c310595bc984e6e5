"""Exact Gaussian blur for Pillow, computed in parallel with joblib.

>>> from PIL import Image
>>> from pil_parallel_blur import ParallelGaussianFilter
>>> Image.new("RGB", (32, 32)).filter(ParallelGaussianFilter(size=7, sigma=2)).size
(32, 32)

The public names are imported when first used, so that ``import
pil_parallel_blur`` (and the command line's start, where Ctrl-C must already
give one line) costs nothing until something is used.

Tests: test_filter.py, test_array_api.py.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .about import __version__, info
    from .blur import correlate, gaussian_blur
    from .filters import ParallelBoxBlur, ParallelGaussianFilter, ParallelUnsharpMask
    from .kernel_filter import ParallelKernelFilter
    from .kernels import gaussian_kernel, gaussian_kernel_1d
    from .named import box_blur, emboss, laplacian, sharpen, sobel, unsharp_mask
    from .pillow_adapter import SUPPORTED_MODES

#: Each public name and the module that defines it.
_HOMES = {
    "__version__": "about",
    "info": "about",
    "correlate": "blur",
    "gaussian_blur": "blur",
    "ParallelBoxBlur": "filters",
    "ParallelGaussianFilter": "filters",
    "ParallelUnsharpMask": "filters",
    "ParallelKernelFilter": "kernel_filter",
    "gaussian_kernel": "kernels",
    "gaussian_kernel_1d": "kernels",
    "box_blur": "named",
    "emboss": "named",
    "laplacian": "named",
    "sharpen": "named",
    "sobel": "named",
    "unsharp_mask": "named",
    "SUPPORTED_MODES": "pillow_adapter",
}

__all__ = [
    "__version__",
    "ParallelBoxBlur",
    "ParallelGaussianFilter",
    "ParallelKernelFilter",
    "ParallelUnsharpMask",
    "SUPPORTED_MODES",
    "box_blur",
    "correlate",
    "emboss",
    "gaussian_blur",
    "gaussian_kernel",
    "gaussian_kernel_1d",
    "info",
    "laplacian",
    "sharpen",
    "sobel",
    "unsharp_mask",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
