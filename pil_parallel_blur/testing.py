"""Helpers for testing code that uses this package.

Small images are blurred in-process, where workers would cost more than they
save; a test of the parallel paths (threads, processes, Dask) with small
images asks for the workers anyway with ``parallel_always``:

>>> import numpy as np
>>> from pil_parallel_blur import gaussian_blur, testing
>>> seen = []
>>> with testing.parallel_always():
...     _ = gaussian_blur(np.zeros((64, 64), np.uint8), 2, n_jobs=2,
...                       progress=lambda done, total: seen.append(total))
>>> seen[-1] > 1
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .parallel import workers_forced

__all__ = ["parallel_always"]


@contextmanager
def parallel_always() -> Iterator[None]:
    """Send every image to the workers while the block runs, however small it is.

    For the whole process (every thread), as long as one such block is open;
    blocks may nest. The results are the same bytes as ever: only where they
    are computed changes.
    """
    workers_forced.enter()
    try:
        yield
    finally:
        workers_forced.leave()
