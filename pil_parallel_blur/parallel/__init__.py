"""Computing the tiles of a plan with the workers joblib gives.

This package face only hands on names. Its modules, each with one job:

* ``settings`` — the parallel parameters of every public call, validated;
* ``workers`` — which joblib backend and how many workers one call gets;
* ``tiles`` — cutting the work into stages of tiles;
* ``paths`` — running the tiles in-process, on threads, on processes over
  memory-mapped files, or remotely (Dask);
* ``pool``, ``files``, ``shielded`` and ``joblib_adapter`` — our thread pool,
  the private folders of the process path, Ctrl-C and fork safety, and every
  question asked of joblib.

Tests: test_parallel_engine.py, test_parallel_faults.py, test_dask.py.
"""

from __future__ import annotations

from .paths import run_boxes, run_plan
from .settings import PARALLEL_PARAMETERS, ParallelSettings, Progress, fill_parallel_doc
from .tiles import cut_tiles
from .workers import Workers, default_backend, workers_forced

__all__ = [
    "ParallelSettings",
    "Progress",
    "PARALLEL_PARAMETERS",
    "fill_parallel_doc",
    "Workers",
    "run_plan",
    "run_boxes",
    "cut_tiles",
    "default_backend",
    "workers_forced",
]
