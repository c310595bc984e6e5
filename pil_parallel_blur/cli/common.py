"""What every command shares: the program name, user errors, one-line messages.

Tests: test_cli_outputs.py (names), test_cli_messages.py.
"""

from __future__ import annotations

import unicodedata

from PIL import Image

__all__ = ["PROG", "DEFAULT_MAX_PIXELS", "UserError", "one_line", "shown"]

PROG = "pil-parallel-blur"
#: Pillow's own decompression-bomb limit, kept unless --max-pixels says otherwise.
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


class UserError(Exception):
    """An error the user can fix; printed as one line."""


def _escape(text: str, keep_backslash: bool = False) -> str:
    out = []
    for ch in text:
        if ch == "\\" and keep_backslash:
            out.append(ch)
        elif ch in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def shown(path: object) -> str:
    r"""Return a file name as it is printed: control characters escaped, as ``ls`` does.

    ``\n`` for a newline, ``\x1b`` for an escape.

    A name with a newline or a terminal control sequence then stays on its
    line and cannot restyle the terminal.
    """
    return _escape(str(path))


def one_line(e: BaseException | str) -> str:
    """Return the message of ``e`` on one line (its type name when it has none).

    Runs of white space become one space; any other control character left
    (from a name that was not passed through ``shown``) is escaped.
    """
    text = " ".join(str(e).split())
    if not text and isinstance(e, BaseException):
        return type(e).__name__
    return _escape(text, keep_backslash=True)
