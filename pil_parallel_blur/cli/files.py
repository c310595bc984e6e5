"""Image files: finding them, opening them safely, saving them atomically."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from .common import UserError, one_line

__all__ = [
    "SAVES",
    "save_atomic",
    "save_params",
    "remove_partial_files",
    "format_for",
    "open_checked",
    "image_files",
]

LOSSY_FORMATS = ("JPEG", "WEBP", "AVIF", "MPO")


class _Saves:
    """Saves in flight in this process, so that an interrupted batch can let them end.

    Batch workers that are threads cannot be stopped mid-save; after Ctrl-C the
    command refuses new saves, waits for those in flight to be renamed into
    place, and only then removes what is left, so no ``.partial`` file outlives it.
    """

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.running = 0
        self.closed = False

    def begin(self, path: Path) -> None:
        with self.changed:
            if self.closed:
                raise UserError(f"{path}: not written (interrupted)")
            self.running += 1

    def end(self) -> None:
        with self.changed:
            self.running -= 1
            self.changed.notify_all()

    def close(self, timeout: float = 60.0) -> None:
        """Refuse new saves and wait (at most ``timeout`` s) for those in flight."""
        with self.changed:
            self.closed = True
            self.changed.wait_for(lambda: self.running == 0, timeout)

    def reopen(self) -> None:
        with self.changed:
            self.closed = False


SAVES = _Saves()


def save_atomic(image: Image.Image, path: Path, fmt: str, params: dict[str, Any]) -> None:
    """Save to a temporary file in the destination folder, then rename over ``path``.

    A crash or an error leaves either the old file or the new one, never half of one.
    """
    SAVES.begin(path)
    try:
        _save_atomic(image, path, fmt, params)
    finally:
        SAVES.end()


def _save_atomic(image: Image.Image, path: Path, fmt: str, params: dict[str, Any]) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            image.save(f, format=fmt, **params)
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the name points at it
        # mkstemp makes the file 0600; give it the mode a plain open() would have
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    """Return the process umask, read without changing it (Linux), else the usual 022."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def save_params(source: Image.Image, fmt: str, quality: int) -> dict[str, Any]:
    """EXIF, ICC profile and DPI of ``source`` (where present), plus quality for lossy formats."""
    params: dict[str, Any] = {}
    for key in ("exif", "icc_profile", "dpi"):
        value = source.info.get(key)
        if value:
            params[key] = value
    if fmt in LOSSY_FORMATS:
        params["quality"] = quality
    return params


def remove_partial_files(outputs: Iterable[Path]) -> None:
    """Remove temporary files that a killed worker left beside the outputs.

    A worker killed by a signal while saving cannot clean up after itself; its
    image is redone elsewhere (or reported), and its ``.NAME.*.partial`` stays.
    """
    for dst in outputs:
        for stale in dst.parent.glob(f".{dst.name}.*.partial"):
            stale.unlink(missing_ok=True)


def format_for(path: Path, fallback: str | None) -> str:
    """Return the Pillow format for ``path``'s extension, else the input's format."""
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None and path.suffix == "" and fallback:
        return fallback
    if fmt is None:
        raise UserError(f"{path}: unknown image extension {path.suffix!r}")
    return fmt


def open_checked(path: Path, max_pixels: int) -> Image.Image:
    """Open and fully load an image, with one-line errors for every way that fails.

    Pillow's own bomb guard is turned off here (this function applies
    ``max_pixels`` itself), and the process-wide setting is left as it was.
    """
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels or None
    try:
        return _open(path, max_pixels)
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _open(path: Path, max_pixels: int) -> Image.Image:
    try:
        im = Image.open(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not an image") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied") from None
    except UnidentifiedImageError:
        raise UserError(f"{path}: not an image Pillow can read") from None
    except Image.DecompressionBombError:
        raise UserError(_bomb_message(path, None, max_pixels)) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise UserError(f"{path}: cannot read image ({one_line(e)})") from None
    w, h = im.size
    if max_pixels and w * h > max_pixels:
        raise UserError(_bomb_message(path, (w, h), max_pixels))
    try:
        im.load()
    except (OSError, SyntaxError, ValueError) as e:
        raise UserError(f"{path}: cannot read image ({e})") from None
    return im


def _bomb_message(path: Path, size: tuple[int, int] | None, limit: int) -> str:
    dims = f" of {size[0]}x{size[1]} pixels" if size else ""
    return (
        f"{path}: image{dims} is over the {limit}-pixel limit (decompression-bomb guard); "
        "raise it with --max-pixels N, or 0 for no limit"
    )


def image_files(folder: Path) -> list[Path]:
    """Files of ``folder`` (not recursive) with an extension Pillow can open."""
    known = set(Image.registered_extensions())
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in known)
