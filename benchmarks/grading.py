"""Grading speed: stock sequential `nbgrader autograde` against the pipeline, on the same submissions.

    .venv/bin/python benchmarks/grading.py                 # a class of 200; stock nbgrader on the first 4
    .venv/bin/python benchmarks/grading.py --n 20 --stock 2 --assignment wt05_fan_out

N submissions of the assignment are generated from its release: two in three carry the masters' answers, one in
three wrong answers. Stock nbgrader runs every notebook in a kernel (tens of seconds a submission), so it grades
only the first --stock of them; the pipeline grades all N. Both start from the same released course in a
temporary folder (the instructor's grading/course is not touched) and read the warehouses `make warehouses`
built. Printed: seconds per submission for each, the speed-up, the class time against its target, and whether
both gave the students they both graded the same total.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from traitlets.config import Config

from incidentlab import temp_folders
from incidentlab.datasets import module_names
from incidentlab.grading.autograde import autograde
from incidentlab.grading.course import Course, load_config
from incidentlab.grading.limits import Limits
from incidentlab.grading.release import release
from incidentlab.paths import project_root, warehouses_dir


def _corpus_mutations():
    """The grading corpus' own submission makers, loaded from their file (tests/ stays off sys.path)."""
    path = project_root() / "tests" / "grading_corpus" / "mutations.py"
    spec = importlib.util.spec_from_file_location("incidentlab_grading_corpus_mutations", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_mutations = _corpus_mutations()
solved, wrong_answers = _mutations.solved, _mutations.wrong_answers


def course_in(root: Path, assignment: str) -> Course:
    config = Config(copy.deepcopy(load_config()))
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    return Course(config, assignment)


def write_submissions(course: Course, n: int) -> None:
    base = solved(course)
    for i in range(n):
        nbs = copy.deepcopy(base)
        if i % 3 == 2:
            for nb in nbs.values():
                wrong_answers(nb)
        folder = course.submitted(f"s{i:03d}")
        folder.mkdir(parents=True)
        for name, nb in nbs.items():
            nbformat.write(nb, folder / f"{name}.ipynb")


def stock_config(course: Course, cell_timeout: int) -> str:
    cd = course.coursedir()
    return "\n".join([
        "c = get_config()",
        f"c.CourseDirectory.root = {cd.root!r}",
        f"c.CourseDirectory.source_directory = {cd.source_directory!r}",
        f"c.CourseDirectory.db_url = {cd.db_url!r}",
        f"c.CourseDirectory.course_id = {cd.course_id!r}",
        f"c.Execute.timeout = {cell_timeout}",
        "",
    ])


def totals(db: Path) -> dict[str, float]:
    with sqlite3.connect(db) as con:
        rows = con.execute("""
            select sa.student_id, sum(coalesce(g.manual_score, g.auto_score, 0))
            from grade g join submitted_notebook sn on g.notebook_id = sn.id
            join submitted_assignment sa on sn.assignment_id = sa.id group by 1""").fetchall()
    con.close()
    return {student: round(total, 6) for student, total in rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="submissions the pipeline grades (default 200)")
    ap.add_argument("--stock", type=int, default=4, help="of those, how many stock nbgrader grades (default 4)")
    ap.add_argument("--target", type=float, default=60.0, help="seconds the class may take (default 60)")
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="pipeline workers (default: CPU count)")
    ap.add_argument("--assignment", default=None, help="the module to grade (default: the first module)")
    ap.add_argument("--cell-timeout", type=int, default=300)
    ap.add_argument("--keep", action="store_true", help="keep the temporary courses and print where")
    ns = ap.parse_args()
    ns.assignment = ns.assignment or module_names()[0]

    # --keep: a folder of plain temp, which outlives this process; else one of temp_folders, gone however it ends
    tmp = Path(tempfile.mkdtemp(prefix="incidentlab-bench-grading-")) if ns.keep else temp_folders.make("bench-grading")
    try:
        pipeline = course_in(tmp / "pipeline", ns.assignment)
        release(pipeline)
        shutil.copytree(pipeline.root, tmp / "stock")
        stock = course_in(tmp / "stock", ns.assignment)
        write_submissions(pipeline, ns.n)
        write_submissions(stock, min(ns.stock, ns.n))
        notebooks = len(list(pipeline.release.glob("*.ipynb")))
        print(f"{ns.n} submissions of {ns.assignment} ({notebooks} notebooks each), {os.cpu_count()} CPU(s), "
              f"warehouses from {warehouses_dir()}")

        (stock.root / "nbgrader_config.py").write_text(stock_config(stock, ns.cell_timeout))
        nbgrader = Path(sys.executable).with_name("nbgrader")
        started = time.perf_counter()
        done = subprocess.run([str(nbgrader), "autograde", ns.assignment], cwd=stock.root, capture_output=True,
                              text=True, env={**os.environ, "PATH": f"{nbgrader.parent}{os.pathsep}"
                                              f"{os.environ.get('PATH', '')}"})
        stock_s = time.perf_counter() - started
        stock_n = min(ns.stock, ns.n)
        if done.returncode != 0:
            print(f"  stock nbgrader exited {done.returncode}; last lines:\n" + "\n".join(
                done.stderr.splitlines()[-5:]))

        started = time.perf_counter()
        summary = autograde(pipeline, workers=ns.workers, limits=Limits(), progress=False)
        pipe_s = time.perf_counter() - started

        per_stock, per_pipe = stock_s / stock_n, pipe_s / ns.n
        print(f"  stock nbgrader autograde, sequential : {stock_s:8.1f} s for {stock_n:>3}  {per_stock:6.2f} "
              "s/submission")
        print(f"  pipeline, {ns.workers} worker(s){'':<14}: {pipe_s:8.1f} s for {ns.n:>3}  {per_pipe:6.3f} "
              "s/submission (process start included)")
        print(f"  speed-up: {per_stock / per_pipe:.0f}x (target 100x)")
        met = "met" if pipe_s <= ns.target else "NOT met"
        print(f"  the class of {ns.n}: {pipe_s:.1f} s (target {ns.target:g} s: {met})")
        a, b = totals(Path(stock.db_url[len('sqlite:///'):])), totals(Path(pipeline.db_url[len('sqlite:///'):]))
        b = {student: total for student, total in b.items() if student in a}
        same = a == b and len(a) == stock_n
        print(f"  same total for every student: {'yes' if same else 'NO'}"
              + ("" if same else f" (stock {len(a)} graded, pipeline {len(b)}; "
                                 f"differ: {sorted(s for s in a.keys() | b.keys() if a.get(s) != b.get(s))[:10]})"))
        statuses = sorted({r['status'] for r in summary.results.values()})
        print(f"  pipeline statuses: {', '.join(statuses)}")
        return 0 if same else 1
    finally:
        if ns.keep:
            print(f"  courses kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
