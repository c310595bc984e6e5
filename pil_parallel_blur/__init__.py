"""Exact Gaussian blur for Pillow, computed in parallel over image bands with joblib.

>>> from PIL import Image
>>> from pil_parallel_blur import ParallelGaussianFilter
>>> Image.new("RGB", (32, 32)).filter(ParallelGaussianFilter(size=7, sigma=2)).size
(32, 32)
"""

from .blur import gaussian_blur
from .filters import SUPPORTED_MODES, ParallelGaussianFilter
from .kernels import gaussian_kernel, gaussian_kernel_1d

__all__ = [
    "ParallelGaussianFilter",
    "SUPPORTED_MODES",
    "gaussian_blur",
    "gaussian_kernel",
    "gaussian_kernel_1d",
]
__version__ = "0.1.0"
