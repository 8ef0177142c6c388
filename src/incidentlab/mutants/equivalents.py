"""``grading/<module>/equivalent_mutants.toml``: the surviving mutants that mean the same as the key.

One table per question; each entry maps a mutant's id (as ``incidentlab mutants`` prints it) to a one-line
reason a reviewer can check against the key and the data's definitions::

    [phantom_count]
    "count@final#0b9f8fb9" = "run_id is the runs' primary key, never null: count(run_id) counts every run"

A survivor that is not declared here is a gap in the data: a variant should break what it leans on.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from incidentlab.errors import IncidentLabError
from incidentlab.mutants.analysis import QuestionAnalysis
from incidentlab.paths import project_root

MAX_SHARE = 0.10  # equivalents may be at most this share of a question's counted mutants
FILE = "equivalent_mutants.toml"


def equivalents_file(module: str) -> Path:
    return project_root() / "grading" / module / FILE


def read_equivalents(module: str, questions: list[str] | None = None) -> dict[str, dict[str, str]]:
    """question -> mutant id -> reason; empty when the module declares none. With ``questions`` (the module's),
    a table that names none of them is an error (a typo would declare nothing)."""
    path = equivalents_file(module)
    if not path.is_file():
        return {}
    where = str(path.relative_to(project_root()))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise IncidentLabError(f"{where}: {exc}; fix the file (one table per question, `\"<mutant id>\" = "
                               "\"<reason>\"`)") from None
    for question, entries in data.items():
        if questions is not None and question not in questions:
            raise IncidentLabError(f"{where}: [{question}] is not a question of {module}; known: "
                                   f"{', '.join(questions)}")
        if not isinstance(entries, dict):
            raise IncidentLabError(f"{where}: `{question}` must be a table [{question}] of mutant ids and reasons")
        for mutant_id, reason in entries.items():
            if not isinstance(reason, str) or not reason.strip() or "\n" in reason.strip():
                raise IncidentLabError(f"{where}: [{question}] \"{mutant_id}\" needs a one-line reason (a string)")
    return data


@dataclass
class Standing:
    """A question's survivors against its declared equivalents."""

    question: str
    counted: int
    equivalent: dict[str, str] = field(default_factory=dict)  # declared and surviving: id -> reason
    undeclared: list[str] = field(default_factory=list)  # surviving, not declared: a gap in the data
    stale: list[str] = field(default_factory=list)  # declared, but killed or no longer a mutant of the key

    @property
    def too_many(self) -> bool:
        return len(self.equivalent) > MAX_SHARE * self.counted

    @property
    def ok(self) -> bool:
        return not (self.undeclared or self.stale or self.too_many)

    def problems(self) -> list[str]:
        out = []
        if self.undeclared:
            out.append(f"{len(self.undeclared)} survivor(s) neither killed nor declared equivalent: "
                       f"{', '.join(self.undeclared)}")
        if self.stale:
            out.append(f"declared equivalent but no surviving mutant of the key has the id: {', '.join(self.stale)}"
                       " (remove them, or declare the mutant's new id)")
        if self.too_many:
            out.append(f"{len(self.equivalent)} equivalents are over {MAX_SHARE:.0%} of {self.counted} mutants")
        return out


def standing(analysis: QuestionAnalysis, declared: dict[str, str]) -> Standing:
    surviving = {m.id for m in analysis.survivors}
    return Standing(
        analysis.question, analysis.counted,
        equivalent={i: reason for i, reason in declared.items() if i in surviving},
        undeclared=[m.id for m in analysis.survivors if m.id not in declared],
        stale=[i for i in declared if i not in surviving],
    )
