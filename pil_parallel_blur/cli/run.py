"""Running a command: parse, dispatch, and turn every error and signal into one line.

Tests: test_cli_messages.py, test_cli_signals.py.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from typing import Any

from PIL import Image

from .args import build_parser
from .common import PROG, UserError, one_line
from .files import SAVES

__all__ = ["run"]


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we refuse, not warn
    # joblib's advice when an interrupted batch cancels its tasks: not for users
    warnings.filterwarnings("ignore", r".*tasks .*(cancelled|not used)", UserWarning)
    _quiet_resource_tracker()
    previous = _on_sigterm(_raise_terminated)
    SAVES.reopen()  # closed at the end of an earlier batch in this process
    try:
        return int(args.func(args))
    except (UserError, ValueError, TypeError, OSError, ImportError) as e:
        print(f"{PROG}: error: {one_line(e)}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{PROG}: error: not enough memory", file=sys.stderr)
        return 2
    except Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        _on_sigterm(previous)


#: loky's resource tracker, a process of its own, warns as it removes the
#: semaphores of a pool that Ctrl-C stopped while it started: not for users.
_TRACKER_WARNINGS = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"


def _quiet_resource_tracker() -> None:
    """Pass the tracker (started later, with this environment) a filter for its warnings."""
    current = os.environ.get("PYTHONWARNINGS", "")
    if _TRACKER_WARNINGS not in current:
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [current, _TRACKER_WARNINGS]))


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: workers stopped, partial files removed, one line."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _on_sigterm(handler: Any) -> Any:
    """Install a SIGTERM handler (main thread only); return the previous one."""
    if threading.current_thread() is not threading.main_thread() or handler is None:
        return None
    return signal.signal(signal.SIGTERM, handler)
