"""What is installed and in use: version, engine, SIMD level, default backend, CPUs.

Tests: test_cli_usage.py (version and engine), test_doctests.py.
"""

from __future__ import annotations

import os
import platform

import joblib

from .engine import native_module
from .parallel import default_backend

__all__ = ["__version__", "info"]

__version__ = "0.2.0"


def cpu_model() -> str:
    """Return the CPU's model name (Linux ``/proc/cpuinfo``), else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    """Return the CPUs this process may run on (its affinity mask, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def info() -> dict[str, object]:
    """Return what the package runs with, to check that the fast path is on.

    Returns
    -------
    dict
        ``version``; ``native`` (bool: the compiled engine is in use);
        ``engine`` (``"native"`` or ``"numpy"``); ``simd`` (the SIMD level the
        native engine chose at import, ``None`` for NumPy); ``simd_levels``
        (the levels this CPU runs); ``default_backend`` (joblib backend used
        when neither the call nor ``joblib.parallel_config`` names one);
        ``cpus`` (usable CPUs), ``joblib_cpus`` (what ``n_jobs=-1`` means to
        joblib) and ``cpu`` (the CPU's model name), for benchmark reports.

    Examples
    --------
    >>> from pil_parallel_blur import info
    >>> sorted(info())[:4]
    ['cpu', 'cpus', 'default_backend', 'engine']
    """
    native = native_module()
    return {
        "version": __version__,
        "native": native is not None,
        "engine": "native" if native is not None else "numpy",
        "simd": native.simd_level() if native is not None else None,
        "simd_levels": native.simd_levels() if native is not None else [],
        "default_backend": default_backend(),
        "cpus": usable_cpus(),
        "joblib_cpus": joblib.cpu_count(),
        "cpu": cpu_model(),
    }
