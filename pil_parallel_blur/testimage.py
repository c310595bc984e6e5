"""A built-in test chart, made in code (no download): the demo's and benchmarks' image.

Tests: test_cli_demo.py.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["test_chart"]


def test_chart(width: int = 1200, height: int = 800, seed: int = 0) -> Image.Image:
    """Return a seeded RGB chart with ramps, hard edges, rings, text-like strokes and noise.

    Parameters
    ----------
    width, height : int
        Size in pixels (at least 1 each).
    seed : int
        Seed of the noise, so that every run gets the same image.

    Returns
    -------
    PIL.Image.Image
        An RGB image: the same bytes for the same arguments.
    """
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be >= 1, got {width}x{height}")
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    r = 255 * u
    g = 255 * v
    b = 255 * (1 - u) * (0.5 + 0.5 * np.sin(6.0 * v))
    base = np.stack([r, g, b], axis=-1)
    # checkerboard in the top-right quarter, rings in the bottom-left
    cell = max(4, min(width, height) // 40)
    checker = ((x // cell + y // cell) % 2).astype(bool) & (x > width / 2) & (y < height / 2)
    base[checker] = 255 - base[checker]
    cx, cy = width / 4, 3 * height / 4
    rings = (np.sin(np.hypot(x - cx, y - cy) / max(1.5, cell / 3)) > 0) & (
        np.hypot(x - cx, y - cy) < min(width, height) / 4
    )
    base[rings] = 0.3 * base[rings]
    base += rng.normal(0.0, 8.0, base.shape).astype(np.float32)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(8, height // 14))
    step = max(8, height // 10)
    for i, text in enumerate(["pil-parallel-blur", "exact Gaussian 0123456789", "Aa Bb Cc |||"]):
        draw.text((width // 20, height // 12 + i * step), text, fill=(255, 255, 255), font=font)
    for k in range(8):  # thin and thick strokes, hard edges
        x0 = width // 2 + k * width // 20
        draw.line([(x0, height // 2), (x0 + width // 30, height - 1)], fill=(0, 0, 0), width=1 + k)
    draw.rectangle(
        [width // 2, height // 2, width // 2 + width // 10, height // 2 + height // 10],
        fill=(255, 255, 0),
    )
    return image
