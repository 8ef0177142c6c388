"""What the hub's users need before JupyterHub starts: the exchange, the course copy, the environments, configs.

``<state>/`` (root's, readable by all unless said otherwise):
- ``course/``: ``datasets/``, ``dbt/`` and the built ``warehouses/`` (read-only): what a student's kernel reads.
  Students never read the checkout, which holds the answer keys and the masters: its top folder is opened to the
  instructors' group only.
- ``student-env/``: a Python environment with the student's wheel (no answer key), JupyterLab, nbgrader for the
  Assignments tab and jupyterhub-singleuser; ``instructor-env/`` the lock's, with the checkout's package. Both run
  a Python every user can (the project's .venv may not) and are rebuilt only when the project or its lock changes.
- ``config/student/``, ``config/instructor/``: the Jupyter configuration each role's server reads (nbgrader's
  course id and exchange; for students the Assignments tab and no other nbgrader tool).
- ``instructors/course/``: nbgrader's course directory, shared by the instructors' group (setgid, group-writable).
"""

from __future__ import annotations

import grp
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from incidentlab.errors import IncidentLabError
from incidentlab.grading import atomic
from incidentlab.hub.classfile import ClassList
from incidentlab.hub.users import instructors_group
from incidentlab.paths import project_root, warehouses_dir

STUDENT_CONFIG = Path(__file__).parent / "student_config"
_COPIED_SKIPS = shutil.ignore_patterns("target", "logs", "__pycache__", ".building-*", "*.wal")


def course_copy(state: Path) -> Path:
    return state / "course"


def student_env(state: Path) -> Path:
    return state / "student-env"


def instructor_env(state: Path) -> Path:
    return state / "instructor-env"


def config_dir(state: Path, role: str) -> Path:
    return state / "config" / role


def instructors_course(state: Path) -> Path:
    return state / "instructors" / "course"


def prepare(klass: ClassList) -> None:
    """Everything under the state folder, the exchange, and the checkout closed to students."""
    klass.state.mkdir(parents=True, exist_ok=True)
    klass.state.chmod(0o755)
    _exchange(klass.exchange)
    _copy_course(klass.state)
    _environments(klass.state)
    _configs(klass)
    _instructors_course(klass)
    close_checkout(klass)


def _exchange(exchange: Path) -> None:
    """nbgrader's exchange as its demos make it: a folder every user may write (nbgrader sets the rest)."""
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o777)


def _copy_course(state: Path) -> None:
    built = warehouses_dir()
    if not any(built.glob("*/*/acme.duckdb")):
        raise IncidentLabError(f"no built warehouses in {built}: run `make warehouses` first")
    staging = state / ".course.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for name in ("datasets", "dbt"):
        shutil.copytree(project_root() / name, staging / name, ignore=_COPIED_SKIPS)
    shutil.copytree(built, staging / "warehouses", ignore=_COPIED_SKIPS)
    for folder, dirs, files in os.walk(staging):  # readable by every user, writable by root only
        for name in dirs:
            Path(folder, name).chmod(0o755)
        for name in files:
            Path(folder, name).chmod(0o644)  # root's: read-only to users, and a copy a kernel makes is its own
    old = state / ".course.old"
    shutil.rmtree(old, ignore_errors=True)
    if course_copy(state).exists():
        os.replace(course_copy(state), old)
    os.replace(staging, course_copy(state))
    shutil.rmtree(old, ignore_errors=True)


def _project_digest() -> str:
    """What the student environment is built from: the package's sources, the questions, the lock."""
    root = project_root()
    digest = hashlib.sha256()
    files = [root / "pyproject.toml", root / "requirements.lock", root / "hatch_build.py"]
    files += sorted((root / "src").rglob("*.py")) + sorted((root / "src").rglob("*.json"))
    files += sorted((root / "notebooks").glob("*/exercises.toml"))
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def shared_python() -> str:
    """A Python 3.11 every user can run (this one may live in root's home, as pyenv's do)."""
    candidates = [os.path.realpath(sys.executable), "/usr/bin/python3.11", "/usr/local/bin/python3.11"]
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and all(p.stat().st_mode & 0o001 for p in [path, *path.parents]):
            return str(path)
    raise IncidentLabError("the hub's users need a Python 3.11 they can run, outside root's home: install Debian's "
                           "python3.11 (apt-get install python3.11)")


def _is_current(env: Path, digest: str) -> bool:
    """Whether ``env`` was built from the project as ``digest`` (``_project_digest()``) describes it."""
    stamp = env / ".built-from"
    return stamp.is_file() and stamp.read_text() == digest


def _environment(env: Path, what: str, install: list[str], digest: str) -> None:
    """A Python environment at ``env`` with ``install`` (uv pip install's arguments); rebuilt when the project
    or its lock changed since it was built (``digest``)."""
    if _is_current(env, digest):
        return
    print(f"building the {what} environment in {env}…", flush=True)
    uv = [sys.executable, "-m", "uv"]
    shutil.rmtree(env, ignore_errors=True)
    _run(uv + ["venv", "--quiet", "--python", shared_python(), str(env)])
    _run(uv + ["pip", "install", "--quiet", "--compile-bytecode", "--python", str(env / "bin" / "python"), *install])
    (env / ".built-from").write_text(digest)


def _environments(state: Path) -> None:
    """The student's (the course's wheel, nbgrader for the Assignments tab, jupyterhub-singleuser) and the
    instructors' (the lock, every extra, and the checkout's package)."""
    lock = str(project_root() / "requirements.lock")
    digest = _project_digest()  # hashed once: both environments are stamped with it
    wheels = state / ".wheel"
    shutil.rmtree(wheels, ignore_errors=True)
    if not _is_current(student_env(state), digest):
        _run([sys.executable, "-m", "uv", "build", "--wheel", "--quiet", "--out-dir", str(wheels),
              str(project_root())])
        [wheel] = wheels.glob("*.whl")
        _environment(student_env(state), "student", ["--constraint", lock, str(wheel), "nbgrader", "jupyterhub"],
                     digest)
        shutil.rmtree(wheels)
    _environment(instructor_env(state), "instructors'", ["-r", lock, "-e", str(project_root())], digest)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise IncidentLabError(f"building the hub's environments failed: uv {' '.join(command[3:5])}: "
                               f"{(result.stderr.strip().splitlines() or ['no output'])[-1]}")


def nbgrader_config(klass: ClassList, role: str) -> str:
    """The nbgrader configuration of a role's servers: the course id and the exchange (and the course, for
    instructors)."""
    lines = ["# Written by `incidentlab hub` from the class file; rewritten each time the hub starts.",
             "c = get_config()  # noqa: F821"]
    if role == "instructor":
        lines += [f"load_subconfig({str(project_root() / 'grading' / 'nbgrader_config.py')!r})  # noqa: F821",
                  f"c.CourseDirectory.root = {str(instructors_course(klass.state))!r}",
                  "c.CourseDirectory.db_url = 'sqlite:///' + "
                  f"{str(instructors_course(klass.state) / 'gradebook.db')!r}"]
    lines += [f"c.CourseDirectory.course_id = {klass.course_id!r}",
              f"c.Exchange.root = {str(klass.exchange)!r}"]
    return "\n".join(lines) + "\n"


def _configs(klass: ClassList) -> None:
    student = config_dir(klass.state, "student")
    if student.exists():
        shutil.rmtree(student)
    shutil.copytree(STUDENT_CONFIG, student)
    for role in ("student", "instructor"):
        folder = config_dir(klass.state, role)
        folder.mkdir(parents=True, exist_ok=True)
        atomic.write_text(folder / "nbgrader_config.py", nbgrader_config(klass, role))
        (folder / "nbgrader_config.py").chmod(0o644)
    (klass.state / "config").chmod(0o755)


def _instructors_course(klass: ClassList) -> None:
    """nbgrader's course directory, shared by the instructors: group-owned, setgid, closed to everyone else."""
    gid = grp.getgrnam(instructors_group(klass.course_id)).gr_gid
    course = instructors_course(klass.state)
    course.mkdir(parents=True, exist_ok=True)
    for folder, mode in ((course.parent, 0o750), (course, 0o2770)):
        os.chown(folder, 0, gid)
        folder.chmod(mode)


def close_checkout(klass: ClassList) -> None:
    """Open the checkout's top folder to root and the instructors only: it holds the answer keys and the masters.

    Its mode and group before are kept in ``<state>/checkout.json``, for ``incidentlab hub --remove-users``.
    """
    root = project_root()
    saved = klass.state / "checkout.json"
    info = root.stat()
    if not saved.exists():
        atomic.write_json(saved, {"path": str(root), "mode": info.st_mode & 0o7777, "gid": info.st_gid})
    os.chown(root, info.st_uid, grp.getgrnam(instructors_group(klass.course_id)).gr_gid)
    root.chmod(0o750)


def reopen_checkout(state: Path) -> None:
    saved = state / "checkout.json"
    if not saved.is_file():
        return
    data = json.loads(saved.read_text())
    root = Path(data["path"])
    if root.exists():
        os.chown(root, root.stat().st_uid, data["gid"])
        root.chmod(data["mode"])
    saved.unlink()
