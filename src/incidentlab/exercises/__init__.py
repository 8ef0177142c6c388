"""The graded questions of each module, as the student's notebook uses them.

    from incidentlab.exercises import load
    ex = load("wt06_data_stale")
    ex.hours_stale.check()

Each module's questions are a TOML file beside its notebooks (``notebooks/<module>/exercises.toml``): title, hint,
the notebook that asks the question, and the shape of a right result. The wheel carries a copy of each in this
package (``hatch_build.py`` puts it there), for students who install it. There is no answer in them: the keys
are the grader's.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

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


FILE = "exercises.toml"


def _checkout() -> Path | None:
    from incidentlab.paths import project_root

    try:
        return project_root() / "notebooks"
    except RuntimeError:  # an installed wheel, away from any checkout
        return None


def _sources() -> dict[str, Traversable]:
    """module -> its questions file: the checkout's when there is one, else the copies in the installed wheel."""
    found: dict[str, Traversable] = {entry.name[: -len(".toml")]: entry
                                     for entry in resources.files(__package__).iterdir()
                                     if entry.name.endswith(".toml")}
    notebooks = _checkout()
    if notebooks is not None and notebooks.is_dir():
        found.update({path.parent.name: path for path in notebooks.glob(f"*/{FILE}")})
    return found


def modules() -> list[str]:
    """The modules that have graded questions."""
    return sorted(_sources())


def questions_file(module: str) -> Traversable:
    """The module's exercises.toml: the checkout's, or the installed wheel's copy."""
    source = _sources().get(module)
    if source is None:
        raise IncidentLabError(f"no graded questions for {module!r}; known: {', '.join(modules()) or 'none'}")
    return source


def load(module: str) -> Exercises:
    source = questions_file(module)
    where = f"notebooks/{module}/{FILE}"
    try:
        spec = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise IncidentLabError(f"{where}: {exc}") from None
    stages = spec.get("stages") or []
    if not stages:
        raise IncidentLabError(f"{where}: `stages` (the module's, first the incident "
                               "as found) is missing")
    questions = {}
    for name, fields in spec.get("questions", {}).items():
        fields.setdefault("stage", stages[0])
        try:
            if fields["stage"] not in stages:
                raise ValueError(f"stage must be one of {', '.join(stages)}, not {fields['stage']!r}")
            questions[name] = Question(module=module, name=name, columns=tuple(fields.pop("columns")), **fields)
        except (KeyError, TypeError, ValueError) as exc:
            raise IncidentLabError(f"{where}, question {name}: {exc}") from None
    return Exercises(module, questions)
