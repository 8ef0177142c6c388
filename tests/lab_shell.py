"""An in-process IPython shell set up by ``start()``, as a notebook's first cell sets up its kernel; and the
exercise the student-facing tests answer in it: wt06's phantom_count."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

MODULE = "wt06_data_stale"
CHECK = "ex.phantom_count.check()"
# A right answer, written from the notebook's text alone
RIGHT = ("select count(*) as green_runs, count(*) filter (where not includes_marts) as phantom_runs\n"
         "from stg_pipeline_runs where status = 'success' and exit_code = 0")


def as_shown(text: str) -> str:
    """Printed ``text`` as nbval compares it and a notebook shows it: each line from its last carriage return on
    (a line that said what a cell waited for is gone)."""
    return "\n".join(line.rsplit("\r", 1)[-1].rstrip() if "\r" in line else line for line in text.split("\n"))


def answer(sql: str, question: str = "phantom_count") -> str:
    """The answer cell of ``question`` holding ``sql``."""
    return f"%%sql answer_{question} <<\n{sql}"


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


@pytest.fixture(scope="module")
def shell(warehouses):
    """A shell on wt06 with its exercises as ``ex``, for a whole test file."""
    from incidentlab.exercises import load

    with lab_shell(MODULE, load(MODULE)) as ip:
        yield ip
