"""The inputs of ``blur`` as jobs: which files, where each result goes, what is refused.

Tests: test_cli.py, test_cli_usage.py.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .common import UserError, shown
from .files import image_files, remove_stale_partials
from .jobs import BlurJob

__all__ = ["plan_jobs"]


def plan_jobs(args: argparse.Namespace) -> tuple[list[BlurJob], list[str]]:
    """Turn the inputs into jobs, and into error lines for what cannot be done."""
    if args.output is not None:
        _check_single_output(args)
    inputs, errors = _input_files(args.inputs)
    jobs: list[BlurJob] = []
    seen: dict[Path, Path] = {}
    out_dir = Path(args.out_dir) if args.out_dir else None
    if out_dir is not None:
        if not inputs:
            return jobs, errors  # nothing to write: make no folder
        args.created_out_dir = not out_dir.exists()
        _make_out_dir(out_dir)
    for src in inputs:
        # only the file name of an input is used: nothing is written outside out_dir
        dst = Path(args.output) if args.output else out_dir / src.name  # type: ignore[operator]
        key = dst.resolve()
        if key in seen:
            errors.append(
                f"{shown(src)}: same output name as {shown(seen[key])} ({shown(dst)}); skipped"
            )
            continue
        refused = _refused_output(src, dst, args.overwrite)
        if refused is not None:
            errors.append(refused)
            continue
        seen[key] = src
        job = BlurJob(
            src, dst, args.kernel, args.quality, args.max_pixels, args.refuse_palette, args.pillow
        )
        jobs.append(job)
    return jobs, errors


def _input_files(names: list[str]) -> tuple[list[Path], list[str]]:
    """Return the image files the inputs name (folders listed), and lines for those missing."""
    inputs: list[Path] = []
    errors: list[str] = []
    for name in names:
        if not name.strip():
            errors.append("an input is an empty path (an unset variable?); skipped")
            continue
        p = Path(name)
        if p.is_dir():
            found = image_files(p)
            if not found:
                errors.append(f"{shown(p)}: no image files in this folder")
            inputs.extend(found)
        elif p.exists():
            inputs.append(p)
        else:
            errors.append(f"{shown(p)}: no such file")
    return inputs, errors


def _make_out_dir(out_dir: Path) -> None:
    """Create the output folder, check it is writable, and clear what a killed run left."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{shown(out_dir)}: cannot create output folder ({e.strerror})") from None
    if not os.access(out_dir, os.W_OK):
        raise UserError(f"{shown(out_dir)}: output folder is not writable")
    remove_stale_partials(out_dir)  # left by a run that was killed (SIGKILL)


def _refused_output(src: Path, dst: Path, overwrite: bool) -> str | None:
    """Return why ``dst`` cannot be written for ``src`` (one line), or ``None``."""
    if dst.resolve() == src.resolve() and not overwrite:
        return f"{shown(src)}: output would overwrite the input; pass --overwrite to allow"
    if dst.exists() and not overwrite:
        return f"{shown(dst)}: already exists; pass --overwrite to replace it"
    if not dst.parent.is_dir():
        return f"{shown(dst)}: folder {shown(dst.parent)} does not exist"
    return None


def _check_single_output(args: argparse.Namespace) -> None:
    """Refuse ``-o`` with anything but one input file and a file name to write."""
    if not args.output.strip():
        raise UserError("-o/--output is an empty path; give a file name, or use --out-dir DIR")
    if len(args.inputs) != 1:
        raise UserError("-o/--output takes exactly one input file; use --out-dir DIR for several")
    only = args.inputs[0]
    if not only.strip():
        raise UserError(
            "the input is an empty path (an unset variable?); give one image file, "
            "or use --out-dir DIR for folders"
        )
    if Path(only).is_dir():
        raise UserError(
            f"{shown(only)}: is a folder; -o/--output takes one input file, use --out-dir DIR"
        )
    if Path(args.output).is_dir():
        raise UserError(
            f"{shown(args.output)}: is a folder; -o/--output names the file to write, "
            f"use --out-dir {shown(args.output)} to write into it"
        )
