"""What a student installs holds no answer: the wheel, a fresh environment with only the wheel, the released notebooks.

The answer keys are the instructor's (``grading/<module>/answer_key/<question>.sql``). The wheel is built from this
checkout (``uv build --wheel``) and installed, with the student's dependencies only, in a virtual environment made
here (``uv venv``; the lock is a constraint, so uv takes the locked versions from its cache). Then:

(a) no text file of the wheel has a line of a reference query, no file is named like an answer key;
(b) no text file of the wheel has a distinctive value of a reference's result, on the question's warehouse or
    on any variant of it (a timestamp, an amount over 100, a run id);
(c) in the fresh environment the student's modules import, the questions carry no reference, expected value or
    hidden check (the checks' fingerprints load: salted hashes, which (a) and (b) read too), nbgrader is not
    there, and ``incidentlab grade`` says in one line what to install;
(d) the student version of the notebooks, released by nbgrader as ``make release`` does, has no reference line in
    a graded cell and no three lines of one key in a row anywhere.

A line of a reference query counts when, whitespace collapsed and lower-cased, it has at least 3 words and 12
characters; a line of a file leaks it when it is that line, give or take the quotes, commas and assignment
that wrap SQL in code or data. A hint that quotes a fragment inside a sentence is not a leak.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from incidentlab.paths import project_root, warehouse_path

MODULE = "wt06_data_stale"
GRADING = project_root() / "grading"
KEY_FILES = sorted(GRADING.glob("*/answer_key/*.sql"))
FORBIDDEN_ATTRIBUTES = ("reference", "expected", "check_hidden")
NOT_FOR_STUDENTS = ("nbgrader", "dask", "distributed", "nbval", "pytest")
NEEDS_INSTRUCTOR = ("incidentlab: error: the grading commands need the instructor tools: "
                    "pip install 'incidentlab[instructor]'")


# -- reference lines ----------------------------------------------------------------------------------------
def normalized(line: str) -> str:
    return " ".join(line.split()).lower()


_WRAPPING = " \"'`,;"
_ASSIGNMENT = re.compile(r"""^[\w.\[\]"'-]+\s*[=:]\s*[rbuf]{0,2}(?=["'])""")


def core(line: str) -> str:
    """A line without what wraps SQL in code or data: string quotes, a trailing comma, ``\"\"\"``."""
    text = normalized(line)
    for quotes in ('"""', "'''"):
        text = text.removeprefix(quotes).removesuffix(quotes)
    return text.strip(_WRAPPING)


def candidates(line: str) -> set[str]:
    """What a line of a file is compared with the reference lines as: itself, and without ``name = `` before
    a string; an escaped newline (``\\n`` in JSON or a one-line string) separates lines too."""
    out = set()
    for piece in line.split("\\n"):
        out.add(core(piece))
        out.add(core(_ASSIGNMENT.sub("", normalized(piece), count=1)))
    return out


# The last line of every query in the course's style (dbt models the build writes too): alone, it tells nothing
# of a key (in a run of a key's lines, it still counts).
STYLE_LINES = {"select * from final"}


def distinctive(line: str) -> bool:
    text = core(line)
    return len(text.split()) >= 3 and len(text) >= 12


@dataclass(frozen=True)
class KeyLine:
    file: Path
    number: int

    def __str__(self) -> str:
        shown = self.file.relative_to(project_root()) if self.file.is_relative_to(project_root()) else self.file
        return f"line {self.number} of {shown}"


def reference_lines(key_files: list[Path] = KEY_FILES) -> dict[str, KeyLine]:
    """The distinctive lines of every reference query, by their core."""
    lines: dict[str, KeyLine] = {}
    for path in key_files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if distinctive(line):
                lines.setdefault(core(line), KeyLine(path, number))
    return lines


def leaks(name: str, text: str, references: dict[str, KeyLine]) -> list[str]:
    """``name:line: <the line> is <line n of the key file>`` for every line of text that is a reference line."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for candidate in candidates(line):
            if candidate in references and candidate.lower() not in STYLE_LINES:
                found.append(f"{name}:{number}: {line.strip()[:100]!r} is {references[candidate]}")
                break
    return found


def key_sequences(key_files: list[Path] = KEY_FILES) -> dict[Path, list[tuple[str, int]]]:
    """Each key's distinctive lines in order: (core, line number)."""
    return {path: [(core(line), n) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                   if distinctive(line)] for path in key_files}


def copied_blocks(name: str, text: str, sequences: dict[Path, list[tuple[str, int]]], least: int = 3) -> list[str]:
    """Where ``least`` or more consecutive distinctive lines of one key follow each other in text (trivial lines
    between them do not count): a copied piece of a reference query, not an idiom it shares with a walkthrough."""
    lines = [(n, candidates(line)) for n, line in enumerate(text.splitlines(), 1) if distinctive(line)]
    found = []
    for path, key in sequences.items():
        shown = path.relative_to(project_root()) if path.is_relative_to(project_root()) else path
        for j in range(len(lines)):
            for i in range(len(key)):
                if j and i and key[i - 1][0] in lines[j - 1][1]:
                    continue  # inside a run already reported
                length = 0
                while (j + length < len(lines) and i + length < len(key)
                       and key[i + length][0] in lines[j + length][1]):
                    length += 1
                if length >= least:
                    found.append(f"{name}:{lines[j][0]}-{lines[j + length - 1][0]}: lines "
                                 f"{key[i][1]}-{key[i + length - 1][1]} of {shown}")
    return found


def report(title: str, found: list[str], most: int = 40) -> str:
    more = f"\n... and {len(found) - most} more" if len(found) > most else ""
    return f"{title}:\n" + "\n".join(found[:most]) + more


# -- the wheel ----------------------------------------------------------------------------------------------
def uv() -> str:
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        pytest.skip("uv is not installed (pip install uv, or make install): the student wheel cannot be built here")
    return found


def run(*command, cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}"
    return done


def student_env() -> dict:
    """The environment a student's shell has: none of this checkout's or this venv's variables."""
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "INCIDENTLAB_ROOT", "INCIDENTLAB_WAREHOUSES"}
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, warehouses) -> Path:
    """The wheel, with the checks' fingerprints of the session's warehouses (``hatch_build.py``)."""
    out = tmp_path_factory.mktemp("wheel")
    run(uv(), "build", "--wheel", "--out-dir", out, cwd=project_root(),
        env={**student_env(), "INCIDENTLAB_WAREHOUSES": str(warehouses)})
    [built] = out.glob("incidentlab-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_texts(wheel) -> dict[str, str]:
    """Every text file of the wheel (its own path -> text); binary files are left out."""
    texts = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            if b"\0" in data:
                continue
            try:
                texts[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
    return texts


@pytest.fixture(scope="module")
def student_venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel and the student's dependencies (no extra), at the locked versions."""
    venv = tmp_path_factory.mktemp("student") / "venv"
    run(uv(), "venv", "--quiet", "--python", sys.executable, venv, cwd=venv.parent, env=student_env())
    run(uv(), "pip", "install", "--quiet", "--python", venv / "bin" / "python", wheel,
        "--constraint", project_root() / "requirements.lock", cwd=venv.parent, env=student_env())
    return venv


# -- (a) no reference line, no answer-key file --------------------------------------------------------------
def test_the_answer_keys_exist():
    assert KEY_FILES, f"no answer key in {GRADING}/*/answer_key/: nothing to look for"
    assert len(reference_lines()) >= 10 * len({p.parent for p in KEY_FILES})


@pytest.mark.slow
def test_wheel_holds_no_line_of_a_reference_query(wheel_texts):
    assert wheel_texts
    references = reference_lines()
    found = [leak for name, text in sorted(wheel_texts.items()) for leak in leaks(name, text, references)]
    assert not found, report("the student's wheel holds reference SQL", found)


@pytest.mark.slow
def test_wheel_holds_no_file_named_like_an_answer_key(wheel):
    questions = {path.stem for path in KEY_FILES}
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    bad = [name for name in names
           if name.endswith(".sql")
           or any(re.fullmatch(r"answer_?keys?|keys?|solutions?|references?", part, re.I)
                  for part in Path(name).parts[:-1])
           or Path(name).name.split(".")[0] in questions]
    assert not bad, f"the student's wheel has files named like answer keys: {bad}"


@pytest.mark.slow
def test_wheel_holds_no_hidden_variant(wheel_texts):
    """The variants only grading knows (grading/<module>/hidden_variants.toml): neither the file nor its seeds and
    descriptions (with the seed and the module's data, a student could rebuild the variant and tune an answer to
    it; the kinds of accident it breaks are no secret, the README lists them)."""
    secrets = set()
    for path in sorted(GRADING.glob("*/hidden_variants.toml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(("accidents_seed", "description")):
                secrets.add(line.strip())
    assert secrets, "no hidden variant to look for"
    found = [f"{name}: {secret}" for name, text in sorted(wheel_texts.items()) for secret in secrets
             if secret in text or name.endswith("hidden_variants.toml")]
    assert not found, report("the student's wheel describes a hidden variant", found)


# -- (b) no expected value ----------------------------------------------------------------------------------
def rendered(value) -> str | None:
    """A value of a reference's result as a pattern for text, when it is distinctive enough to look for."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") + r"[ T]" + re.escape(value.strftime("%H:%M:%S"))
    if isinstance(value, (float, decimal.Decimal)) and abs(value) > 100:
        return r"(?<![\d.])" + re.escape(f"{value:.2f}") + r"(?!\d)"
    if isinstance(value, str) and re.fullmatch(r"run_\d{3}", value):
        return rf"\b{value}\b"
    return None


def expected_values(module: str) -> dict[str, set[str]]:
    """pattern -> where it is a reference's value (question and warehouse)."""
    from incidentlab.datasets import variant_names
    from incidentlab.exercises import load

    key_folder = GRADING / module / "answer_key"
    values: dict[str, set[str]] = {}
    for question in load(module):
        sql = (key_folder / f"{question.name}.sql").read_text(encoding="utf-8")
        for variant in [None, *variant_names(module)]:
            path = warehouse_path(module, question.stage, variant)
            with duckdb.connect(str(path), read_only=True) as con:
                rows = con.sql(sql).fetchall()
            for row in rows:
                for value in row:
                    if (pattern := rendered(value)) is not None:
                        values.setdefault(pattern, set()).add(f"{question.name} on {path.parent.name}")
    return values


@pytest.mark.slow
def test_wheel_holds_no_expected_value(wheel_texts, warehouses):
    values = expected_values(MODULE)
    assert len(values) >= 20, f"too few distinctive values to look for: {sorted(values)}"
    found = []
    for name, text in sorted(wheel_texts.items()):
        for number, line in enumerate(text.splitlines(), 1):
            for pattern, where in values.items():
                if (hit := re.search(pattern, line)) is not None:
                    found.append(f"{name}:{number}: {hit.group(0)!r} is a value of {', '.join(sorted(where))}")
    assert not found, report("the student's wheel holds expected values", found)


# -- (c) the student's environment --------------------------------------------------------------------------
STUDENT_SCRIPT = textwrap.dedent(f"""
    import importlib.util, json
    import incidentlab, incidentlab.notebook, incidentlab.checking, incidentlab.plots
    import incidentlab.exercises
    from incidentlab.checking import fingerprint
    from incidentlab.exercises import load

    forbidden = {FORBIDDEN_ATTRIBUTES!r}
    ex = load({MODULE!r})
    try:
        import nbgrader
        nbgrader_imports = True
    except ImportError:
        nbgrader_imports = False
    print(json.dumps({{
        "package": incidentlab.__file__,
        "questions": len(ex),
        "fingerprints": len(fingerprint.load({MODULE!r})),
        "attributes": {{q.name: [a for a in forbidden if hasattr(q, a)] for q in ex}},
        "module_attributes": [a for a in forbidden if hasattr(incidentlab.exercises, a) or hasattr(ex, a)],
        "nbgrader_imports": nbgrader_imports,
        "installed": [m for m in {NOT_FOR_STUDENTS!r} if importlib.util.find_spec(m) is not None],
    }}))
""")


@pytest.mark.slow
def test_student_environment_has_the_checks_and_not_the_grader(student_venv, tmp_path):
    done = run(student_venv / "bin" / "python", "-c", STUDENT_SCRIPT, cwd=tmp_path, env=student_env(), timeout=120)
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(facts["package"]).is_relative_to(student_venv), f"imported {facts['package']}, not the wheel's"
    assert facts["questions"] > 0
    assert facts["fingerprints"] >= facts["questions"] - 1, "the wheel's checks cannot check values on the spot"
    bad = {name: attributes for name, attributes in facts["attributes"].items() if attributes}
    assert not bad, f"the student's questions carry {bad}"
    assert not facts["module_attributes"], f"incidentlab.exercises carries {facts['module_attributes']}"
    assert not facts["nbgrader_imports"], "nbgrader imports in the student's environment"
    assert not facts["installed"], f"the student's install has {facts['installed']}"


@pytest.mark.slow
@pytest.mark.parametrize("step", [["release"], ["autograde", "--workers", "1"], ["export"]])
def test_grading_command_without_instructor_tools_says_what_to_install(student_venv, tmp_path, step):
    done = subprocess.run([str(student_venv / "bin" / "incidentlab"), "grade", *step], cwd=tmp_path,
                          env=student_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == NEEDS_INSTRUCTOR, done.stderr


# -- (d) the released notebooks -----------------------------------------------------------------------------
def notebook_texts(path: Path) -> dict[str, tuple[str, bool]]:
    """'<notebook> cell N (grade id)' -> the cell's source and the text of its outputs, and whether it is graded."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    texts = {}
    for index, cell in enumerate(nb["cells"]):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        parts = ["".join(cell.get("source", ""))]
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            for data in output.get("data", {}).values():
                parts.append("".join(data) if isinstance(data, list) else str(data))
        texts[f"{path.name} cell {index}" + (f" ({grade_id})" if grade_id else "")] = ("\n".join(parts),
                                                                                      grade_id is not None)
    return texts


def release(module: str, course: Path) -> Path:
    """nbgrader generate_assignment, as `make release` runs it (tests/test_nbgrader_release.py's helper)."""
    try:
        from test_nbgrader_release import nbgrader
    except ImportError:  # run nbgrader the same way: from grading/, with the venv's tools on PATH
        def nbgrader(*args, course):
            env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
            course.mkdir(parents=True, exist_ok=True)
            run(sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}",
                f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}", cwd=GRADING, env=env, timeout=900)
    nbgrader("generate_assignment", module, course=course)
    return course / "release" / module


@pytest.mark.slow
def test_released_notebooks_hold_no_reference_query(tmp_path):
    """A graded cell (answer, check) has no line of a reference query: a solution or hidden test that nbgrader
    did not strip would show there. The walkthrough's own queries may share an idiom with a key (``group by
    order_date``), not three of its lines in a row."""
    released = sorted(release(MODULE, tmp_path / "course").glob("*.ipynb"))
    masters = sorted((project_root() / "notebooks" / MODULE).glob("*.ipynb"))
    assert [p.name for p in released] == [p.name for p in masters]
    references, sequences = reference_lines(), key_sequences()
    found, graded = [], 0
    for path in released:
        for name, (text, is_graded) in notebook_texts(path).items():
            graded += is_graded
            found += leaks(name, text, references) if is_graded else copied_blocks(name, text, sequences)
    assert graded, "no graded cell in the released notebooks"
    assert not found, report("the student version of the notebooks holds reference SQL", found)


# -- the detector itself (fast) -----------------------------------------------------------------------------
def test_detector_names_the_file_and_line_of_a_leaked_reference(tmp_path):
    key = tmp_path / "key.sql"
    key.write_text("with\n\nruns as (\n    select * from stg_pipeline_runs\n),\n"
                   "final as (\n    select run_id, duration_seconds,\n"
                   "        round(duration_seconds / baseline, 2) as ratio\n    from runs\n)\n"
                   "select * from final\n", encoding="utf-8")
    references = reference_lines([key])
    module = ('"""A question module as it was."""\n\nfast_runs = Question(\n    name="fast_runs",\n'
              '    reference="""\nwith\n\nruns as (\n    select * from stg_pipeline_runs\n),\n""",\n)\n')
    data = 'ratio = "round(duration_seconds / baseline, 2) as ratio",\n'
    one_line = '{"sql": "with runs as (\\n  select run_id, duration_seconds,\\n from runs)"}\n'
    hint = 'hint = "Divide: round(duration_seconds / baseline, 2) as ratio gives two places."\n'
    assert leaks("exercises/wt06_data_stale.py", module, references) == [
        f"exercises/wt06_data_stale.py:9: 'select * from stg_pipeline_runs' is line 4 of {key}"]
    assert [leak.split(":")[1] for leak in leaks("data.toml", data, references)] == ["1"]
    assert [leak.split(":")[1] for leak in leaks("data.json", one_line, references)] == ["1"]
    assert leaks("hints.toml", hint, references) == []
    walkthrough = "select run_id, duration_seconds,\nround(duration_seconds / baseline, 2) as ratio\n"  # two: an idiom
    copied = ("%%sql\nselect run_id, duration_seconds,\n\n  round(duration_seconds / baseline, 2) as ratio\n"
              "from runs\n)\nselect * from final\n")
    sequences = key_sequences([key])
    assert copied_blocks("02.ipynb cell 3", walkthrough, sequences) == []
    assert copied_blocks("02.ipynb cell 4", copied, sequences) == [f"02.ipynb cell 4:2-7: lines 7-11 of {key}"]
