"""The graded questions of each module, as the student's notebook uses them.

    from incidentlab.exercises import load
    ex = load("wt06_data_stale")
    ex.hours_stale.check()

Each module's questions are a TOML file in this package (``<module>.toml``): title, hint, the notebook that asks
the question, and the shape of a right result. There is no answer here: the keys are the grader's.
"""

from __future__ import annotations

import tomllib
from importlib import resources

from incidentlab.checking.question import Question
from incidentlab.errors import IncidentLabError


class Exercises:
    """A module's questions: ``ex.<name>`` is a ``Question``; iterating gives them in the order they are asked."""

    def __init__(self, module: str, questions: dict[str, Question]):
        self.module = module
        self._questions = questions

    def __getattr__(self, name: str) -> Question:
        try:
            return self.__dict__["_questions"][name]
        except KeyError:
            raise AttributeError(f"{self.__dict__.get('module')} has no question named {name!r}") from None

    def __iter__(self):
        return iter(self._questions.values())

    def __len__(self) -> int:
        return len(self._questions)

    def __dir__(self):
        return sorted(self._questions)

    def __repr__(self) -> str:
        return f"Exercises({self.module}: {', '.join(self._questions)})"


def modules() -> list[str]:
    """The modules that have graded questions."""
    return sorted(entry.name[: -len(".toml")] for entry in resources.files(__package__).iterdir()
                  if entry.name.endswith(".toml"))


def load(module: str) -> Exercises:
    source = resources.files(__package__) / f"{module}.toml"
    if not source.is_file():
        raise IncidentLabError(f"no graded questions for {module!r}; known: {', '.join(modules()) or 'none'}")
    try:
        spec = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise IncidentLabError(f"incidentlab/exercises/{module}.toml: {exc}") from None
    questions = {}
    for name, fields in spec.get("questions", {}).items():
        try:
            questions[name] = Question(module=module, name=name, columns=tuple(fields.pop("columns")), **fields)
        except (KeyError, TypeError, ValueError) as exc:
            raise IncidentLabError(f"incidentlab/exercises/{module}.toml, question {name}: {exc}") from None
    return Exercises(module, questions)
