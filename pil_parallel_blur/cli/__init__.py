"""The ``pil-parallel-blur`` command: ``blur``, ``demo`` and ``bench``.

Exit status: 0 when everything was done; 1 when some images of a batch failed
(each reported in one line, the others done); 2 for bad arguments or when the
only image failed; 130 after Ctrl-C and 143 after SIGTERM. Never a traceback,
never a half-written output.

This module imports nothing heavy: Ctrl-C while NumPy, Pillow and the engine
load, and a bad ``PIL_PARALLEL_BLUR_ENGINE`` or ``PIL_PARALLEL_BLUR_SIMD``
(which the engine refuses with a ``ValueError`` when it loads), are one line
too. One module per command (``blur.py``, ``demo.py``, ``bench.py``), the
files they read and write (``files.py``), progress bars (``progress.py``), the
argument parser (``args.py``) and the run with its signal handling (``run.py``).

Tests: test_cli_messages.py, test_cli_signals.py.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "build_parser"]

_PROG = "pil-parallel-blur"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    try:
        from .run import run
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return 130
    except ValueError as e:  # a bad PIL_PARALLEL_BLUR_* variable, refused as the engine loads
        print(f"{_PROG}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return run(argv)


def __getattr__(name: str) -> Any:
    if name == "build_parser":
        from .args import build_parser

        return build_parser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
