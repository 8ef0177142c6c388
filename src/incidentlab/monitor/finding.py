"""What every check returns: a finding with a verdict and the evidence behind it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from incidentlab.errors import IncidentLabError

VERDICTS = ("ok", "skip", "warn", "error", "fail")  # from best to worst
# skip: the check had nothing to read (no run history…); error: the check broke (one plain line says why).
# Neither is a problem of the data: skip counts as ok, error as warn (see report.EXIT_CODES).
ALARMS = ("warn", "fail")  # what fires an alert


@dataclass(frozen=True)
class Finding:
    """One check's verdict on one subject (a mart, a run, a selector, a model).

    ``fired_at`` is the moment the problem began to show in the data the check read (a run's end, the moment a
    mart went past its SLA); None for an ``ok`` finding and for checks that only see the state at ``now``.
    """

    check: str
    subject: str
    verdict: str
    message: str
    evidence: dict = field(default_factory=dict)
    fired_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}; got {self.verdict!r}")

    def to_dict(self) -> dict:
        return {"check": self.check, "subject": self.subject, "verdict": self.verdict, "message": self.message,
                "evidence": self.evidence, "fired_at": self.fired_at.isoformat(sep=" ") if self.fired_at else None}


def worst(verdicts) -> str:
    """The worst of ``verdicts`` ("ok" when there are none)."""
    return max(verdicts, key=VERDICTS.index, default="ok")


def worst_alarm(verdicts) -> str:
    """The worst of ``verdicts`` that is a problem of the data: "warn", "fail", else "ok"."""
    return worst(v for v in verdicts if v in ALARMS)


class NotChecked(IncidentLabError):
    """What a check raises when the warehouse or project lacks what it reads: a ``skip`` finding."""
