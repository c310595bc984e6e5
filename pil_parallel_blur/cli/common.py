"""What every command shares: the program name, user errors, one-line messages."""

from __future__ import annotations

from PIL import Image

__all__ = ["PROG", "DEFAULT_MAX_PIXELS", "UserError", "one_line"]

PROG = "pil-parallel-blur"
#: Pillow's own decompression-bomb limit, kept unless --max-pixels says otherwise.
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


class UserError(Exception):
    """An error the user can fix; printed as one line."""


def one_line(e: BaseException) -> str:
    """Return the message of ``e`` on one line (its type name when it has none)."""
    return " ".join(str(e).split()) or type(e).__name__
