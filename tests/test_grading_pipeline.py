"""The grading pipeline end to end on a one-notebook course: the corpus of broken and hostile submissions,
idempotent re-runs, a crash half-way, parallel = dask, feedback without the reference answers."""

from __future__ import annotations

import hashlib
import html
import os
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from grading_corpus.mutations import CASES, build_export, expected_status
from grading_corpus.tiny_course import MODULE, make_course

from incidentlab.grading import export as export_mod
from incidentlab.grading.autograde import autograde
from incidentlab.grading.collect import collect
from incidentlab.grading.feedback import feedback, leaks, page_text
from incidentlab.grading.jail import available as why_no_jail
from incidentlab.grading.limits import Limits
from incidentlab.grading.release import release

pytestmark = pytest.mark.slow

# The SQL hog waits out the query limit.
LIMITS = Limits(query_timeout=3)
SUBSET = ["good", "wrong", "os_exit"]
# --execute needs root, Linux and bubblewrap (.ci/run installs it); elsewhere it is refused, and said so here.
JAILED = pytest.mark.skipif(why_no_jail() is not None, reason=f"kernels cannot be confined here: {why_no_jail()}")


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _course(root: Path, cases: dict):
    course = make_course(root / "course")
    release(course)
    build_export(course, root / "export", cases)
    collect(course, root / "export")
    return course


def _rows(course) -> dict[str, dict]:
    return {row["student_id"]: row for row in export_mod.rows(course)[1]}


@pytest.fixture(scope="module")
def corpus(warehouses, tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    course = _course(root, CASES)
    before = _digest(warehouses)
    summary = autograde(course, workers=2, limits=LIMITS, progress=False, module=MODULE)
    csv_path = export_mod.export(course)
    return SimpleNamespace(course=course, summary=summary, rows=_rows(course), csv=csv_path,
                           warehouses=warehouses, before=before)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_submission_is_graded_with_a_clear_reason(corpus, case):
    expected, row = CASES[case], corpus.rows[case]
    assert row["status"] == expected_status(expected, corpus.course)
    if expected.reason:
        assert expected.reason in row["reason"]
    else:
        assert row["reason"] == ""
    if expected.full_marks is not None:
        assert (row["total"] == row["max_total"]) is expected.full_marks, row
    if expected.zero:
        assert float(row["total"]) == 0, row


def test_the_corpus_batch_ran_to_the_end(corpus):
    assert sorted(corpus.summary.results) == sorted(CASES)
    assert not any(r["status"] == "grader-error" for r in corpus.summary.results.values())
    assert not (corpus.course.pipeline / "work" / "sandboxes").exists() or not any(
        (corpus.course.pipeline / "work" / "sandboxes").iterdir())


def test_the_gradebook_holds_one_complete_submission_per_student(corpus):
    db = Path(corpus.course.db_url.removeprefix("sqlite:///"))
    with sqlite3.connect(db) as con:
        assert con.execute("pragma integrity_check").fetchone() == ("ok",)
        per_student = dict(con.execute(
            "select student_id, count(*) from submitted_assignment group by student_id").fetchall())
        null_scores = con.execute("select count(*) from grade where auto_score is null").fetchone()[0]
        undated = con.execute("select count(*) from submitted_assignment where timestamp is null").fetchone()[0]
        grades = con.execute("select count(*) from grade").fetchone()[0]
    con.close()
    assert per_student == {case: 1 for case in CASES}
    assert null_scores == 0 and grades == 2 * len(CASES)  # two checks per submission
    assert undated == 0  # collect's timestamp.txt, as nbgrader read it


def test_the_csv_has_a_column_per_question_and_matches_the_gradebook(corpus):
    header = corpus.csv.read_text().splitlines()[0].split(",")
    first, second = "tiny:t_hours_stale_test", "tiny:t_phantom_count_test"
    assert header == ["student_id", "status", "total", "max_total", first, second, "reason"]
    good = corpus.rows["good"]
    assert (good[first], good[second], good["total"]) == ("2", "1", "3")
    for row in corpus.rows.values():
        assert float(row["total"]) == float(row[first]) + float(row[second])


def test_no_student_touched_the_instructors_warehouses(corpus):
    assert _digest(corpus.warehouses) == corpus.before


def test_a_50_mb_output_is_cut(corpus):
    graded = corpus.course.autograded("big_output") / "tiny.ipynb"
    assert graded.stat().st_size < 1_000_000


def test_grading_again_changes_nothing(corpus):
    again = autograde(corpus.course, workers=2, limits=LIMITS, progress=False, module=MODULE)
    assert again.results == {} and sorted(again.skipped) == sorted(CASES)
    assert _rows(corpus.course) == corpus.rows


def test_a_sequential_run_crashed_half_way_and_resumed_gives_the_parallel_grades(corpus, tmp_path):
    course = _course(tmp_path, {name: CASES[name] for name in SUBSET})
    finished = []

    def crash_after_one(result):
        finished.append(result["student"])
        raise KeyboardInterrupt("the instructor's laptop went to sleep")

    with pytest.raises(KeyboardInterrupt):
        autograde(course, workers=1, limits=LIMITS, progress=False, on_result=crash_after_one, module=MODULE)
    graded = {r["student_id"] for r in _rows(course).values() if r["status"] != "not graded"}
    assert graded == set(finished) and len(finished) == 1

    resumed = autograde(course, workers=1, limits=LIMITS, progress=False, module=MODULE)
    assert resumed.skipped == finished and sorted(resumed.results) == sorted(set(SUBSET) - set(finished))
    assert _rows(course) == {name: corpus.rows[name] for name in SUBSET}


def test_a_dask_cluster_grades_with_the_same_command(corpus, tmp_path):
    from distributed import LocalCluster

    course = _course(tmp_path, {name: CASES[name] for name in SUBSET[:2]})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        summary = autograde(course, scheduler=cluster.scheduler_address, limits=LIMITS, progress=False,
                            module=MODULE)
    assert sorted(summary.results) == sorted(SUBSET[:2])
    assert _rows(course) == {name: corpus.rows[name] for name in SUBSET[:2]}


def test_feedback_shows_failed_checks_but_not_the_reference(corpus):
    from grading_corpus.tiny_course import ANSWERS

    from incidentlab.grading.answer_key import read_key

    problems = feedback(corpus.course, ["good", "wrong", "reordered"], progress=False, module=MODULE)
    assert problems == {"good": [], "wrong": [], "reordered": []}
    good = page_text(corpus.course.feedback("good") / "tiny.html")
    assert "✓ Hours stale at the scenario's now: right" in good
    wrong = page_text(corpus.course.feedback("wrong") / "tiny.html")
    assert "✗ Hours stale at the scenario's now: the values on the stale warehouse" in wrong  # which check failed
    assert "missing column(s)" in wrong
    assert "hidden_check" not in wrong and "BEGIN HIDDEN TESTS" not in wrong
    for sql in list(ANSWERS.values()) + [read_key(MODULE)["hours_stale"]]:
        assert not any(line.strip() in wrong for line in sql.splitlines() if len(line.split()) >= 3)
    assert "86.8" not in wrong and "2024-02-08" not in wrong


def _outputs(nb: dict) -> list[dict]:
    return [output for cell in nb["cells"] for output in cell.get("outputs", [])]


def _assert_inert(page: str, plain_page: str, stored: Path) -> None:
    """No script of the student's survives in a feedback ``page`` (``plain_page``: one without any) or in the
    ``stored`` autograded notebook that formgrader renders; the student's text stays, as text."""
    import json
    import re

    assert "md-script" in page
    assert page.count("<script") == plain_page.count("<script")  # the page's own, none of the student's
    assert not re.findall(r"<[a-z][^>]*\son\w+\s*=", page, re.I)
    assert not re.findall(r"""<[a-z][^>]*\s(?:href|src)\s*=\s*["']?\s*javascript:""", page, re.I)
    nb = json.loads(stored.read_text())
    shown = json.dumps([c["source"] for c in nb["cells"] if c["cell_type"] != "code"]
                       + [o.get("data", {}) for o in _outputs(nb)])
    assert "md-script" in shown
    for active in ("<script", "onerror", "onclick", "javascript:", "application/javascript"):
        assert active not in shown, active


def test_a_script_in_the_markdown_reaches_no_page(corpus):
    assert feedback(corpus.course, ["scripted_markdown", "good"], progress=False, module=MODULE) == {
        "scripted_markdown": [], "good": []}
    page = (corpus.course.feedback("scripted_markdown") / "tiny.html").read_text()
    _assert_inert(page, (corpus.course.feedback("good") / "tiny.html").read_text(),
                  corpus.course.autograded("scripted_markdown") / "tiny.ipynb")


def test_the_leak_check_finds_the_answer_key_in_a_page(corpus):
    from incidentlab.grading.answer_key import read_key

    page = corpus.course.feedback("mallory") / "tiny.html"
    page.parent.mkdir(parents=True)
    line = next(line.strip() for line in read_key(MODULE)["hours_stale"].splitlines() if "epoch(" in line)
    page.write_text("<html><pre>" + html.escape(line) + "</pre></html>")

    assert leaks(corpus.course, "mallory", module=MODULE) == [f"tiny.html: {line}"]


def test_the_cli_steps_print_their_summary(corpus, tmp_path, capsys):
    from incidentlab.cli import main

    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()\n"
                      f"c.CourseDirectory.root = {str(corpus.course.root)!r}\n"
                      "c.CourseDirectory.course_id = 'tiny_course'\n")
    out = tmp_path / "grades.csv"
    assert main(["grade", "export", "--assignment", "tiny", "--config", str(config), "--out", str(out)]) == 0
    assert out.read_text() == corpus.csv.read_text()
    assert f"wrote {out}: {len(CASES)} student(s);" in capsys.readouterr().out

    empty = tmp_path / "empty_config.py"
    empty.write_text(f"c = get_config()\nc.CourseDirectory.root = {str(tmp_path / 'nothing')!r}\n")
    assert main(["grade", "autograde", "--assignment", "tiny", "--config", str(empty), "--quiet"]) == 2
    assert "run `incidentlab grade release` first" in capsys.readouterr().err


@JAILED
def test_executed_feedback_runs_the_notebooks_but_scores_come_from_the_key(warehouses, tmp_path):
    """--execute: the feedback shows the student's outputs; a kernel cannot kill its grader, and a detached child
    the kernel started is killed with it."""
    from grading_corpus.mutations import Case, insert_cell, wrong_answers

    def patched_and_detached(nb):
        wrong_answers(nb)
        insert_cell(nb, patch + detached)

    marker = tmp_path / "written-after-grading"
    patch = ("import incidentlab.checking.question as q, incidentlab.grading.grade_answers as g\n"
             "q.Question.check = lambda self, answer=None: print('ok')\n"
             "g.hidden_check = lambda question: print('ok')\n")
    detached = ("import subprocess, sys\n"
                "subprocess.Popen([sys.executable, '-c', 'import time, pathlib; time.sleep(8); "
                f"pathlib.Path({str(marker)!r}).write_text(\"late\")'], start_new_session=True)")
    cases = {"good": CASES["good"], "kill_the_grader": CASES["kill_the_grader"],
             "detached": Case(patched_and_detached, "graded", "", full_marks=False)}
    course = _course(tmp_path, cases)
    limits = Limits(cell_timeout=60, notebook_timeout=120, submission_timeout=240)
    summary = autograde(course, workers=2, limits=limits, progress=False, module=MODULE, execute=True)
    rows = _rows(course)
    assert rows["good"]["total"] == rows["good"]["max_total"] == "3"
    assert rows["detached"]["total"] == "0"  # wrong answers and patched checks, run in the kernel: still 0
    # The kernel runs as a user of its own: it is not allowed to kill its grader.
    assert rows["kill_the_grader"]["status"] == "graded" and rows["kill_the_grader"]["total"] == "3"
    graded = (course.autograded("good") / "tiny.ipynb").read_text()
    assert "✓ Hours stale at the scenario's now: right" in graded
    assert summary.results["good"]["status"] == "graded"
    import time

    time.sleep(10)
    assert not marker.exists(), "a process the student's kernel started outlived the grading"


def _running_uids() -> set[int]:
    uids = set()
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if "\nState:\tZ" in status:  # killed, waiting for its parent to reap it: not running
            continue
        uids |= {int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:")}
    return uids


@JAILED
def test_an_executed_kernel_is_jailed_and_an_honest_student_after_it_keeps_the_grade(warehouses, tmp_path):
    """One worker grades the attacker, then an honest student whose markdown and outputs carry scripts: the
    attacks all fail and nothing outlives them; the honest student keeps full marks, the executed notebook's
    feedback shows the checks and no error, and no script survives in it or in the stored notebook."""
    import json
    import shutil

    from distributed import LocalCluster
    from grading_corpus.jail_attacks import DISPLAY, attacks
    from grading_corpus.mutations import Case, insert_cell, scripted_markdown, wrong_answers

    from incidentlab.grading.jail import FIRST_UID
    from incidentlab.paths import project_root

    stash = tmp_path / "stash"  # a copy of the key elsewhere on the disk
    shutil.copytree(project_root() / "grading" / MODULE / "answer_key", stash)
    course_root = tmp_path / "course"

    def attacker(nb):  # wrong answers: nothing the kernel does may raise them
        wrong_answers(nb)
        insert_cell(nb, attack)

    def honest(nb):
        CASES["good"].mutate(nb)
        scripted_markdown(nb)
        insert_cell(nb, DISPLAY)

    with LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1", scheduler_port=0,
                      dashboard_address=None) as cluster:
        host, port = cluster.scheduler_address.removeprefix("tcp://").rsplit(":", 1)
        attack = attacks(course_root, stash / "hours_stale.sql", (host, int(port)), MODULE)
        course = _course(tmp_path, {"a_attacker": Case(attacker, "graded", ""), "z_good": Case(honest, "graded", "")})
        honest_before = (course.submitted("z_good") / "tiny.ipynb").read_bytes()
        limits = Limits(cell_timeout=60, notebook_timeout=120, submission_timeout=240)
        autograde(course, workers=1, limits=limits, progress=False, module=MODULE, execute=True)

    graded = json.loads((course.autograded("a_attacker") / "tiny.ipynb").read_text())
    text = "".join("".join(o.get("text", "")) for o in _outputs(graded))
    seen = json.loads(text.split("ATTACKS ", 1)[1].splitlines()[0])
    assert seen["uid"] >= FIRST_UID and seen["pid"] < 100  # its own user, in a process namespace of its own
    for name in ("key", "key copy", "course", "gradebook", "shadow"):
        assert seen[name] in ("FileNotFoundError", "PermissionError"), (name, seen)
    assert seen["masters"] == ["exercises.toml"], seen  # the questions, not the masters
    assert not any("-" in entry for entry in seen["variants"]), seen  # no hidden variant's warehouse
    assert [entry for entry in seen["sandboxes"] if not entry.startswith(".kernel-")] == [], seen  # no other's
    python_prefix = Path(os.path.realpath(sys.base_prefix)).parts
    assert seen["home"] == "FileNotFoundError" or all(("/", "root", e) == python_prefix[:3] for e in seen["home"])
    for name in ("wrote src", "wrote course", "wrote other notebook", "wrote run lock"):
        assert seen[name] in ("OSError", "PermissionError", "FileNotFoundError"), (name, seen)
    assert not Path("/run/lock/incidentlab-planted").exists() and not Path("/dev/shm/incidentlab-planted").exists()
    assert seen["scheduler"] in ("ConnectionRefusedError", "OSError", "TimeoutError"), seen  # loopback is its own
    assert seen["fill"][0] == "OSError" and seen["fill"][1] <= 256 << 20, seen  # its folder's size, then ENOSPC
    assert not (course_root / "planted").exists()
    assert (course.submitted("z_good") / "tiny.ipynb").read_bytes() == honest_before
    assert not any(uid >= FIRST_UID for uid in _running_uids()), "a process of the kernel's user outlived grading"
    assert ".kernel-" not in Path("/proc/self/mountinfo").read_text(), "a kernel's folder is still mounted"

    rows = _rows(course)
    assert rows["a_attacker"]["total"] == "0"
    assert rows["z_good"]["total"] == rows["z_good"]["max_total"] == "3" and rows["z_good"]["status"] == "graded"
    honest = json.loads((course.autograded("z_good") / "tiny.ipynb").read_text())
    assert not [o for o in _outputs(honest) if o["output_type"] == "error" or o.get("name") == "stderr"]
    assert feedback(course, ["a_attacker", "z_good"], progress=False, module=MODULE) == {
        "a_attacker": [], "z_good": []}
    page = (course.feedback("z_good") / "tiny.html").read_text()
    assert "✓ Hours stale at the scenario's now: right" in html.unescape(page)
    assert "output_error" not in page and "output_stderr" not in page  # no error, traceback or stderr shown
    _assert_inert(page, (course.feedback("a_attacker") / "tiny.html").read_text(),
                  course.autograded("z_good") / "tiny.ipynb")


def test_execute_is_refused_where_kernels_cannot_be_confined(tmp_path, monkeypatch):
    from incidentlab.errors import IncidentLabError
    from incidentlab.grading import jail

    monkeypatch.setattr(jail, "available", lambda: "confining the kernels needs the grader to run as root")
    course = _course(tmp_path, {"good": CASES["good"]})
    with pytest.raises(IncidentLabError, match="grade without --execute"):
        autograde(course, workers=1, limits=LIMITS, progress=False, module=MODULE, execute=True)


def test_execute_says_when_bubblewrap_is_missing(monkeypatch):
    from incidentlab.grading import jail

    monkeypatch.setattr(jail.os, "geteuid", lambda: 0)
    monkeypatch.setattr(jail.shutil, "which", lambda name: None)
    jail.available.cache_clear()
    try:
        assert jail.available() == "bubblewrap is not installed (`apt-get install bubblewrap`)"
    finally:
        jail.available.cache_clear()


def test_a_broken_answer_key_is_the_graders_error_and_grading_again_recovers(warehouses, tmp_path, monkeypatch):
    import shutil

    from project_copies import copy_project

    from incidentlab.paths import project_root

    root = copy_project(tmp_path / "project")
    shutil.copytree(project_root() / "grading" / MODULE, root / "grading" / MODULE)
    key = root / "grading" / MODULE / "answer_key" / "hours_stale.sql"
    right = key.read_text()
    key.write_text("select nothing from nowhere\n")
    monkeypatch.setenv("INCIDENTLAB_ROOT", str(root))
    course = _course(tmp_path / "run", {"good": CASES["good"]})

    broken = autograde(course, workers=1, limits=LIMITS, progress=False, module=MODULE)
    assert {r["status"] for r in broken.results.values()} == {"grader-error"}
    assert all("answer key's query for wt06_data_stale.hours_stale fails" in r["reason"]
               for r in broken.results.values())

    key.write_text(right)
    fixed = autograde(course, workers=1, limits=LIMITS, progress=False, module=MODULE)
    assert sorted(fixed.results) == ["good"] and not fixed.skipped
    assert _rows(course)["good"]["total"] == "3"
