"""The workers' life: fork, the one thread pool, interpreter exit, private results, dumps."""

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import threadpoolctl
from conftest import photo_like
from PIL import Image

from pil_parallel_blur import ParallelGaussianFilter, gaussian_blur

ROOT = Path(__file__).resolve().parents[1]
IMAGE = photo_like(400, 300, seed=3)


def _python(code: str, timeout: int = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **env},
    )


def test_a_blur_in_a_forked_child_after_the_pool_was_used():
    done = _python(
        """
        import os, numpy as np
        from pil_parallel_blur import gaussian_blur, parallel, testing
        _forced = testing.parallel_always(); _forced.__enter__()
        a = np.random.default_rng(0).integers(0, 256, (300, 200, 3), dtype=np.uint8)
        want = gaussian_blur(a, sigma=2, n_jobs=2, backend="threading")
        pid = os.fork()
        if pid == 0:
            ok = (gaussian_blur(a, sigma=2, n_jobs=2, backend="threading") == want).all()
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
        """,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "child 0" in done.stdout


def test_one_bounded_pool_whatever_the_n_jobs(monkeypatch, parallel_always):
    before = threading.active_count()
    for n in range(2, 9):
        gaussian_blur(IMAGE, sigma=2, n_jobs=n, backend="threading")
    ours = [t for t in threading.enumerate() if t.name.startswith("pil-parallel-blur")]
    assert len(ours) <= 7  # the largest n_jobs - 1 helpers, never one pool per n_jobs
    assert threading.active_count() - before <= 7


def test_a_thread_that_outlives_main_still_blurs():
    done = _python(
        """
        import threading, time, numpy as np
        from pil_parallel_blur import gaussian_blur, parallel, testing
        _forced = testing.parallel_always(); _forced.__enter__()
        a = np.random.default_rng(0).integers(0, 256, (600, 400, 3), dtype=np.uint8)
        want = gaussian_blur(a, sigma=3, n_jobs=1)
        def late():
            threading.main_thread().join()  # main has returned: the interpreter is ending
            for _ in range(3):
                out = gaussian_blur(a, sigma=3, n_jobs=2, backend="threading")
                assert (out == want).all()
            print("late thread ok", flush=True)
        threading.Thread(target=late).start()
        """,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "late thread ok" in done.stdout and "RuntimeError" not in done.stderr


@pytest.mark.parametrize("backend", ["loky", "multiprocessing"])
def test_process_results_are_private_arrays(tmp_path, monkeypatch, backend, parallel_always):
    out = gaussian_blur(IMAGE, sigma=2, n_jobs=2, backend=backend, temp_folder=str(tmp_path))
    owner = out
    while owner.base is not None:  # nothing underneath is a mapping of a file
        assert not isinstance(owner, np.memmap)
        owner = owner.base
    assert isinstance(owner, np.ndarray) and not isinstance(owner, np.memmap)
    assert np.array_equal(pickle.loads(pickle.dumps(out)), out)
    assert list(tmp_path.iterdir()) == []


def test_folders_of_dead_processes_are_swept(tmp_path, monkeypatch, parallel_always):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    orphan = tmp_path / f"pil-parallel-blur-{dead}-abcd"
    orphan.mkdir()
    (orphan / "image.npy").write_bytes(b"x" * 1000)
    alive = tmp_path / f"pil-parallel-blur-{os.getppid()}-efgh"
    alive.mkdir()
    other = tmp_path / "someone-else"
    other.mkdir()
    gaussian_blur(IMAGE, sigma=2, n_jobs=2, backend="loky", temp_folder=str(tmp_path))
    assert not orphan.exists()
    assert alive.exists() and other.exists()


@pytest.mark.parametrize("signame", ["SIGKILL", "SIGTERM"])
def test_a_killed_parent_leaves_a_dump_the_next_call_removes(
    tmp_path, monkeypatch, signame, parallel_always
):
    code = """
        import numpy as np
        from pil_parallel_blur import gaussian_blur, testing
        from pil_parallel_blur.parallel import paths
        _forced = testing.parallel_always(); _forced.__enter__()
        def stop_here(*args, **kwargs):
            print("dumped", flush=True)
            import os, signal
            os.kill(os.getpid(), signal.{signame})
        paths._compute = stop_here
        a = np.zeros((300, 200, 3), np.uint8)
        gaussian_blur(a, sigma=2, n_jobs=2, backend="loky", temp_folder={root!r})
        """
    done = _python(code.format(root=str(tmp_path), signame=signame), timeout=60)
    assert "dumped" in done.stdout and done.returncode == -getattr(signal, signame)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("pil-parallel-blur-")]
    gaussian_blur(IMAGE, sigma=2, n_jobs=2, backend="loky", temp_folder=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_interpreter_exit_with_a_blur_in_flight_leaves_no_dump(tmp_path):
    code = """
        import threading, numpy as np
        from pil_parallel_blur import gaussian_blur, parallel, testing
        _forced = testing.parallel_always(); _forced.__enter__()
        a = np.random.default_rng(0).integers(0, 256, (2000, 1500, 3), dtype=np.uint8)
        in_flight = threading.Event()
        def work():
            while True:
                gaussian_blur(a, sigma=6, n_jobs=2, backend="loky", temp_folder={root!r},
                              progress=lambda done, total: in_flight.set())
        threading.Thread(target=work, daemon=True).start()
        assert in_flight.wait(120)  # a call has its dump and workers: exit now
        """
    done = _python(code.format(root=str(tmp_path)), timeout=120)
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_concurrent_calls_keep_the_serial_bytes_and_blas_settings():
    before = [(i["prefix"], i["num_threads"]) for i in threadpoolctl.threadpool_info()]
    images = [Image.fromarray(photo_like(150 + 9 * i, 120, seed=i)) for i in range(12)]
    serial = [im.filter(ParallelGaussianFilter(2, n_jobs=1)).tobytes() for im in images]
    results: dict[int, bytes] = {}

    def work(i: int) -> None:
        results[i] = images[i].filter(ParallelGaussianFilter(2, n_jobs=2)).tobytes()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [results[i] for i in range(12)] == serial
    after = [(i["prefix"], i["num_threads"]) for i in threadpoolctl.threadpool_info()]
    assert after == before


def test_concurrent_loky_calls_with_different_n_jobs_complete():
    done = _python(
        """
        import threading, numpy as np
        from pil_parallel_blur import gaussian_blur, parallel, testing
        _forced = testing.parallel_always(); _forced.__enter__()
        a = np.random.default_rng(0).integers(0, 256, (500, 300, 3), dtype=np.uint8)
        want = gaussian_blur(a, sigma=2, n_jobs=1).tobytes()
        bad = []
        def work(n):
            for _ in range(3):
                if gaussian_blur(a, sigma=2, n_jobs=n, backend="loky").tobytes() != want:
                    bad.append(n)
        threads = [threading.Thread(target=work, args=(n,)) for n in (2, 3, 2, 3)]
        for t in threads: t.start()
        for t in threads: t.join()
        print("done", bad)
        """,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "done []" in done.stdout


def test_a_loky_worker_killed_while_idle_does_not_fail_the_next_call(parallel_always):
    import signal

    def loky_workers() -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid() and b"loky" in cmd and b"resource_tracker" not in cmd:
                pids.append(int(entry.name))
        return pids

    want = gaussian_blur(IMAGE, sigma=2, n_jobs=1)
    for _ in range(4):
        gaussian_blur(IMAGE, sigma=2, n_jobs=2, backend="loky")
        workers = loky_workers()
        assert workers
        for pid in workers:  # kill the idle workers
            os.kill(pid, signal.SIGKILL)
        out = gaussian_blur(IMAGE, sigma=2, n_jobs=2, backend="loky")
        assert np.array_equal(out, want)
