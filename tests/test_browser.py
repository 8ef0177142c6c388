"""The student's course in a real browser: every module's release, opened in the JupyterLab of `make lab`.

Headless Chromium (Debian's, at /usr/bin/chromium: Playwright's own download needs the network), driven by
Playwright, does what a student does: open each released notebook, run all its cells, answer one exercise wrong
and then right and read the check's message on the page. One JupyterLab serves the whole file; every
notebook of the release runs at once, each in its own tab and kernel. Under `make test` only each module's first
notebook runs (the suite would take minutes of the 10 the whole suite may use); `INCIDENTLAB_BROWSER_ALL=1`
(`make test-browser`, and `.ci/run` after `make test`) runs every one.

"No error" in a released notebook: no cell shows a traceback (an `error` output) and nothing is written to
stderr except by the graded checks, which say, each on one line, that their question is not answered yet
(the answer cells hold the release's placeholder query). Screenshots go to ``tests/browser/artifacts/`` (or
``$INCIDENTLAB_ARTIFACTS``): every notebook after its run, and each check's message.

Without a browser the file is skipped and the reason is printed in the summary (`pytest -rs`, as `make test`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from test_nbgrader_release import nbgrader, release_folder
from test_student_lab import TOKEN, running_student_lab

from incidentlab.checking.answer_sql import header
from incidentlab.exercises import modules
from incidentlab.paths import project_root

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("INCIDENTLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("INCIDENTLAB_ARTIFACTS") or project_root() / "tests" / "browser" / "artifacts")
MODULES = modules()
# `make test` runs each module's first notebook (the exercise test's too); `make test-browser` and CI every one.
EVERY_NOTEBOOK = os.environ.get("INCIDENTLAB_BROWSER_ALL") == "1"
MASTERS = {module: sorted((project_root() / "notebooks" / module).glob("[0-9][0-9]_*.ipynb"))[
    slice(None) if EVERY_NOTEBOOK else slice(1)] for module in MODULES}
RUN_ALL_LIMIT_MS = 240_000  # a notebook's run, all notebooks at once on a busy 2-core machine
SOLUTION = re.compile(r"-- ### BEGIN SOLUTION\n(.*?)-- ### END SOLUTION", re.S)
WRONG_QUERY = "select 1 as wrong_column"
# What the first cell and a waiting %dbt show while they work (progress_line); JupyterLab saves a stream as drawn
WAITING = re.compile(r"Opening \w+: copying|Starting dbt in this kernel|dbt is reading the project|Waiting for dbt|\r")

if not CHROMIUM.is_file():
    pytest.skip(f"browser suite skipped: no Chromium at {CHROMIUM} (`apt-get install -y chromium`, or set "
                "INCIDENTLAB_CHROMIUM)", allow_module_level=True)
sync_playwright = pytest.importorskip("playwright.sync_api", reason="browser suite skipped: the Python package "
                                      "playwright is not installed (`make install`)").sync_playwright

# Every code cell shows its execution count: nothing is queued or running.
ALL_RAN = """() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
}"""


def _first_answer(master: Path) -> tuple[int, str, str] | None:
    """(cell index, question, the master's solution) of the notebook's first answer cell."""
    for i, cell in enumerate(nbformat.read(master, as_version=4).cells):
        if match := re.match(r"%%sql answer_(\w+) <<\n", cell.source):
            return i, match.group(1), SOLUTION.search(cell.source).group(1)
    return None


@pytest.fixture(scope="module")
def course(warehouses, tmp_path_factory):
    """A student's workspace made as `make workspace` makes it: nbgrader's release of every module, copied."""
    return tmp_path_factory.mktemp("workspace")


def _release(workspace: Path, scratch: Path) -> None:
    released = scratch / "course"
    for module in MODULES:  # one after the other: each run writes the course's one gradebook
        nbgrader("generate_assignment", module, "--log-level=WARN", course=released)
    for module in MODULES:
        shutil.copytree(release_folder(released, module), workspace / module)


@pytest.fixture(scope="module")
def browser(course, warehouses, tmp_path_factory):
    """(base URL, a browser context) on the student's JupyterLab serving ``course``; the release is made while
    JupyterLab and Chromium start."""
    scratch = tmp_path_factory.mktemp("browser_lab")
    # The student's config; settings and workspaces of this run only, so no user's layout reopens other tabs.
    env = {"INCIDENTLAB_WAREHOUSES": str(warehouses), "JUPYTERLAB_SETTINGS_DIR": str(scratch / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "workspaces"),
           "INCIDENTLAB_NO_WARM_UP": "1"}  # a kernel's first %dbt starts dbt itself, and says so (tested below)
    news = scratch / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))  # no pop-up over the cells
    with ThreadPoolExecutor(1) as pool:
        released = pool.submit(_release, course, scratch)
        with running_student_lab(course, scratch, env) as (base, log), sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            context = chromium.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(60_000)
            released.result()
            yield base, context
            context.close()
            chromium.close()


def _open(context, base: str, tab: str, notebook: str):
    page = context.new_page()
    # a workspace per tab: each page shows its own notebook only
    page.goto(f"{base}/lab/workspaces/{tab}/tree/{notebook}?reset&token={TOKEN}")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    return page


def _command(page, menu: str, command: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=menu).first.click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').first.click()


@pytest.fixture(scope="module")
def ran(browser):
    """Every released notebook run top to bottom in its own tab, all at once, then saved: {path: page}."""
    base, context = browser
    pages = {}
    for module in MODULES:
        for master in MASTERS[module]:
            notebook = f"{module}/{master.name}"
            pages[notebook] = _open(context, base, f"{module}-{master.stem}", notebook)
    for page in pages.values():
        _command(page, "Run", "runmenu:run-all")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for notebook, page in pages.items():
        page.wait_for_function(ALL_RAN, timeout=RUN_ALL_LIMIT_MS)
        _command(page, "File", "docmanager:save")
        page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").wait_for(state="detached")
        page.screenshot(path=ARTIFACTS / f"{notebook.replace('/', '__')}.png")
    return pages


@pytest.mark.parametrize("notebook", [f"{m}/{p.name}" for m in MODULES for p in MASTERS[m]])
def test_released_notebook_runs_without_an_error(course, ran, notebook):
    nb = nbformat.read(course / notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "a cell did not run"
    for cell in code:
        graded = cell.metadata.get("nbgrader", {}).get("grade", False)
        for out in cell.outputs:
            assert out.output_type != "error", f"{notebook}: {cell.source[:60]!r} shows {out.ename}: {out.evalue}"
            if out.output_type == "stream":  # as JupyterLab drew it: a line that said what a cell waited for is gone
                assert not WAITING.search(out.text), f"{notebook}: {cell.source[:60]!r} still shows {out.text!r}"
            if out.output_type == "stream" and out.name == "stderr":
                assert graded and "not answered yet" in out.text and "Traceback" not in out.text, \
                    f"{notebook}: {cell.source[:60]!r} writes to stderr:\n{out.text}"


def _run_cell(page, index: int, source: str | None = None) -> str:
    """Type ``source`` into the notebook's cell ``index`` (if given), run it, and return the text it shows."""
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text().strip()
    if source is not None:
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(source)  # as pasted: no auto-indent or auto-closed brackets
    else:
        cell.locator(".jp-InputArea-prompt, .jp-InputPrompt").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function("([el, before]) => /^\\[\\d+\\]:$/.test(el.textContent.trim()) "
                           "&& el.textContent.trim() !== before", arg=[prompt.element_handle(), before])
    return cell.locator(".jp-Cell-outputArea").inner_text()


def _wrong_values(question: str, module: str, solution: str) -> str:
    """The solution with its first column's values replaced by nulls: the right shape, wrong values."""
    from incidentlab.exercises import load

    column = getattr(load(module), question).columns[0]
    body = "\n".join(line for line in solution.strip().rstrip(";").splitlines() if not line.strip().startswith("--"))
    return f"select * replace (null as {column}) from (\n{body}\n) as answer"


@pytest.mark.parametrize("module", MODULES)
def test_an_exercise_answered_wrong_then_right_says_so(ran, module):
    """Wrong in shape, then right (✓ for the values on this warehouse, at once), then wrong in values only (✗ and
    the column that differs), then a syntax error (one plain message, no jupysql note)."""
    master = next(m for m in MASTERS[module] if _first_answer(m))
    index, question, solution = _first_answer(master)
    page = ran[f"{module}/{master.name}"]
    check = index + 1
    shot = ARTIFACTS / f"{module}__{master.stem}__check"

    _run_cell(page, index, f"{header(question)}\n{WRONG_QUERY}")
    wrong = _run_cell(page, check)
    page.locator(".jp-Cell").nth(check).screenshot(path=f"{shot}_wrong.png")
    assert wrong.lstrip().startswith("✗") and "not right yet" in wrong, wrong
    assert "Traceback" not in wrong

    _run_cell(page, index, f"{header(question)}\n{solution}")
    right = _run_cell(page, check)
    page.locator(".jp-Cell").nth(check).screenshot(path=f"{shot}_right.png")
    assert right.lstrip().startswith("✓") and "your values are right on this warehouse" in right, right

    _run_cell(page, index, f"{header(question)}\n{_wrong_values(question, module, solution)}")
    values = _run_cell(page, check)
    page.locator(".jp-Cell").nth(check).screenshot(path=f"{shot}_wrong_values.png")
    assert values.lstrip().startswith("✗") and "the values differ" in values, values
    assert "column(s) whose values differ" in values and "Traceback" not in values

    typo = _run_cell(page, index, f"{header(question)}\nselec * frm stg_orders")
    page.locator(".jp-Cell").nth(index).screenshot(path=f"{shot}_syntax_error.png")
    lines = [line for line in typo.strip().splitlines() if line.strip()]
    assert lines[0].startswith("Your answer's query failed: Parser Error: syntax error"), typo
    assert lines[1].startswith("LINE 1: selec") and set(lines[2].strip()) == {"^"}, typo
    assert not re.search(r"snippets|--with|jupysql|https?://|Traceback", typo), typo


@pytest.mark.parametrize("module", MODULES)
def test_the_first_dbt_line_of_a_kernel_says_what_it_waits_for(ran, module):
    """While dbt starts, a line says so; then the result takes its place, and nothing of that line is left."""
    master = MASTERS[module][0]
    page = ran[f"{module}/{master.name}"]
    index = max(i for i, c in enumerate(nbformat.read(master, as_version=4).cells) if c.cell_type == "code")
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text("%dbt ls --select marts.*")
    page.keyboard.press("Control+Enter")
    output = cell.locator(".jp-Cell-outputArea")
    output.get_by_text("Starting dbt in this kernel").wait_for()
    cell.screenshot(path=ARTIFACTS / f"{module}__first_dbt_waiting.png")
    page.wait_for_function("el => /^\\[\\d+\\]:$/.test(el.textContent.trim())", arg=prompt.element_handle())
    cell.screenshot(path=ARTIFACTS / f"{module}__first_dbt_done.png")
    shown = output.inner_text()
    assert shown.lstrip().startswith("dbt ls --select marts.*") and "Starting dbt" not in shown, shown
