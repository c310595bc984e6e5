"""The last step of every engine: offset, rounding and clipping into the output type.

Tests: test_fidelity.py, test_engine_extremes.py.
"""

from __future__ import annotations

import numpy as np

from .plan import CorrelationPlan

__all__ = ["finish_samples"]


def finish_samples(
    total: np.ndarray, plan: CorrelationPlan, out: np.ndarray | None = None
) -> np.ndarray:
    """Offset, round and clip ``total`` in place as the native kernel does.

    The arithmetic is done in ``total``'s own float type (the plan's compute
    type in the direct engines, float64 in the spectral one). Returns values of
    the output dtype: ``out``, when given, filled with them (any layout).
    """
    ct = total.dtype.type
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
    if plan.clip is not None:
        # a sum that overflowed both ways (inf - inf) is NaN: integers get 0
        np.copyto(total, ct(0), where=np.isnan(total))
    if plan.clip is not None and plan.out_dtype.itemsize < 8:
        np.clip(total, ct(plan.clip[0]), ct(plan.clip[1]), out=total)
    if plan.clip is None or plan.out_dtype.itemsize < 8:
        if out is None:
            return total.astype(plan.out_dtype)
        out[...] = total
        return out
    np.clip(total, ct(plan.clip[0]), None, out=total)
    # float64 cannot hold 2^63 - 1: results from 2^63 (2^64) on saturate to the maximum
    top = total >= 2.0 ** (63 if plan.out_dtype.kind == "i" else 64)
    np.clip(total, None, ct(plan.clip[1]), out=total)
    values = total.astype(plan.out_dtype)
    values[top] = np.iinfo(plan.out_dtype).max
    if out is None:
        return values
    out[...] = values
    return out
