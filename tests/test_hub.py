"""A class on a JupyterHub, end to end, on 127.0.0.1: `incidentlab hub` with one instructor and two students.

The first student logs in in headless Chromium, fetches wt06_data_stale in the Assignments tab, answers one
question, submits. The second submits an attack from a terminal (the answer cell kills its parent) and plants a
submission in the first student's name. The instructor collects from the exchange, autogrades and releases the
feedback; the first student fetches it in the Assignments tab and reads their points. The attacker scores 0 and the
first student's grade is what grading them alone gives. Afterwards no user, home, process or file of the test is
left, and the checkout has its mode back.

It needs root (system users), Chromium and configurable-http-proxy (`make hub-proxy`), and takes minutes (the
hub builds its student and instructor environments): `make test-hub` runs it (INCIDENTLAB_HUB_TEST=1), and CI after
the browser suite; `make test` never does. Screenshots of the Assignments tab and of the feedback are saved with
the browser suite's (tests/browser/artifacts/, or $INCIDENTLAB_ARTIFACTS).
"""

from __future__ import annotations

import contextlib
import csv
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from incidentlab.paths import project_root

pytestmark = [pytest.mark.hub, pytest.mark.slow]

if os.environ.get("INCIDENTLAB_HUB_TEST") != "1":
    pytest.skip("the hub's end-to-end test runs under `make test-hub` only (INCIDENTLAB_HUB_TEST=1)",
                allow_module_level=True)
if os.geteuid() != 0:
    pytest.skip("the hub's end-to-end test creates system users: it needs root", allow_module_level=True)

from test_browser import (  # noqa: E402
    ALL_RAN,
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    RUN_ALL_LIMIT_MS,
    _command,
    _first_answer,
    _run_cell,
    sync_playwright,
)

from incidentlab.hub import prepare  # noqa: E402
from incidentlab.hub.classfile import ClassList  # noqa: E402
from incidentlab.hub.cli import instructor_command, proxy_command  # noqa: E402

if not proxy_command().exists():
    pytest.skip("configurable-http-proxy is not installed (`make hub-proxy`)", allow_module_level=True)

MODULE = "wt06_data_stale"
INSTRUCTOR, STUDENT, ATTACKER = "iltest-instr", "iltest-s1", "iltest-s2"
MASTER = sorted((project_root() / "notebooks" / MODULE).glob("[0-9][0-9]_*.ipynb"))[0]
ATTACK = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"


def _wait_for(url: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the hub stopped (exit {process.returncode})")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"the hub did not answer at {url} within {seconds:.0f} s")


@pytest.fixture(scope="module")
def hub(warehouses):
    """(base URL, class, passwords) of a running hub; everything it made is removed afterwards."""
    for name in (INSTRUCTOR, STUDENT, ATTACKER):
        with pytest.raises(KeyError):
            pwd.getpwnam(name)  # never touch a user the test did not create
    scratch = Path(tempfile.mkdtemp(prefix="incidentlab-hub-test-"))
    scratch.chmod(0o755)
    class_file = scratch / "class.toml"
    class_file.write_text(f'course_id = "incidentlab"\nexchange = "{scratch / "exchange"}"\n'
                          f'state = "{scratch / "state"}"\ninstructors = ["{INSTRUCTOR}"]\n'
                          f'students = ["{STUDENT}", "{ATTACKER}"]\n')
    klass = ClassList.load(class_file)
    checkout_mode = project_root().stat().st_mode
    log = open(scratch / "hub.log", "w+")  # noqa: SIM115 (the hub writes to it until the fixture ends)
    process = subprocess.Popen([str(Path(sys.executable).parent / "incidentlab"), "hub", "--class", str(class_file),
                                "--port", "0"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "INCIDENTLAB_WAREHOUSES": str(warehouses)})
    try:
        deadline = time.monotonic() + 900  # the first start builds two Python environments
        while not (match := re.search(r"at (http://127\.0\.0\.1:\d+)/", (scratch / "hub.log").read_text())):
            assert process.poll() is None and time.monotonic() < deadline, (scratch / "hub.log").read_text()[-3000:]
            time.sleep(1)
        base = match.group(1)
        _wait_for(f"{base}/hub/api/", process, 120)
        with open(klass.state / "passwords.csv") as handle:
            passwords = {row["user"]: row["password"] for row in csv.DictReader(handle)}
        yield base, klass, passwords
    finally:
        uids = {name: _uid(name) for name in (INSTRUCTOR, STUDENT, ATTACKER)}
        pid_file = scratch / "state" / "proxy.pid"
        proxy = int(pid_file.read_text()) if pid_file.is_file() else None
        _stop(process)
        removed = subprocess.run([str(Path(sys.executable).parent / "incidentlab"), "hub", "--class",
                                  str(class_file), "--remove-users"], capture_output=True, text=True)
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)
    # Nothing is left: users, homes, their processes, the hub's, the proxy's; the checkout has its mode back.
    assert removed.returncode == 0, removed.stderr
    for name, uid in uids.items():
        assert _uid(name) is None, f"{name} is still a user"
        assert not Path("/home", name).exists()
        if uid is not None:
            assert subprocess.run(["pgrep", "-U", str(uid)], capture_output=True).returncode == 1
    assert subprocess.run(["pgrep", "-f", str(class_file)], capture_output=True).returncode == 1
    if proxy is not None:
        assert not Path(f"/proc/{proxy}").exists() or "configurable-http-proxy" not in \
            Path(f"/proc/{proxy}/cmdline").read_bytes().decode(errors="replace"), "the proxy is still running"
    assert project_root().stat().st_mode == checkout_mode
    assert not scratch.exists()


def _uid(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _stop(process: subprocess.Popen) -> None:
    """The hub stops its proxy and every user's server on SIGTERM; whatever is left of its session is killed."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _as_instructor(klass: ClassList, *args: str) -> str:
    result = subprocess.run(instructor_command(klass, INSTRUCTOR, *args), capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _as_student(klass: ClassList, student: str, *command: str) -> subprocess.CompletedProcess:
    """``command`` in the student's environment, as their server on the hub runs it (a terminal)."""
    home = pwd.getpwnam(student).pw_dir
    env = [f"HOME={home}", f"JUPYTER_CONFIG_PATH={prepare.config_dir(klass.state, 'student')}",
           f"PATH={prepare.student_env(klass.state) / 'bin'}:/usr/bin:/bin"]
    return subprocess.run(["runuser", "-u", student, "--", "env", "-i", *env, "sh", "-c", 'cd "$HOME" && exec "$@"',
                           "sh", *command], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def browser(hub):
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(120_000)
        yield context
        context.close()
        chromium.close()


def _assignments_tab(page) -> None:
    _command(page, "Nbgrader", "nbgrader:open-assignment-list")
    page.locator("#released_assignments_list, #fetched_assignments_list").first.wait_for()


def _accept_kernel(page) -> None:
    """JupyterLab may ask which kernel a fetched notebook gets (its default): accepted, as a student would."""
    for _ in range(20):
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()
            return
        page.wait_for_timeout(500)


def _row(page, section: str, name: str):
    return page.locator(f"#{section} .list_item", has_text=name).first


def test_a_class_on_the_hub(hub, browser):
    base, klass, passwords = hub
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    index, question, solution = _first_answer(MASTER)

    # The checkout (answer keys, masters) is closed to students.
    key = next((project_root() / "grading" / MODULE / "answer_key").glob("*.sql"))
    assert _as_student(klass, STUDENT, "cat", str(key)).returncode != 0

    # The first student logs in, fetches the module, answers one question and submits, in the Assignments tab.
    page = browser.new_page()
    page.goto(f"{base}/hub/login")
    page.fill("#username_input", STUDENT)
    page.fill("#password_input", passwords[STUDENT])
    page.click("#login_submit")
    page.wait_for_url(re.compile(r"/user/" + STUDENT + r"/lab"), timeout=180_000)
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").first.wait_for()
    labels = [t.strip() for t in page.locator(".lm-MenuBar-item").all_inner_texts()]
    _assignments_tab(page)
    _row(page, "released_assignments_list", MODULE).locator("button", has_text="Fetch").click()
    _row(page, "fetched_assignments_list", MODULE).wait_for()
    page.screenshot(path=ARTIFACTS / "hub__assignments_fetched.png")
    assert "Formgrader" not in page.locator("body").inner_text()

    page.goto(f"{base}/user/{STUDENT}/lab/tree/{MODULE}/{MASTER.name}?reset")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    _accept_kernel(page)
    _command(page, "Run", "runmenu:run-all")  # the first cell gives the kernel its own copy of the warehouse
    try:
        page.wait_for_function(ALL_RAN, timeout=RUN_ALL_LIMIT_MS)
    finally:
        page.screenshot(path=ARTIFACTS / "hub__notebook_run.png", full_page=True)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        print("\n".join(errors.all_inner_texts()))
    _run_cell(page, index, f"%%sql answer_{question} <<\n{solution}")
    shown = _run_cell(page, index + 1)
    assert shown.lstrip().startswith("✓"), shown
    page.keyboard.press("Control+s")
    page.wait_for_timeout(2000)

    page.goto(f"{base}/user/{STUDENT}/lab")
    _assignments_tab(page)
    _row(page, "fetched_assignments_list", MODULE).locator("button", has_text="Submit").click()
    _row(page, "submitted_assignments_list", MODULE).wait_for()
    page.screenshot(path=ARTIFACTS / "hub__assignments_submitted.png")

    # The second student fetches and submits from a terminal: the answer cell kills its parent; and they plant a
    # submission in the first student's name, with the master's answers, dated after the first student's.
    assert _as_student(klass, ATTACKER, "nbgrader", "fetch_assignment", MODULE).returncode == 0
    notebook = Path(pwd.getpwnam(ATTACKER).pw_dir) / MODULE / MASTER.name
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[index].source = ATTACK
    nb.cells.append(nbformat.v4.new_code_cell(ATTACK))
    nbformat.write(nb, notebook)
    submitted = _as_student(klass, ATTACKER, "nbgrader", "submit", MODULE)
    assert submitted.returncode == 0, submitted.stderr
    inbound = klass.exchange / klass.course_id / "inbound"
    forged = f"{STUDENT}+{MODULE}+2099-01-01 00:00:00.000000 UTC+forged"
    planted = _as_student(klass, ATTACKER, "sh", "-c", f'mkdir "{inbound}/{forged}" && cp "{MASTER}" '
                          f'"{inbound}/{forged}/" 2>/dev/null; cp -r "$HOME/{MODULE}/." "{inbound}/{forged}/"')
    assert planted.returncode == 0, planted.stderr

    # The instructor collects from the exchange, autogrades, writes and releases the feedback, exports the grades.
    collected = _as_instructor(klass, "grade", "collect", "--exchange", "--assignment", MODULE, "--quiet")
    assert "collected 2 submission(s)" in collected and f"belongs to {ATTACKER}" in collected, collected
    _as_instructor(klass, "grade", "autograde", "--assignment", MODULE, "--quiet", "--workers", "2")
    released = _as_instructor(klass, "grade", "feedback", "--exchange", "--assignment", MODULE, "--quiet")
    assert "released the feedback of 2 student(s)" in released, released
    _as_instructor(klass, "grade", "export", "--assignment", MODULE, "--quiet")
    grades_csv = prepare.instructors_course(klass.state) / "pipeline" / MODULE / "grades.csv"
    grades = {row["student_id"]: row for row in csv.DictReader(grades_csv.read_text().splitlines())}
    assert float(grades[ATTACKER]["total"]) == 0, grades[ATTACKER]
    assert float(grades[STUDENT]["total"]) > 0, grades[STUDENT]

    # Graded alone, the first student gets the same total: the attack changed nothing of theirs.
    _as_instructor(klass, "grade", "autograde", "--assignment", MODULE, "--quiet", "--workers", "1",
                   "--student", STUDENT, "--force")
    _as_instructor(klass, "grade", "export", "--assignment", MODULE, "--quiet")
    alone = {row["student_id"]: row for row in csv.DictReader(grades_csv.read_text().splitlines())}
    assert alone[STUDENT]["total"] == grades[STUDENT]["total"]

    # The first student fetches the feedback in the Assignments tab and reads their points.
    page.goto(f"{base}/user/{STUDENT}/lab")
    _assignments_tab(page)
    row = _row(page, "submitted_assignments_list", MODULE)
    row.locator("button", has_text="Fetch Feedback").click()
    row.locator("a", has_text="view feedback").first.wait_for()
    page.screenshot(path=ARTIFACTS / "hub__assignments_feedback.png")
    [html] = (Path(pwd.getpwnam(STUDENT).pw_dir) / MODULE / "feedback").glob(f"*/{MASTER.stem}.html")
    feedback = page.context.new_page()
    feedback.goto(f"{base}/user/{STUDENT}/files/{html.relative_to(pwd.getpwnam(STUDENT).pw_dir)}")
    text = feedback.locator("body").inner_text()
    feedback.screenshot(path=ARTIFACTS / "hub__feedback.png", full_page=False)
    score = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", text)
    assert score and float(score.group(1)) == float(grades[STUDENT]["total"]) > 0, text[:500]
    assert "Nbgrader" in labels
