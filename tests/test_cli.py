"""The real command in a subprocess: exit codes, files written, stderr."""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SUMMARY, assert_spec_accuracy, photo_like, reference_kernel, run
from PIL import Image, ImageCms

#: The console script pip installed beside this interpreter (a venv's bin need not be on PATH).
EXE = shutil.which("pil-parallel-blur", path=os.path.dirname(sys.executable)) or shutil.which(
    "pil-parallel-blur"
)


def one_error_line(done, *words):
    """The error lines of a run (the batch's summary line, checked here, left out)."""
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    for w in words:
        assert w in done.stderr, done.stderr
    summaries = [line for line in lines if SUMMARY.match(line)]
    assert len(summaries) <= 1, lines
    return [line for line in lines if not SUMMARY.match(line)]


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "in.png"
    Image.fromarray(photo_like(90, 120)).save(path)
    return path


def test_console_script_is_installed():
    assert EXE, f"pip install should put pil-parallel-blur beside {sys.executable}"
    done = subprocess.run([EXE, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "blur" in done.stdout


def test_blur_one_file(photo, tmp_path):
    out = tmp_path / "out.png"
    done = run("blur", photo, "-o", out, "--sigma", 3, "--jobs", 2)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    src = np.asarray(Image.open(photo))
    res = np.asarray(Image.open(out))
    assert_spec_accuracy(res, src, reference_kernel(19, 3.0))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_anisotropic_and_size_options(photo, tmp_path):
    out = tmp_path / "out.png"
    done = run("blur", photo, "-o", out, "--radius", "1,2.5", "--size", "5,9")
    assert done.returncode == 0, done.stderr
    assert_spec_accuracy(
        np.asarray(Image.open(out)),
        np.asarray(Image.open(photo)),
        reference_kernel((5, 9), (1.0, 2.5)),
    )


def test_keeps_format_exif_icc_dpi(tmp_path):
    src = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(photo_like(64, 80)).save(src, exif=exif, icc_profile=icc, dpi=(300, 300))
    out_dir = tmp_path / "out"
    done = run("blur", src, "--out-dir", out_dir, "--quality", 90)
    assert done.returncode == 0, done.stderr
    res = Image.open(out_dir / "photo.jpg")
    assert res.format == "JPEG"
    assert res.getexif()[0x010F] == "TestCam"
    assert res.info["icc_profile"] == icc
    assert tuple(round(v) for v in res.info["dpi"]) == (300, 300)


def test_output_format_from_extension(photo, tmp_path):
    out = tmp_path / "out.tiff"
    assert run("blur", photo, "-o", out).returncode == 0
    assert Image.open(out).format == "TIFF"


def test_batch_with_bad_files(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(photo_like(40, 50, seed=i)).save(folder / f"good{i}.png")
    (folder / "fake.png").write_text("not an image")
    buf = io.BytesIO()
    Image.fromarray(photo_like(200, 200)).save(buf, format="PNG")
    (folder / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    Image.new("P", (10, 10)).save(folder / "palette.png")
    out_dir = tmp_path / "out"
    done = run("blur", folder, "--out-dir", out_dir, "--jobs", 2)
    assert done.returncode == 1
    lines = one_error_line(done, "fake.png", "truncated.png")
    assert len(lines) == 2, lines  # the palette image is blurred (as RGB), not refused
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["good0.png", "good1.png", "good2.png", "palette.png"]
    for i in range(3):
        assert_spec_accuracy(
            np.asarray(Image.open(out_dir / f"good{i}.png")),
            np.asarray(Image.open(folder / f"good{i}.png")),
            reference_kernel(13, 2.0),
        )


def test_batch_with_loky_backend(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(photo_like(30, 40, seed=i)).save(folder / f"g{i}.png")
    done = run("blur", folder, "--out-dir", tmp_path / "o", "--backend", "loky", "--jobs", 2)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "o").iterdir())) == 4


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["blur", "missing.png", "-o", "x.png"], ["missing.png", "no such file"]),
        (["blur", "in.png", "-o", "x.png", "--sigma", "-1"], ["sigma"]),
        (["blur", "in.png", "-o", "x.png", "--size", "4"], ["size", "odd"]),
        (["blur", "in.png", "-o", "x.png", "--sigma", "abc"], ["--sigma", "abc"]),
        (["blur", "in.png", "-o", "x.png", "--jobs", "0"], ["n_jobs"]),
        (["blur", "in.png", "-o", "x.png", "--backend", "gpu"], ["backend"]),
        (["blur", "in.png", "-o", "x.png", "--quality", "101"], ["quality"]),
        (["blur", "in.png"], ["--out-dir"]),
        (["blur", "in.png", "-o", "nodir/x.png"], ["nodir", "does not exist"]),
        (["blur", "in.png", "-o", "x.xyz"], ["unknown image extension"]),
        (["blur", "in.png", "--out-dir", "in.png"], ["in.png"]),
        (["blur", "in.png", "-o", "in.png"], ["overwrite the input"]),
        (["blur", "in.png", "-o", "x.png", "--max-pixels", "100"], ["limit", "--max-pixels"]),
        (["blur", "in.png", "-o", "x.jpg", "--sigma", "0"], []),
        (["bench", "in.png", "--jobs", "0"], ["--jobs"]),
    ],
)
def test_bad_input_is_one_line(photo, args, words):
    cwd = photo.parent
    if args[-1] == "0" and args[-2] == "--sigma":  # a control: this one is fine
        assert run(*args, cwd=cwd).returncode == 0
        return
    before = sorted(p.name for p in cwd.iterdir())
    done = run(*args, cwd=cwd)
    assert done.returncode == 2, done
    lines = one_error_line(done, *words)
    assert len(lines) == 1, lines
    assert lines[0].startswith("pil-parallel-blur")
    assert sorted(p.name for p in cwd.iterdir()) == before  # nothing written


def test_unwritable_mode_is_refused_before_blurring_and_leaves_no_file(tmp_path):
    src = tmp_path / "f.tiff"
    Image.fromarray(np.random.default_rng(0).random((20, 20)).astype(np.float32)).save(src)
    done = run("blur", src, "-o", tmp_path / "f.jpg")
    assert done.returncode == 2
    (_line,) = one_error_line(done, "JPEG cannot hold mode 'F'", "f.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.tiff"]


def test_existing_output_and_overwrite(photo, tmp_path):
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    done = run("blur", photo, "-o", out)
    assert done.returncode == 2 and "--overwrite" in done.stderr
    assert out.read_bytes() == b"old"
    assert run("blur", photo, "-o", out, "--overwrite").returncode == 0
    assert Image.open(out).size == (120, 90)
    before = photo.read_bytes()
    assert run("blur", photo, "-o", photo, "--overwrite").returncode == 0
    assert photo.read_bytes() != before


def test_outputs_stay_in_out_dir(tmp_path):
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    Image.fromarray(photo_like(20, 20)).save(deep / "x.png")
    out_dir = tmp_path / "out"
    done = run("blur", "../b/x.png", "--out-dir", out_dir, cwd=deep)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in out_dir.iterdir()] == ["x.png"]


def test_bench_writes_table_csv_json_plot(photo, tmp_path):
    files = {k: tmp_path / f"b.{k}" for k in ("csv", "json")} | {"plot": tmp_path / "b.png"}
    done = run(
        "bench",
        photo,
        "--jobs",
        "1,2",
        "--reps",
        1,
        "--sigma",
        1.5,
        *[x for k, p in files.items() for x in (f"--{k}", p)],
    )
    assert done.returncode == 0, done.stderr
    assert "workers" in done.stdout and "Pillow" in done.stdout
    data = json.loads(files["json"].read_text())
    assert [r["workers"] for r in data["rows"]] == [1, 2]
    assert all(r["median_s"] > 0 for r in data["rows"])
    assert files["csv"].read_text().splitlines()[0] == "workers,median_s,speedup,vs_pillow"
    assert Image.open(files["plot"]).format == "PNG"


@pytest.mark.parametrize("command", ["blur", "demo", "bench"])
def test_help_lists_options_with_defaults(command):
    done = run(command, "--help")
    assert done.returncode == 0
    text = done.stdout
    for option in ["--sigma", "--size", "--jobs", "--backend"]:
        assert option in text
    assert "default" in text
    if command == "blur":
        for option in ["--quality", "--overwrite", "--max-pixels", "--quiet", "--out-dir"]:
            assert option in text


def test_no_progress_bar_when_not_a_terminal(photo, tmp_path):
    done = run("blur", photo, "-o", tmp_path / "o.png")
    assert done.stderr == ""
    assert os.path.exists(tmp_path / "o.png")


def test_output_has_ordinary_permissions(photo, tmp_path):
    out = tmp_path / "perm.png"
    assert run("blur", photo, "-o", out).returncode == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
