"""The student version nbgrader generates from the masters, and nbgrader's validation of both.

Runs nbgrader as `make release` and `make validate` do (from grading/, with grading/nbgrader_config.py), into a
temporary course folder. A throw-away master built here exercises the whole path even before (or without) the
module's notebooks; the module's masters, once they exist, get the same checks.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from incidentlab.exercises import modules
from incidentlab.grading.answer_key import read_key
from incidentlab.not_answered import NOT_ANSWERED_SQL
from incidentlab.paths import project_root

MODULE = "wt06_data_stale"  # the tiny course's questions are this module's
MODULES = modules()
MASTERS = [(module, path) for module in MODULES
           for path in sorted((project_root() / "notebooks" / module).glob("*.ipynb"))]
MASTER_IDS = [f"{module}/{path.stem}" for module, path in MASTERS]
# nbgrader's own validator, which runs a notebook in a kernel, on one master of the first module: nbval runs every
# master (and compares each hidden check's ✓), and the judge reads every released answer as not answered.
FIRST_MASTERS = MASTERS[:1]
FIRST_IDS = [f"{module}/{path.stem}" for module, path in FIRST_MASTERS]
GRADING = project_root() / "grading"
VALIDATE_PASSED = "Success! Your notebook passes all the tests."
INVERT_PASSED = "Success! The notebook does not pass any tests."

TINY = "tiny_assignment"
KEY = list(read_key(MODULE).values())
KEYS = {module: list(read_key(module).values()) for module in MODULES}


# -- running nbgrader the way the Makefile does -----------------------------------------------------------
def nbgrader(*args: str, course: Path, env_extra: dict | None = None) -> str:
    # nbgrader runs `alembic` (the gradebook's migrations) from PATH: the one beside this Python.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, **(env_extra or {})}
    course.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "nbgrader", *args,
               f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}"]
    done = subprocess.run(command, cwd=GRADING, env=env, capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def validate(notebook: Path, course: Path, invert: bool = False) -> tuple[str, nbformat.NotebookNode]:
    """What `nbgrader validate [--invert] NOTEBOOK` prints, and the notebook as it ran (in this process)."""
    from nbgrader.validator import Validator
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(GRADING)).load_config()
    config.CourseDirectory.root = str(course)
    validator = Validator(config=config, invert=invert)
    validator.stream = io.StringIO()
    ran = {}
    execute = validator._preprocess
    validator._preprocess = lambda nb: ran.setdefault("nb", execute(nb))
    validator.validate_and_print(str(notebook))
    return validator.stream.getvalue(), ran["nb"]


def assert_every_test_says_not_answered(executed: nbformat.NotebookNode) -> None:
    graded = [c for c in executed.cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")]
    assert graded
    for cell in graded:
        kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
        assert ("error", None) not in kinds, f"{nbgrader_meta(cell)['grade_id']} raised: {cell.outputs}"
        stderr = "".join(o.text for o in cell.outputs if o.get("name") == "stderr")
        assert "not answered yet (0 points)" in stderr, f"{nbgrader_meta(cell)['grade_id']}: {cell.outputs}"


def release_folder(course: Path, assignment: str) -> Path:
    return course / "release" / assignment


# -- what a student version must look like ------------------------------------------------------------------
def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def assert_student_version(master: Path, release: Path, references: list[str]) -> None:
    master_nb = nbformat.read(master, as_version=4)
    release_nb = nbformat.read(release, as_version=4)
    text = release.read_text()
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "HIDDEN TESTS" not in text and "hidden_check" not in text and "incidentlab.grading" not in text
    shown = " ".join("\n".join(cell.source for cell in release_nb.cells).split())
    for reference in references:  # no four consecutive lines of a key query (short runs occur in examples)
        lines = [" ".join(line.split()) for line in reference.splitlines() if line.strip() not in ("", "),", ")")]
        for window in zip(lines, lines[1:], lines[2:], lines[3:]):
            assert " ".join(window) not in shown, f"the answer key is visible in {release.name}: {window}"
    assert len(release_nb.cells) == len(master_nb.cells)
    for before, after in zip(master_nb.cells, release_nb.cells, strict=True):
        if after.cell_type != "code":
            continue
        assert after.get("outputs", []) == [], "the release keeps no outputs"
        if "BEGIN SOLUTION" not in before.source:
            continue
        if before.source.lstrip().startswith("%%sql"):
            magic = before.source.lstrip().split("\n", 1)[0]
            assert after.source.lstrip().startswith(magic)
            assert NOT_ANSWERED_SQL in after.source
            assert "NotImplementedError" not in after.source
        else:
            assert "raise NotImplementedError()" in after.source


def assert_graded_cells_well_formed(master: Path) -> None:
    nb = nbformat.read(master, as_version=4)
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if "grade_id" in nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"duplicate grade_id in {master.name}"
    graded = [c for c in nb.cells if nbgrader_meta(c).get("grade")]
    for cell in graded:
        points = nbgrader_meta(cell).get("points")
        assert isinstance(points, int | float) and points > 0, f"{nbgrader_meta(cell)['grade_id']}: no points"
    for cell in nb.cells:
        if "BEGIN SOLUTION" in cell.source:
            assert nbgrader_meta(cell).get("solution"), f"solution region outside a solution cell:\n{cell.source}"
        if ".check(" in cell.source or "hidden_check(" in cell.source:
            assert nbgrader_meta(cell).get("grade"), f"a check outside a graded test cell:\n{cell.source}"
    answered = set()
    for cell in nb.cells:
        answered.update(re.findall(r"^\s*%%sql\s+answer_(\w+)\s*<<", cell.source))
        for name in re.findall(r"\bex\.(\w+)\.check\(", cell.source):
            assert name in answered, f"{name} is checked before a `%%sql answer_{name} <<` cell stores it"


# -- a throw-away master ----------------------------------------------------------------------------------
PHANTOMS = ("select count(*) as green_runs, count(*) filter (where not includes_marts) as phantom_runs "
            "from stg_pipeline_runs where status = 'success' and exit_code = 0")
def _cell(kind: str, source: str, **nbgrader_fields):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(textwrap.dedent(source).strip())
    if nbgrader_fields:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False,
                                     "task": False, **nbgrader_fields}
    return cell


def tiny_master() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("code", """
            from incidentlab.exercises import load
            from incidentlab.notebook import start
            lab = start("wt06_data_stale")
            ex = load("wt06_data_stale")
        """, grade_id="setup", locked=True),
        _cell("markdown", "How many runs were phantom successes?"),
        _cell("code", f"""
            %%sql answer_phantom_count <<
            -- ### BEGIN SOLUTION
            {PHANTOMS}
            -- ### END SOLUTION
        """, grade_id="t_phantom_count_answer", solution=True),
        _cell("code", """
            ex.phantom_count.check()
            ### BEGIN HIDDEN TESTS
            from incidentlab.grading.grade_answers import hidden_check
            hidden_check(ex.phantom_count)
            ### END HIDDEN TESTS
        """, grade_id="t_phantom_count_test", grade=True, locked=True, points=2),
        _cell("code", """
            %%sql answer_whole_cell <<
            select count(*) as n from stg_orders
        """, grade_id="answer_whole_cell", solution=True),
        _cell("code", """
            def days_between(a, b):
                ### BEGIN SOLUTION
                return (b - a).days
                ### END SOLUTION
        """, grade_id="python_solution", solution=True),
    ]
    return nb


@pytest.fixture(scope="module")
def tiny(warehouses, tmp_path_factory):
    """A released throw-away assignment: (course, master path, env for kernels that import its questions)."""
    base = tmp_path_factory.mktemp("tiny")
    master = base / "source" / TINY / "tiny.ipynb"
    master.parent.mkdir(parents=True)
    nbformat.write(tiny_master(), master)
    env = {}
    course = base / "course"
    nbgrader("generate_assignment", TINY, f"--CourseDirectory.source_directory={base / 'source'}",
             course=course, env_extra=env)
    return course, master, env


def test_tiny_release_has_stubs_and_no_solutions(tiny):
    course, master, _ = tiny
    release = release_folder(course, TINY) / "tiny.ipynb"
    assert_student_version(master, release, KEY)
    cells = nbformat.read(release, as_version=4).cells
    assert cells[2].source == f"%%sql answer_phantom_count <<\n{NOT_ANSWERED_SQL}"
    assert cells[4].source == f"%%sql answer_whole_cell <<\n{NOT_ANSWERED_SQL}"
    assert cells[5].source.splitlines()[1:] == ["    # YOUR CODE HERE", "    raise NotImplementedError()"]
    assert cells[3].source == "ex.phantom_count.check()"


def test_tiny_graded_cells_well_formed(tiny):
    assert_graded_cells_well_formed(tiny[1])


@pytest.mark.slow
def test_tiny_master_validates(tiny, monkeypatch):
    course, master, env = tiny
    out, _ = validate(master, course)
    assert VALIDATE_PASSED in out, out


@pytest.mark.slow
def test_tiny_release_fails_every_test_with_not_answered(tiny, monkeypatch):
    course, _, env = tiny
    release = release_folder(course, TINY) / "tiny.ipynb"
    out, executed = validate(release, course, invert=True)
    assert INVERT_PASSED in out, out
    assert_every_test_says_not_answered(executed)


# -- every module's masters -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def module_release(warehouses, tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("course")
    for module in MODULES:
        nbgrader("generate_assignment", module, course=course)
    return course


@pytest.mark.parametrize("module, master", MASTERS, ids=MASTER_IDS)
def test_master_graded_cells_well_formed(module, master):
    assert_graded_cells_well_formed(master)


@pytest.mark.parametrize("module", MODULES)
def test_grade_ids_are_unique_across_the_module(module):
    ids = [nbgrader_meta(cell)["grade_id"] for m, master in MASTERS if m == module
           for cell in nbformat.read(master, as_version=4).cells if "grade_id" in nbgrader_meta(cell)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("module", MODULES)
def test_the_release_holds_the_notebooks_only(module_release, module):
    """The module's README (figures that answer questions) and its questions file are for authors."""
    released = sorted(p.name for p in release_folder(module_release, module).iterdir())
    assert released == sorted(p.name for m, p in MASTERS if m == module)


@pytest.mark.parametrize("module, master", MASTERS, ids=MASTER_IDS)
def test_master_release_has_stubs_and_no_solutions(module_release, module, master):
    assert_student_version(master, release_folder(module_release, module) / master.name, KEYS[module])


# nbval re-runs every master and compares the stored outputs, where each hidden check says ✓ (and
# test_notebooks asserts it does): nbgrader's own validator runs on one master to show it agrees.
@pytest.mark.slow
@pytest.mark.parametrize("module, master", FIRST_MASTERS, ids=FIRST_IDS)
def test_master_validates(module_release, module, master):
    out, _ = validate(master, module_release)
    assert VALIDATE_PASSED in out, out


@pytest.mark.slow
@pytest.mark.parametrize("module, master", FIRST_MASTERS, ids=FIRST_IDS)
def test_master_release_passes_no_test(module_release, module, master):
    out, executed = validate(release_folder(module_release, module) / master.name, module_release, invert=True)
    assert INVERT_PASSED in out, out
    assert_every_test_says_not_answered(executed)


@pytest.mark.parametrize("module, master", MASTERS, ids=MASTER_IDS)
def test_every_released_answer_is_judged_not_answered(module_release, module, master):
    """What the pipeline (and the hidden checks) make of an untouched release: 0 points, "not answered yet".
    (One release notebook also runs in a kernel above; the judge reads only the answer cells' text.)"""
    from incidentlab.grading.answer_key import judge_for
    from incidentlab.grading.grade_answers import grade_notebook

    released = nbformat.read(release_folder(module_release, module) / master.name, as_version=4)
    verdicts = grade_notebook(released, judge_for(module))
    assert verdicts and all(not v.passed and "not answered yet (0 points)" in v.message for v in verdicts)


def test_config_derives_the_course_from_its_own_location(tmp_path):
    """Loaded from another working directory, the config still points into this checkout."""
    script = ("from traitlets.config.loader import PyFileConfigLoader\n"
              f"c = PyFileConfigLoader('nbgrader_config.py', path={str(GRADING)!r}).load_config()\n"
              "import json; print(json.dumps({k: str(v) for k, v in c.CourseDirectory.items()}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    course = json.loads(done.stdout)
    assert course["root"] == str(GRADING / "course")
    assert course["source_directory"] == str(project_root() / "notebooks")
    assert course["db_url"] == f"sqlite:///{GRADING / 'course' / 'gradebook.db'}"


# -- grading a throw-away assignment end to end -----------------------------------------------------------
SUBMISSIONS = {  # the master's answer is covered by test_master_validates; a kernel costs seconds a student
    "right_otherwise": "with green as (select * from stg_pipeline_runs where exit_code = 0 and status = 'success')\n"
                       "select count(*) as GREEN_RUNS, sum(case when includes_marts then 0 else 1 end) as phantom_runs "
                       "from green;\n-- counted from the audit log",
    "no_status_filter": "select count(*) as green_runs, count(*) filter (where not includes_marts) as phantom_runs "
                        "from stg_pipeline_runs",
    "blank": None,
}


@pytest.mark.slow
def test_stock_nbgrader_and_the_pipeline_give_the_same_scores(tiny, tmp_path):
    """Stock `nbgrader autograde` runs each notebook in a kernel with the master's hidden test; the pipeline
    judges the answer cells' SQL without running anything. On the same submissions they agree."""
    import shutil

    from nbgrader.api import Gradebook

    from incidentlab.grading.autograde import autograde
    from incidentlab.grading.course import Course

    course, master, env = tiny
    release = nbformat.read(release_folder(course, TINY) / "tiny.ipynb", as_version=4)
    for student, sql in SUBMISSIONS.items():
        submission = nbformat.from_dict(release)
        if sql is not None:
            submission.cells[2].source = f"%%sql answer_phantom_count <<\n{sql}"
        path = course / "submitted" / student / TINY / "tiny.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(submission, path)
    pipeline_root = tmp_path / "pipeline"
    shutil.copytree(course, pipeline_root)
    nbgrader("autograde", TINY, "--create", f"--CourseDirectory.source_directory={master.parent.parent}",
             course=course, env_extra=env)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        stock = {student: gradebook.find_grade("t_phantom_count_test", "tiny", TINY, student).score
                 for student in SUBMISSIONS}
    assert stock == {"right_otherwise": 2, "no_status_filter": 0, "blank": 0}
    graded = nbformat.read(course / "autograded" / "no_status_filter" / TINY / "tiny.ipynb", as_version=4)
    assert "right on this warehouse, but the values differ" in "".join(
        o.get("text", "") for o in graded.cells[3].outputs)

    config = Config()
    config.CourseDirectory.root = str(pipeline_root)
    config.CourseDirectory.db_url = f"sqlite:///{pipeline_root / 'gradebook.db'}"
    config.CourseDirectory.source_directory = str(master.parent.parent)
    summary = autograde(Course(config, TINY), workers=1, progress=False, module=MODULE)
    assert {s: r["status"] for s, r in summary.results.items()} == {s: "graded" for s in SUBMISSIONS}
    with Gradebook(config.CourseDirectory.db_url) as gradebook:
        ours = {student: gradebook.find_grade("t_phantom_count_test", "tiny", TINY, student).score
                for student in SUBMISSIONS}
    assert ours == stock
