"""What every filter of the package shares: parallel settings and one image → array → image flow.

Tests: test_filter.py, test_adapters.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import ImageFilter

from .blur import correlate_array, correlate_image
from .kernel_terms import SeparableKernel
from .parallel import ParallelSettings, Progress, Workers
from .pillow_adapter import (
    STORED_THREE,
    array_to_core,
    check_mode,
    core_to_array,
    core_to_pixels,
)

__all__ = ["ArrayFilter", "CorrelatingFilter"]


class ArrayFilter(ImageFilter.MultibandFilter):
    """What every filter shares: parallel settings and the image → array → image flow."""

    settings: ParallelSettings

    def _set_parallel(
        self,
        n_jobs: int | None,
        backend: str | None,
        temp_folder: str | None,
        progress: Progress | None,
    ) -> None:
        self.settings = ParallelSettings(n_jobs, backend, temp_folder, progress)

    def _settings_repr(self) -> str:
        return self.settings.describe()

    def _is_identity(self) -> bool:
        return False

    def _admit(self, image: Any) -> bool:
        """Check the image (raising for a mode refused); ``False`` when the result is a copy."""
        check_mode(image.mode)
        return not (self._is_identity() or image.size[0] * image.size[1] == 0)

    def _apply(self, array: np.ndarray, workers: Workers) -> np.ndarray:
        """Filter ``array``: the filter's own copy of the image's pixels, free to overwrite."""
        raise NotImplementedError

    def _apply_image(self, image: Any, workers: Workers) -> np.ndarray:
        """Filter the pixels of ``image`` (a core), read into an array of the filter's own."""
        return self._apply(core_to_array(image, workers.map_small), workers)

    def filter(self, image: Any) -> Any:
        """Filter one Pillow ``ImagingCore`` (called by ``Image.filter``).

        Parameters
        ----------
        image : PIL ImagingCore
            What ``Image.filter`` passes: the image's core object.

        Returns
        -------
        PIL ImagingCore
            Same mode and size, filtered.

        Raises
        ------
        ValueError
            For modes that cannot be filtered (palette, bilevel, others).
        """
        if not self._admit(image):
            return image.copy()
        workers = Workers(self.settings)  # resolved once per call, at call time
        out = self._apply_image(image, workers)
        return array_to_core(out, image.mode, workers.map_small)


class CorrelatingFilter(ArrayFilter):
    """A filter that correlates the image with one kernel (``_separable``), the exact family's.

    Where the direct passes compute it, it works on Pillow's own 4-byte
    pixels of RGB, YCbCr, HSV and LAB images, the channels where Pillow keeps
    them, and writes its result over its copy (``blur.correlate_image``).
    """

    def _separable(self) -> SeparableKernel:
        """Return the kernel, as the engine takes it."""
        raise NotImplementedError

    def _apply(self, array: np.ndarray, workers: Workers) -> np.ndarray:
        return correlate_array(array, self._separable(), workers, owned=True)

    def _apply_image(self, image: Any, workers: Workers) -> np.ndarray:
        if image.mode not in STORED_THREE:
            return super()._apply_image(image, workers)
        width, height = image.size
        rows = workers.map_small
        return correlate_image(
            (height, width, 3),
            lambda: core_to_pixels(image, rows),
            lambda: core_to_array(image, rows),
            self._separable(),
            workers,
        )
