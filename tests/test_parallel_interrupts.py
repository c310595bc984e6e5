"""The process path under fork, re-entrant callbacks, interrupts and foreign sweeps.

Every test that could hang runs its scenario in a subprocess with a timeout,
and waits on what the child prints, never on a sleep.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np

from pil_parallel_blur import gaussian_blur, testing
from pil_parallel_blur.parallel import shielded

#: Large enough that 2 workers are used whatever the thresholds (~0.1 s of work).
IMAGE = np.random.default_rng(3).integers(0, 256, (900, 700, 3), dtype=np.uint8)


def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_child_forked_during_a_process_call_can_make_its_own():
    """E3: the process-call lock is not inherited held by a forked child."""
    done = _python(
        """
        import os, threading, numpy as np
        from pil_parallel_blur import gaussian_blur, testing
        a = np.random.default_rng(0).integers(0, 256, (400, 300, 3), dtype=np.uint8)
        with testing.parallel_always():
            ref = gaussian_blur(a, 4, n_jobs=1)
            inside, leave = threading.Event(), threading.Event()
            def hold(done, total):
                inside.set()
                leave.wait(60)
            kwargs = dict(n_jobs=2, backend="loky", progress=hold)
            t = threading.Thread(target=gaussian_blur, args=(a, 4), kwargs=kwargs)
            t.start()
            inside.wait(60)
            pid = os.fork()
            if pid == 0:
                with testing.parallel_always():
                    out = gaussian_blur(a, 4, n_jobs=2, backend="multiprocessing")
                os._exit(0 if (out == ref).all() else 3)
            _, status = os.waitpid(pid, 0)
            leave.set()
            t.join()
            print("child", os.waitstatus_to_exitcode(status))
        """,
        timeout=120,
    )
    assert "child 0" in done.stdout, done.stderr[-2000:]


def test_a_progress_callback_may_run_a_process_call_itself():
    """E4: no deadlock when the callback blurs with a process backend (other n_jobs too)."""
    done = _python(
        """
        import numpy as np
        from pil_parallel_blur import gaussian_blur, testing
        a = np.random.default_rng(0).integers(0, 256, (400, 300, 3), dtype=np.uint8)
        with testing.parallel_always():
            ref = gaussian_blur(a, 4, n_jobs=1)
            seen = []
            def nested(done, total):
                seen.append(done)
                if len(seen) == 1:
                    inner = gaussian_blur(a, 4, n_jobs=3, backend="loky")
                    assert (inner == ref).all()
            out = gaussian_blur(a, 4, n_jobs=2, backend="loky", progress=nested)
        print("ok", (out == ref).all(), len(seen) > 1)
        """
    )
    assert "ok True True" in done.stdout, done.stderr[-2000:]


def test_a_slow_callback_does_not_hold_other_threads_process_calls():
    """E4: callbacks run outside the lock: another thread's call finishes meanwhile."""
    other_done = threading.Event()
    calls = []

    def slow(done, total):
        calls.append(done)
        if len(calls) == 1:
            assert other_done.wait(90), "the other thread's call was held by this callback"

    with testing.parallel_always():
        ref = gaussian_blur(IMAGE, 3, n_jobs=1)

        def other():
            out = gaussian_blur(IMAGE, 3, n_jobs=2, backend="loky")
            assert (out == ref).all()
            other_done.set()

        t = threading.Thread(target=other)
        # the other call starts only once this one is calling back (holding nothing)
        first = threading.Event()

        def slow_then_start(done, total):
            if not first.is_set():
                first.set()
                t.start()
            slow(done, total)

        out = gaussian_blur(IMAGE, 3, n_jobs=2, backend="loky", progress=slow_then_start)
        t.join(90)
    assert other_done.is_set() and (out == ref).all()


def test_an_interrupt_leaves_no_worker_and_no_dump(tmp_path):
    """E11: Ctrl-C while the pool starts: the workers and the folder go with the call."""
    done = _python(
        f"""
        import os, signal, threading, multiprocessing.pool, numpy as np
        # Ctrl-C as a terminal's foreground job gets it, whatever this child
        # inherited (a test runner started in the background ignores SIGINT)
        print("inherited", signal.getsignal(signal.SIGINT))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {{signal.SIGINT}})
        from pil_parallel_blur import gaussian_blur, testing
        made = multiprocessing.pool.Pool.__init__
        main = threading.main_thread().ident
        def interrupted(self, *args, **kwargs):
            made(self, *args, **kwargs)
            # lands while the pool is fed; sent to the main thread, where a
            # terminal's Ctrl-C is handled (os.kill lets the kernel pick a thread)
            signal.pthread_kill(main, signal.SIGINT)
        multiprocessing.pool.Pool.__init__ = interrupted
        a = np.zeros((400, 300, 3), np.uint8)
        root = {str(tmp_path)!r}
        try:
            with testing.parallel_always():
                gaussian_blur(a, 3, n_jobs=2, backend="multiprocessing", temp_folder=root)
        except KeyboardInterrupt:
            print("interrupted")
        import multiprocessing
        children = [p for p in multiprocessing.active_children()]
        print("children", len(children))
        print("left", os.listdir(root))
        """
    )
    assert "interrupted" in done.stdout, done.stderr[-2000:]
    assert "children 0" in done.stdout, done.stdout
    assert "left []" in done.stdout, done.stdout


def test_workers_start_with_ctrl_c_blocked_or_ignored():
    """A terminal's Ctrl-C reaches workers still importing: they must not print tracebacks."""
    seen: list[int] = []

    def look(done, total):
        for pid in _children():  # the pool's workers (and loky's resource tracker)
            try:
                with open(f"/proc/{pid}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
            except FileNotFoundError:
                continue
            masks = int(fields["SigBlk"], 16) | int(fields["SigIgn"], 16)
            seen.append(masks >> 1 & 1)  # SIGINT is signal 2: bit 1

    with testing.parallel_always():
        gaussian_blur(IMAGE, 3, n_jobs=2, backend="loky", progress=look)
    assert seen and all(seen), seen


def _children() -> list[int]:
    """This process's child processes (Linux ``/proc``)."""
    pids: list[int] = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
                pids += [int(p) for p in f.read().split()]
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return pids


def test_a_foreign_call_holding_its_lock_is_not_swept(tmp_path):
    """E5: a folder whose name has a dead PID but whose lock is held is left alone."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    held = tmp_path / f"pil-parallel-blur-{dead}-abcd"
    held.mkdir()
    lock = os.open(held / "owner.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)  # as a live call in another PID namespace holds it
    orphan = tmp_path / f"pil-parallel-blur-{dead}-efgh"
    orphan.mkdir()
    (orphan / "owner.lock").write_bytes(b"")  # lock file, no holder: its owner died
    try:
        with testing.parallel_always():
            gaussian_blur(IMAGE, 2, n_jobs=2, backend="loky", temp_folder=str(tmp_path))
        assert held.exists()
        assert not orphan.exists()
    finally:
        os.close(lock)


def test_the_process_lock_is_fresh_after_fork():
    """The lock object a forked child uses is not the parent's (held or not)."""
    before = shielded.PROCESS_CALLS.lock
    with before:
        pid = os.fork()
        if pid == 0:
            fresh = shielded.PROCESS_CALLS.lock
            os._exit(0 if fresh is not before and fresh.acquire(timeout=5) else 1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
