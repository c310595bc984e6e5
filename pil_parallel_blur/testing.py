"""Helpers for testing code that uses this package.

Three seams, each a context manager, instead of patching the package's
internals: ``parallel_always`` (small images go to the workers too),
``numpy_engine`` (the NumPy engine instead of the compiled one) and
``spectral_always`` (every kernel the FFT can take goes through it). They
change where and how the bytes are computed, never the bytes.

Small images are blurred in-process, where workers would cost more than they
save; a test of the parallel paths (threads, processes, Dask) with small
images asks for the workers anyway:

>>> import numpy as np
>>> from pil_parallel_blur import gaussian_blur, testing
>>> seen = []
>>> with testing.parallel_always():
...     _ = gaussian_blur(np.zeros((64, 64), np.uint8), 2, n_jobs=2,
...                       progress=lambda done, total: seen.append(total))
>>> seen[-1] > 1
True

Tests: test_doctests.py; used by the whole suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from . import engine
from .parallel import workers_forced

__all__ = ["parallel_always", "numpy_engine", "spectral_always"]


def parallel_always() -> AbstractContextManager[None]:
    """Send every image to the workers while the block runs, however small it is.

    For the whole process (every thread), as long as one such block is open;
    blocks may nest. The results are the same bytes as ever: only where they
    are computed changes.
    """
    return workers_forced


@contextmanager
def numpy_engine() -> Iterator[None]:
    """Compute with the NumPy engine while the block runs (same bytes as the compiled one).

    In this process only: process-backend workers load their own engine.
    """
    before = engine.use_native(None)
    try:
        yield
    finally:
        engine.use_native(before)


def spectral_always() -> AbstractContextManager[None]:
    """Send every kernel the FFT can take through it while the block runs, however small."""
    return engine.spectral_forced
