"""Shared checks for the public arguments: one rule and one wording per kind of value.

Every public entry point (filters, array API, named kernels, command line)
validates through these, so a bad value fails with the same message wherever
it came in: the parameter's name, the value (and the pair it was part of) and
what is allowed. Wrong types raise ``TypeError``, wrong values ``ValueError``;
``bool`` is never taken for a number.

Tests: test_errors.py.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path

import numpy as np

__all__ = [
    "is_pair",
    "split_pair",
    "check_odd_size",
    "check_nonnegative",
    "check_number",
    "check_int",
    "check_n_jobs",
    "check_choice",
    "check_folder",
    "is_size_pair",
]


def is_pair(value: object) -> bool:
    """Tell whether ``value`` is given as a sequence (an ``(x, y)`` pair, if well formed)."""
    return isinstance(value, (tuple, list)) or (isinstance(value, np.ndarray) and value.ndim == 1)


def _got(value: object, whole: object) -> str:
    """``got 4`` or, for one side of a pair, ``got 4 (in (3, 4))``."""
    return f"got {value!r}" + (f" (in {whole!r})" if whole is not value else "")


def _is_number(value: object, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, (bool, np.bool_))


def split_pair(name: str, value: object) -> tuple[object, object]:
    """Split a scalar or an ``(x, y)`` pair into its two components."""
    if is_pair(value):
        items = list(value)  # type: ignore[call-overload]
        if len(items) != 2:
            raise ValueError(f"{name} must be a number or a pair (x, y), got {value!r}")
        return items[0], items[1]
    return value, value


def check_odd_size(name: str, value: object, whole: object = None, *, smallest: int = 1) -> int:
    """Return ``value`` as an int if it is odd and ``>= smallest`` (``whole``: its pair)."""
    whole = value if whole is None else whole
    wanted = "an odd positive int" if smallest <= 1 else f"an odd int >= {smallest}"
    if not _is_number(value, Integral):
        raise TypeError(
            f"{name} must be {wanted} (or a pair of them), "
            f"{_got(value, whole)} of type {type(value).__name__}"
        )
    size: int = int(value)  # type: ignore[call-overload]
    if size < smallest or size % 2 == 0:
        raise ValueError(f"{name} must be {wanted}, {_got(value, whole)}")
    return size


def check_nonnegative(
    name: str,
    value: object,
    whole: object = None,
    *,
    allow_zero: bool = True,
    largest: float | None = None,
) -> float:
    """Return ``value`` as a float if finite and ``>= 0`` (``> 0`` without ``allow_zero``).

    With ``largest``, values above it are refused too.
    """
    whole = value if whole is None else whole
    if not _is_number(value, Real):
        raise TypeError(
            f"{name} must be a finite real number (or a pair of them), "
            f"{_got(value, whole)} of type {type(value).__name__}"
        )
    number = float(value)  # type: ignore[arg-type]
    lowest = ">= 0" if allow_zero else "> 0"
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {lowest}, {_got(value, whole)}")
    if largest is not None and number > largest:
        raise ValueError(f"{name} must be at most {largest:g}, {_got(value, whole)}")
    return number


def check_number(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite real number."""
    if not _is_number(value, Real):
        raise TypeError(f"{name} must be a number, got {value!r} of type {type(value).__name__}")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def check_int(name: str, value: object, lowest: int | None = None) -> int:
    """Return ``value`` as an int if it is one (and ``>= lowest`` when given)."""
    if not _is_number(value, Integral):
        raise TypeError(f"{name} must be an int, got {value!r} of type {type(value).__name__}")
    number: int = int(value)  # type: ignore[call-overload]
    if lowest is not None and number < lowest:
        raise ValueError(f"{name} must be an int >= {lowest}, got {value!r}")
    return number


def is_size_pair(value: object) -> bool:
    """Tell whether ``value`` is ``(width, height)``: two ints (NumPy's too), not bools."""
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, Integral) and not isinstance(v, (bool, np.bool_)) for v in value)
    )


def check_n_jobs(n_jobs: object) -> int | None:
    """Return a worker count as joblib takes it: a non-zero int, or ``None``."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, Integral):
        raise TypeError(
            f"n_jobs must be an int or None, got {n_jobs!r} of type {type(n_jobs).__name__}"
        )
    if n_jobs == 0:
        raise ValueError(
            "n_jobs must be a non-zero int (1, 2, ... workers; -1 all CPUs, "
            "-2 all but one, ...) or None, got 0"
        )
    return int(n_jobs)


def check_choice(name: str, value: object, allowed: Sequence[str], what: str) -> str | None:
    """Return ``value`` if it is ``None`` or one of the names ``allowed`` (``what`` they are)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a {what} or None, got {value!r} of type {type(value).__name__}"
        )
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)} or None, got {value!r}")
    return value


def check_folder(name: str, folder: object) -> str | None:
    """Return an existing directory's path as a string, or ``None``."""
    if folder is None:
        return None
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a path or None, got {folder!r} of type {type(folder).__name__}"
        )
    if not Path(folder).is_dir():
        raise ValueError(f"{name} must be an existing directory, got {folder!r}")
    return os.fspath(folder)
