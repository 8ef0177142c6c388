"""The class's system users: created when the hub starts, removed with ``incidentlab hub --remove-users``.

Only users the hub created are ever removed (``<state>/users.json`` lists them); a user who already existed keeps
their account and password. Each new user gets a generated password (PAM logs them in with it), written with the
others to ``<state>/passwords.csv``, readable by root only, for the instructor to hand out.
"""

from __future__ import annotations

import csv
import grp
import io
import json
import os
import pwd
import secrets
import subprocess
from pathlib import Path

from incidentlab.errors import IncidentLabError
from incidentlab.grading import atomic
from incidentlab.hub.classfile import ClassList


def instructors_group(course_id: str) -> str:
    """The group of the instructors (formgrader and the shared course directory), as nbgrader's demos name it."""
    return f"formgrade-{course_id.lower()}"[:32]


def _run(*command: str, stdin: str | None = None) -> None:
    result = subprocess.run(command, input=stdin, capture_output=True, text=True)
    if result.returncode:
        raise IncidentLabError(f"{' '.join(command[:2])}… failed: {result.stderr.strip() or result.returncode}")


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _ledger(state: Path) -> Path:
    return state / "users.json"


def created_users(state: Path) -> dict:
    path = _ledger(state)
    return json.loads(path.read_text()) if path.is_file() else {"users": [], "groups": []}


def ensure_users(klass: ClassList) -> dict[str, str]:
    """Create the class's missing users and the instructors' group; the new users' passwords (name -> password)."""
    if os.geteuid() != 0:
        raise IncidentLabError("creating the class's system users needs root: run `sudo make hub`")
    ledger = created_users(klass.state)
    group = instructors_group(klass.course_id)
    try:
        grp.getgrnam(group)
    except KeyError:
        _run("groupadd", group)
        ledger["groups"].append(group)
    passwords = {}
    for name in klass.users:
        if not _exists(name):
            _run("useradd", "--create-home", "--shell", "/bin/bash", "--user-group", name)
            ledger["users"].append(name)
            passwords[name] = secrets.token_urlsafe(9)
            atomic.write_json(_ledger(klass.state), ledger)  # recorded before anything else can fail
        home = Path(pwd.getpwnam(name).pw_dir)
        home.chmod(0o700)  # no student reads another's work
        if name in klass.instructors:
            _run("usermod", "--append", "--groups", group, name)
    atomic.write_json(_ledger(klass.state), ledger)
    if passwords:
        _run("chpasswd", stdin="".join(f"{name}:{password}\n" for name, password in passwords.items()))
        _write_passwords(klass, passwords)
    return passwords


def _write_passwords(klass: ClassList, new: dict[str, str]) -> None:
    path = klass.state / "passwords.csv"
    known = {}
    if path.is_file():
        known = {row["user"]: row for row in csv.DictReader(path.read_text().splitlines())}
    for name, password in new.items():
        known[name] = {"user": name, "role": "instructor" if name in klass.instructors else "student",
                       "password": password}
    out = io.StringIO()
    writer = csv.DictWriter(out, ["user", "role", "password"])
    writer.writeheader()
    writer.writerows(known[name] for name in sorted(known))
    old = os.umask(0o077)
    try:
        atomic.write_text(path, out.getvalue())
    finally:
        os.umask(old)
    path.chmod(0o600)


def remove_users(state: Path) -> list[str]:
    """Remove the users and groups the hub created (their homes and processes too); the names removed."""
    ledger = created_users(state)
    removed = []
    for name in ledger["users"]:
        if _exists(name):
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
            _run("userdel", "--remove", name)
            removed.append(name)
    for group in ledger["groups"]:
        try:
            grp.getgrnam(group)
        except KeyError:
            continue
        _run("groupdel", group)
    _ledger(state).unlink(missing_ok=True)
    (state / "passwords.csv").unlink(missing_ok=True)
    return removed
