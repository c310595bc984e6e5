"""Image files: finding them, opening them safely, saving them atomically.

Tests: test_cli.py, test_cli_outputs.py, test_cli_messages.py.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from ..parallel.files import abandoned, lock
from .common import UserError, one_line, shown

__all__ = [
    "SAVES",
    "save_atomic",
    "save_params",
    "remove_partial_files",
    "remove_stale_partials",
    "format_for",
    "open_checked",
    "check_pixels",
    "bomb_guard_off",
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
                raise UserError(f"{shown(path)}: not written (interrupted)")
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


#: Suffix of the temporary files a save writes beside its output.
PARTIAL_SUFFIX = ".partial"
#: Their names: ``.NAME.`` + ``mkstemp``'s 8 random characters + the suffix.
_PARTIAL = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.partial$", re.DOTALL)


def _save_atomic(image: Image.Image, path: Path, fmt: str, params: dict[str, Any]) -> None:
    fd, tmp = _locked_partial(path)
    try:
        with os.fdopen(fd, "w+b") as f:  # multi-page TIFF reads back what it wrote
            image.save(f, format=fmt, **params)
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the name points at it
            # mkstemp makes the file 0600; give it the mode a plain open() would have
            mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
            tmp.chmod(mode)
            tmp.replace(path)  # still locked: no sweep can take it meanwhile
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _locked_partial(path: Path) -> tuple[int, Path]:
    """Create ``.NAME.XXXX.partial`` beside ``path``, locked (``flock``) while it is written.

    A writer killed by SIGKILL leaves the file but not the lock, which is how
    the next run tells a stale partial file from one another run is writing.
    """
    while True:
        fd, name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX
        )
        if not lock(fd) or os.path.exists(name):  # no flock here, or still ours
            return fd, Path(name)
        os.close(fd)  # a sweep took it between mkstemp and flock: make another


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
    """Remove partial files beside the outputs that no live writer holds.

    A writer killed by a signal (SIGKILL included) cannot clean up after
    itself; its ``.NAME.*.partial`` stays, unlocked, and goes here. Files that
    another run is writing now are locked and kept.
    """
    for folder in {dst.parent for dst in outputs}:
        remove_stale_partials(folder)


def remove_stale_partials(folder: Path) -> None:
    """Remove the ``.*.partial`` files in ``folder`` whose writer is gone (lock free)."""
    try:
        candidates = [
            p for p in folder.glob(f".*{PARTIAL_SUFFIX}") if _PARTIAL.match(p.name) and p.is_file()
        ]
    except OSError:
        return
    for stale in candidates:
        with abandoned(stale) as free:
            if free:  # not when a live writer holds it, nor where nobody can tell
                stale.unlink(missing_ok=True)


def format_for(path: Path, fallback: str | None) -> str:
    """Return the Pillow format for ``path``'s extension, else the input's format."""
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None and path.suffix == "" and fallback:
        return fallback
    if fmt is None:
        raise UserError(f"{shown(path)}: unknown image extension {shown(path.suffix)!r}")
    return fmt


def open_checked(path: Path, max_pixels: int) -> Image.Image:
    """Open and fully load an image, with one-line errors for every way that fails.

    The size is checked against ``max_pixels`` (0: no limit) from the header,
    before anything is decoded. Pillow's own guard (``Image.MAX_IMAGE_PIXELS``)
    is process-wide: the command turns it off once, in its main thread, for
    the run (``bomb_guard_off``), and never touches it from a worker thread.
    """
    try:
        im = Image.open(path)
    except FileNotFoundError:
        raise UserError(f"{shown(path)}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{shown(path)}: is a folder, not an image") from None
    except PermissionError:
        raise UserError(f"{shown(path)}: permission denied") from None
    except UnidentifiedImageError:
        raise UserError(f"{shown(path)}: not an image Pillow can read") from None
    except Image.DecompressionBombError:
        raise UserError(_bomb_message(path, None, max_pixels)) from None
    except MemoryError:
        raise UserError(f"{shown(path)}: not enough memory to open this image") from None
    except Exception as e:  # a plugin's own error on a corrupt file: still this file's
        raise UserError(f"{shown(path)}: cannot read image ({_what(e)})") from None
    check_pixels(path, im.size, max_pixels)
    try:
        im.load()
    except MemoryError:
        raise UserError(_memory_message(path, im.size)) from None
    except Exception as e:
        raise UserError(f"{shown(path)}: cannot read image ({_what(e)})") from None
    return im


def check_pixels(path: Path, size: tuple[int, int], max_pixels: int) -> None:
    """Refuse an image (or frame) over ``max_pixels`` (0: no limit)."""
    w, h = size
    if max_pixels and w * h > max_pixels:
        raise UserError(_bomb_message(path, (w, h), max_pixels))


def _what(e: BaseException) -> str:
    """``message`` of an error, or ``TypeName: message`` when the type says more."""
    text = one_line(e)
    if isinstance(e, (OSError, SyntaxError, ValueError)):
        return text
    return f"{type(e).__name__}: {text}"


def _memory_message(path: Path, size: tuple[int, int]) -> str:
    w, h = size
    return (
        f"{shown(path)}: not enough memory for this image of {w}x{h} = {w * h:,} pixels; "
        "free memory, or split the image"
    )


@contextmanager
def bomb_guard_off() -> Iterator[None]:
    """Turn Pillow's process-wide bomb guard off for a run (main thread only), then back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _bomb_message(path: Path, size: tuple[int, int] | None, limit: int) -> str:
    dims = f" of {size[0]}x{size[1]} pixels" if size else ""
    return (
        f"{shown(path)}: image{dims} is over the {limit}-pixel limit (decompression-bomb guard); "
        "raise it with --max-pixels N, or 0 for no limit"
    )


def image_files(folder: Path) -> list[Path]:
    """Files of ``folder`` (not recursive) with an extension Pillow can open."""
    known = set(Image.registered_extensions())
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in known)
