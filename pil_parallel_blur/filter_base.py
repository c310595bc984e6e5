"""What every filter of the package shares: parallel settings and one image → array → image flow.

Tests: test_filter.py, test_adapters.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import ImageFilter

from .parallel import ParallelSettings, Progress, Workers
from .pillow_adapter import array_to_core, check_mode, core_to_array

__all__ = ["ArrayFilter"]


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
        out = self._apply(core_to_array(image, workers.map_small), workers)
        return array_to_core(out, image.mode, workers.map_small)
