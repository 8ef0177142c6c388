"""Text that comes from a submission (file names, grade ids, the reasons that quote them) is data: before it
reaches a terminal or the grades CSV, terminal escape sequences and control characters are taken out."""

from __future__ import annotations

import re
import unicodedata

# ESC sequences: CSI (colours, cursor moves), OSC (window titles, hyperlinks) and the two-character ones.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]")


def plain(text: str) -> str:
    """``text`` on one line with no escape sequence, control character or bidirectional override (each line
    break or tab becomes a space)."""
    text = _ESCAPES.sub("", str(text))
    return "".join(" " if ch in "\t\n\r\v\f" else ch for ch in text
                   if ch in "\t\n\r\v\f" or unicodedata.category(ch) not in ("Cc", "Cf"))
