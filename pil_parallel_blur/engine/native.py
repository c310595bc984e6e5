"""Loading the compiled modules once, and the switch to the NumPy engine.

``PIL_PARALLEL_BLUR_ENGINE=numpy`` uses the NumPy engine; ``native`` makes a
missing extension an ``ImportError`` instead of a warning. ``loaded`` holds
the modules in use; ``compute.py`` reads it at every tile, so
``testing.numpy_engine`` switches both engines in one process.

Tests: test_determinism.py, test_adapters.py.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass
from types import ModuleType

__all__ = ["ENGINE_ENV", "Loaded", "loaded", "native_module", "use_native"]

#: Environment variable that forces the NumPy engine (``numpy``) or asks for the native one.
ENGINE_ENV = "PIL_PARALLEL_BLUR_ENGINE"


def _asked_engine() -> str:
    """Return what ``PIL_PARALLEL_BLUR_ENGINE`` asks for: ``""``, ``native`` or ``numpy``."""
    asked = os.environ.get(ENGINE_ENV, "").strip().lower()
    if asked not in ("", "native", "numpy"):
        raise ValueError(f"{ENGINE_ENV} must be 'native', 'numpy' or unset, got {asked!r}")
    return asked


def _load_native(asked: str) -> ModuleType | None:
    """Import the compiled correlation and transform module once; warn once if it is missing."""
    if asked == "numpy":
        return None
    try:
        native = importlib.import_module("pil_parallel_blur._native")
    except ImportError as e:
        if asked == "native":
            raise
        warnings.warn(
            f"pil_parallel_blur: the compiled engine is not available ({e}); using the "
            "NumPy engine, which gives the same results several times more slowly. "
            "Reinstall from source with a C compiler and the Python headers present "
            "(python3 -m pip install --force-reinstall --no-deps .) to get it.",
            RuntimeWarning,
            stacklevel=4,
        )
        return None
    return native


def _load_box(asked: str) -> ModuleType | None:
    """Import the compiled box passes of the Pillow-identical family, if built."""
    if asked == "numpy":
        return None
    try:
        return importlib.import_module("pil_parallel_blur._native_box")
    except ImportError:
        return None


@dataclass
class Loaded:
    """The compiled modules in use (``None``: the NumPy engine computes)."""

    correlate: ModuleType | None
    box: ModuleType | None


_ASKED = _asked_engine()
#: The modules every tile is computed with.
loaded = Loaded(_load_native(_ASKED), _load_box(_ASKED))

EngineState = tuple[ModuleType | None, ModuleType | None]


def native_module() -> ModuleType | None:
    """Return the compiled kernel module in use, or ``None`` when the NumPy engine is."""
    return loaded.correlate


def use_native(state: EngineState | None) -> EngineState:
    """Set the compiled modules in use (``None``: the NumPy engine); return those before.

    For ``testing.numpy_engine``: both engines give the same bytes, so tests
    run each property on both in one process. ``state`` is what an earlier
    call returned, to put it back.
    """
    before = (loaded.correlate, loaded.box)
    loaded.correlate, loaded.box = (None, None) if state is None else state
    return before
