"""Broken and hostile submissions, made by mutating the current release, so the corpus follows the notebooks.

``build_export(course, folder)`` writes an LMS export (one entry per case) and ``CASES`` says what the pipeline
must report for each: its status and a phrase of its reason. The static files next to this module are the
cases a mutation cannot make (an empty file, a file that is not JSON, another course's notebook).
"""

from __future__ import annotations

import copy
import shutil
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from incidentlab.grading.course import Course
from incidentlab.grading.repair import grade_id
from incidentlab.not_answered import NOT_ANSWERED_SQL
from incidentlab.paths import project_root

STATIC = Path(__file__).parent / "static"
MASTERS = project_root() / "notebooks"


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solved(course: Course) -> dict[str, nbformat.NotebookNode]:
    """Each released notebook with the master's answers typed into its answer cells: a good submission."""
    out = {}
    for path in sorted(course.release.glob("*.ipynb")):
        released = nbformat.read(path, as_version=4)
        master = nbformat.read(course.source / path.name, as_version=4)
        answers = {grade_id(c): c.source for c in master.cells if _meta(c).get("solution")}
        for cell in released.cells:
            if _meta(cell).get("solution") and grade_id(cell) in answers:
                cell.source = answers[grade_id(cell)]
        out[path.stem] = released
    return out


def _answers(nb):
    return [c for c in nb.cells if _meta(c).get("solution") and c.cell_type == "code"]


def _tests(nb):
    return [c for c in nb.cells if _meta(c).get("grade") and not _meta(c).get("solution")]


def _after_setup(nb) -> int:
    """Index just after the cell that starts the lab (or the first code cell)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "start(" in cell.source:
            return i + 1
    return next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), 0)


def wrong(cell) -> None:
    """A plausible wrong answer in an answer cell (the result variable exists, its content is wrong)."""
    first = cell.source.lstrip().split("\n", 1)[0]
    if first.startswith("%%sql"):
        cell.source = f"{first}\nselect 42 as wrong_answer from stg_orders limit 1"
    else:
        cell.source = "wrong_answer = 42"


def insert_cell(nb, source: str, at: int | None = None) -> None:
    nb.cells.insert(_after_setup(nb) if at is None else at, nbformat.v4.new_code_cell(source))


VANDAL = """import duckdb, os, pathlib
for table in ("raw.raw_orders", "raw.raw_events", "raw.raw_pipeline_runs", "raw.raw_customers"):
    lab.con.execute(f"delete from {table}")
for pristine in pathlib.Path(os.environ["INCIDENTLAB_WAREHOUSES"]).rglob("*.duckdb"):
    con = duckdb.connect(str(pristine))
    for table in ("raw.raw_orders", "raw.raw_events", "raw.raw_pipeline_runs", "raw.raw_customers"):
        con.execute(f"drop table if exists {table}")
    con.close()
lab.con.execute("drop table if exists fct_revenue_daily")"""

DELETE_WAREHOUSES = """import os, pathlib
for path in pathlib.Path(os.environ["INCIDENTLAB_WAREHOUSES"]).rglob("*.duckdb"):
    os.remove(path)
os.remove(lab.path)"""


# Each mutation edits the first notebook of a solved submission in place. Grading runs none of the student's
# Python: the attacks that need a kernel change nothing, and the ones in SQL are judged like any answer.
def infinite_loop(nb):
    insert_cell(nb, "while True:\n    pass")


def vandal(nb):
    insert_cell(nb, VANDAL)


def delete_warehouses(nb):
    insert_cell(nb, DELETE_WAREHOUSES)


def silence_the_checks(nb):
    """A blank notebook that silences stderr, where the checks used to report failures."""
    for cell in _answers(nb):
        cell.source = cell.source.split("\n", 1)[0] + "\n" + NOT_ANSWERED_SQL
    insert_cell(nb, "import os, sys\nsys.stderr = sys.stdout\nos.dup2(os.open(os.devnull, os.O_WRONLY), 2)")


def patch_the_checks(nb):
    """Wrong answers, and every check replaced by one that always passes."""
    wrong_answers(nb)
    insert_cell(nb, "import incidentlab.checking.question as q, incidentlab.grading.grade_answers as g\n"
                "q.Question.check = lambda self, answer=None: print('ok')\n"
                "g.hidden_check = lambda question: print('ok')")


def kill_the_grader(nb):
    insert_cell(nb, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")


def expand_the_key(nb):
    """jupysql's {{ }} expansion, to run whatever a Python variable holds."""
    for cell in _answers(nb):
        first = cell.source.lstrip().split("\n", 1)[0]
        name = first.split()[1].removeprefix("answer_")
        cell.source = f"{first}\n{{{{ex.{name}.reference}}}}"


def read_the_masters(nb):
    """SQL that reads the masters (or any file) by absolute path."""
    for cell in _answers(nb):
        first = cell.source.lstrip().split("\n", 1)[0]
        cell.source = f"{first}\nselect * from read_text('{MASTERS}/*.ipynb')"


def several_statements(nb):
    for cell in _answers(nb):
        first, _, body = cell.source.lstrip().partition("\n")
        cell.source = f"{first}\ncreate temp table t as select 1 as x;\n{body}"


def sql_hog(nb):
    """A query that would run for hours and eat memory: the per-query limit stops it."""
    cell = _answers(nb)[0]
    first = cell.source.lstrip().split("\n", 1)[0]
    cell.source = (f"{first}\nselect list(a.range) as hog from range(100000000) as a, "
                   "stg_pipeline_runs group by all")


def edited_test_cell(nb):
    wrong(_answers(nb)[0])
    _tests(nb)[0].source = "pass  # trust me"


def deleted_test_cell(nb):
    nb.cells.remove(_tests(nb)[0])


def deleted_answer_cell(nb):
    nb.cells.remove(_answers(nb)[0])


def reordered(nb):
    """The first check moved above its answer: run as handed in, it fails whatever the answer."""
    test = _tests(nb)[0]
    nb.cells.remove(test)
    nb.cells.insert(nb.cells.index(_answers(nb)[0]), test)


def to_markdown(nb):
    cell = _answers(nb)[-1]
    cell.cell_type = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)


def duplicated(nb):
    for cell in (_answers(nb)[0], _tests(nb)[-1]):
        twin = copy.deepcopy(cell)
        twin.id = uuid.uuid4().hex[:8]
        nb.cells.insert(nb.cells.index(cell) + 1, twin)


def os_exit(nb):
    insert_cell(nb, "import os\nos._exit(3)")


def big_output(nb):
    insert_cell(nb, 'print("x" * 50_000_000)')


def stderr(nb):
    insert_cell(nb, 'import sys\nprint("warning: I am not sure about this", file=sys.stderr)')


def wrong_answers(nb):
    for cell in _answers(nb):
        wrong(cell)


# Script and event handlers where the student writes markdown, which formgrader and the feedback render.
SCRIPTED_MARKDOWN = ("# Mine\n<script>alert('md-script')</script> <img src=x onerror=\"alert('md-onerror')\">\n"
                     "[link](javascript:alert('md-link'))")


def scripted_markdown(nb):
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(SCRIPTED_MARKDOWN))


@dataclass(frozen=True)
class Case:
    mutate: Callable | None  # applied to the first notebook; None: a static file replaces it
    status: str  # what the pipeline must report
    reason: str  # a phrase the reason must contain ("" when it must be empty)
    full_marks: bool | None = None  # True: every point; False: fewer; None: not asserted
    static: str | None = None
    form: str = "folder"  # how the LMS hands it in: folder, zip or ipynb (single-notebook assignments)
    zero: bool = False  # not a single point


CASES: dict[str, Case] = {
    "good": Case(lambda nb: None, "graded", "", full_marks=True),
    "good_zip": Case(lambda nb: None, "graded", "", full_marks=True, form="zip"),
    "wrong": Case(wrong_answers, "graded", "", full_marks=False, zero=True),
    "infinite_loop": Case(infinite_loop, "graded", "", full_marks=True),
    "vandal": Case(vandal, "graded", "", full_marks=True),
    "delete_warehouses": Case(delete_warehouses, "graded", "", full_marks=True),
    "silence_the_checks": Case(silence_the_checks, "graded", "", zero=True),
    "patch_the_checks": Case(patch_the_checks, "graded", "", zero=True),
    "kill_the_grader": Case(kill_the_grader, "graded", "", full_marks=True),
    "expand_the_key": Case(expand_the_key, "graded", "", zero=True),
    "read_the_masters": Case(read_the_masters, "graded", "", zero=True),
    "several_statements": Case(several_statements, "graded", "", zero=True),
    "sql_hog": Case(sql_hog, "graded", "", full_marks=False),
    "edited_test_cell": Case(edited_test_cell, "graded", "", full_marks=False),
    "deleted_test_cell": Case(deleted_test_cell, "graded", "deleted; restored", full_marks=True),
    "deleted_answer_cell": Case(deleted_answer_cell, "graded", "deleted; restored", full_marks=False),
    "reordered": Case(reordered, "graded", "released order", full_marks=True),
    "to_markdown": Case(to_markdown, "graded", "changed back", full_marks=True),
    "duplicated": Case(duplicated, "graded", "duplicated", full_marks=True),
    "os_exit": Case(os_exit, "graded", "", full_marks=True),
    "big_output": Case(big_output, "graded", "", full_marks=True),
    "stderr": Case(stderr, "graded", "", full_marks=True),
    "scripted_markdown": Case(scripted_markdown, "graded", "", full_marks=True),
    "invalid_json": Case(None, "partial", "not valid notebook JSON (line", static="truncated.ipynb"),
    "empty": Case(None, "partial", "empty file", static="empty.ipynb"),
    "wrong_assignment": Case(None, "failed", "not part of", static="other_course.ipynb"),
}


def _write(nbs: dict, first_replacement: Path | None, folder: Path) -> None:
    folder.mkdir(parents=True)
    names = list(nbs)
    for name in names:
        if name == names[0] and first_replacement is not None:
            shutil.copyfile(first_replacement, folder / first_replacement.name)
        else:
            nbformat.write(nbs[name], folder / f"{name}.ipynb")


def expected_status(case: Case, course: Course) -> str:
    """A notebook that cannot be read costs its own points: "partial", or "failed" when it is the only one."""
    if case.status == "partial" and len(list(course.release.glob("*.ipynb"))) == 1:
        return "failed"
    return case.status


def build_export(course: Course, export: Path, cases: dict[str, Case] | None = None) -> dict[str, Case]:
    """An LMS export in ``export``: one entry per case, named after the case (the student id)."""
    cases = CASES if cases is None else cases
    export.mkdir(parents=True, exist_ok=True)
    base = solved(course)
    first = next(iter(base))
    for name, case in cases.items():
        nbs = copy.deepcopy(base)
        folder = export / name
        if case.static == "other_course.ipynb":  # nothing of this assignment, only another course's notebook
            folder.mkdir()
            shutil.copyfile(STATIC / case.static, folder / case.static)
            continue
        if case.mutate is not None:
            case.mutate(nbs[first])
        staging = export.parent / f"{name}-staging" if case.form == "zip" else folder
        staging.mkdir(parents=True)
        for nb_name, nb in nbs.items():
            nbformat.write(nb, staging / f"{nb_name}.ipynb")
        if case.static == "truncated.ipynb":  # a real notebook, cut off half-way
            text = nbformat.writes(nbs[first])
            (staging / f"{first}.ipynb").write_text(text[: len(text) // 2])
        elif case.static:
            shutil.copyfile(STATIC / case.static, staging / f"{first}.ipynb")
        if case.form == "zip":
            with zipfile.ZipFile(export / f"{name}.zip", "w") as zf:
                for path in sorted(staging.iterdir()):
                    zf.write(path, f"{name}/{path.name}")
            shutil.rmtree(staging)
    return cases
