"""A module is the same name under datasets/, dbt/, notebooks/ and grading/: a new one is found by scanning, built,
released and graded with no change to the code.

The toy module lives in a throwaway project root (``INCIDENTLAB_ROOT``) that has no other module, and every step
runs through the ``incidentlab`` command, as an author would run it.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import nbformat
import pytest
from grading_corpus.tiny_course import notebook_cell

from incidentlab.paths import project_root

pytestmark = pytest.mark.slow

TOY = "toy_spill"
MANIFEST = """\
title = "The Spilled Sales"
now = 2024-05-03T09:00:00
audit_table = "raw_runs"
stages = ["broken", "mended"]
remediation = [["run"]]
study_selectors = ["marts.*"]

[tables.raw_sales]
primary_key = "sale_id"
columns = { sale_id = "integer", sale_date = "date", amount = "decimal(8,2)", _loaded_at = "timestamp" }

[tables.raw_runs]
primary_key = "run_id"

[tables.raw_runs.columns]
run_id = "varchar"
run_date = "timestamp"
status = "varchar"
exit_code = "integer"
models_run = "varchar"
duration_seconds = "integer"
_loaded_at = "timestamp"
"""
SALES = [(1, "2024-05-01", "10.00", "2024-05-01 20:00:00"), (2, "2024-05-01", "5.50", "2024-05-01 20:00:00"),
         (3, "2024-05-02", "7.25", "2024-05-02 20:00:00")]
RUNS = [("run_001", "2024-05-02 06:00:00", "success", 0, "all", 30, "2024-05-02 06:00:30"),
        ("run_002", "2024-05-03 06:00:00", "success", 0, "staging.*", 9, "2024-05-03 06:00:09")]
DBT_FILES = {
    "dbt_project.yml": """\
name: toy
version: "1.0.0"
config-version: 2
profile: incidentlab
model-paths: ["models"]
dispatch:
  - macro_namespace: dbt
    search_order: ["toy", "scenario_clock", "dbt"]
vars:
  scenario_now: "2024-05-03 09:00:00"
models:
  toy:
    staging:
      +materialized: view
    marts:
      +materialized: table
""",
    "packages.yml": "packages:\n  - local: ../clock\n",
    "profiles.yml": """\
incidentlab:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('INCIDENTLAB_WAREHOUSE') }}"
      threads: 1
""",
    "models/staging/src_toy.yml": """\
version: 2
sources:
  - name: toy
    schema: raw
    tables: [{name: raw_sales}, {name: raw_runs}]
""",
    "models/staging/stg_sales.sql": """\
with

source as (

    select * from {{ source('toy', 'raw_sales') }}

),

final as (

    select sale_id, sale_date, amount from source

)

select * from final
""",
    "models/marts/fct_sales_daily.sql": """\
with

sales as (

    select * from {{ ref('stg_sales') }}

),

final as (

    select sale_date, sum(amount) as revenue, {{ dbt.current_timestamp() }} as updated_at
    from sales
    group by sale_date

)

select * from final
""",
}
QUESTIONS = f"""\
module = "{TOY}"
stages = ["broken", "mended"]

[questions.latest_day]
notebook = "01_look"
title = "The mart's latest day"
points = 2
columns = ["latest_day"]
rows = 1
hint = "Read max(sale_date) from the mart."
"""
KEY = "select max(sale_date) as latest_day from fct_sales_daily\n"
RIGHT = "select sale_date as latest_day from fct_sales_daily order by sale_date desc limit 1"
TYPED = "select date '2024-05-01' as latest_day"


def _write_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _master() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        notebook_cell("markdown", "# Toy\nWhich is the latest day the sales mart holds?", grade_id="intro",
                      locked=True),
        notebook_cell("code", f'from incidentlab.notebook import start\nlab = start("{TOY}")\n'
                      f'from incidentlab.exercises import load\nex = load("{TOY}")', grade_id="setup", locked=True),
        notebook_cell("code", f"%%sql answer_latest_day <<\n-- ### BEGIN SOLUTION\n{RIGHT}\n-- ### END SOLUTION",
              grade_id="toy_latest_day_answer", solution=True),
        notebook_cell("code", "ex.latest_day.check()\n### BEGIN HIDDEN TESTS\n"
                      "from incidentlab.grading.grade_answers import hidden_check\n"
                      "hidden_check(ex.latest_day)\n### END HIDDEN TESTS",
              grade_id="toy_latest_day_test", grade=True, locked=True, points=2),
    ]
    return nb


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A project root holding the toy module only (and the shared scenario clock and nbgrader config)."""
    root = tmp_path_factory.mktemp("toy_project")
    shutil.copytree(project_root() / "dbt" / "clock", root / "dbt" / "clock")
    (root / "grading").mkdir()
    shutil.copy(project_root() / "grading" / "nbgrader_config.py", root / "grading")
    data = root / "datasets" / TOY
    data.mkdir(parents=True)
    (data / "scenario.toml").write_text(MANIFEST, encoding="utf-8")
    _write_csv(data / "raw_sales.csv", ["sale_id", "sale_date", "amount", "_loaded_at"], SALES)
    _write_csv(data / "raw_runs.csv", ["run_id", "run_date", "status", "exit_code", "models_run",
                                       "duration_seconds", "_loaded_at"], RUNS)
    for name, text in DBT_FILES.items():
        path = root / "dbt" / TOY / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    notebooks = root / "notebooks" / TOY
    notebooks.mkdir(parents=True)
    (notebooks / "exercises.toml").write_text(QUESTIONS, encoding="utf-8")
    (notebooks / "README.md").write_text("# Toy\nFor authors: the latest day is May 1 in `broken`.\n")
    nbformat.write(_master(), notebooks / "01_look.ipynb")
    key = root / "grading" / TOY / "answer_key"
    key.mkdir(parents=True)
    (key / "latest_day.sql").write_text(KEY, encoding="utf-8")
    return root


def incidentlab(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "INCIDENTLAB_ROOT": str(root), "INCIDENTLAB_WAREHOUSES": str(root / "warehouses")}
    done = subprocess.run([str(Path(sys.executable).with_name("incidentlab")), *args], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done


def test_a_new_module_is_built_released_and_graded_without_a_code_change(root):
    # built: both of its own stages, by `incidentlab build --all` with no module named
    incidentlab(root, "build", "--all", "--quiet")
    latest = {}
    for stage in ("broken", "mended"):
        path = root / "warehouses" / TOY / stage / "acme.duckdb"
        with duckdb.connect(str(path), read_only=True) as con:
            latest[stage] = str(con.sql("select max(sale_date) from fct_sales_daily").fetchone()[0])
    assert latest == {"broken": "2024-05-01", "mended": "2024-05-02"}

    # released: the student's copy has no solution, and nothing meant for authors
    incidentlab(root, "grade", "release")
    release = root / "grading" / "course" / "release" / TOY
    assert sorted(p.name for p in release.iterdir()) == ["01_look.ipynb"]
    assert RIGHT not in (release / "01_look.ipynb").read_text(encoding="utf-8")

    # graded: the module's own key judges a right answer and a typed-in one
    for student, sql in {"ada": RIGHT, "bob": TYPED}.items():
        nb = nbformat.read(release / "01_look.ipynb", as_version=4)
        nb.cells[2].source = f"%%sql answer_latest_day <<\n{sql}"
        path = root / "grading" / "course" / "submitted" / student / TOY / "01_look.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    incidentlab(root, "grade", "autograde", "--workers", "1", "--quiet")
    incidentlab(root, "grade", "export")
    with (root / "grading" / "course" / "pipeline" / TOY / "grades.csv").open(encoding="utf-8") as fh:
        grades = {row["student_id"]: (row["status"], float(row["total"])) for row in csv.DictReader(fh)}
    assert grades == {"ada": ("graded", 2.0), "bob": ("graded", 0.0)}
