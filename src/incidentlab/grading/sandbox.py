"""Autograde one submission in a sandbox of its own; runs in a worker (a process, a thread or a dask worker).

The sandbox is a private nbgrader course: a copy of the gradebook template (the assignment, no students) and
the student's notebooks repaired against the release. nbgrader's Autograde converter runs there once per
notebook, so a notebook that cannot be graded costs only its own points. By default nothing the student wrote
runs: ``GradeAnswers`` judges each answer cell's SQL in this process. With ``execute`` the notebook also runs in
a kernel (for feedback that shows the student's outputs), in a jail (``incidentlab.grading.jail``) that reads the
built warehouses and writes only to a folder of its own, with resource limits; the scores still come from the
judge. Markdown and outputs are then made inert (``incidentlab.grading.sanitize``). The result is a plain dict
the single writer merges into the course.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import re
import shutil
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from traitlets.config import Config

from incidentlab.grading.limits import Limits
from incidentlab.grading.repair import UnreadableNotebook, read, restore_structure
from incidentlab.grading.speedups import fast_preprocessors, sandbox_gradebook


class CourseError(Exception):
    """The answer key or a warehouse is broken; the submission is not to blame."""


@dataclass(frozen=True)
class Job:
    student: str
    assignment: str
    course_id: str
    submitted: str  # the student's submission folder in the course
    release: str  # the released notebooks the submission is repaired against
    source: str  # the assignment's source folder (its other files are copied next to the notebooks)
    template_db: str  # a gradebook holding the assignment and no students
    warehouses: str  # the built warehouses, copied for this submission
    sandbox: str  # a folder of this job's own
    fingerprint: str
    config: dict = field(default_factory=dict)
    limits: Limits = Limits()
    module: str = ""  # whose answer key judges the answers (the assignment's module)
    execute: bool = False  # also run the notebooks in a kernel, for feedback with the student's outputs


def _sandbox_config(job: Job, root: Path, db_url: str) -> Config:
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        LimitOutput,
        OverwriteKernelspec,
    )

    from incidentlab.grading.execute import SandboxedExecute, TruncateOutputs
    from incidentlab.grading.grade_answers import GradeAnswers
    from incidentlab.grading.sanitize import SanitizeCells

    cfg = Config(copy.deepcopy(job.config))  # the job's config may be shared with the caller (threads)
    cfg.CourseDirectory.root = str(root / "course")
    cfg.CourseDirectory.db_url = db_url
    cfg.CourseDirectory.source_directory = str(Path(job.source).parent)
    cfg.CourseDirectory.submitted_directory = "submitted"
    cfg.CourseDirectory.autograded_directory = "autograded"
    cfg.CourseDirectory.course_id = job.course_id
    cfg.Autograde.create_student = True
    overwrite_cells, save_autogrades = fast_preprocessors()
    cfg.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec, overwrite_cells,
                                            CheckCellMetadata]
    run = [SandboxedExecute] if job.execute else []
    cfg.Autograde.autograde_preprocessors = run + [
        GradeAnswers, SanitizeCells, ClearMetadataPreprocessor, LimitOutput, TruncateOutputs, save_autogrades,
        AssignLatePenalties]  # nbgrader's sanitize step has already run CheckCellMetadata on this notebook
    cfg.GradeAnswers.module = job.module or job.assignment
    cfg.GradeAnswers.query_timeout = float(job.limits.query_timeout)
    cfg.TruncateOutputs.max_chars = job.limits.max_output_chars
    if job.execute:
        cfg.SandboxedExecute.timeout = job.limits.cell_timeout
        cfg.SandboxedExecute.notebook_timeout = float(job.limits.notebook_timeout)
        cfg.SandboxedExecute.memory_limit = job.limits.kernel_memory
        cfg.SandboxedExecute.kernel_log = str(root / "kernel.log")
        cfg.SandboxedExecute.jail = _jail(job, kernel_folder(root.parent, os.getpid()))
    return cfg


def kernel_folder(sandboxes: Path, pid: int) -> Path:
    """The executed kernel's own folder: one per grading process ``pid``, beside the sandboxes (a short path,
    since it holds the kernel's sockets), and the only place the kernel may write."""
    return sandboxes / f".kernel-{pid}"


def _jail(job: Job, folder: Path) -> dict:
    """What the kernel may read: the system's libraries, its Python, the package, datasets/, dbt/, the questions
    and the module's warehouses as the student opens them (no variant); and its own folder."""
    import sys

    import incidentlab
    from incidentlab.datasets import load_scenario
    from incidentlab.grading import jail
    from incidentlab.paths import project_root

    project, module = project_root(), job.module or job.assignment
    warehouses = Path(job.warehouses)
    stages = [str(warehouses / module / stage) for stage in load_scenario(module).stages]
    python = [os.path.realpath(sys.base_prefix), sys.prefix]
    return {
        "uid": jail.uid_for(os.getpid()),
        "folder": str(folder),
        "read_only": ["/usr/lib", "/usr/lib64", "/usr/share/zoneinfo", "/etc/localtime", *python,
                      str(Path(incidentlab.__file__).resolve().parent), str(project / "datasets"),
                      str(project / "dbt"), *sorted(str(p) for p in (project / "notebooks").glob("*/exercises.toml")),
                      *stages, str(warehouses / ".dbt-parsed")],
        "env": {"HOME": str(folder / "home"), "TMPDIR": str(folder / "tmp"), "LANG": "C.UTF-8",
                "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "INCIDENTLAB_ROOT": str(project),
                "INCIDENTLAB_WAREHOUSES": str(warehouses)},
    }


def _failure_reason(log: str, exc: BaseException) -> str:
    lines = [line.strip() for line in log.splitlines()]
    errors = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)\b.*:", line)]
    return errors[-1] if errors else (str(exc) or type(exc).__name__)


def _autograde(cfg: Config, job: Job, notebook: str) -> str | None:
    """Run nbgrader's Autograde on one notebook; the reason it failed, or None."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    logger = logging.getLogger(f"incidentlab.grading.sandbox.{job.student}.{notebook}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logger.addHandler(handler)
    try:
        coursedir = CourseDirectory(config=cfg)
        coursedir.assignment_id, coursedir.student_id, coursedir.notebook_id = job.assignment, job.student, notebook
        app = Autograde(coursedir=coursedir, config=cfg, log=logger)
        app.force = True
        app.start()
    except Exception as exc:  # nbgrader reports every failure as an exception after logging the cause
        return _failure_reason(buffer.getvalue(), exc)
    finally:
        logger.removeHandler(handler)
    return None


def _execution_notes(path: Path) -> list[str]:
    """What the run itself shows: cells stopped by a limit, a dead kernel."""
    notes: list[str] = []
    if not path.exists():
        return notes
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            if output.ename == "CellTimeoutError":
                notes.append(f"cell {index} was stopped at the per-cell time limit")
            elif output.ename == "DeadKernelError":
                notes.append(f"the kernel died in cell {index}; later cells were not run")
            elif output.ename == "NotRun" and "time limit" in output.evalue:
                notes.append(f"the notebook time limit was reached at cell {index}; later cells were not run")
                return notes
    return notes


def _to_review(path: Path) -> set[str]:
    """Test cells whose verdict asks for an instructor's look (the answer key, copied)."""
    from incidentlab.grading.answer_key import REVIEW

    if not path.exists():
        return set()
    nb = nbformat.read(path, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("grade") and any(
                REVIEW in output.get("text", "") for output in cell.get("outputs", []))}


def _scores(db_url: str, job: Job, graded: set[str]) -> tuple[dict, str | None]:
    """Per notebook, per graded cell: points, max points, manual grading needed (failed notebooks score 0);
    and the submission's timestamp as nbgrader read it."""
    from nbgrader.api import Gradebook, MissingEntry

    scores: dict = {}
    with Gradebook(db_url, job.course_id) as gb:
        assignment = gb.find_assignment(job.assignment)
        try:
            submission = gb.find_submission(job.assignment, job.student)
            submitted = {nb.name: nb for nb in submission.notebooks}
            scores_timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        except MissingEntry:
            submitted, scores_timestamp = {}, None
        for notebook in assignment.notebooks:
            cells = {}
            grades = {g.cell.name: g for g in submitted[notebook.name].grades} if notebook.name in submitted else {}
            comments = ({c.cell.name: c.auto_comment for c in submitted[notebook.name].comments}
                        if notebook.name in submitted else {})
            for cell in list(notebook.grade_cells) + list(notebook.task_cells):
                grade = grades.get(cell.name)
                ok = notebook.name in graded and grade is not None
                cells[cell.name] = {
                    "max_score": float(cell.max_score),
                    "auto_score": float(grade.auto_score) if grade is not None and ok and grade.auto_score is not None
                    else (None if ok else 0.0),
                    "needs_manual_grade": bool(grade.needs_manual_grade) if grade is not None and ok else False,
                }
            scores[notebook.name] = {"cells": cells, "comments": {k: v for k, v in comments.items() if v}}
    return scores, scores_timestamp


# nbgrader sets process-wide environment variables while it runs, so one process grades one submission at a
# time; parallelism comes from processes (a process pool, or dask workers started with --nthreads 1).
_ONE_AT_A_TIME = threading.Lock()


def grade(job: Job) -> dict:
    with _ONE_AT_A_TIME:
        return _grade(job)


def _grade(job: Job) -> dict:
    # nbgrader's add_submission builds objects SQLAlchemy 2 warns about; the gradebook it writes is correct.
    warnings.filterwarnings("ignore", message="Object of type <Submitted", category=Warning)
    started = time.monotonic()
    root = Path(job.sandbox)
    shutil.rmtree(root, ignore_errors=True)
    for sub in ("home", "tmp", "course"):
        (root / sub).mkdir(parents=True)
    from incidentlab.grading.answer_key import judge_for

    judge_for(job.module or job.assignment).new_submission(job.limits.query_budget)
    # One gradebook file per grading process, outside the sandbox (a kernel of --execute never sees it).
    db_url = sandbox_gradebook(root.parent / f".gradebook-{os.getpid()}.db", Path(job.template_db))
    inbox = root / "course" / "submitted" / job.student / job.assignment
    inbox.mkdir(parents=True)

    submitted = Path(job.submitted)
    released = {p.stem: p for p in sorted(Path(job.release).glob("*.ipynb"))}
    notebooks: dict[str, dict] = {}
    for name, release_path in released.items():
        path = submitted / f"{name}.ipynb"
        if not path.exists():
            notebooks[name] = {"status": "missing", "notes": [f"{name}.ipynb was not submitted"]}
            continue
        try:
            nb = read(path)
        except UnreadableNotebook as exc:
            notebooks[name] = {"status": "unreadable", "notes": [str(exc)]}
            continue
        repaired, notes = restore_structure(nb, nbformat.read(release_path, as_version=4))
        nbformat.write(repaired, inbox / path.name)
        notebooks[name] = {"status": "graded", "notes": notes}
    others = sorted(p.name for p in submitted.glob("*.ipynb") if p.stem not in released) if submitted.is_dir() else []
    if (submitted / "timestamp.txt").exists():
        shutil.copyfile(submitted / "timestamp.txt", inbox / "timestamp.txt")

    cfg = _sandbox_config(job, root, db_url)
    if job.execute:
        from incidentlab.datasets import load_scenario
        from incidentlab.dbt_runner import ensure_packages
        from incidentlab.grading.jail import Jail

        # dbt's packages go into the course's project, which the kernel reads but cannot write: installed first
        ensure_packages(load_scenario(job.module or job.assignment).dbt_project)
        Jail(**cfg.SandboxedExecute.jail).make_folder()
    from incidentlab.grading.grade_answers import COURSE_ERRORS

    COURSE_ERRORS.clear()
    reviews: dict[str, set[str]] = {}
    todo = [name for name, info in notebooks.items() if info["status"] == "graded"]
    try:
        # One nbgrader run for the whole submission; if it fails, one per notebook, so that a notebook nbgrader
        # cannot grade costs only its own points.
        failures: dict[str, str | None]
        failures = {name: None for name in todo} if todo and _autograde(cfg, job, "*") is None else {
            name: _autograde(cfg, job, name) for name in todo}
        if COURSE_ERRORS:  # not the student's doing: nothing is recorded, the next run grades them again
            raise CourseError(COURSE_ERRORS[0])
        for name, failure in failures.items():
            info = notebooks[name]
            graded_nb = root / "course" / "autograded" / job.student / job.assignment / f"{name}.ipynb"
            if failure:
                info["status"], info["notes"] = "error", info["notes"] + [f"nbgrader could not grade it: {failure}"]
            else:
                info["notes"] += _execution_notes(graded_nb)
                reviews[name] = _to_review(graded_nb)
    finally:
        if job.execute:
            from incidentlab.grading.execute import stop_jails
            from incidentlab.grading.jail import release

            stop_jails()
            release(kernel_folder(root.parent, os.getpid()))

    graded = {name for name, info in notebooks.items() if info["status"] == "graded"}
    scores, timestamp = _scores(cfg.CourseDirectory.db_url, job, graded)
    if timestamp is None and (inbox / "timestamp.txt").exists():  # nothing ran, the submission still has a date
        from nbgrader.coursedir import CourseDirectory

        stamp = CourseDirectory(config=cfg).get_existing_timestamp(str(inbox))
        timestamp = stamp.isoformat() if stamp else None
    for name, info in notebooks.items():
        info.update(scores.get(name, {"cells": {}, "comments": {}}))
        for cell in reviews.get(name, ()):
            if cell in info["cells"]:
                info["cells"][cell]["needs_manual_grade"] = True
        if reviews.get(name):
            info["notes"].append(f"{', '.join(sorted(reviews[name]))}: the answer is the answer key word for "
                                 "word; left for manual grading")

    notes = [f"{name}: {note}" for name, info in notebooks.items() for note in info["notes"]]
    if others:
        notes.append(f"not part of {job.assignment}, not graded: {', '.join(others)}")
    status = "graded" if len(graded) == len(notebooks) else ("partial" if graded else "failed")
    if not graded and not any(n["status"] != "missing" for n in notebooks.values()):
        notes = [f"no notebook of {job.assignment} was submitted"] + (notes[-1:] if others else [])
    return {
        "student": job.student,
        "assignment": job.assignment,
        "fingerprint": job.fingerprint,
        "status": status,
        "reason": "; ".join(notes),
        "notebooks": notebooks,
        "timestamp": timestamp,
        "autograded": str(root / "course" / "autograded" / job.student / job.assignment),
        "seconds": round(time.monotonic() - started, 2),
    }
