"""An in-process IPython shell set up by ``start()``, as a notebook's first cell sets up its kernel."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def lab_shell(module: str, exercises=None) -> Iterator:
    """The shell, with ``%sql`` and ``%dbt`` on a lab of ``module`` and ``ex`` (``exercises``) in its namespace."""
    from IPython.core.interactiveshell import InteractiveShell

    from incidentlab.notebook import start

    ip = InteractiveShell.instance()
    lab = start(module)
    if exercises is not None:
        ip.user_ns["ex"] = exercises
    try:
        yield ip
    finally:
        lab.close()
