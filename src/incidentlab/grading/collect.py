"""Collect an LMS export into nbgrader's submitted/ folder: one subfolder, ``.ipynb`` or ``.zip`` per student.

The student id is the folder or file name (made safe for a path). A notebook whose name is not one of the
assignment's is matched to the released notebook that shares its graded cells (LMSs rename files: "01 (2).ipynb");
anything else is copied as it is, and the autograde step reports it. Each student's files replace the previous
collection atomically, with a timestamp.txt that nbgrader reads for late penalties.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from incidentlab.errors import IncidentLabError
from incidentlab.grading import atomic
from incidentlab.grading.course import Course
from incidentlab.grading.repair import UnreadableNotebook, grade_id, read

MAX_UNZIPPED_BYTES = 200 * 1024 * 1024


@dataclass
class Collected:
    students: dict[str, list[str]] = field(default_factory=dict)  # student -> notes
    skipped: list[str] = field(default_factory=list)  # export entries that are not submissions

    def lines(self) -> list[str]:
        out = [f"collected {len(self.students)} submission(s)"]
        out += [f"  {s}: {'; '.join(n)}" for s, n in sorted(self.students.items()) if n]
        out += [f"  skipped {entry}" for entry in self.skipped]
        return out


def student_id(name: str) -> str:
    stem = re.sub(r"\.(ipynb|zip)$", "", name, flags=re.IGNORECASE)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "unnamed"


def _released_ids(course: Course) -> dict[str, set[str]]:
    out = {}
    for path in sorted(course.release.glob("*.ipynb")):
        nb = read(path)
        out[path.stem] = {gid for cell in nb.cells if (gid := grade_id(cell))}
    return out


def _unzip(archive: Path, dest: Path) -> list[str]:
    """Extract the notebooks of ``archive`` (flattened); refuses paths outside dest and zip bombs."""
    notes = []
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir() and m.filename.lower().endswith(".ipynb")
                       and "__MACOSX" not in m.filename]
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                return [f"{archive.name}: more than {MAX_UNZIPPED_BYTES >> 20} MB of notebooks; not extracted"]
            for member in members:
                name = Path(member.filename).name
                with zf.open(member) as src, open(dest / name, "wb") as out:
                    shutil.copyfileobj(src, out)
    except zipfile.BadZipFile:
        notes.append(f"{archive.name} is not a readable zip archive")
    return notes


def _place(files: list[Path], released: dict[str, set[str]], inbox: Path) -> list[str]:
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
    released = _released_ids(course)
    if not released:
        raise IncidentLabError(f"no released notebooks in {course.release}; run `incidentlab grade release` first")
    summary = Collected()
    entries = sorted(export.iterdir())
    ids: dict[str, Path] = {}
    for entry in entries:
        if entry.name.startswith(".") or not (entry.is_dir() or entry.suffix.lower() in {".ipynb", ".zip"}):
            summary.skipped.append(f"{entry.name} (not a folder, .ipynb or .zip)")
            continue
        sid = student_id(entry.name)
        if sid in ids:
            raise IncidentLabError(f"{entry.name} and {ids[sid].name} in {export} are both student '{sid}'; "
                                   "rename one and collect again")
        ids[sid] = entry

    for sid, entry in tqdm(ids.items(), desc="collect", unit="student", disable=not progress):
        with tempfile.TemporaryDirectory(prefix="incidentlab-collect-") as tmp:
            unpacked, inbox = Path(tmp) / "unpacked", Path(tmp) / "inbox"
            unpacked.mkdir()
            inbox.mkdir()
            notes: list[str] = []
            if entry.is_dir():
                files = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            elif entry.suffix.lower() == ".zip":
                notes += _unzip(entry, unpacked)
                files = sorted(unpacked.glob("*.ipynb"))
            else:
                files = [entry]
            if not files and not notes:
                notes.append("no notebook in the submission")
            notes += _place(files, released, inbox)
            stamp = dt.datetime.fromtimestamp(entry.stat().st_mtime, dt.timezone.utc)
            (inbox / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
            atomic.replace_tree(inbox, course.submitted(sid))
            atomic.write_json(course.collect_notes(sid), {"source": entry.name, "notes": notes})
        summary.students[sid] = notes
    return summary
