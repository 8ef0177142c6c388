"""The line a waiting cell shows is gone from what the notebook shows and stores once the result is printed."""

import contextlib
import io

from lab_shell import as_shown

from incidentlab.progress_line import waiting

WAIT = "Starting dbt in this kernel (the first command takes a few seconds)…"


def as_jupyterlab_draws(text: str) -> str:
    """A stream as JupyterLab draws it: a carriage return moves back to the line's start, and what follows
    overwrites the line character by character, as in a terminal."""
    lines = []
    for line in text.split("\n"):
        drawn, at = [], 0
        for char in line:
            if char == "\r":
                at = 0
                continue
            drawn[at:at + 1] = [char]
            at += 1
        lines.append("".join(drawn).rstrip())
    return "\n".join(lines)


def printed(text: str | None, result: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        with waiting(text):
            pass
        print(result)
    return out.getvalue()


def test_a_shorter_result_hides_the_whole_waiting_line():
    shown = printed(WAIT, "dbt ls\n  acme.stg_orders")
    assert WAIT in shown
    assert as_jupyterlab_draws(shown) == "dbt ls\n  acme.stg_orders\n"
    assert as_shown(shown) == "dbt ls\n  acme.stg_orders\n"


def test_nothing_is_printed_when_nothing_is_waited_for():
    assert printed(None, "dbt ls") == "dbt ls\n"


def test_the_line_is_wiped_when_the_block_fails():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(RuntimeError), waiting(WAIT):
        raise RuntimeError("dbt could not run")
    assert as_jupyterlab_draws(out.getvalue()) == ""
