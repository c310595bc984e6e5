"""The process path's files: a private folder per call, the image dumped once, clean-up.

Process workers read the image from a ``.npy`` file they memory-map read-only
and write their tiles into an output ``.npy`` mapped ``r+``: nothing large is
pickled. Each call's files live in a fresh folder (mode 0700), removed in a
``finally`` by the call, at interpreter exit if a call is still open, and by
the next call under the same root if the process that made it was killed.

A folder's owner holds an exclusive ``flock`` on its ``owner.lock`` file for
the call's life; the kernel lets go of it when the owner dies, however it
dies. The sweep removes a folder only when it can take that lock itself, so
a live call in another PID namespace (a container sharing the temp root),
whose process id means nothing here, is never swept. Where ``flock`` does not
exist, the process id in the folder's name is asked instead.

Tests: test_parallel_lifecycle.py, test_parallel_faults.py, test_parallel_interrupts.py.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "temp_root",
    "make_private_folder",
    "remove_folder",
    "sweep_orphans",
    "dump_image",
    "create_shared_file",
    "space_error",
    "lock",
    "abandoned",
]

_TEMP_PREFIX = "pil-parallel-blur-"


def temp_root(explicit: str | None, nbytes: int) -> str:
    """Where to make the folder: ``explicit``, ``$JOBLIB_TEMP_FOLDER``, ``/dev/shm``, or /tmp.

    ``/dev/shm`` only while it has room for twice ``nbytes``.
    """
    if explicit is not None:
        return explicit
    env = os.environ.get("JOBLIB_TEMP_FOLDER")
    if env:
        return env
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        try:
            if shutil.disk_usage(shm).free > 2 * nbytes:
                return shm
        except OSError:
            pass
    return tempfile.gettempdir()


#: Folders still being made: locked first, then renamed to their final name.
_MAKING_PREFIX = ".pil-parallel-blur-making-"
#: The file whose ``flock`` says the folder's owner is alive.
_LOCK_NAME = "owner.lock"


def make_private_folder(root: str) -> Path:
    """Create a fresh folder under ``root``: mode 0700, unique name, locked by this process.

    The folder is made under a temporary name, its ``owner.lock`` locked, and
    only then renamed to a name the sweep looks at, so the sweep never sees an
    unlocked folder of a live call. A folder left behind by a process that was
    killed (``SIGKILL``, ``SIGTERM``) is removed by the next call that makes
    one under the same root; folders still open at interpreter exit are
    removed then.
    """
    sweep_orphans(root)
    making = Path(tempfile.mkdtemp(prefix=f"{_MAKING_PREFIX}{os.getpid()}-", dir=root))
    fd = None
    try:
        fd = os.open(making / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        if not lock(fd):  # pragma: no cover - no flock here: the folder's name tells
            os.close(fd)
            fd = None
        folder = Path(root) / (_TEMP_PREFIX + making.name[len(_MAKING_PREFIX) :])
        making.rename(folder)
    except BaseException:
        if fd is not None:
            os.close(fd)
        shutil.rmtree(making, ignore_errors=True)
        raise
    _OPEN_FOLDERS[folder] = fd
    return folder


#: Folders this process made and has not removed, with their lock's descriptor.
_OPEN_FOLDERS: dict[Path, int | None] = {}


def remove_folder(folder: Path) -> None:
    """Remove a folder made by ``make_private_folder``, whatever is in it, then unlock it."""
    shutil.rmtree(folder, ignore_errors=True)
    fd = _OPEN_FOLDERS.pop(folder, None)
    if fd is not None:
        os.close(fd)


@atexit.register
def _remove_open_folders() -> None:
    for folder in list(_OPEN_FOLDERS):
        remove_folder(folder)


def sweep_orphans(root: str) -> None:
    """Remove our folders under ``root`` whose owner is gone (its lock is free)."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(_TEMP_PREFIX) and Path(entry.path) not in _OPEN_FOLDERS:
            _remove_if_orphaned(Path(entry.path))


def _remove_if_orphaned(folder: Path) -> None:
    """Remove ``folder`` if no live process holds its lock (else its id's process is gone)."""
    with abandoned(folder / _LOCK_NAME) as free:
        if free is None:  # no flock here, or a folder made without a lock: its id
            pid_text = folder.name[len(_TEMP_PREFIX) :].split("-", 1)[0]
            free = pid_text.isdigit() and not _alive(int(pid_text))
        if free:
            shutil.rmtree(folder, ignore_errors=True)


def lock(fd: int) -> bool:
    """Take an exclusive ``flock`` on ``fd``, waiting for it; ``False`` where there is none."""
    if fcntl is None:  # pragma: no cover - not POSIX
        return False
    fcntl.flock(fd, fcntl.LOCK_EX)
    return True


@contextmanager
def abandoned(path: Path) -> Iterator[bool | None]:
    """Tell whether the owner of the lock file ``path`` is gone, holding its lock if so.

    Yields ``True`` while this process holds the lock nobody else held (the
    owner died, however it died), ``False`` when a live process holds it, and
    ``None`` when it cannot tell (no such file, or no ``flock`` here).
    """
    if fcntl is None:  # pragma: no cover - not POSIX
        yield None
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False  # its owner is alive, wherever it runs
            return
        yield True
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


def dump_image(image: np.ndarray, path: str) -> None:
    """Write the image once, uncompressed, as a memory-mappable ``.npy``.

    Plain ``write`` calls of 4 MiB slices of the image's own buffer: no copy,
    and a failing write raises its real ``OSError`` (``ENOSPC``, ``EFBIG``).
    """
    header = {
        "descr": np.lib.format.dtype_to_descr(image.dtype),
        "fortran_order": False,
        "shape": image.shape,
    }
    data = np.ascontiguousarray(image).reshape(-1).view(np.uint8)
    step = 4 << 20
    with open(path, "wb") as f:
        np.lib.format.write_array_header_2_0(f, header)
        for start in range(0, len(data), step):
            f.write(data[start : start + step].data)


def space_error(root: str, needed: int, error: OSError) -> OSError:
    """Explain a failed write of the process path: where, why and what to do instead."""
    return OSError(
        error.errno,
        f"cannot write the {needed / 1e6:.0f} MB shared copy of the image under {root} "
        f"({error.strerror or error}); pass temp_folder=... or set JOBLIB_TEMP_FOLDER to "
        "a writable folder with room, or use backend='threading' (no files)",
    )


def create_shared_file(path: str, dtype: np.dtype, shape: tuple[int, ...]) -> np.memmap:
    """Create a shared file the workers write (the output, an intermediate), its space reserved.

    A full disk then fails here, in the parent, with a message, instead of
    killing a worker with SIGBUS when it writes into a sparse mapping.
    """
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    if hasattr(os, "posix_fallocate"):
        fd = os.open(path, os.O_RDWR)
        try:
            os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
        finally:
            os.close(fd)
    return out
