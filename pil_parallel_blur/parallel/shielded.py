"""Work that must not be cut short by Ctrl-C: run in a helper thread, reported to the caller.

Process pools are started, fed and shut down by a helper thread in which
``SIGINT`` is blocked. Every process it (or a thread it makes) starts inherits
that mask, so a worker still importing when a terminal sends Ctrl-C to the
whole process group neither dies with a traceback nor leaves the pool broken.
The caller's thread only waits for events and hands them to its callback,
holding no lock: a progress callback may be slow, or may itself start another
process-backend call, without stalling or deadlocking anyone.

On an interrupt (or any exception) in the caller's thread, the helper is told
to stop at its next event, and the caller waits for it to finish its clean-up
(pools shut down, files removed) before the interrupt goes on; further
interrupts during that wait are held back, then raised.

Tests: test_parallel_interrupts.py, test_cli_signals.py.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["CancelledError", "Emit", "run_shielded", "PROCESS_CALLS"]

_Result = TypeVar("_Result")
#: What the helper calls to hand an event to the caller's callback.
Emit = Callable[[object], None]


class CancelledError(Exception):
    """Raised in the helper when the caller stopped waiting (interrupt or error)."""


class _ProcessCalls:
    """One process-path call at a time, and a fresh lock in a forked child.

    loky's executor is shared by the whole process: resizing it for one call
    while another call's tasks run deadlocks. A child forked while another
    thread held the lock would inherit it held forever; it gets a new one.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def reset(self) -> None:
        self.lock = threading.Lock()


#: The process-path lock, held by helper threads only (never while a callback runs).
PROCESS_CALLS = _ProcessCalls()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=PROCESS_CALLS.reset)


class _Outcome(Generic[_Result]):
    def __init__(self) -> None:
        self.value: _Result | None = None
        self.error: BaseException | None = None


_DONE = object()


def _block_sigint() -> None:
    """Block SIGINT in this thread (and so in every process and thread it starts)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def run_shielded(
    work: Callable[[Emit, threading.Event], _Result],
    on_event: Callable[[object], None] | None = None,
    *,
    name: str = "pil-parallel-blur-shielded",
) -> _Result:
    """Run ``work(emit, stop)`` in a helper thread with SIGINT blocked; return its result.

    ``emit(event)`` queues an event that ``on_event`` receives in the calling
    thread, in order, while ``work`` goes on. ``work`` should look at ``stop``
    (an ``Event``) between its steps and raise ``CancelledError`` once it is set.
    An exception from ``work`` is raised here; one from ``on_event`` (or an
    interrupt) sets ``stop``, waits for ``work`` to end, then propagates.
    """
    events: queue.SimpleQueue[object] = queue.SimpleQueue()
    stop = threading.Event()
    outcome: _Outcome[_Result] = _Outcome()

    def helper() -> None:
        _block_sigint()
        try:
            outcome.value = work(events.put, stop)
        except BaseException as e:  # handed to the caller
            outcome.error = e
        finally:
            events.put(_DONE)

    thread = threading.Thread(target=helper, name=name, daemon=True)
    thread.start()
    try:
        while True:
            event = events.get()
            if event is _DONE:
                break
            if on_event is not None:
                on_event(event)
    except BaseException:
        stop.set()
        _join_holding_interrupts(thread)
        raise
    thread.join()
    if outcome.error is not None:
        raise outcome.error
    return outcome.value  # type: ignore[return-value]


def _join_holding_interrupts(thread: threading.Thread) -> None:
    """Wait for ``thread``; an interrupt meanwhile is raised once it has ended."""
    held: BaseException | None = None
    while True:
        try:
            thread.join()
            break
        except KeyboardInterrupt as e:  # SIGTERM in the CLI is one too
            held = e
    if held is not None:
        raise held
