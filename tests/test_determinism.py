"""Determinism by construction: one byte string whatever the backend, workers, BLAS or SIMD.

Also the engine switches: the NumPy fallback (forced by an environment
variable, or when the extension is missing) and ``info()``.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_spec_accuracy, reference_kernel

import pil_parallel_blur as pb
from pil_parallel_blur import engine

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ["threading", "loky", "multiprocessing", "sequential"]

# Blurs a photo with every backend and worker count; prints {sigma: [digests]}.
MATRIX = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np
    from PIL import Image
    from skimage import data
    from pil_parallel_blur import gaussian_blur, parallel, testing
    _forced = testing.parallel_always(); _forced.__enter__()
    height, width = {shape}
    photo = np.asarray(Image.fromarray(data.astronaut()).resize((width, height), Image.BICUBIC))
    out = {{}}
    for sigma in {sigmas}:
        out[sigma] = sorted({{
            hashlib.sha256(gaussian_blur(photo, sigma=sigma, n_jobs=n, backend=b)).hexdigest()
            for b in {backends} for n in (1, 2, 3)
        }})
    print(json.dumps(out))
    """
)


def _run(code: str, env: dict[str, str] | None = None, timeout: int = 600) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _matrix(shape, sigmas, env=None) -> dict[str, list[str]]:
    code = MATRIX.format(shape=shape, sigmas=sigmas, backends=BACKENDS)
    return json.loads(_run(code, env).strip().splitlines()[-1])


@pytest.fixture
def no_threadpoolctl(tmp_path) -> dict[str, str]:
    """An environment in which ``import threadpoolctl`` fails, in workers too."""
    (tmp_path / "threadpoolctl.py").write_text("raise ImportError('hidden by the test')\n")
    return {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}


def test_12mp_photo_one_byte_string_per_sigma(no_threadpoolctl):
    """Every backend × n_jobs 1, 2, 3, with and without threadpoolctl: one result.

    σ 2 and 8 take the direct passes, σ 60 the spectral ones.
    """
    shape, sigmas = (3000, 4000), [2.0, 8.0, 60.0]
    with_tpc = _matrix(shape, sigmas)
    without_tpc = _matrix(shape, sigmas, no_threadpoolctl)
    for sigma in ("2.0", "8.0", "60.0"):
        assert len(with_tpc[sigma]) == 1, with_tpc[sigma]
        assert with_tpc[sigma] == without_tpc[sigma]


def test_the_numpy_engine_is_deterministic_and_gives_the_same_bytes():
    """The fallback, forced by the environment variable, across backends and workers."""
    shape, sigmas = (600, 800), [2.0, 8.0, 80.0]
    native = _matrix(shape, sigmas)
    fallback = _matrix(shape, sigmas, {engine.ENGINE_ENV: "numpy"})
    for sigma in ("2.0", "8.0", "80.0"):
        assert len(fallback[sigma]) == 1
        assert fallback[sigma] == native[sigma]


# Digests of one case per code path of the kernel: float and double compute,
# folded and unfolded taps, several terms, both roundings, offsets, floats.
CASES = textwrap.dedent(
    """
    import hashlib, json
    import numpy as np
    from PIL import Image, ImageFilter
    import pil_parallel_blur as pb
    from pil_parallel_blur import testing
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (700, 530, 3), dtype=np.uint8)
    u16 = rng.integers(0, 65536, (90, 77), dtype=np.uint16)
    f32 = (rng.standard_normal((90, 77, 2)) * 1e3).astype(np.float32)
    i64 = rng.integers(-2**40, 2**40, (60, 50), dtype=np.int64)
    k = rng.integers(-3, 8, (5, 7)).astype(float)
    results = {
        "u8 sigma 2": pb.gaussian_blur(u8, sigma=2, n_jobs=1),
        "u8 sigma (1, 9)": pb.gaussian_blur(u8, sigma=(1.0, 9.0), n_jobs=1),
        "u8 sigma 90 (spectral)": pb.gaussian_blur(u8, sigma=90, n_jobs=1),
        "u16": pb.gaussian_blur(u16, sigma=3, n_jobs=1),
        "f32": pb.gaussian_blur(f32, sigma=2.5, n_jobs=1),
        "i64": pb.gaussian_blur(i64, sigma=1.5, n_jobs=1),
        "correlate": pb.correlate(u8, k / 7, offset=3.0, n_jobs=1),
        "kernel filter": np.asarray(
            Image.fromarray(u8).filter(pb.ParallelKernelFilter(k.tolist(), 9, 1, n_jobs=1))
        ),
    }
    with testing.spectral_always():  # the float64 transform, both passes' finish
        results["u16 spectral"] = pb.gaussian_blur(u16, sigma=3, n_jobs=1)
        with testing.parallel_always():  # float32, tiles of both passes on 3 threads
            results["u8 sigma 12, 3 threads (spectral)"] = pb.gaussian_blur(
                u8, sigma=12, n_jobs=3, backend="threading")
        results["f32 spectral"] = pb.gaussian_blur(f32, sigma=2.5, n_jobs=1)
    print(json.dumps({
        "info": pb.info(),
        "digests": {n: hashlib.sha256(np.ascontiguousarray(r)).hexdigest()
                    for n, r in results.items()},
    }))
    """
)


def _cases(env: dict[str, str]) -> dict:
    return json.loads(_run(CASES, env).strip().splitlines()[-1])


def test_every_simd_level_and_the_numpy_engine_give_the_same_bytes():
    levels = engine.native_module().simd_levels()
    assert "baseline" in levels
    runs = {level: _cases({"PIL_PARALLEL_BLUR_SIMD": level}) for level in levels}
    runs["numpy"] = _cases({engine.ENGINE_ENV: "numpy"})
    for level in levels:
        assert runs[level]["info"]["simd"] == level
    assert runs["numpy"]["info"]["native"] is False
    digests = {name: run["digests"] for name, run in runs.items()}
    assert all(d == digests["baseline"] for d in digests.values()), digests


def test_an_unknown_simd_level_is_refused():
    done = subprocess.run(
        # refused when the engine loads (the package itself loads it on first use)
        [sys.executable, "-c", "import pil_parallel_blur.engine"],
        capture_output=True,
        text=True,
        env={**os.environ, "PIL_PARALLEL_BLUR_SIMD": "avx1024"},
        cwd=ROOT,
    )
    assert done.returncode != 0 and "avx1024" in done.stderr


def test_without_the_extension_one_warning_and_the_numpy_engine(tmp_path):
    code = textwrap.dedent(
        """
        import sys, warnings
        class Missing:
            def find_spec(self, name, path=None, target=None):
                if name == "pil_parallel_blur._native":
                    raise ImportError("no compiled engine in this test")
        sys.meta_path.insert(0, Missing())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import numpy as np
            import pil_parallel_blur as pb
            a = np.arange(600, dtype=np.uint8).reshape(20, 30)
            out = pb.gaussian_blur(a, sigma=2, n_jobs=2)
            pb.gaussian_blur(a, sigma=3, n_jobs=1)
        ours = [str(w.message) for w in caught if "compiled engine" in str(w.message)]
        print(len(ours), pb.info()["native"], pb.info()["engine"])
        print(ours[0])
        np.save(sys.argv[1], out)
        """
    )
    out_path = tmp_path / "out.npy"
    done = subprocess.run(
        [sys.executable, "-c", code, str(out_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    first, message = done.stdout.splitlines()[:2]
    assert first == "1 False numpy"
    assert "pip install" in message and "C compiler" in message
    a = np.arange(600, dtype=np.uint8).reshape(20, 30)
    assert_spec_accuracy(np.load(out_path), a, reference_kernel(13, 2.0))


def test_info_says_what_runs():
    facts = pb.info()
    assert facts["version"] == pb.__version__
    assert facts["native"] is True and facts["engine"] == "native"
    assert facts["simd"] in facts["simd_levels"]
    assert facts["default_backend"] == "threading"
    assert facts["cpus"] >= 1 and facts["joblib_cpus"] >= 1


def test_version_option_prints_the_engine():
    done = subprocess.run(
        [sys.executable, "-m", "pil_parallel_blur", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0
    line = done.stdout.strip()
    assert pb.__version__ in line and f"native ({pb.info()['simd']})" in line
    assert "threading" in line and "CPUs" in line


@pytest.mark.parametrize(("value", "words"), [("native", "ok True"), ("gpu", "ValueError")])
def test_engine_variable_values(value, words):
    done = subprocess.run(
        [sys.executable, "-c", "import pil_parallel_blur as p; print('ok', p.info()['native'])"],
        capture_output=True,
        text=True,
        env={**os.environ, engine.ENGINE_ENV: value},
        cwd=ROOT,
    )
    assert words in done.stdout + done.stderr
