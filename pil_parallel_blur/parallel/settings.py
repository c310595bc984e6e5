"""The parallel options of every public entry point, validated once, and their docs.

``ParallelSettings`` is made at the edge (a filter's constructor, the array
API, the CLI) and passed down as it is; nothing below re-validates it. The
four options are documented once, in ``PARALLEL_PARAMETERS``, and that text is
put into each public docstring by ``fill_parallel_doc``, so that the
signatures' docs cannot drift apart.

Tests: test_errors.py, test_parallel_engine.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..validators import check_choice, check_folder, check_n_jobs
from .joblib_adapter import DASK_MISSING, backend_names, dask_installed

__all__ = ["ParallelSettings", "Progress", "PARALLEL_PARAMETERS", "fill_parallel_doc"]

#: ``progress(done, total)``, called in the caller's thread as tiles finish.
Progress = Callable[[int, int], None]

#: numpydoc text of the four parallel parameters, shared by every public signature.
PARALLEL_PARAMETERS = """\
n_jobs : int, optional
    Number of workers in joblib's convention (``-1`` all CPUs, ``-2`` all
    but one, ...). Default: the enclosing ``joblib.parallel_config``'s, else
    all usable CPUs.
backend : str, optional
    A joblib backend name (``"threading"``, ``"loky"``,
    ``"multiprocessing"``, ``"sequential"``, ``"dask"``). Default: the
    enclosing ``joblib.parallel_config``'s, else ``"threading"``.
temp_folder : str, optional
    Where process backends create their private memory-mapped files.
    Default ``$JOBLIB_TEMP_FOLDER``, else ``/dev/shm`` when it has room, else
    the system temporary folder.
progress : callable, optional
    Called as ``progress(done, total)`` in the calling thread as the parts of
    the image the workers share (stripes of rows, or parts of one) finish;
    once with ``(1, 1)`` when run in-process. For progress bars."""

_PLACEHOLDER = "{parallel_parameters}"
_Documented = TypeVar("_Documented")


def fill_parallel_doc(obj: _Documented) -> _Documented:
    """Replace the line ``{parallel_parameters}`` of ``obj``'s docstring by the shared text.

    The text is indented as the placeholder is. Works on functions and classes.
    """
    doc = obj.__doc__ or ""
    lines: list[str] = []
    for line in doc.splitlines():
        if line.strip() == _PLACEHOLDER:
            indent = line[: len(line) - len(line.lstrip())]
            lines.extend(
                indent + part if part else part for part in PARALLEL_PARAMETERS.splitlines()
            )
        else:
            lines.append(line)
    obj.__doc__ = "\n".join(lines)
    return obj


@dataclass(frozen=True)
class ParallelSettings:
    """Validated parallel options shared by the filters, the array API and the CLI.

    Parameters
    ----------
    {parallel_parameters}

    Raises
    ------
    TypeError, ValueError
        For a bad option (the message names it, the value and what is allowed).
    ImportError
        For ``backend="dask"`` without ``dask.distributed`` installed.
    """

    n_jobs: int | None = None
    backend: str | None = None
    temp_folder: str | None = None
    progress: Progress | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_jobs", check_n_jobs(self.n_jobs))
        _check_backend(self.backend)
        object.__setattr__(self, "temp_folder", check_folder("temp_folder", self.temp_folder))
        if self.progress is not None and not callable(self.progress):
            raise TypeError(
                f"progress must be a callable progress(done, total) or None, got {self.progress!r}"
            )

    def describe(self) -> str:
        """``n_jobs=..., backend=..., temp_folder=...`` for a filter's ``repr``."""
        return (
            f"n_jobs={self.n_jobs!r}, backend={self.backend!r}, temp_folder={self.temp_folder!r}"
        )


fill_parallel_doc(ParallelSettings)


def _check_backend(backend: object) -> None:
    check_choice("backend", backend, backend_names(), "joblib backend name")
    if backend == "dask" and not dask_installed():
        raise ImportError(DASK_MISSING)
