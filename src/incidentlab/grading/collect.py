"""Collect an LMS export into nbgrader's submitted/ folder: one subfolder, ``.ipynb`` or ``.zip`` per student.

The student id is the folder or file name (made safe for a path). A notebook whose name is not one of the
assignment's is matched to the released notebook that shares its graded cells (LMSs rename files: "01 (2).ipynb");
anything else is copied as it is, and the autograde step reports it. Each student's files replace the previous
collection atomically, with a timestamp.txt that nbgrader reads for late penalties.

Submissions are untrusted: symbolic links (export entries, inside folders, zip members) are never followed or
copied, notebooks and cells over a size limit are refused, and two entries that are one student are both left
out. Each refusal is a note in plain words.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from incidentlab import temp_folders
from incidentlab.errors import IncidentLabError
from incidentlab.grading import atomic
from incidentlab.grading.course import Course
from incidentlab.grading.plain import plain
from incidentlab.grading.repair import UnreadableNotebook, grade_id, read

MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # all the notebooks of one zip
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_CELL_CHARS = 200_000


@dataclass
class Collected:
    students: dict[str, list[str]] = field(default_factory=dict)  # student -> notes
    skipped: list[str] = field(default_factory=list)  # export entries that are not submissions
    conflicts: list[str] = field(default_factory=list)  # entries left out because they are the same student

    def lines(self) -> list[str]:
        out = [f"collected {len(self.students)} submission(s)"]
        out += [f"  {s}: {plain('; '.join(n))}" for s, n in sorted(self.students.items()) if n]
        out += [f"  {plain(conflict)}" for conflict in self.conflicts]
        out += [f"  skipped {plain(entry)}" for entry in self.skipped]
        return out


def conflicts_file(course: Course) -> Path:
    """The export entries the last collect left out because they are one student (each gets a grades row)."""
    return course.pipeline / "collect_conflicts.json"


def student_id(name: str) -> str:
    stem = re.sub(r"\.(ipynb|zip)$", "", name, flags=re.IGNORECASE)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "unnamed"


def released_ids(course: Course) -> dict[str, set[str]]:
    out = {}
    for path in sorted(course.release.glob("*.ipynb")):
        nb = read(path)
        out[path.stem] = {gid for cell in nb.cells if (gid := grade_id(cell))}
    return out


def _conflict(entries: list[Path], sid: str) -> str:
    names = [e.name for e in entries]
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    if len(names) == 2:
        return f"{listed}: both map to student '{sid}'; neither was collected — rename one and collect again"
    return f"{listed}: all map to student '{sid}'; none was collected — rename all but one and collect again"


def walk(folder: Path) -> tuple[list[Path], list[str]]:
    """The notebooks anywhere in ``folder``, never going through a symbolic link (each link found is a note)."""
    files, notes = [], []
    for top, dirs, names in os.walk(folder):  # followlinks=False: a linked folder is listed, never entered
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints")
        for name in sorted(dirs + names):
            path = Path(top, name)
            shown = path.relative_to(folder).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                notes.append(f"{shown} is a symbolic link; not collected")
            elif name in names and name.endswith(".ipynb"):
                if stat.S_ISREG(mode):
                    files.append(path)
                else:
                    notes.append(f"{shown} is not a regular file; not collected")
    return files, notes


def _unzip(archive: Path, dest: Path) -> list[str]:
    """Extract the notebooks of ``archive`` (flattened); refuses paths outside dest, links and zip bombs."""
    notes = []
    try:
        with zipfile.ZipFile(archive) as zf:
            members = []
            for member in zf.infolist():
                if member.is_dir() or "__MACOSX" in member.filename:
                    continue
                if stat.S_ISLNK(member.external_attr >> 16):
                    notes.append(f"{member.filename} in {archive.name} is a symbolic link; not collected")
                elif member.filename.lower().endswith(".ipynb"):
                    members.append(member)
            # zipfile stops reading a member at its declared size, so the declared sizes bound the disk used.
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                return notes + [f"{archive.name}: more than {MAX_UNZIPPED_BYTES >> 20} MB of notebooks; not extracted"]
            for member in members:
                name = Path(member.filename).name
                with zf.open(member) as src, open(dest / name, "wb") as out:
                    shutil.copyfileobj(src, out)
    except zipfile.BadZipFile:
        notes.append(f"{archive.name} is not a readable zip archive")
    except (NotImplementedError, RuntimeError, EOFError, zlib.error) as exc:  # unsupported method, password, …
        notes.append(f"{archive.name} could not be extracted ({exc})")
    return notes


def refusal(path: Path) -> str | None:
    """Why the notebook at ``path`` is not collected (too big, or JSON that ``read`` cannot handle), or None."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return (f"{path.name} is {size / 2**20:.1f} MB, over the {MAX_NOTEBOOK_BYTES >> 20} MB limit for a notebook; "
                "not collected")
    try:
        nb = read(path)
    except UnreadableNotebook:
        return None  # copied as it is; autograde says why it cannot be graded
    except (RecursionError, ValueError):  # read() lets these through from json.loads
        return (f"{path.name} is not a notebook (its JSON is nested too deeply or has a number thousands of digits "
                "long); not collected")
    for number, cell in enumerate(nb.cells, 1):
        if len(cell.source) > MAX_CELL_CHARS:
            return (f"{path.name}: cell {number} has {len(cell.source):,} characters, over the "
                    f"{MAX_CELL_CHARS:,}-character limit for a cell; not collected")
    return None


def place(files: list[Path], released: dict[str, set[str]], inbox: Path) -> list[str]:
    """Copy the files into ``inbox`` under the released names where they can be recognised."""
    notes = []
    taken: set[str] = set()
    for path in sorted(files, key=lambda p: (p.stem not in released, p.name)):
        name = path.name
        if path.stem not in released or path.stem in taken:
            try:
                ids = {gid for cell in read(path).cells if (gid := grade_id(cell))}
            except UnreadableNotebook:
                ids = set()
            best = max(released, key=lambda n: len(ids & released[n]), default=None)
            if best and ids & released[best] and best not in taken:
                notes.append(f"{path.name} taken as {best}.ipynb")
                name = f"{best}.ipynb"
        if Path(name).stem in taken:
            notes.append(f"{path.name}: a second copy of {name}, ignored")
            continue
        taken.add(Path(name).stem)
        shutil.copyfile(path, inbox / name)
    return notes


def collect(course: Course, export: Path, progress: bool = False) -> Collected:
    from tqdm import tqdm

    if not export.is_dir():
        raise IncidentLabError(f"{export} is not a folder; pass the folder of the LMS export")
    released = released_ids(course)
    if not released:
        raise IncidentLabError(f"no released notebooks in {course.release}; run `incidentlab grade release` first")
    summary = Collected()
    by_id: dict[str, list[Path]] = {}
    for entry in sorted(export.iterdir()):
        mode = entry.lstat().st_mode
        if stat.S_ISLNK(mode):
            summary.skipped.append(f"{entry.name} (a symbolic link; not collected)")
        elif entry.name.startswith(".") or not (
                stat.S_ISDIR(mode) or stat.S_ISREG(mode) and entry.suffix.lower() in {".ipynb", ".zip"}):
            summary.skipped.append(f"{entry.name} (not a folder, .ipynb or .zip)")
        else:
            by_id.setdefault(student_id(entry.name), []).append(entry)
    summary.conflicts = [_conflict(entries, sid) for sid, entries in by_id.items() if len(entries) > 1]
    atomic.write_json(conflicts_file(course), [
        {"student": sid, "entry": entry.name, "reason": _conflict(entries, sid)}
        for sid, entries in by_id.items() if len(entries) > 1 for entry in entries])
    ids = {sid: entries[0] for sid, entries in by_id.items() if len(entries) == 1}

    for sid, entry in tqdm(ids.items(), desc="collect", unit="student", disable=not progress):
        with temp_folders.folder("collect") as tmp:
            unpacked, inbox = tmp / "unpacked", tmp / "inbox"
            unpacked.mkdir()
            inbox.mkdir()
            notes: list[str] = []
            if entry.is_dir():
                files, notes = walk(entry)
            elif entry.suffix.lower() == ".zip":
                notes += _unzip(entry, unpacked)
                files = sorted(unpacked.glob("*.ipynb"))
            else:
                files = [entry]
            if not files and not notes:
                notes.append("no notebook in the submission")
            refusals = {path: why for path in files if (why := refusal(path))}
            notes += refusals.values()
            notes += place([p for p in files if p not in refusals], released, inbox)
            stamp = dt.datetime.fromtimestamp(entry.lstat().st_mtime, dt.UTC)
            (inbox / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
            atomic.replace_tree(inbox, course.submitted(sid))
            atomic.write_json(course.collect_notes(sid), {"source": entry.name, "notes": notes})
        summary.students[sid] = notes
    return summary
