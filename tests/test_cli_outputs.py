"""What the command line writes: formats that cannot hold a mode, frames, partial files.

The images written are read back and checked against the input blurred by
the library (and, where a conversion is expected, against that conversion
done here with NumPy), never against the command's own earlier output.
"""

from __future__ import annotations

import fcntl
import os

import numpy as np
import pytest
from conftest import SUMMARY, photo_like, run
from PIL import Image, ImageSequence

from pil_parallel_blur import ParallelGaussianFilter


def _errors(done) -> list[str]:
    assert "Traceback" not in done.stderr, done.stderr
    return [line for line in done.stderr.splitlines() if line.strip()]


@pytest.fixture
def camera16(tmp_path):
    """A 16-bit grey photo (I;16) whose high bytes span the 8-bit range."""
    values = photo_like(60, 80, channels=1, seed=2).astype(np.uint16) * 257
    path = tmp_path / "camera16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode == "I;16"
    return path


@pytest.mark.parametrize("ext", ["webp", "gif", "jpg", "bmp"])
def test_sixteen_bit_into_an_eight_bit_format_is_scaled_not_clipped(camera16, tmp_path, ext):
    out = tmp_path / f"c16.{ext}"
    done = run("blur", camera16, "-o", out, "--sigma", 1)
    assert done.returncode == 0, done.stderr
    (note,) = _errors(done)
    assert "16-bit samples scaled to 8 bits" in note and "camera16.png" in note
    written = np.asarray(Image.open(out).convert("L"), dtype=int)
    # independent: the 16-bit samples >> 8, as 8-bit grey, blurred by the library
    high = (np.asarray(Image.open(camera16), dtype=np.uint16) >> 8).astype(np.uint8)
    expected = np.asarray(Image.fromarray(high).filter(ParallelGaussianFilter(1)), dtype=int)
    lossy = ext in ("webp", "jpg", "gif")
    assert np.abs(written - expected).mean() <= (6 if lossy else 0.001)
    assert written.std() > 10  # not one grey value, not all white


def test_sixteen_bit_into_png_and_tiff_stays_sixteen_bit(camera16, tmp_path):
    for ext in ("png", "tif"):
        out = tmp_path / f"c16.{ext}"
        done = run("blur", camera16, "-o", out, "--sigma", 1)
        assert done.returncode == 0 and _errors(done) == [], done.stderr
        assert Image.open(out).mode.startswith("I;16")


def test_rgba_into_jpeg_drops_alpha_with_a_note(tmp_path):
    rgba = np.dstack([photo_like(40, 50, seed=3), np.full((40, 50), 200, np.uint8)])
    src = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(src)
    done = run("blur", src, "-o", tmp_path / "x.jpg", "--sigma", 1)
    assert done.returncode == 0, done.stderr
    (note,) = _errors(done)
    assert "alpha dropped" in note and "JPEG" in note
    assert Image.open(tmp_path / "x.jpg").mode == "RGB"


def test_cmyk_into_png_goes_through_rgb(tmp_path):
    src = tmp_path / "cmyk.jpg"
    Image.fromarray(photo_like(40, 50, seed=4)).convert("CMYK").save(src)
    done = run("blur", src, "-o", tmp_path / "x.png", "--sigma", 1)
    assert done.returncode == 0, done.stderr
    (note,) = _errors(done)
    assert "written as RGB" in note
    written = np.asarray(Image.open(tmp_path / "x.png"), dtype=int)
    expected = Image.open(src).convert("RGB").filter(ParallelGaussianFilter(1))
    assert np.abs(written - np.asarray(expected, dtype=int)).max() <= 1


def test_a_mode_no_conversion_fits_is_refused_before_blurring(tmp_path):
    src = tmp_path / "f.tif"
    Image.fromarray(np.random.default_rng(0).random((30, 30)).astype(np.float32)).save(src)
    done = run("blur", src, "-o", tmp_path / "f.png")
    assert done.returncode == 2
    (line,) = _errors(done)
    assert "PNG cannot hold mode 'F'" in line and ".tif" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.tif"]


def _animation(path, fmt, n=3, **extra):
    frames = [Image.fromarray(photo_like(30, 40, seed=10 + i)) for i in range(n)]
    frames[0].save(
        path,
        format=fmt,
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300][:n],
        loop=0,
        **extra,
    )
    return frames


@pytest.mark.parametrize(("ext", "fmt", "where"), [("gif", "GIF", "attr"), ("png", "PNG", "info")])
def test_an_animations_disposal_is_kept(tmp_path, ext, fmt, where):
    src = tmp_path / f"anim.{ext}"
    disposal = [2, 1, 2] if fmt == "GIF" else [1, 0, 1]
    _animation(src, fmt, disposal=disposal)
    out = tmp_path / f"out.{ext}"
    done = run("blur", src, "-o", out, "--sigma", 1)
    assert done.returncode == 0, done.stderr

    def read(path):
        im = Image.open(path)
        got = []
        for i in range(im.n_frames):
            im.seek(i)
            got.append(im.disposal_method if where == "attr" else im.info.get("disposal"))
        return got

    assert read(src) == disposal
    assert read(out) == disposal


@pytest.mark.parametrize(("ext", "fmt"), [("gif", "GIF"), ("webp", "WEBP"), ("png", "PNG")])
def test_every_frame_of_an_animation_is_blurred_with_its_timing(tmp_path, ext, fmt):
    src = tmp_path / f"anim.{ext}"
    _animation(src, fmt)
    out = tmp_path / f"out.{ext}"
    done = run("blur", src, "-o", out, "--sigma", 1.5)
    assert done.returncode == 0, done.stderr
    source, written = Image.open(src), Image.open(out)
    assert written.n_frames == source.n_frames == 3
    for i, (a, b) in enumerate(
        zip(ImageSequence.Iterator(source), ImageSequence.Iterator(written), strict=True)
    ):
        assert b.info.get("duration") == a.info.get("duration"), i
        expected = a.convert("RGB").filter(ParallelGaussianFilter(1.5))
        got = np.asarray(b.convert("RGB"), dtype=int)
        tolerance = 1 if fmt == "PNG" else 40  # GIF palettes and lossy WebP
        assert np.abs(got - np.asarray(expected, dtype=int)).mean() <= tolerance, i
    assert written.info.get("loop") == source.info.get("loop")


def test_every_page_of_a_multipage_tiff_is_blurred(tmp_path):
    src = tmp_path / "pages.tif"
    pages = [Image.fromarray(photo_like(30 + 5 * i, 40, seed=i)) for i in range(3)]
    pages[0].save(src, save_all=True, append_images=pages[1:])
    out = tmp_path / "out.tif"
    done = run("blur", src, "-o", out, "--sigma", 1)
    assert done.returncode == 0, done.stderr
    written = Image.open(out)
    assert written.n_frames == 3
    for i, page in enumerate(ImageSequence.Iterator(written)):
        expected = pages[i].filter(ParallelGaussianFilter(1))
        assert np.array_equal(np.asarray(page), np.asarray(expected)), i


def test_an_animation_into_a_single_frame_format_is_refused(tmp_path):
    src = tmp_path / "anim.gif"
    _animation(src, "GIF")
    done = run("blur", src, "-o", tmp_path / "still.jpg")
    assert done.returncode == 2
    (line,) = _errors(done)
    assert "has 3 frames" in line and "JPEG holds one" in line
    assert not (tmp_path / "still.jpg").exists()


def test_stale_partial_files_are_removed_and_live_ones_kept(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(photo_like(30, 40)).save(src)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    stale = out_dir / ".in.png.abcd1234.partial"  # left by a writer killed with SIGKILL
    stale.write_bytes(b"half")
    live = out_dir / ".other.png.efgh5678.partial"  # being written by another run now
    live.write_bytes(b"half")
    foreign = out_dir / ".notes.partial"  # not ours: another program's name
    foreign.write_bytes(b"x")
    fd = os.open(live, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        done = run("blur", src, "--out-dir", out_dir)
    finally:
        os.close(fd)
    assert done.returncode == 0, done.stderr
    assert not stale.exists()
    assert live.exists() and foreign.exists()
    assert (out_dir / "in.png").exists()


def test_file_names_are_printed_escaped_on_one_line(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("bad\nname.png", "\x1b[31mred.png"):
        (folder / name).write_text("not an image")
    done = run("blur", folder, "--out-dir", tmp_path / "out")
    assert done.returncode == 1  # two inputs, both failed: a batch
    assert "\x1b" not in done.stderr + done.stdout
    errors = [line for line in _errors(done) if "not an image" in line]
    assert len(errors) == 2, done.stderr
    assert any("bad\\nname.png" in line for line in errors)
    assert any("\\x1b[31mred.png" in line for line in errors)


def test_a_batch_ends_with_one_summary_line(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(photo_like(20, 30, seed=i)).save(folder / f"ok{i}.png")
    (folder / "broken.png").write_text("no")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "ok1.png").write_bytes(b"kept")  # exists: skipped
    done = run("blur", folder, "--out-dir", out_dir)
    assert done.returncode == 1
    summary = SUMMARY.match(_errors(done)[-1])
    assert summary and summary.groups() == ("1", "1", "1"), _errors(done)


def test_pillow_flag_writes_pillows_own_bytes(tmp_path):
    from PIL import ImageFilter

    src = tmp_path / "in.png"
    Image.fromarray(photo_like(50, 70, seed=9)).save(src)
    out = tmp_path / "out.png"
    done = run("blur", src, "-o", out, "--pillow", "--sigma", 3, "--jobs", 2)
    assert done.returncode == 0, done.stderr
    want = Image.open(src).filter(ImageFilter.GaussianBlur(3))
    assert Image.open(out).tobytes() == want.tobytes()


def test_pillow_flag_on_a_mode_pillow_refuses_says_what_to_do(camera16, tmp_path):
    done = run("blur", camera16, "-o", tmp_path / "o.png", "--pillow")
    assert done.returncode == 2
    (line,) = _errors(done)
    assert "--pillow blurs Pillow's modes only" in line and "'I;16'" in line
    done = run("blur", camera16, "-o", tmp_path / "o.png", "--pillow", "--size", 7)
    assert done.returncode == 2 and "--pillow takes no --size" in done.stderr
