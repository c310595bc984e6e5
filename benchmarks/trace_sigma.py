"""Trace ``sigma`` from ``Image.filter(ParallelGaussianFilter(sigma=...))`` to the C call.

Prints every call that hands ``sigma``, or a value made from it, from one
module to another (the package's modules, Pillow's ``Image`` where the walk
starts, and the compiled ``_native`` where it ends), in the order they
happen, and counts them. A value made from sigma is the filter that holds
it, the kernel (``KernelSpec``, ``SeparableKernel`` and its terms), the plan, a spectral
plan or pass, a stage of tiles, or a function that closes over one of them.
A module is a top-level module of the package or a whole sub-package
(``engine``, ``parallel``, ``cli``: their faces only hand on names). Calls
inside one module are not moves, nor are an object's calls to its own methods
and reads of a value's own properties; calls that carry none of these values
(the workers, the image's copies, NumPy, joblib) are not listed. The walk
starts when ``Image.filter`` is entered: the filter, and its kernel, are made
before (``ParallelGaussianFilter(sigma=...)`` validates sigma once, in
``kernels``).

    python3 benchmarks/trace_sigma.py

One worker (``n_jobs=1``), so that the whole walk runs on this thread. The
walk is what docs/design.md shows.
"""

from __future__ import annotations

import sys
from types import FrameType

from PIL import Image

from pil_parallel_blur import ParallelGaussianFilter
from pil_parallel_blur.engine import CorrelationPlan, SpectralPass, SpectralPlan
from pil_parallel_blur.kernel_terms import Transposed
from pil_parallel_blur.kernels import GaussianTerms, KernelSpec, SeparableKernel
from pil_parallel_blur.parallel.tiles import Stage

#: The values made from sigma on its way to the C call.
CARRIERS = (
    ParallelGaussianFilter,
    KernelSpec,
    SeparableKernel,
    GaussianTerms,
    Transposed,
    CorrelationPlan,
    SpectralPlan,
    SpectralPass,
    Stage,
)

OURS = "pil_parallel_blur"


def _carries(value: object, sigma: float, depth: int = 0) -> bool:
    """Tell whether ``value`` is sigma or made from it (see the module's docstring)."""
    if isinstance(value, float) and value == sigma:
        return True
    if isinstance(value, CARRIERS):
        return True
    if depth < 2 and isinstance(value, tuple | list):
        return any(_carries(v, sigma, depth + 1) for v in value[:8])
    closure = getattr(value, "__closure__", None)
    if depth < 2 and closure:
        return any(_carries(c.cell_contents, sigma, depth + 1) for c in closure)
    return False


def _module(frame: FrameType) -> str | None:
    name = frame.f_globals.get("__name__", "")
    if name == "PIL.Image":
        return name
    if name == OURS or name.startswith(OURS + "."):
        return name.removeprefix(OURS + ".").split(".")[0]
    return None


def _self(frame: FrameType) -> object:
    code = frame.f_code
    return (
        frame.f_locals.get("self") if code.co_argcount and code.co_varnames[0] == "self" else None
    )


def _own_business(frame: FrameType) -> bool:
    """An object calling its own method, or a read of a value's own property."""
    me = _self(frame)
    if me is None:
        return False
    caller = frame.f_back
    if caller is not None and _self(caller) is me:
        return True
    return isinstance(getattr(type(me), frame.f_code.co_name, None), property)


def trace(sigma: float, size: tuple[int, int]) -> list[tuple[str, str, str]]:
    """Return the moves ``(from module, to module, function)`` of one filtered image."""
    image = Image.new("RGB", size, "white")
    blur = ParallelGaussianFilter(sigma=sigma, n_jobs=1)
    moves: list[tuple[str, str, str]] = []
    started = done = False

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal started, done
        if done:
            return
        if not started:
            code = frame.f_code
            started = (
                event == "call" and _module(frame) == "PIL.Image" and code.co_name == "filter"
            )
            return
        if event == "c_call":
            owner = getattr(arg, "__module__", None) or ""
            if owner == OURS + "._native":  # the engine (not the copies around it)
                caller = _module(frame)
                name = getattr(arg, "__name__", "?")
                moves.append((caller or "?", owner.removeprefix(OURS + "."), name))
                done = True
            return
        if event != "call" or frame.f_back is None:
            return
        callee, caller = _module(frame), _module(frame.f_back)
        if not (callee and caller and callee != caller) or _own_business(frame):
            return
        code = frame.f_code
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        if any(_carries(frame.f_locals.get(n), sigma) for n in names):
            moves.append((caller, callee, code.co_name))

    sys.setprofile(profile)
    try:
        image.filter(blur)
    finally:
        sys.setprofile(None)
    return moves


def main() -> None:
    """Print the walk and its number of moves, by the direct passes and through the FFT."""
    for title, sigma, size in [
        ("sigma 2.5 on 64x48 RGB (direct passes)", 2.5, (64, 48)),
        ("sigma 40.5 on 1200x900 RGB (through the FFT)", 40.5, (1200, 900)),
    ]:
        moves = trace(sigma, size)
        print(title)
        for i, (caller, callee, function) in enumerate(moves, 1):
            print(f"{i:>3}. {caller} → {callee}.{function}")
        print(f"{len(moves)} moves between modules\n")


if __name__ == "__main__":
    main()
