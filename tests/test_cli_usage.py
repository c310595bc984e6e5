"""The command line as a user runs it: -o guards, palettes, EXIF axes, warnings, wide images."""

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import CLI, photo_like, run
from PIL import Image

import pil_parallel_blur as pb
from pil_parallel_blur import ParallelGaussianFilter, gaussian_blur


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for i in range(3):
        Image.fromarray(photo_like(40, 50, seed=i)).save(d / f"im{i}.png")
    return d


@pytest.mark.parametrize(
    "inputs",
    [
        lambda d: [""],  # an unset $IMG
        lambda d: [d],  # a folder
        lambda d: [d / "im0.png", d / "im1.png"],  # several files
    ],
)
def test_output_file_takes_exactly_one_input_file(folder, tmp_path, inputs):
    out = tmp_path / "one.png"
    done = run("blur", *inputs(folder), "-o", out)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--out-dir" in lines[0], done.stderr
    assert not out.exists() and not list(tmp_path.glob("*.png"))


def test_empty_output_path_is_refused(folder):
    done = run("blur", folder / "im0.png", "-o", "")
    assert done.returncode == 2 and "empty" in done.stderr and "--out-dir" in done.stderr


def test_a_failed_run_leaves_no_new_folder(tmp_path):
    target = tmp_path / "x"
    done = run("blur", tmp_path / "missing", "--out-dir", target)
    assert done.returncode == 2 and not target.exists()
    (tmp_path / "bad.png").write_bytes(b"not an image")
    done = run("blur", tmp_path / "bad.png", "--out-dir", target)
    assert done.returncode == 2 and not target.exists()
    assert done.stderr.count("bad.png") == 1


def _palette_gif(path):
    Image.fromarray(photo_like(40, 60, seed=3)).convert("P", palette=Image.ADAPTIVE).save(path)


def test_palette_and_bilevel_inputs_are_blurred(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _palette_gif(src / "anim.gif")
    rgba = Image.fromarray(photo_like(30, 30, channels=4, seed=1), "RGBA")
    rgba.convert("P").save(src / "pal.png", transparency=0)
    Image.fromarray(photo_like(30, 40, channels=1, seed=2) > 128).save(src / "bw.png")
    out = tmp_path / "out"
    done = run("blur", src, "--out-dir", out, "--sigma", 1)
    assert done.returncode == 0, done.stderr
    gif = Image.open(out / "anim.gif")
    assert gif.format == "GIF" and gif.mode == "P"  # re-quantised
    assert Image.open(out / "pal.png").mode == "RGBA"
    bw = Image.open(out / "bw.png")
    assert bw.mode == "L" and len(np.unique(np.asarray(bw))) > 2  # blurred, grey levels
    original = np.asarray(Image.open(src / "anim.gif").convert("RGB"), dtype=float)
    blurred = np.asarray(gif.convert("RGB"), dtype=float)
    assert np.abs(np.diff(blurred, axis=1)).mean() < np.abs(np.diff(original, axis=1)).mean()


def test_refuse_palette_keeps_the_refusal_with_the_file_named_once(tmp_path):
    _palette_gif(tmp_path / "a.gif")
    Image.fromarray(photo_like(20, 20)).save(tmp_path / "b.png")
    out = tmp_path / "out"
    done = run(
        "blur", tmp_path / "a.gif", tmp_path / "b.png", "--out-dir", out, "--refuse-palette"
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].count("a.gif") == 1 and "palette" in errors[0]
    assert "image.convert" not in done.stderr  # no Python advice on the command line
    assert (out / "b.png").exists() and not (out / "a.gif").exists()


def test_every_batch_error_names_its_file_once(tmp_path):
    good = Image.fromarray(photo_like(30, 30))
    good.save(tmp_path / "ok.png")
    good.save(tmp_path / "cut.png")
    data = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])  # truncated
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    done = run("blur", tmp_path, "--out-dir", tmp_path / "out")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 2
    for name in ("cut.png", "junk.jpg"):
        assert sum(line.count(name) for line in errors) == 1, errors


def test_dask_without_dask_fails_at_construction(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    hint = r"pip install 'pil-parallel-blur\[dask\]'"
    with pytest.raises(ImportError, match=hint):
        ParallelGaussianFilter(2, backend="dask")
    with pytest.raises(ImportError, match=hint):
        gaussian_blur(np.zeros((4, 4), np.uint8), sigma=1, backend="dask")


def test_cli_dask_without_dask_is_one_install_line(tmp_path):
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "distributed.py").write_text("raise ImportError('hidden')\n")
    (hide / "sitecustomize.py").write_text(
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n == 'distributed' else real(n, *a)\n"
    )
    Image.fromarray(photo_like(20, 20)).save(tmp_path / "a.png")
    done = subprocess.run(
        [*CLI, "blur", tmp_path / "a.png", "-o", tmp_path / "b.png", "--backend", "dask"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(hide)},
    )
    assert done.returncode == 2
    assert "pil-parallel-blur[dask]" in done.stderr and "Traceback" not in done.stderr


def test_jobs_above_the_cpus_warns_once(folder, tmp_path):
    done = run("blur", folder / "im0.png", "-o", tmp_path / "o.png", "--jobs", 64)
    assert done.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "64" in warnings[0] and "CPUs" in warnings[0]


def test_version_and_engine(tmp_path):
    done = run("--version")
    assert done.returncode == 0 and pb.__version__ in done.stdout and "engine" in done.stdout


def _rotated_png(path, orientation):
    im = Image.fromarray(photo_like(40, 60, seed=8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(path, exif=exif)
    return im


@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_sigma_pairs_are_as_the_viewer_sees_the_photo(tmp_path, orientation):
    from PIL import ImageOps

    src = tmp_path / "photo.png"
    _rotated_png(src, orientation)
    out = tmp_path / "out.png"
    done = run("blur", src, "-o", out, "--sigma", "0,3")
    assert done.returncode == 0, done.stderr
    result = ImageOps.exif_transpose(Image.open(out))
    assert result.getexif().get(0x0112, 1) == 1
    viewed = np.asarray(ImageOps.exif_transpose(Image.open(src)))
    want = gaussian_blur(viewed, sigma=(0, 3), n_jobs=1)  # vertical blur, as seen
    got = np.asarray(result)
    assert np.abs(got.astype(int) - want).max() <= 1
    assert (got == want).mean() > 0.999
    assert Image.open(out).getexif().get(0x0112, 1) == orientation  # metadata kept


def test_demo_takes_a_sigma_pair(tmp_path):
    done = run(
        "demo", "--sigma", "2,3", "--out-dir", tmp_path / "demo", "--width", 300, "--height", 200
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and (tmp_path / "demo" / "comparison.png").exists()


def test_a_long_single_row_stays_small_in_memory():
    """A 3 M-sample row: the peak grows by a few times the row, not by gigabytes."""
    code = (
        "import resource, numpy as np\n"
        "from pil_parallel_blur import gaussian_blur\n"
        "a = np.random.default_rng(0).integers(0, 256, (1, 3_000_000), dtype=np.uint8)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "out = gaussian_blur(a, sigma=2)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) < 100  # MB; it was 5.5 GB for 30 M samples


def test_a_very_wide_image_through_the_command_line(tmp_path):
    """Rows of 270 000 bytes (more than Pillow's 256 KiB encoder chunk)."""
    src, out = tmp_path / "wide.png", tmp_path / "out.png"
    a = photo_like(24, 90_000, seed=5)
    Image.fromarray(a).save(src)
    done = run("blur", src, "-o", out, "--sigma", 2, "--size", 7)
    assert done.returncode == 0, done.stderr
    want = gaussian_blur(a, sigma=2, size=7, n_jobs=1)
    assert np.array_equal(np.asarray(Image.open(out)), want)
