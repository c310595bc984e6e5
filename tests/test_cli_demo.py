import numpy as np
from conftest import run
from PIL import Image


def test_demo_writes_pictures(tmp_path):
    done = run("demo", "--out-dir", str(tmp_path / "out"), "--width", "300", "--height", "200")
    assert done.returncode == 0, done.stderr
    for name in ["original", "blurred", "pillow", "comparison", "kernels"]:
        path = tmp_path / "out" / f"{name}.png"
        assert path.exists(), name
        assert str(path) in done.stdout
    orig = Image.open(tmp_path / "out" / "original.png")
    blurred = Image.open(tmp_path / "out" / "blurred.png")
    assert orig.size == blurred.size == (300, 200)
    assert np.abs(np.asarray(orig, int) - np.asarray(blurred, int)).mean() > 1
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_demo_bad_number_is_one_line(tmp_path):
    done = run("demo", "--out-dir", str(tmp_path), "--sigma", "-1")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "sigma" in done.stderr and "Traceback" not in done.stderr
