"""Every module's master notebooks: course conventions, nbgrader metadata and clean stored outputs.

nbval (pytest's notebook items) re-runs the masters and compares their outputs; these tests check what nbval
cannot: the structure a student and nbgrader rely on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import nbformat
import pytest

from incidentlab.datasets import load_scenario
from incidentlab.exercises import load, modules
from incidentlab.paths import project_root

MODULES = modules()
MASTERS = [path for module in MODULES
           for path in sorted((project_root() / "notebooks" / module).glob("[0-9][0-9]_*.ipynb"))]
IDS = [f"{p.parent.name}/{p.stem}" for p in MASTERS]
ANSWER = re.compile(r"^%%sql (answer_(\w+)) <<\n")


def _read(path):
    return nbformat.read(path, as_version=4)


def _graded(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


PHASES = {
    "wt06_data_stale": ["01_detect", "02_read_the_logs", "03_phantom_successes", "04_blast_radius",
                        "05_fix_prevent_verify", "06_monitor"],
    "wt05_fan_out": ["01_detect", "02_trace", "03_quantify", "04_fix", "05_prevent", "06_monitor"],
}


@pytest.mark.parametrize("module", MODULES)
def test_phases(module):
    assert [p.stem for p in MASTERS if p.parent.name == module] == PHASES[module]


@pytest.mark.parametrize("path", MASTERS, ids=IDS)
def test_opening_and_closing(path):
    nb = _read(path)
    module = path.parent.name
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"# WT-{module[2:4]} · ")
    assert "\n> **@" in nb.cells[0].source, "the scenario's Slack thread, as a quote"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert not re.search(r"^ {4}\S", cell.source, re.MULTILINE), f"an accidental code block:\n{cell.source}"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    for line in ('from incidentlab.notebook import start', f'lab = start("{module}"',
                 "from incidentlab.exercises import load", f'ex = load("{module}")'):
        assert line in first_code.source
    assert any("lab.reset()" in c.source for c in nb.cells if c.cell_type == "markdown")
    assert "What you should now know" in nb.cells[-1].source or "What you should now know" in nb.cells[-2].source


@pytest.mark.parametrize("path", MASTERS, ids=IDS)
def test_answer_cells_and_their_tests(path):
    nb = _read(path)
    ex = load(path.parent.name)
    answers = 0
    for i, cell in enumerate(nb.cells):
        match = ANSWER.match(cell.source)
        if not match:
            continue
        answers += 1
        variable, name = match.groups()
        assert name in dir(ex), f"no question {name}"
        assert cell.metadata.nbgrader == {"grade": False, "solution": True, "locked": False,
                                          "grade_id": cell.metadata.nbgrader["grade_id"], "schema_version": 3}
        body = cell.source.split("\n", 1)[1]
        assert "BEGIN SOLUTION" in body.splitlines()[0] and "END SOLUTION" in body.splitlines()[-1]
        test = nb.cells[i + 1]
        meta = test.metadata.nbgrader
        assert meta["grade"] and not meta["solution"] and meta["locked"] and meta["points"] >= 1
        assert test.source.splitlines()[0] == f"ex.{name}.check()"
        hidden = test.source.split("### BEGIN HIDDEN TESTS\n", 1)[1].split("### END HIDDEN TESTS")[0]
        assert hidden.strip() == ("from incidentlab.grading.grade_answers import hidden_check\n"
                                  f"hidden_check(ex.{name})")
        assert meta["grade_id"] == cell.metadata.nbgrader["grade_id"].removesuffix("_answer") + "_test"
        assert meta["grade_id"].endswith(f"_{name}_test") and meta["points"] == getattr(ex, name).points
        assert not re.search(r"\bnow\(\)|current_timestamp", body, re.IGNORECASE)
    assert answers >= 2


@pytest.mark.parametrize("module", MODULES)
def test_every_question_is_asked_once_and_grade_ids_are_unique(module):
    asked, grade_ids = Counter(), Counter()
    ex = load(module)
    for path in (p for p in MASTERS if p.parent.name == module):
        for cell in _read(path).cells:
            if match := ANSWER.match(cell.source):
                asked[match.group(2)] += 1
            if "nbgrader" in cell.metadata:
                grade_id = cell.metadata.nbgrader["grade_id"]
                assert grade_id.startswith(path.stem[:2] + "_")
                grade_ids[grade_id] += 1
    assert asked == Counter({q.name: 1 for q in ex})
    assert max(grade_ids.values()) == 1


@pytest.mark.parametrize("path", MASTERS, ids=IDS)
def test_stored_outputs_are_clean(path):
    """The masters are stored executed: no errors, nothing on stderr, every check passed."""
    nb = _read(path)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        assert cell.outputs or ANSWER.match(cell.source) or grade_id.endswith("_code_02"), cell.source[:80]
        for out in cell.outputs:
            assert out.output_type != "error", cell.source[:80]
            assert not (out.output_type == "stream" and out.name == "stderr"), cell.source[:80]
    for cell in _graded(nb):
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert text.count("✓") == 2, cell.source


# Rules and thresholds the course sets (SLAs, windows); measured figures must come from cells instead.
RULES = ["25 hours", "25-hour", "24 hours", "13 h", "25 h", "26 hours", "26 h", "6 hours", "48 for", "7 days",
         "1 day", "2 days", "7 runs", "0.01"]
MEASURE = re.compile(r"\b\d+(\.\d+)?\s?(h|hours|s|seconds|times|%)\b|\b\d+\.\d+\b")


@pytest.mark.parametrize("path", MASTERS, ids=IDS)
def test_numbers_in_prose_are_computed(path):
    """Markdown states no measured figure: hours, durations, ratios come from cells."""
    for cell in _read(path).cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"`[^`]*`", "", cell.source)  # code spans name rules and selectors, not results
        text = re.sub(r"^>.*$", "", text, flags=re.MULTILINE)  # the scenario's Slack thread, quoted
        text = re.sub(r"Exercise \d+\.\d+", "", text)
        for rule in RULES:
            text = text.replace(rule, "")
        assert not MEASURE.search(text), MEASURE.search(text).group(0)


WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
# Where the prose says where the story stands: "Monday 09:25", "Tuesday, March 19 2024, 09:15", "standing at
# Monday 09:00", "clock stays at 09:15". These must be the scenario's `now`, the clock every query sees.
NOW_STATED = re.compile(rf"\b({WEEKDAYS})(?:,? [A-Z][a-z]+ \d{{1,2}},? \d{{4}})?,? (\d{{1,2}}:\d{{2}})\b"
                        r"|clock (?:stays |is |says )?at (\d{1,2}:\d{2})\b")
TIME = re.compile(r"\b(\d{1,2}):(\d{2})(?:\s?([AP]M))?\b")


def _hhmm(hour: str, minute: str, half: str | None = None) -> str:
    h = int(hour) % 12 + (12 if half == "PM" else 0) if half else int(hour)
    return f"{h:02d}:{minute}"


def _data_times(module: str) -> set[str]:
    """Every time of day (to the minute) a timestamp of the module's raw tables holds: runs, loads, deploys."""
    times = set()
    for table in load_scenario(module).tables.values():
        times |= {f"{v:%H:%M}" for row in table.rows for v in row if isinstance(v, dt.datetime)}
    return times


@pytest.mark.parametrize("path", MASTERS, ids=IDS)
def test_times_in_prose_agree_with_the_clock(path):
    """A time the prose states as "now" is the scenario's `now`; any other time of day is a moment of the
    story's timeline: a message of the notebook's quoted thread, or a timestamp of the module's raw data."""
    module = path.parent.name
    now = load_scenario(module).now
    markdown = [re.sub(r"`[^`]*`", "", c.source) for c in _read(path).cells if c.cell_type == "markdown"]
    thread = {_hhmm(*m.groups()) for text in markdown for line in text.splitlines() if line.startswith(">")
              for m in TIME.finditer(line)}
    timeline = {f"{now:%H:%M}"} | thread | _data_times(module)
    for text in markdown:
        prose = re.sub(r"^>.*$", "", text, flags=re.MULTILINE)
        for match in NOW_STATED.finditer(prose):
            weekday, at, clock = match.groups()
            assert _hhmm(*(at or clock).split(":")) == f"{now:%H:%M}" and weekday in (None, f"{now:%A}"), \
                f"{path.name} says {match.group(0)!r}, but the scenario's clock stands at {now:%A %H:%M}"
        for match in TIME.finditer(prose):
            assert _hhmm(*match.groups()) in timeline, \
                f"{path.name} mentions {match.group(0)!r}: not the clock ({now:%H:%M}), the thread or the data"
