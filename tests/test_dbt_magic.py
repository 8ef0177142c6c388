"""``%dbt`` mistakes fail the cell with one plain line that says what to do: no traceback, no internal path."""

import pytest
from lab_shell import as_shown, lab_shell

MODULE = "wt06_data_stale"


@pytest.fixture(scope="module")
def shell(warehouses):
    with lab_shell(MODULE) as ip:
        yield ip


@pytest.mark.parametrize("line, says", [
    ("rn --select staging.*", "`rn` is not a dbt command. Did you mean `%dbt run`?"),
    ("", "%dbt needs a command after it"),
    ("ls --select 'staging.*", "close the quote"),
    ("run --select", "`--select` needs a value after it"),
    ("source freshness --bogus", "dbt could not run `dbt source freshness --bogus`: No such option '--bogus'."),
])
def test_a_dbt_mistake_is_one_plain_line(shell, capsys, line, says):
    result = shell.run_cell(f"%dbt {line}")
    out, err = capsys.readouterr()
    shown = as_shown(out) + err
    assert not result.success  # the cell fails, so Run All stops there
    assert says in shown
    assert len(shown.strip().splitlines()) == 1
    assert "Traceback" not in shown and "/tmp/" not in shown and "incidentlab-" not in shown


def test_a_right_dbt_line_still_runs(shell, capsys):
    shell.run_cell("%dbt ls --select marts.*")
    out, err = capsys.readouterr()
    assert err == "" and "acme.marts.fct_revenue_daily" in out


def test_what_dbt_creates_is_queried_at_once(shell, capsys):
    """lab.query (and the check, which uses it) sees a model %dbt has just created, and its columns."""
    from incidentlab.notebook import current_lab

    lab = current_lab()
    lab.query("select * from stg_orders limit 1")  # the connection has read the catalog before dbt changes it
    lab.write_model("stg_probe", "select 1 as probe", folder="staging")
    shell.run_cell("%dbt run --select stg_probe")
    out, err = capsys.readouterr()
    assert err == "" and "SUCCESS model   stg_probe" in out
    assert lab.query("select probe from stg_probe").probe.tolist() == [1]


def test_the_warm_up_parses_the_project_in_the_background(warehouses, tmp_path):
    """start() calls it in a notebook: the first %dbt then finds the project parsed."""
    import shutil

    from incidentlab import dbt_runner
    from incidentlab.build import copy_project
    from incidentlab.datasets import load_scenario
    from incidentlab.paths import warehouse_path

    project = copy_project(load_scenario(MODULE).dbt_project, tmp_path / "dbt")
    warehouse = tmp_path / "acme.duckdb"
    shutil.copyfile(warehouse_path(MODULE, "stale"), warehouse)
    dbt_runner.warm_up(project, warehouse).join(timeout=120)
    assert dbt_runner.is_parsed(project)


def test_the_warm_up_starts_once_the_first_cell_is_done(shell, monkeypatch):
    """Started inside the first cell, importing dbt would slow the rest of that cell."""
    from incidentlab import dbt_runner, notebook

    started = []
    monkeypatch.delenv("INCIDENTLAB_NO_WARM_UP", raising=False)  # the tests' setting: on in a student's kernel
    monkeypatch.setattr(dbt_runner, "warm_up", lambda project, warehouse: started.append(project))
    lab = notebook.current_lab()
    notebook.warm_up_after_this_cell(lab)
    assert started == []
    shell.run_cell("1 + 1")
    shell.run_cell("2 + 2")
    assert started == [lab.project]


def test_a_reset_warms_up_its_new_copy_of_the_project_once_the_cell_is_done(shell, monkeypatch):
    from incidentlab import dbt_runner, notebook

    started = []
    monkeypatch.delenv("INCIDENTLAB_NO_WARM_UP", raising=False)
    monkeypatch.setattr(dbt_runner, "warm_up", lambda project, warehouse: started.append(project))
    lab = notebook.current_lab()
    old = lab.project
    shell.run_cell("__import__('incidentlab.notebook').notebook.current_lab().reset()")
    assert started == [lab.project] and lab.project != old


def test_a_dbt_line_that_waits_says_so_and_leaves_the_same_output(shell, capfd):
    """A kernel's first %dbt waits for dbt to start: a line says so while it waits, then is wiped, so the output
    nbval compares (and the notebook shows) is the one of a command that did not wait."""
    import nbformat
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor
    from nbval.plugin import coalesce_streams

    from incidentlab import dbt_runner
    from incidentlab.notebook import current_lab

    dbt_runner.forget_parses()  # as in a fresh kernel: the project not parsed yet
    assert dbt_runner.waiting_for(current_lab().project)
    capfd.readouterr()
    shell.run_cell("%dbt ls --select marts.fct_revenue_daily")
    waited = capfd.readouterr().out
    shell.run_cell("%dbt ls --select marts.fct_revenue_daily")
    at_once = capfd.readouterr().out
    assert "Starting dbt in this kernel" in waited and "\r" not in at_once
    assert as_shown(waited) == at_once
    stored = nbformat.v4.new_output("stream", name="stdout", text=waited)
    assert coalesce_streams([stored])[0].text == at_once  # as nbval compares it
    cell = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", name="stdout", text=waited)])
    assert CoalesceStreamsPreprocessor().preprocess_cell(cell, {}, 0)[0].outputs[0].text == at_once  # masters


def test_waiting_for_says_what_dbt_would_wait_for(shell):
    from incidentlab import dbt_runner
    from incidentlab.notebook import current_lab

    lab = current_lab()
    shell.run_cell("%dbt ls --select marts.*")
    assert dbt_runner.waiting_for(lab.project) is None
    lab.write_model("stg_probe_two", "select 2 as probe", folder="staging")
    assert "reading the project" in dbt_runner.waiting_for(lab.project)
    dbt_runner.warm_up(lab.project, lab.path).join(timeout=120)
    assert dbt_runner.waiting_for(lab.project) is None
