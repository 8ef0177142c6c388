"""A line that says what a cell is waiting for, printed while it waits and wiped before the result.

Wiped with a carriage return, blanks, and a carriage return: JupyterLab overwrites a line as a terminal does
(a shorter result would leave the end of the longer line visible), and nbconvert and nbval drop everything
before the last carriage return of a line. So a notebook's stored output is the same whether the line was
shown or not, and nbval can compare the masters' outputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def wipe(text: str) -> str:
    """What, printed after ``text`` (printed without a newline), leaves its line blank."""
    return "\r" + " " * len(text) + "\r"


@contextmanager
def waiting(text: str | None) -> Iterator[None]:
    """Show ``text`` (nothing if None) while the block runs; the block's own output starts on a blank line."""
    if text is None:
        yield
        return
    print(text, end="", flush=True)
    try:
        yield
    finally:
        print(wipe(text), end="", flush=True)

