import inspect
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    ruff = shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    done = subprocess.run([*cmd, "check", str(ROOT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_public_names_are_typed_and_documented():
    import pil_parallel_blur as pkg

    assert (ROOT / "pil_parallel_blur" / "py.typed").exists()
    for name in pkg.__all__:
        obj = getattr(pkg, name)
        if callable(obj):
            assert obj.__doc__, name
            if inspect.signature(obj).parameters:
                assert "Parameters" in obj.__doc__, name


def test_mypy_clean():
    """Type hints everywhere: every function annotated, and the annotations hold."""
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
