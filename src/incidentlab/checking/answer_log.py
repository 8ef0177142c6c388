"""What the kernel last did with each answer cell, so a check never judges an older answer.

``start()`` registers ``AnswerLog.record`` on IPython's ``post_run_cell`` event. For every cell that stores an
answer (``%%sql answer_<name> <<``) the log keeps its latest run: the cell's text, whether it succeeded, the
first line of its error. It also keeps the latest cell of any kind, so a check can tell that the cell just
before it failed — the usual sign of an answer cell whose header line was deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

from incidentlab.checking.answer_sql import stored_name
from incidentlab.error_text import one_line


@dataclass(frozen=True)
class Run:
    source: str
    ok: bool
    error: str = ""  # the first line of the error, when not ok
    count: int = 0  # the order of the runs in this kernel


def _error_line(result) -> str:
    error = result.error_before_exec or result.error_in_exec
    return "" if error is None else one_line(error)


class AnswerLog:
    def __init__(self) -> None:
        self.answers: dict[str, Run] = {}  # variable name -> its cell's latest run
        self.last: Run | None = None  # the latest cell run, of any kind
        self._count = 0

    def record(self, result) -> None:
        """IPython's ``post_run_cell`` callback."""
        source = result.info.raw_cell if result.info is not None else ""
        self._count += 1
        run = Run(source=source, ok=bool(result.success), error=_error_line(result), count=self._count)
        name = stored_name(source)
        if name is not None:
            self.answers[name] = run
        self.last = run

    def latest(self, variable: str) -> Run | None:
        return self.answers.get(variable)


_LOG = AnswerLog()


def answer_log() -> AnswerLog:
    return _LOG


def install(ip) -> None:
    """Record every cell the IPython shell ``ip`` runs (once per kernel)."""
    if _LOG.record not in ip.events.callbacks["post_run_cell"]:
        ip.events.register("post_run_cell", _LOG.record)
