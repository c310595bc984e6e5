"""Signals and terminals: Ctrl-C and SIGTERM mid-batch, a progress bar in a real pty.

Each test waits for a readiness signal from the command (a file it wrote),
never for a fixed time, and every wait has a generous limit that says what it
waited for.
"""

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import termios
import time

import numpy as np
import pytest
from conftest import CLI, photo_like, wait_for
from PIL import Image


def _read_pty(fd, proc, timeout=600):
    chunks = []
    end = time.time() + timeout
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    return b"".join(chunks).decode(errors="replace")


def test_progress_bar_in_a_terminal_ends_clean(tmp_path):
    """A real pty: counts that never jump, and the result line on a line of its own."""
    src = tmp_path / "big.tif"
    # 36 MP at sigma 100: estimated over the 1 s from which a single image gets a bar
    # (uncompressed TIFF: quick to write and read)
    Image.fromarray(np.tile(photo_like(1000, 1500, seed=1), (6, 4, 1))).save(src)
    out = tmp_path / "out.tif"
    main, child = pty.openpty()
    # a terminal 100 columns wide (a fresh pty has 0 columns: tqdm draws nothing)
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [*CLI, "blur", str(src), "-o", str(out), "--sigma", "100", "--jobs", "2"],
        stdin=child,
        stdout=child,
        stderr=child,
        close_fds=True,
    )
    os.close(child)
    text = _read_pty(main, proc)
    os.close(main)
    assert proc.wait(timeout=600) == 0, text
    counts = re.findall(r"(\d+)/(\d+) \[", text)
    assert counts, text  # the bar was shown
    assert len({total for _, total in counts}) == 1, counts  # the total never changes
    # the result line starts a line: nothing of the bar glued in front of it
    line = next(part for part in re.split(r"[\r\n]", text) if f"{src} -> " in part)
    prefix = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line[: line.index(str(src))])
    assert prefix.strip() == "", repr(text[-300:])


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("backend", ["threading", "loky", "multiprocessing"])
def test_ctrl_c_is_one_line_and_exit_130(tmp_path, backend):
    """SIGINT to the whole process group, as a terminal sends it, mid-batch, three times."""
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(photo_like(1200, 1600, seed=1)).save(src / "0.png")
    for i in range(1, 120):  # long enough to be interrupted mid-way on a fast machine too
        shutil.copy(src / "0.png", src / f"{i}.png")
    for attempt in range(3):
        out = tmp_path / f"out{attempt}"
        proc = subprocess.Popen(
            [*CLI, "blur", src, "--out-dir", out, "--sigma", "60", "--backend", backend],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, like a shell job
            # SIGINT as a terminal's job gets it, even when this runs as a
            # background job (which starts its children with SIGINT ignored)
            preexec_fn=_default_sigint,
        )
        # mid-batch: once the first image is written (then later on each attempt)
        wait_for(
            lambda out=out, attempt=attempt: _written(out) > attempt,
            f"image {attempt + 1} written by {backend}",
        )
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=300)
        _no_process_left(proc.pid)
        assert proc.returncode == 130, stderr
        assert "Traceback" not in stderr, stderr
        assert [line for line in stderr.splitlines() if line.strip()] == [
            "pil-parallel-blur: interrupted"
        ], stderr
        assert not out.exists() or not list(out.glob(".*.partial"))


def test_sigterm_stops_the_batch_and_its_workers(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(photo_like(1200, 1600, seed=2)).save(src / "0.png")
    for i in range(1, 120):  # long enough to be interrupted mid-way on a fast machine too
        shutil.copy(src / "0.png", src / f"{i}.png")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*CLI, "blur", src, "--out-dir", out, "--sigma", "60", "--backend", "loky"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: to see that no worker is left
    )
    wait_for(lambda: _written(out) > 0, "the first image of the batch written")
    proc.terminate()  # SIGTERM to the command alone, as a service manager sends it
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines() == [
        "pil-parallel-blur: terminated"
    ]
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert not [n for n in written if n.endswith(".partial")]
    _no_process_left(proc.pid)  # so no worker can go on writing after the command is gone
    assert (sorted(p.name for p in out.iterdir()) if out.exists() else []) == written


def _written(folder) -> int:
    """How many finished images (not partial files) are in ``folder``."""
    return len(list(folder.glob("*.png"))) if folder.exists() else 0


def _no_process_left(group: int) -> None:
    """Wait until no process of the command's process group is left (its workers too)."""

    def gone() -> bool:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(gone, "every worker of the interrupted command to exit")
