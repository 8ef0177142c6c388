"""nbgrader's exchange (a JupyterHub class): release to it, collect from it, release feedback through it.

Collecting takes each student's latest submission of the assignment from the exchange's inbound folder into
nbgrader's submitted/ folder, with the same safety as an LMS export (``collect.py``): symbolic links are never
followed or copied, notebooks and cells over the size limits are refused, renamed notebooks are recognised by
their graded cells. A submission folder must belong to the student it names (nbgrader's own ``check_owner``), so
no one hands in for someone else. The submission time is the one nbgrader's submit wrote in the folder's name, unless
the folder was changed later (a student owns their folder and could backdate its name): then the later time counts.
"""

from __future__ import annotations

import datetime as dt
import gc
import pwd
import re
import stat
import warnings
from pathlib import Path

from traitlets.config import Config

from incidentlab import temp_folders
from incidentlab.errors import IncidentLabError
from incidentlab.grading import atomic
from incidentlab.grading.collect import Collected, place, refusal, released_ids, walk
from incidentlab.grading.course import Course

DEFAULT_ROOT = "/srv/nbgrader/exchange"  # nbgrader's own default
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # as nbgrader's submit writes it (times here are UTC)
_SECRET = re.compile(r"[0-9a-f]{16,256}")  # nbgrader's submission_secret.txt: token_hex(64)
_SLACK = dt.timedelta(minutes=2)  # a folder's change time trails the name's time by the copy of the files


def root(course: Course) -> Path:
    """The exchange folder the course's nbgrader configuration names (``c.Exchange.root``)."""
    return Path(course.config.get("Exchange", {}).get("root", DEFAULT_ROOT))


def _api(course: Course, **exchange_options):
    from nbgrader.apps import NbGraderAPI

    config = Config(course.config)
    for name, value in exchange_options.items():
        setattr(config.ExchangeReleaseAssignment, name, value)
    coursedir = course.coursedir()
    return NbGraderAPI(coursedir=coursedir, config=config)


def _check(result: dict, what: str) -> None:
    if not result or not result.get("success"):
        log = (result or {}).get("log") or (result or {}).get("error") or ""
        last = [line for line in log.splitlines() if line.strip()][-1:] or ["no log"]
        raise IncidentLabError(f"nbgrader could not {what}: {last[0].strip()}")


def release(course: Course) -> Path:
    """Put the assignment's release into the exchange, for the students' Assignments tab (again: replaced)."""
    course.notebooks()  # fails with the reason when the assignment was never generated
    exchange = root(course)
    if not exchange.is_dir():
        raise IncidentLabError(f"the exchange {exchange} does not exist; `incidentlab hub` creates it (or mkdir it "
                               "with mode 777, as nbgrader's demos do)")
    _check(_api(course, force=True).release_assignment(course.assignment), f"release {course.assignment} to {exchange}")
    return exchange / course.course_id / "outbound" / course.assignment


def release_feedback(course: Course, students: list[str] | None = None) -> list[str]:
    """Release the feedback pages of ``students`` (default: every one with feedback) through the exchange.

    nbgrader names a page in the exchange by the submission's secret, so the feedback folder needs the secret that
    collecting kept beside the submission. Returns the students whose feedback was released.
    """
    released = []
    api = _api(course)
    for student in students or course.students():
        folder = course.feedback(student)
        secret = course.submitted(student) / "submission_secret.txt"
        if not any(folder.glob("*.html")) or not secret.is_file():
            continue
        for name in ("submission_secret.txt", "timestamp.txt"):
            source = course.submitted(student) / name
            if source.is_file():
                atomic.write_text(folder / name, source.read_text(encoding="utf-8"))
        with warnings.catch_warnings():  # nbgrader's release_feedback leaves timestamp.txt open: closed here
            warnings.simplefilter("ignore", ResourceWarning)
            result = api.release_feedback(course.assignment, student)
            gc.collect()
        _check(result, f"release {student}'s feedback")
        released.append(student)
    return released


def _submissions(inbound: Path, assignment: str) -> dict[str, list[tuple[dt.datetime, Path]]]:
    """``student+assignment+timestamp+random`` folders of the inbound folder, per student, newest first."""
    from nbgrader.utils import parse_utc

    found: dict[str, list[tuple[dt.datetime, Path]]] = {}
    for entry in inbound.iterdir():
        parts = entry.name.rsplit("+", 3)
        if len(parts) != 4 or parts[1] != assignment:
            continue
        try:
            when = parse_utc(parts[2])
        except (ValueError, OverflowError):
            continue
        found.setdefault(parts[0], []).append((when, entry))
    return {student: sorted(entries, reverse=True) for student, entries in found.items()}


def _owner_note(entry: Path, student: str) -> str | None:
    """Why ``entry`` is not the student's submission (a link, not a folder, someone else's), or None."""
    info = entry.lstat()
    if stat.S_ISLNK(info.st_mode):
        return f"{entry.name} is a symbolic link; not collected"
    if not stat.S_ISDIR(info.st_mode):
        return f"{entry.name} is not a folder; not collected"
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = f"user id {info.st_uid}"
    if owner != student:
        return f"{entry.name} names {student} but belongs to {owner}; not collected"
    return None


def _secret(entry: Path) -> str | None:
    """The submission's secret, when it is a small regular file that holds one (never through a link)."""
    path = entry / "submission_secret.txt"
    try:
        info = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size > 1024:
        return None
    text = path.read_text(encoding="ascii", errors="replace")
    return text if _SECRET.fullmatch(text) else None


def collect(course: Course, progress: bool = False) -> Collected:
    """Each student's newest submission of the assignment in the exchange, into submitted/ (replacing theirs)."""
    from tqdm import tqdm

    inbound = root(course) / course.course_id / "inbound"
    if not inbound.is_dir():
        raise IncidentLabError(f"no exchange inbound folder at {inbound}: is {course.course_id} released to "
                               f"{root(course)} (incidentlab grade release --exchange)?")
    released = released_ids(course)
    if not released:
        raise IncidentLabError(f"no released notebooks in {course.release}; run `incidentlab grade release` first")
    summary = Collected()
    for student, entries in tqdm(sorted(_submissions(inbound, course.assignment).items()), desc="collect",
                                 unit="student", disable=not progress):
        refused = []
        for claimed, entry in entries:
            if why := _owner_note(entry, student):
                refused.append(why)
                continue
            notes = refused + ([f"the latest of {len(entries)} submissions collected"] if len(entries) > 1 else [])
            summary.students[student] = notes + _take(course, student, entry, claimed, released)
            break
        else:
            summary.conflicts += [f"{student}: {why}" for why in refused]
    return summary


def _take(course: Course, student: str, entry: Path, claimed: dt.datetime, released: dict) -> list[str]:
    """Copy one submission folder into submitted/ with its time and secret; the notes on it."""
    files, notes = walk(entry)
    if not files and not notes:
        notes.append("no notebook in the submission")
    refusals = {path: why for path in files if (why := refusal(path))}
    notes += refusals.values()
    changed = dt.datetime.fromtimestamp(entry.lstat().st_ctime, dt.UTC).replace(tzinfo=None)  # as parse_utc
    stamp = claimed
    if changed - claimed > _SLACK:
        stamp = changed
        notes.append(f"submitted as of {claimed:%Y-%m-%d %H:%M} UTC, but its folder was changed at "
                     f"{changed:%Y-%m-%d %H:%M} UTC: the later time counts")
    with temp_folders.folder("collect") as tmp:
        inbox = tmp / "inbox"  # beside the folder's owner record, which stays out of submitted/
        inbox.mkdir()
        notes += place([p for p in files if p not in refusals], released, inbox)
        # nbgrader's own text where it stands, so its late penalties read what the student's Assignments tab shows
        text = entry.name.rsplit("+", 3)[2] if stamp == claimed else stamp.strftime(TIMESTAMP_FORMAT)
        (inbox / "timestamp.txt").write_text(text)
        if (secret := _secret(entry)) and stamp == claimed:  # feedback reaches the student's Assignments tab
            (inbox / "submission_secret.txt").write_text(secret)
        atomic.replace_tree(inbox, course.submitted(student))
        atomic.write_json(course.collect_notes(student), {"source": f"exchange: {entry.name}", "notes": notes})
    return notes
