"""What a plan costs on one core, by method: how the engine chooses, and when workers pay.

The direct figures were measured with the native engine on a 2-vCPU AVX2
machine, the spectral ones beside them on a 2-vCPU AVX-512 one
(docs/benchmarks.md). Only ratios matter for the choice; the absolute figures
also decide when an image is too small for workers.

Tests: test_spectral.py, test_engine_extremes.py.
"""

from __future__ import annotations

from .boxes import BoxPlan
from .plan import CorrelationPlan
from .spectral import suits_spectral
from .transform import fast_length, group_lines

__all__ = ["direct_seconds", "spectral_seconds", "prefers_spectral", "box_seconds"]

#: Pillow's box passes: ns per sample and pass (running sums; any radius).
BOX_NS = 1.5

#: Direct passes in float32: ``DIRECT_NS + DIRECT_NS_PER_TAP·r`` ns per output
#: sample for a kernel of mean radius ``r`` (both passes, symmetric taps folded).
DIRECT_NS = 1.2
DIRECT_NS_PER_TAP = 0.36
#: Spectral passes: ns per transformed sample of one pass (gathering the lines,
#: forward transform, product, inverse, and the copy or finish out), on the
#: scale of the direct figures above. The compiled transform was measured
#: beside the direct passes on a 2-vCPU AMD EPYC (AVX-512, and AVX2 forced),
#: 24 MP RGB, one core: both took ~0.39 s at σ ≈ 11 (r ≈ 33), where the direct
#: figures above give 0.94 s for the 147 M transformed samples: 6.4 ns each.
SPECTRAL_NS = 6.4
#: Spectral passes: ns per line transformed (its share of a group's set-up,
#: and of a call per tile), on the same scale: what makes a pass over many very
#: short lines — the columns of an image one or two rows high — cost more than
#: its samples. Measured ~40 ns there, beside direct passes the figures above
#: put 2.4–2.7× slower than they ran.
SPECTRAL_LINE_NS = 100.0


def direct_seconds(plan: CorrelationPlan) -> float:
    """Seconds of the direct passes: float64 costs about twice float32, each term as much again."""
    samples = plan.height * plan.width * plan.channels
    r = (plan.r_x + plan.r_y) / 2
    per_sample = (DIRECT_NS + DIRECT_NS_PER_TAP * r) * plan.compute_dtype.itemsize / 4
    return samples * per_sample * len(plan.terms) * 1e-9


def spectral_seconds(plan: CorrelationPlan) -> float:
    """Seconds of the two spectral passes, each axis by its own lines and length.

    Each channel's lines are transformed a group at a time (``group_lines``),
    so a pass over fewer lines than a group costs a whole group: per channel,
    ``W`` columns of ``H + 2·r_y`` samples and ``H`` rows of ``W + 2·r_x``, each
    count rounded up to whole groups; and every line costs
    ``SPECTRAL_LINE_NS`` besides.
    """
    group, c = group_lines(plan.compute_dtype), plan.channels
    columns = c * -(-plan.width // group) * group * fast_length(plan.height + 2 * plan.r_y)
    rows = c * -(-plan.height // group) * group * fast_length(plan.width + 2 * plan.r_x)
    lines = (plan.width + plan.height) * c
    # a group's vectors hold half as many float64 lines: twice the time a sample
    per_sample = SPECTRAL_NS * plan.compute_dtype.itemsize / 4
    return ((columns + rows) * per_sample + lines * SPECTRAL_LINE_NS) * 1e-9


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
