"""What a plan costs on one core, by method: how the engine chooses, and when workers pay.

Measured with the native engine on the development machine (2 vCPUs, AVX2;
docs/benchmarks.md). Only ratios matter for the choice; the absolute figures
also decide when an image is too small for workers.

Tests: test_spectral.py, test_engine_extremes.py.
"""

from __future__ import annotations

from .boxes import BoxPlan
from .plan import CorrelationPlan
from .spectral import fast_length, suits_spectral

__all__ = ["direct_seconds", "spectral_seconds", "prefers_spectral", "box_seconds"]

#: Pillow's box passes: ns per sample and pass (running sums; any radius).
BOX_NS = 1.5

#: Direct passes in float32: ``DIRECT_NS + DIRECT_NS_PER_TAP·r`` ns per output
#: sample for a kernel of mean radius ``r`` (both passes, symmetric taps folded).
DIRECT_NS = 1.2
DIRECT_NS_PER_TAP = 0.36
#: Spectral passes: ns per transformed sample of one pass (forward transform,
#: product, inverse, and the copies in and out). With the two figures above it
#: puts the crossover where it was measured: σ ≈ 32 on 3 MP RGB, σ ≈ 40 on
#: 0.35 MP (docs/benchmarks.md).
SPECTRAL_NS = 16.0
#: Spectral passes: ns per line transformed (planning, the copies' set-up and a
#: transform call per line): what makes a pass over many very short lines —
#: the columns of an image one or two rows high — cost more than its samples.
SPECTRAL_LINE_NS = 150.0


def direct_seconds(plan: CorrelationPlan) -> float:
    """Seconds of the direct passes: float64 costs about twice float32, each term as much again."""
    samples = plan.height * plan.width * plan.channels
    r = (plan.r_x + plan.r_y) / 2
    per_sample = (DIRECT_NS + DIRECT_NS_PER_TAP * r) * plan.compute_dtype.itemsize / 4
    return samples * per_sample * len(plan.terms) * 1e-9


def spectral_seconds(plan: CorrelationPlan) -> float:
    """Seconds of the two spectral passes, each axis by its own lines and length.

    Every line is transformed at its padded length, and every line costs
    ``SPECTRAL_LINE_NS`` besides: ``W·C`` columns of ``H + 2·r_y`` samples,
    ``H·C`` rows of ``W + 2·r_x``.
    """
    n_columns, n_rows = plan.width * plan.channels, plan.height * plan.channels
    columns = n_columns * fast_length(plan.height + 2 * plan.r_y)
    rows = n_rows * fast_length(plan.width + 2 * plan.r_x)
    lines = n_columns + n_rows
    return ((columns + rows) * SPECTRAL_NS + lines * SPECTRAL_LINE_NS) * 1e-9


def prefers_spectral(plan: CorrelationPlan) -> bool:
    """Tell whether the plan goes through the FFT: it can, and it is estimated cheaper.

    Decided from the plan alone (shape, dtype, kernel), never from the workers,
    so the method, like the bytes, is the same for every backend and ``n_jobs``.
    """
    return suits_spectral(plan) and spectral_seconds(plan) < direct_seconds(plan)


def box_seconds(plan: BoxPlan) -> float:
    """Seconds of a box plan's passes: the same for every radius."""
    samples = plan.height * plan.width * plan.channels
    return samples * sum(stage.passes for stage in plan.stages) * BOX_NS * 1e-9
