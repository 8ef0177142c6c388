"""The class file: who the hub's users are, the course id, the exchange and the hub's state folder."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from incidentlab.errors import IncidentLabError
from incidentlab.paths import project_root

# What useradd accepts everywhere, and never an option or a path.
_USER_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_COURSE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def default_class_file() -> Path:
    return project_root() / "hub" / "class.toml"


@dataclass(frozen=True)
class ClassList:
    """A class: its instructors and students (system user names), nbgrader's course id and exchange."""

    course_id: str
    exchange: Path
    state: Path
    instructors: tuple[str, ...]
    students: tuple[str, ...]

    @property
    def users(self) -> tuple[str, ...]:
        return self.instructors + self.students

    @classmethod
    def load(cls, path: Path) -> ClassList:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IncidentLabError(f"{path}: no such class file; copy hub/class.toml and list your class") from None
        except tomllib.TOMLDecodeError as exc:
            raise IncidentLabError(f"{path}: not valid TOML ({exc}); fix that line") from None
        missing = [key for key in ("course_id", "exchange", "state", "instructors", "students") if key not in data]
        if missing:
            raise IncidentLabError(f"{path}: missing {', '.join(missing)} (see hub/class.toml)")
        course_id = str(data["course_id"])
        if not _COURSE_ID.fullmatch(course_id):
            raise IncidentLabError(f"{path}: course_id {course_id!r} must be letters, digits, '.', '-' or '_'")
        names: dict[str, str] = {}  # user name -> its role
        for role in ("instructors", "students"):
            listed = data[role]
            if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
                raise IncidentLabError(f"{path}: {role} must be a list of user names")
            for name in listed:
                if not _USER_NAME.fullmatch(name):
                    raise IncidentLabError(f"{path}: {role}: {name!r} is not a user name (lower case letters, "
                                           "digits, '-' or '_', starting with a letter, at most 32)")
                if name in names:
                    raise IncidentLabError(f"{path}: {name!r} is listed twice ({names[name]} and {role})")
                names[name] = role
        if not data["instructors"]:
            raise IncidentLabError(f"{path}: list at least one instructor")
        folders = {}
        for key in ("exchange", "state"):
            folder = Path(str(data[key]))
            if not folder.is_absolute() or folder == Path("/"):
                raise IncidentLabError(f"{path}: {key} must be an absolute folder other than /, not {folder}")
            folders[key] = folder
        return cls(course_id, folders["exchange"], folders["state"], tuple(data["instructors"]),
                   tuple(data["students"]))
