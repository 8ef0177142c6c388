"""Where a course's files are: nbgrader's course directory, read from ``grading/nbgrader_config.py``."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

from incidentlab.paths import project_root


def config_file() -> Path:
    return project_root() / "grading" / "nbgrader_config.py"


def load_config(path: Path | None = None) -> Config:
    """nbgrader's configuration for the course (empty when the file does not exist)."""
    from traitlets.config.loader import PyFileConfigLoader

    path = path or config_file()
    if not path.exists():
        return Config()
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


@dataclass
class Course:
    """One assignment of an nbgrader course, with the folders the pipeline keeps beside nbgrader's.

    An assignment is a module: its masters are ``notebooks/<module>/``, its key ``grading/<module>/``.
    """

    config: Config
    assignment: str

    def __post_init__(self) -> None:
        # nbgrader runs `alembic` from PATH when it creates a gradebook; it sits next to this interpreter.
        tools = str(Path(sys.executable).parent)
        if tools not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = tools + os.pathsep + os.environ.get("PATH", "")

    @classmethod
    def load(cls, assignment: str, config_path: Path | None = None) -> Course:
        return cls(load_config(config_path), assignment)

    def coursedir(self):
        from nbgrader.coursedir import CourseDirectory

        config = Config(self.config)
        if "root" not in config.CourseDirectory:
            config.CourseDirectory.root = str(project_root() / "grading" / "course")
        return CourseDirectory(config=config)

    @property
    def root(self) -> Path:
        return Path(self.coursedir().root)

    def _folder(self, kind: str, student: str = ".") -> Path:
        cd = self.coursedir()
        return Path(cd.format_path(getattr(cd, f"{kind}_directory"), student, self.assignment))

    @property
    def source(self) -> Path:
        return self._folder("source")

    @property
    def release(self) -> Path:
        return self._folder("release")

    def submitted(self, student: str = ".") -> Path:
        return self._folder("submitted", student)

    def autograded(self, student: str = ".") -> Path:
        return self._folder("autograded", student)

    def feedback(self, student: str = ".") -> Path:
        return self._folder("feedback", student)

    @property
    def db_url(self) -> str:
        return self.coursedir().db_url

    @property
    def course_id(self) -> str:
        return self.coursedir().course_id

    @property
    def pipeline(self) -> Path:
        """The pipeline's own records: collect notes, per-student results, exports."""
        return self.root / "pipeline" / self.assignment

    def result_file(self, student: str) -> Path:
        return self.pipeline / "results" / f"{student}.json"

    def collect_notes(self, student: str) -> Path:
        return self.pipeline / "collect" / f"{student}.json"

    def notebooks(self) -> list[str]:
        """The assignment's notebook names (no extension), from the release the students received."""
        names = sorted(p.stem for p in self.release.glob("*.ipynb"))
        if not names:
            from incidentlab.errors import IncidentLabError

            raise IncidentLabError(
                f"no released notebooks in {self.release}; run `incidentlab grade release` first")
        return names

    def students(self) -> list[str]:
        cd = self.coursedir()
        base = Path(cd.root) / cd.submitted_directory
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / self.assignment).is_dir())
