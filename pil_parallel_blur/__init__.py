"""Exact Gaussian blur for Pillow, computed in parallel over image bands with joblib.

>>> from PIL import Image
>>> from pil_parallel_blur import ParallelGaussianFilter
>>> Image.new("RGB", (32, 32)).filter(ParallelGaussianFilter(size=7, sigma=2)).size
(32, 32)
"""

from .about import __version__, info
from .blur import correlate, gaussian_blur
from .filters import ParallelBoxBlur, ParallelGaussianFilter, ParallelUnsharpMask
from .kernel_filter import ParallelKernelFilter
from .kernels import gaussian_kernel, gaussian_kernel_1d
from .named import box_blur, emboss, laplacian, sharpen, sobel, unsharp_mask
from .pillow_adapter import SUPPORTED_MODES

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
