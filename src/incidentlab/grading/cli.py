"""``incidentlab grade <step>``: one command per step of the instructor's cycle."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from incidentlab.errors import IncidentLabError
from incidentlab.grading.course import Course
from incidentlab.grading.limits import Limits


def _courses(ns: argparse.Namespace) -> list[Course]:
    """The assignment named, or every module's: one assignment per module."""
    from incidentlab.datasets import module_names

    names = [ns.assignment] if ns.assignment else module_names()
    return [Course.load(name, ns.config) for name in names]


def _course(ns: argparse.Namespace) -> Course:
    from incidentlab.datasets import module_names

    if not ns.assignment:
        raise IncidentLabError(f"name the assignment with --assignment ({', '.join(module_names())})")
    return Course.load(ns.assignment, ns.config)


def _each(step):
    """Run ``step`` for the assignment named, or for every module's in turn."""
    def run(ns: argparse.Namespace) -> None:
        courses = _courses(ns)
        for course in courses:
            if len(courses) > 1:
                print(f"{course.assignment}:")
            step(ns, course)
    return run


def _release(ns: argparse.Namespace, course: Course) -> None:
    from incidentlab.grading.release import release

    for path in release(course):
        print(f"released {path}")
    if ns.exchange:
        from incidentlab.grading import exchange

        print(f"released to the exchange: {exchange.release(course)}")


def _collect(ns: argparse.Namespace) -> None:
    from incidentlab.grading.collect import collect

    course = _course(ns)
    if ns.exchange:
        from incidentlab.grading import exchange

        collected = exchange.collect(course, progress=not ns.quiet)
    elif ns.export is None:
        raise IncidentLabError("name the LMS export's folder, or collect from nbgrader's exchange with --exchange")
    else:
        collected = collect(course, ns.export, progress=not ns.quiet)
    print("\n".join(collected.lines()))
    print(f"into {course.submitted('STUDENT')}")


def _autograde(ns: argparse.Namespace, course: Course) -> None:
    from incidentlab.grading.autograde import autograde

    limits = Limits(query_timeout=ns.query_timeout, submission_timeout=ns.submission_timeout,
                    cell_timeout=ns.cell_timeout, notebook_timeout=ns.notebook_timeout)
    summary = autograde(course, ns.student or None, workers=ns.workers, scheduler=ns.scheduler, limits=limits,
                        force=ns.force, progress=not ns.quiet, module=ns.module, execute=ns.execute)
    print("\n".join(summary.lines()))


def _feedback(ns: argparse.Namespace, course: Course) -> None:
    from incidentlab.grading.feedback import feedback

    problems = feedback(course, ns.student or None, progress=not ns.quiet, module=ns.module)
    print(f"feedback for {len(problems)} student(s) in {course.feedback('STUDENT')}")
    bad = {s: p for s, p in problems.items() if p}
    for student, lines in sorted(bad.items()):
        print(f"  {student}: " + "; ".join(lines))
    if bad:
        raise IncidentLabError(f"{len(bad)} feedback page(s) need a look (above) before they are handed out")
    if ns.exchange:
        from incidentlab.grading import exchange

        released = exchange.release_feedback(course, sorted(problems))
        print(f"released the feedback of {len(released)} student(s) through the exchange")


def _export(ns: argparse.Namespace, course: Course) -> None:
    from collections import Counter

    from incidentlab.grading.export import export, rows

    if ns.out and not ns.assignment:
        raise IncidentLabError("--out names one file: name its assignment with --assignment too")

    path = export(course, ns.out)
    _, data = rows(course)
    counts = Counter(row["status"] for row in data)
    print(f"wrote {path}: {len(data)} student(s); " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


def register(commands) -> None:
    top = commands.add_parser("grade", help="the instructor's grading cycle (nbgrader underneath)")
    steps = top.add_subparsers(dest="step", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--assignment", metavar="MODULE",
                        help="one module's assignment (default: every module's in turn; collect needs one)")
    common.add_argument("--config", type=Path, default=os.environ.get("INCIDENTLAB_NBGRADER_CONFIG"),
                        help="nbgrader config (default: $INCIDENTLAB_NBGRADER_CONFIG, which a hub's instructors have, "
                             "else grading/nbgrader_config.py)")
    common.add_argument("--quiet", action="store_true", help="no progress bar")
    common.add_argument("--module", help="the module whose answer key judges the answers (default: the assignment)")

    exchange = argparse.ArgumentParser(add_help=False)
    exchange.add_argument("--exchange", action="store_true", help="through nbgrader's exchange (a JupyterHub class)")

    s = steps.add_parser("release", parents=[common, exchange], help="generate the student version (nbgrader)")
    s.set_defaults(run=_each(_release))

    s = steps.add_parser("collect", parents=[common, exchange],
                         help="copy an LMS export (or the exchange's submissions) into submitted/")
    s.add_argument("export", type=Path, nargs="?", help="folder with one subfolder, .ipynb or .zip per student")
    s.set_defaults(run=_collect)

    s = steps.add_parser("autograde", parents=[common], help="grade every collected submission in sandboxes")
    s.add_argument("--workers", type=int, default=os.cpu_count(), help="parallel sandboxes (default: CPU count)")
    s.add_argument("--scheduler", help="a dask scheduler address (tcp://host:port) to grade on its workers")
    s.add_argument("--query-timeout", type=float, default=Limits.query_timeout,
                   help=f"seconds one answer's query may run on one warehouse (default {Limits.query_timeout:g})")
    s.add_argument("--submission-timeout", type=int, default=Limits.submission_timeout,
                   help=f"seconds of wall clock for one whole submission (default {Limits.submission_timeout})")
    s.add_argument("--execute", action="store_true",
                   help="also run the notebooks in a kernel, so the feedback shows the student's outputs "
                        "(scores still come from the answer key)")
    s.add_argument("--cell-timeout", type=int, default=Limits.cell_timeout,
                   help=f"with --execute: seconds one cell may run (default {Limits.cell_timeout})")
    s.add_argument("--notebook-timeout", type=int, default=Limits.notebook_timeout,
                   help=f"with --execute: seconds one notebook may run (default {Limits.notebook_timeout})")
    s.add_argument("--force", action="store_true", help="grade again even unchanged, already graded submissions")
    s.add_argument("--student", action="append", help="only this student (repeatable)")
    s.set_defaults(run=_each(_autograde))

    s = steps.add_parser("feedback", parents=[common, exchange], help="HTML feedback per student (nbgrader)")
    s.add_argument("--student", action="append", help="only this student (repeatable)")
    s.set_defaults(run=_each(_feedback))

    s = steps.add_parser("export", parents=[common], help="grades CSV with per-question points")
    s.add_argument("--out", type=Path,
                   help="where to write it (default: grading/course/pipeline/ASSIGNMENT/grades.csv)")
    s.set_defaults(run=_each(_export))
