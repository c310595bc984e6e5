"""Which method computes a plan, and how long it takes: one answer for every caller.

``choose`` is asked by the parallel paths (before they cut the work) and by the
command line's estimate. It decides from the plan alone, never from the
workers or the CPU, so the method, like the bytes, is the same whatever
runs it.

Tests: test_spectral.py, test_engine_extremes.py.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np

from .cost import direct_seconds, prefers_spectral, spectral_seconds
from .plan import CorrelationPlan
from .spectral import SpectralPlan, plan_spectral, suits_spectral

__all__ = ["Method", "Nesting", "choose", "spectral_forced"]


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


class Method(NamedTuple):
    """How a plan is computed: through the FFT (``spectral``) or directly (``None``)."""

    spectral: SpectralPlan | None
    seconds: float


def choose(plan: CorrelationPlan, image: np.ndarray | None = None) -> Method:
    """Return the method that computes ``plan``, and its estimated seconds on one core.

    The FFT where the plan can take it and it is estimated cheaper
    (``cost.py``), or while ``testing.spectral_always`` is on. A float
    ``image`` holding a NaN or an infinity is computed directly: such a value
    spreads over its whole line in a transform, but only over the kernel's
    reach directly. Without the image (an estimate made before reading it)
    its samples are taken to be finite.
    """
    forced = bool(spectral_forced) and suits_spectral(plan)
    spectral = forced or prefers_spectral(plan)
    if spectral and image is not None and plan.out_dtype.kind == "f":
        spectral = bool(np.isfinite(image).all())
    if not spectral:
        return Method(None, direct_seconds(plan))
    return Method(plan_spectral(plan), spectral_seconds(plan))
