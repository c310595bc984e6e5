"""The same filter on a real dask.distributed cluster (processes on 127.0.0.1)."""

import os
import signal
import subprocess
import sys

import distributed
import joblib
import numpy as np
import pytest
from conftest import assert_spec_accuracy, photo_like, reference_kernel, wait_for
from PIL import Image

from pil_parallel_blur import ParallelGaussianFilter, ParallelKernelFilter, gaussian_blur


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


IMAGE = photo_like(600, 500, seed=3)


@pytest.mark.usefixtures("parallel_always")
def test_explicit_backend_and_parallel_config_match_local(client):
    local = gaussian_blur(IMAGE, sigma=3, n_jobs=1)
    remote = gaussian_blur(IMAGE, sigma=3, backend="dask")
    assert remote.tobytes() == local.tobytes()
    with joblib.parallel_config(backend="dask"):
        out = Image.fromarray(IMAGE).filter(ParallelGaussianFilter(3))
    assert out.tobytes() == Image.fromarray(local).tobytes()
    k = np.random.default_rng(0).integers(-2, 5, (5, 5))
    with joblib.parallel_config(backend="dask"):
        general = Image.fromarray(IMAGE).filter(ParallelKernelFilter(k))
    assert (
        general.tobytes()
        == Image.fromarray(IMAGE).filter(ParallelKernelFilter(k, n_jobs=1)).tobytes()
    )


@pytest.mark.usefixtures("parallel_always")
def test_large_sigma_ships_columns_then_rows_and_matches_local(client):
    """σ 90 goes through the FFT: column strips, then row stripes, travel to the workers."""
    local = gaussian_blur(IMAGE, sigma=90, n_jobs=1)
    remote = gaussian_blur(IMAGE, sigma=90, backend="dask")
    assert remote.tobytes() == local.tobytes()
    gray = IMAGE[..., 0]
    assert (
        gaussian_blur(gray, sigma=90, backend="dask").tobytes()
        == gaussian_blur(gray, sigma=90, n_jobs=1).tobytes()
    )


@pytest.mark.usefixtures("parallel_always")
def test_killed_worker_mid_run_is_recovered_or_reported(client):
    big = photo_like(1500, 1000, seed=4)
    local = gaussian_blur(big, sigma=8, n_jobs=1)
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_after_first_tile(done, total):
        if not killed:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(done)

    try:
        out = gaussian_blur(big, sigma=8, backend="dask", progress=kill_after_first_tile)
    except Exception as e:  # a clean, single error is the other allowed outcome
        assert "Traceback" not in str(e)
    else:
        assert out.tobytes() == local.tobytes()
    assert killed
    client.wait_for_workers(2, timeout=60)


def test_without_a_client_the_error_says_what_to_do():
    code = (
        "import numpy as np; from pil_parallel_blur import gaussian_blur, parallel, testing\n"
        "_forced = testing.parallel_always(); _forced.__enter__()\n"
        "try:\n"
        "    gaussian_blur(np.zeros((300, 300, 3), np.uint8), 2, backend='dask')\n"
        "except ValueError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "running dask.distributed Client" in done.stdout, done.stderr


def test_without_dask_installed_the_error_is_one_install_hint(monkeypatch, parallel_always):
    monkeypatch.delitem(joblib.parallel.BACKENDS, "dask", raising=False)

    def missing():
        raise ImportError("no dask")

    monkeypatch.setitem(joblib.parallel.EXTERNAL_BACKENDS, "dask", missing)
    with pytest.raises(ImportError, match=r"pip install 'pil-parallel-blur\[dask\]'"):
        gaussian_blur(IMAGE, sigma=2, backend="dask")


def _cli(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "pil_parallel_blur", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_batch_on_the_cluster(client, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        Image.fromarray(photo_like(80, 90, seed=i)).save(src / f"p{i}.png")
    (src / "broken.png").write_text("nope")
    proc = _cli(
        "blur",
        src,
        "--out-dir",
        tmp_path / "out",
        "--scheduler",
        client.scheduler.address,
        "--sigma",
        2,
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    error, summary = err.splitlines()
    assert "broken.png" in error and summary.startswith("pil-parallel-blur: 6 done, 1 failed")
    for i in range(6):
        assert_spec_accuracy(
            np.asarray(Image.open(tmp_path / "out" / f"p{i}.png")),
            photo_like(80, 90, seed=i),
            reference_kernel(13, 2.0),
        )


def test_cli_batch_survives_a_killed_worker(client, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(12):
        Image.fromarray(photo_like(400, 300, seed=i)).save(src / f"p{i}.png")
    out_dir = tmp_path / "out"
    proc = _cli(
        "blur", src, "--out-dir", out_dir, "--scheduler", client.scheduler.address, "--sigma", 6
    )
    wait_for(lambda: out_dir.exists() and any(out_dir.iterdir()), "the first image written")
    pids = list(client.run(os.getpid).values())
    os.kill(pids[-1], signal.SIGKILL)
    _, err = proc.communicate(timeout=180)
    client.wait_for_workers(2, timeout=60)
    names = sorted(p.name for p in out_dir.iterdir())
    assert not [n for n in names if n.startswith(".")], names  # no partial files
    if proc.returncode == 0:
        assert len(names) == 12
    else:  # failed images are reported, one line each, and not written
        assert proc.returncode == 1 and "Traceback" not in err
    for name in names:
        i = int(name[1:-4])
        assert_spec_accuracy(
            np.asarray(Image.open(out_dir / name)),
            photo_like(400, 300, seed=i),
            reference_kernel(37, 6.0),
        )


def test_cli_unreachable_scheduler_is_one_line(tmp_path):
    Image.fromarray(photo_like(20, 20)).save(tmp_path / "a.png")
    proc = _cli(
        "blur",
        tmp_path / "a.png",
        "--out-dir",
        tmp_path / "o",
        "--scheduler",
        "tcp://127.0.0.1:1",
        "--scheduler-timeout",
        1,
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().count("\n") == 0 and "scheduler" in err
