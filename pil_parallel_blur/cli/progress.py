"""Progress bars on stderr (tqdm, from the ``cli`` extra), or nothing (and no message).

Tests: test_cli_signals.py (a real pty), test_cli_messages.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

__all__ = ["ProgressBar", "progress_bar", "show_progress"]


class ProgressBar:
    """A tqdm bar on stderr, or nothing; ``say`` prints lines without breaking the bar.

    With ``make`` the bar is created at the first update, with that update's
    total (a single image reports its tile count only then): it never shows a
    count that jumps.
    """

    def __init__(self, bar: Any, make: Callable[[int], Any] | None = None) -> None:
        self.bar = bar
        self._make = make

    def update(self, done: int, total: int) -> None:
        """Show ``done`` of ``total``."""
        if self.bar is None and self._make is not None:
            self.bar = self._make(total)
        if self.bar is not None:
            self.bar.total = total
            self.bar.n = done
            self.bar.refresh()

    def say(self, line: str, file: Any = None) -> None:
        """Print a line (stdout by default), above the bar when there is one."""
        file = file or sys.stdout
        if self.bar is not None:
            self.bar.write(line, file=file)
        else:
            print(line, file=file)


@contextmanager
def progress_bar(total: int | None, unit: str, enabled: bool) -> Iterator[ProgressBar]:
    """Show a tqdm bar on stderr (``cli`` extra); do nothing when disabled or not installed.

    ``total=None``: the bar appears at the first update, with its total. The bar
    is removed when the block ends, so lines printed after it start clean.
    """
    make: Callable[[int], Any] | None = None
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            pass  # no bar, and no nag: the cli extra is documented
        else:
            make = partial(_new_bar, tqdm, unit)
    first = make(total) if make is not None and total is not None else None
    progress = ProgressBar(first, make)
    try:
        yield progress
    finally:
        if progress.bar is not None:
            progress.bar.close()


def _new_bar(tqdm: Any, unit: str, total: int) -> Any:
    """Return a tqdm bar of ``total`` on stderr that leaves no line behind when closed."""
    return tqdm(total=total, unit=unit, file=sys.stderr, leave=False)


def show_progress(args: argparse.Namespace) -> bool:
    """Bars only on a terminal, and not with ``--quiet``."""
    return not args.quiet and sys.stderr.isatty()
