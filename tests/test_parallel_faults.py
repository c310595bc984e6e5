"""The parallel paths under faults: properties, interrupts, dying workers, full disks, a soak."""

import errno
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import joblib
import numpy as np
import pytest
from conftest import assert_spec_accuracy, photo_like, reference_kernel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from pil_parallel_blur import ParallelGaussianFilter, gaussian_blur, testing
from pil_parallel_blur.engine import plan_correlation
from pil_parallel_blur.kernels import from_terms, resolve_kernel
from pil_parallel_blur.parallel import paths

# ---------------------------------------------------------------- properties
MODES = ["L", "LA", "RGB", "RGBA", "CMYK", "I;16", "I;16B", "I", "F"]
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _array_for(mode, h, w, data):
    n = len(Image.new(mode, (1, 1)).tobytes()) * h * w
    raw = data.draw(st.binary(min_size=n, max_size=n)) if n else b""
    im = Image.frombytes(mode, (w, h), raw)
    if mode == "F":  # random bytes are often NaN/inf: use finite floats instead
        values = np.frombuffer(raw, "<i4").astype(np.float32) / 2**16 if n else []
        im = Image.frombytes(mode, (w, h), np.asarray(values, "<f4").tobytes())
    return im


sigmas = st.one_of(
    st.floats(0.3, 6.0),
    st.tuples(st.floats(0.0, 5.0), st.floats(0.0, 5.0)),
)
sizes = st.one_of(
    st.none(),
    st.sampled_from([1, 3, 5, 9, 15]),
    st.tuples(st.sampled_from([1, 3, 7]), st.sampled_from([1, 5, 11])),
)


@given(
    mode=st.sampled_from(MODES),
    h=st.integers(0, 60),
    w=st.integers(0, 30),
    sigma=sigmas,
    size=sizes,
    n_jobs=st.sampled_from([2, 3]),
    backend=st.sampled_from(["threading", "loky", "sequential"]),
    data=st.data(),
)
def test_properties(mode, h, w, sigma, size, n_jobs, backend, data):
    im = _array_for(mode, h, w, data)
    a = np.asarray(im)
    spec = resolve_kernel(size, sigma, allow_zero=True)
    with testing.parallel_always():
        out = im.filter(ParallelGaussianFilter(sigma, size=size, n_jobs=n_jobs, backend=backend))
    serial = im.filter(ParallelGaussianFilter(sigma, size=size, n_jobs=1))
    assert out.tobytes() == serial.tobytes()  # never depends on n_jobs or backend
    b = np.asarray(out)
    kernel = reference_kernel(
        (spec.size_x, spec.size_y), (spec.sigma_x or 1.0, spec.sigma_y or 1.0)
    )
    assert_spec_accuracy(b, a, kernel)
    if a.size:
        lo, hi = a.min(), a.max()
        tol = 1e-5 * max(1.0, float(np.abs(a).max())) if mode == "F" else 0
        assert b.min() >= lo - tol and b.max() <= hi + tol
        const = np.full_like(a, a.flat[0])
        out_const = np.asarray(
            Image.frombytes(mode, im.size, const.tobytes()).filter(
                ParallelGaussianFilter(sigma, size=size, n_jobs=1)
            )
        )
        np.testing.assert_allclose(out_const, const, rtol=1e-6)


# -------------------------------------------------------------------- faults
TALL = photo_like(700, 60, seed=11)


@pytest.mark.usefixtures("parallel_always")
@pytest.mark.filterwarnings("ignore:.*tasks which were still being processed:UserWarning")
@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_keyboard_interrupt_in_parent(tmp_path, backend):
    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        gaussian_blur(
            TALL, sigma=3, n_jobs=2, backend=backend, temp_folder=str(tmp_path), progress=interrupt
        )
    assert list(tmp_path.iterdir()) == []
    out = gaussian_blur(TALL, sigma=3, n_jobs=2, backend=backend, temp_folder=str(tmp_path))
    assert_spec_accuracy(out, TALL, reference_kernel(19, 3.0))


@pytest.mark.usefixtures("parallel_always")
def test_worker_killed_by_a_signal(tmp_path, monkeypatch):
    def die(*args):
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(paths, "_tile_from_files", die)
    with pytest.raises(joblib.externals.loky.process_executor.TerminatedWorkerError):
        gaussian_blur(TALL, sigma=2, n_jobs=2, backend="loky", temp_folder=str(tmp_path))
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    out = gaussian_blur(TALL, sigma=2, n_jobs=2, backend="loky", temp_folder=str(tmp_path))
    assert_spec_accuracy(out, TALL, reference_kernel(13, 2.0))


@pytest.mark.usefixtures("parallel_always")
def test_full_temp_folder_says_where_to_go(tmp_path, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(paths, "dump_image", full)
    with pytest.raises(OSError, match="temp_folder=.*JOBLIB_TEMP_FOLDER") as info:
        gaussian_blur(TALL, sigma=2, n_jobs=2, backend="loky", temp_folder=str(tmp_path))
    assert "No space left" in str(info.value) and str(tmp_path) in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_real_write_failure_of_the_dump(tmp_path):
    """A real failing write (file size limit, EFBIG), not a mock: one message, no files."""
    code = (
        "import resource, signal, sys, numpy as np\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))\n"
        "from pil_parallel_blur import gaussian_blur, parallel, testing\n"
        "_forced = testing.parallel_always(); _forced.__enter__()\n"
        "try:\n"
        "    gaussian_blur(np.zeros((1000, 1000, 3), np.uint8), 2, n_jobs=2, backend='loky',\n"
        "                  temp_folder=sys.argv[1])\n"
        "except OSError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert "cannot write the 6 MB shared copy" in done.stdout, done.stdout + done.stderr
    assert "JOBLIB_TEMP_FOLDER" in done.stdout and "File too large" in done.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("parallel_always")
def test_unusable_temp_root(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("JOBLIB_TEMP_FOLDER", str(not_a_folder))
    with pytest.raises(OSError, match="JOBLIB_TEMP_FOLDER"):
        gaussian_blur(TALL, sigma=2, n_jobs=2, backend="loky")
    assert not_a_folder.read_text() == "x"


@pytest.mark.usefixtures("parallel_always")
def test_temp_folder_that_disappears(tmp_path):
    def remove_it(done, total):
        for child in tmp_path.iterdir():
            for f in child.iterdir():
                f.unlink()
            child.rmdir()

    try:
        out = gaussian_blur(
            TALL, sigma=4, n_jobs=2, backend="loky", temp_folder=str(tmp_path), progress=remove_it
        )
    except (FileNotFoundError, OSError):
        pass  # the tiles not yet started could not open their files: one clear error
    else:  # every tile had its files open already: unlinked files stay readable
        assert_spec_accuracy(out, TALL, reference_kernel(25, 4.0))
    assert list(tmp_path.iterdir()) == []
    out = gaussian_blur(TALL, sigma=2, n_jobs=2, backend="loky", temp_folder=str(tmp_path))
    assert_spec_accuracy(out, TALL, reference_kernel(13, 2.0))


# --------------------------------------------------------------- concurrency
def test_many_threads_filtering_at_once(monkeypatch, parallel_always):
    images = [Image.fromarray(photo_like(150 + 7 * i, 90, seed=i)) for i in range(8)]
    cases = [
        (
            im,
            ParallelGaussianFilter(
                1 + i % 4, n_jobs=1 + i % 3, backend=["threading", "loky", "sequential"][i % 3]
            ),
        )
        for i, im in enumerate(images)
    ]
    expected = [im.filter(ParallelGaussianFilter(f.sigma, n_jobs=1)).tobytes() for im, f in cases]
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def work(i):
        try:
            for _ in range(3):
                im, f = cases[i]
                results[i] = im.filter(f).tobytes()
                assert results[i] == expected[i]
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(results[i] == expected[i] for i in range(len(cases)))


def test_two_processes_share_a_temp_root(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from pil_parallel_blur import gaussian_blur, parallel, testing\n"
        "_forced = testing.parallel_always(); _forced.__enter__()\n"
        "a = np.random.default_rng(int(sys.argv[1])).integers(0, 255, (400, 300, 3), np.uint8)\n"
        "ref = gaussian_blur(a, 2, n_jobs=1)\n"
        "for _ in range(10):\n"
        "    out = gaussian_blur(a, 2, n_jobs=2, backend='loky', temp_folder=sys.argv[2])\n"
        "    assert out.tobytes() == ref.tobytes()\n"
        "print('ok')\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(i), str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and out.strip() == "ok", err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ security
def test_workers_never_unpickle(tmp_path):
    evil = tmp_path / "padded.npy"
    np.save(evil, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    plan = plan_correlation(
        (16, 16, 1), np.dtype(np.uint8), from_terms([(np.ones(1), np.ones(1))])
    )
    with pytest.raises(ValueError, match="allow_pickle|Python objects"):
        paths._tile_from_files(str(evil), str(evil), plan.whole(), plan)


def test_cli_refuses_a_decompression_bomb_by_default(tmp_path):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (10_000, 10_000)).save(bomb)  # 100 MP, a few kB on disk
    assert bomb.stat().st_size < 200_000
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pil_parallel_blur",
            "blur",
            str(bomb),
            "-o",
            str(tmp_path / "out.png"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "limit" in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "out.png").exists()


# ---------------------------------------------------------------------- soak
def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024
    return 0


@pytest.mark.soak
@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_soak_back_to_back(tmp_path, monkeypatch, backend, parallel_always):
    """PIL_BLUR_SOAK images back to back (CI: a small count; -m soak with more by hand)."""
    count = int(os.environ.get("PIL_BLUR_SOAK", "40"))
    images = [Image.fromarray(photo_like(300, 200, seed=i)) for i in range(4)]
    f = ParallelGaussianFilter(2, n_jobs=2, backend=backend, temp_folder=str(tmp_path))
    for im in images:  # warm the pool and the allocator
        im.filter(f)
    fds, rss = len(os.listdir("/proc/self/fd")), _rss()
    for i in range(count):
        images[i % 4].filter(f)
    assert len(os.listdir("/proc/self/fd")) <= fds + 2
    assert _rss() - rss < 40e6, f"RSS grew {(_rss() - rss) / 1e6:.1f} MB over {count} images"
    assert list(Path(tmp_path).iterdir()) == []
