"""What the command line says: one line for every error, signal and bad setting.

Subprocesses for what a user runs; ``cli.main`` in-process where a fault must
be injected (a Pillow plugin that raises what corrupt files made plugins raise).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest
from conftest import CLI, photo_like, run
from PIL import Image

from pil_parallel_blur.cli import main


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("PIL_PARALLEL_BLUR_ENGINE", "bogus", ["PIL_PARALLEL_BLUR_ENGINE", "'native', 'numpy'"]),
        ("PIL_PARALLEL_BLUR_SIMD", "avx9", ["PIL_PARALLEL_BLUR_SIMD", "baseline"]),
    ],
)
def test_a_bad_environment_variable_is_one_line(name, value, words):
    done = subprocess.run(
        [*CLI, "--version"],
        capture_output=True,
        text=True,
        env={**os.environ, name: value},
        timeout=120,
    )
    assert done.returncode == 2
    (line,) = _lines(done.stderr)
    assert line.startswith("pil-parallel-blur: error:") and value in line
    for word in words:
        assert word in line


def test_ctrl_c_while_the_program_loads_is_one_line():
    """A Ctrl-C that lands while NumPy is imported: the command's first half-second."""
    code = textwrap.dedent(
        """
        import sys

        class CtrlC:
            def find_spec(self, name, path=None, target=None):
                if name == "numpy":
                    raise KeyboardInterrupt
                return None

        sys.meta_path.insert(0, CtrlC())
        from pil_parallel_blur.cli import main
        sys.exit(main(["--version"]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 130
    assert _lines(done.stderr) == ["pil-parallel-blur: interrupted"], done.stderr


def test_output_that_is_a_folder_says_so_and_points_to_out_dir(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(photo_like(20, 30)).save(src)
    folder = tmp_path / "existing"
    folder.mkdir()
    for extra in ([], ["--overwrite"]):
        done = run("blur", src, "-o", folder, *extra)
        assert done.returncode == 2
        (line,) = _lines(done.stderr)
        assert "is a folder" in line and "--out-dir" in line, line
        assert "Errno" not in line


def test_backend_dask_without_a_scheduler_points_to_the_option(tmp_path):
    pytest.importorskip("distributed")
    src = tmp_path / "in.png"
    Image.fromarray(photo_like(20, 30)).save(src)
    done = run("blur", src, "-o", tmp_path / "o.png", "--backend", "dask")
    assert done.returncode == 2
    (line,) = _lines(done.stderr)
    assert "--scheduler" in line and "Client(" not in line


def test_an_unreachable_scheduler_leaves_no_output_folder(tmp_path):
    pytest.importorskip("distributed")
    src = tmp_path / "in.png"
    Image.fromarray(photo_like(20, 30)).save(src)
    out = tmp_path / "new-folder"
    done = run(
        "blur",
        src,
        "--out-dir",
        out,
        "--scheduler",
        "tcp://127.0.0.1:9",
        "--scheduler-timeout",
        "1",
    )
    assert done.returncode == 2
    assert not out.exists()
    assert len(_lines(done.stderr)) == 1, done.stderr


def test_no_progress_bar_without_tqdm_and_no_nag(monkeypatch, capsys):
    from pil_parallel_blur.cli.progress import progress_bar

    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails: not installed
    with progress_bar(10, "image", True) as bar:
        bar.update(5, 10)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_bench_on_a_sixteen_bit_image_says_pillow_cannot(tmp_path):
    src = tmp_path / "c16.png"
    Image.fromarray(photo_like(30, 40, channels=1).astype(np.uint16) * 200).save(src)
    done = run("bench", src, "--reps", 1, "--jobs", "1")
    assert done.returncode == 0, done.stderr
    assert "nan" not in done.stdout
    assert "Pillow cannot blur mode 'I;16'" in done.stdout
    assert "1 run after" in done.stdout and "1 runs" not in done.stdout


def test_bench_takes_a_gif(tmp_path):
    src = tmp_path / "p.gif"
    Image.fromarray(photo_like(30, 40)).convert("P").save(src)
    done = run("bench", src, "--reps", 2, "--jobs", "1")
    assert done.returncode == 0, done.stderr
    assert "÷ Pillow" in done.stdout and "2 runs after" in done.stdout


def _magic(ext: str) -> bytes:
    """Eight bytes that start this fake format's files (Pillow reads 16 to identify one)."""
    return b"BRK" + format(zlib.crc32(ext.encode()) % 10**5, "05d").encode()


def _register_broken_format(ext: str, error: BaseException, when: str) -> None:
    """A Pillow format whose files raise ``error`` when opened or decoded (as corrupt DDS did)."""
    from PIL import ImageFile

    class Broken(ImageFile.ImageFile):
        format = f"BROKEN{ext.upper()}"

        def _open(self):
            if when == "open":
                raise error
            self._size = (8, 8)
            self._mode = "L"
            self.tile = []

        def load(self):
            if when == "load":
                raise error
            return super().load()

    magic = _magic(ext)
    Image.register_open(Broken.format, Broken, lambda prefix: prefix.startswith(magic))
    Image.register_extension(Broken.format, f".{ext}")


@pytest.mark.parametrize(
    ("error", "when", "words"),
    [
        (NotImplementedError("unsupported pixel format"), "open", "NotImplementedError"),
        (AttributeError("'NoneType' has no 'read'"), "load", "AttributeError"),
        (MemoryError(), "load", "not enough memory"),
    ],
)
def test_any_error_reading_one_file_is_its_line_and_the_batch_goes_on(
    tmp_path, capsys, error, when, words
):
    ext = f"brk{when}{type(error).__name__.lower()}"
    _register_broken_format(ext, error, when)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / f"bad.{ext}").write_bytes(_magic(ext) + bytes(64))
    for i in range(2):
        Image.fromarray(photo_like(20, 30, seed=i)).save(folder / f"good{i}.png")
    status = main(["blur", str(folder), "--out-dir", str(tmp_path / "out"), "--jobs", "2"])
    captured = capsys.readouterr()
    assert status == 1, captured.err
    assert "Traceback" not in captured.err
    errors = [line for line in _lines(captured.err) if "error:" in line]
    assert len(errors) == 1 and f"bad.{ext}" in errors[0] and words in errors[0], errors
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good0.png", "good1.png"]


@pytest.mark.parametrize("limit", ["0", "5000"])
def test_a_threaded_batch_leaves_the_bomb_guard_as_it_was(tmp_path, capsys, limit):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(photo_like(30, 40, seed=i)).save(folder / f"{i}.png")
    before = Image.MAX_IMAGE_PIXELS
    for attempt in range(5):
        out = tmp_path / f"out{attempt}"
        main(["blur", str(folder), "--out-dir", str(out), "--max-pixels", limit, "-q"])
        assert before == Image.MAX_IMAGE_PIXELS
    capsys.readouterr()


def test_the_pixel_limit_still_refuses_before_decoding(tmp_path):
    src = tmp_path / "big.png"
    Image.fromarray(photo_like(100, 120)).save(src)
    done = run("blur", src, "-o", tmp_path / "o.png", "--max-pixels", 1000)
    assert done.returncode == 2
    (line,) = _lines(done.stderr)
    assert "over the 1000-pixel limit" in line


def test_a_sigma_too_large_is_one_line(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(photo_like(20, 30)).save(src)
    done = run("blur", src, "-o", tmp_path / "o.png", "--sigma", "1e300")
    assert done.returncode == 2
    (line,) = _lines(done.stderr)
    assert "sigma must be at most" in line


def test_max_pixels_is_scoped_to_the_run(tmp_path):
    from pil_parallel_blur import cli

    Image.fromarray(photo_like(20, 20)).save(tmp_path / "a.png")
    saved = Image.MAX_IMAGE_PIXELS
    assert (
        cli.main(
            [
                "blur",
                str(tmp_path / "a.png"),
                "-o",
                str(tmp_path / "b.png"),
                "--max-pixels",
                "0",
                "-q",
            ]
        )
        == 0
    )
    assert saved == Image.MAX_IMAGE_PIXELS
