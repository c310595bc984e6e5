"""One image file blurred into another: the command line's unit of work.

Tests: test_cli.py, test_cli_outputs.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from .. import pillow
from ..filters import ParallelGaussianFilter
from ..kernels import KernelSpec
from ..parallel import ParallelSettings
from ..pillow import PILLOW_MODES
from .common import UserError, one_line, shown
from .files import check_pixels, format_for, open_checked, save_atomic, save_params
from .outputs import fit_to_format, to_mode

__all__ = [
    "BlurJob",
    "JobDone",
    "run_job",
    "working_mode",
    "PALETTE_OR_BILEVEL",
    "EXIF_ORIENTATION",
]


@dataclass(frozen=True)
class BlurJob:
    """One image to blur: where from, where to, and how."""

    src: Path
    dst: Path
    kernel: KernelSpec
    quality: int
    max_pixels: int
    refuse_palette: bool = False
    pillow: bool = False


@dataclass(frozen=True)
class JobDone:
    """What a job did: seconds spent blurring, and notes on conversions made for the output."""

    seconds: float
    notes: tuple[str, ...] = ()


def run_job(job: BlurJob, settings: ParallelSettings) -> JobDone:
    """Blur one image file (every frame of an animation or multi-page file) into another.

    Everything that can refuse the job (the format, the modes, the frames) is
    decided before anything is blurred.
    """
    im = open_checked(job.src, job.max_pixels)
    fmt = format_for(job.dst, im.format)
    frames = _frames(im, job, fmt)
    notes: list[str] = []
    targets = []
    for frame in frames:
        target, note = fit_to_format(frame.mode, fmt, job.dst)
        targets.append(target)
        if note is not None and note not in notes:
            notes.append(note)
    # --sigma X,Y and --size X,Y are as a viewer shows the photo: swap them when
    # its EXIF orientation turns the stored pixels by 90° (orientations 5 to 8)
    kernel = job.kernel
    if im.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
        kernel = kernel.transposed()
    flt = _filter_for(job, kernel, settings)
    t0 = time.perf_counter()
    try:
        pairs = zip(frames, targets, strict=True)
        outs = [to_mode(frame, target).filter(flt) for frame, target in pairs]
    except ValueError as e:
        if job.pillow and "wrong mode" in str(e):
            raise UserError(
                f"{shown(job.src)}: --pillow blurs Pillow's modes only "
                f"({', '.join(PILLOW_MODES)}), not {frames[0].mode!r}; leave out --pillow "
                "for the exact blur, which takes every mode"
            ) from None
        raise UserError(f"{shown(job.src)}: {one_line(e)}") from None
    except MemoryError:
        w, h = im.size
        raise UserError(
            f"{shown(job.src)}: not enough memory to blur this image of {w}x{h} = {w * h:,} pixels"
        ) from None
    seconds = time.perf_counter() - t0
    params = save_params(im, fmt, job.quality)
    if len(outs) > 1:
        params.update(_animation_params(frames, im), save_all=True, append_images=outs[1:])
    try:
        save_atomic(outs[0], job.dst, fmt, params)
    except UserError:
        raise
    except Exception as e:
        raise UserError(f"{shown(job.dst)}: cannot write {fmt} ({one_line(e)})") from None
    return JobDone(seconds, tuple(f"{shown(job.src)}: note: {n}" for n in notes))


def _filter_for(job: BlurJob, kernel: KernelSpec, settings: ParallelSettings) -> Any:
    """Return the exact Gaussian, or with ``--pillow`` Pillow's own (``pillow.GaussianBlur``)."""
    if not job.pillow:
        return ParallelGaussianFilter.from_kernel(kernel, settings)
    return pillow.GaussianBlur(
        (kernel.sigma_x, kernel.sigma_y),
        n_jobs=settings.n_jobs,
        backend=settings.backend,
        progress=settings.progress,
    )


def _frames(im: Image.Image, job: BlurJob, fmt: str) -> list[Image.Image]:
    """Every frame of ``im`` in the mode it is blurred in; refused if ``fmt`` cannot hold them."""
    count = int(getattr(im, "n_frames", 1) or 1)
    if count > 1:
        Image.init()
        if fmt not in Image.SAVE_ALL:
            raise UserError(
                f"{shown(job.src)}: has {count} frames and {fmt} holds one; write .gif, "
                ".webp, .png or .tif to keep them all (no frame is dropped)"
            )
    frames: list[Image.Image] = []
    for index in range(count):
        if count > 1:
            try:
                im.seek(index)
                check_pixels(job.src, im.size, job.max_pixels)
                frame = im.copy()  # with the frame's info (APNG keeps its disposal there)
                disposal = getattr(im, "disposal_method", None)  # where GIF keeps it
                if disposal is not None:
                    frame.info.setdefault("disposal", disposal)
            except UserError:
                raise
            except Exception as e:
                raise UserError(
                    f"{shown(job.src)}: cannot read frame {index + 1} of {count} ({one_line(e)})"
                ) from None
        else:
            frame = im
        frames.append(_working(frame, job))
    if count > 1 and fmt != "TIFF":  # an animation's frames share one mode
        modes = {f.mode for f in frames}
        if len(modes) > 1:
            common = "RGBA" if any("A" in m for m in modes) else "RGB"
            frames = [f.convert(common) if f.mode != common else f for f in frames]
    return frames


def _working(frame: Image.Image, job: BlurJob) -> Image.Image:
    """Convert a palette or bilevel frame to the mode it is blurred in (or refuse it)."""
    if frame.mode not in PALETTE_OR_BILEVEL:
        return frame
    if job.refuse_palette:
        raise UserError(
            f"{shown(job.src)}: {_PALETTE_WORDS[frame.mode]} images (mode {frame.mode!r}) are "
            f"refused (--refuse-palette); leave it out to blur them as {working_mode(frame)} "
            "and save them as the output format allows"
        )
    return frame.convert(working_mode(frame))


def _animation_params(frames: list[Image.Image], im: Image.Image) -> dict[str, object]:
    """Durations, loop count and disposal of the source's frames, for ``save_all``."""
    params: dict[str, object] = {}
    durations = [f.info.get("duration") for f in frames]
    if all(d is not None for d in durations):
        params["duration"] = durations
    if "loop" in im.info:
        params["loop"] = im.info["loop"]
    disposal = [f.info.get("disposal") for f in frames]
    if all(d is not None for d in disposal):
        params["disposal"] = disposal
    return params


#: Pillow modes the blur cannot take as they are: converted first (or refused).
PALETTE_OR_BILEVEL = ("P", "PA", "1")

_PALETTE_WORDS = {"P": "palette", "PA": "palette", "1": "bilevel"}
#: The EXIF tag that says how a viewer turns the stored pixels.
EXIF_ORIENTATION = 0x0112


def working_mode(im: Image.Image) -> str:
    """Return the mode a palette or bilevel image is blurred in: L, RGB or RGBA."""
    if im.mode == "1":
        return "L"
    if im.mode == "PA" or "transparency" in im.info:
        return "RGBA"
    return "RGB"
