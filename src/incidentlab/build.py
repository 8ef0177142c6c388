"""The incident replay: rebuild a module's warehouse by replaying its audit log with real dbt runs.

For every run in the audit log, oldest first: load the raw rows ingestion had landed by the run's start,
set the scenario clock to that moment, and invoke the dbt command the run used (its ``models_run``).
A run that failed by both accounts (status other than ``success`` and a non-zero exit code) died before dbt
built anything, so it is not replayed; a run only one of them calls failed is (dbt built, the orchestrator
disagreed). The warehouse is built in a temporary file beside the target and renamed over it only when complete.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb

from incidentlab.datasets import Scenario, load_scenario, variant_names
from incidentlab.dbt_runner import failures, invoke
from incidentlab.errors import DatasetError, DbtError, WarehouseLockedError
from incidentlab.graph import write_graph
from incidentlab.paths import warehouse_path
from incidentlab.variant import make_variant

STAGES = ("stale", "fixed")


def command_of(models_run: str) -> list[str]:
    """The dbt command a run used, read from its audit-log ``models_run``."""
    return ["run"] if models_run == "all" else ["run", "--select", models_run]


def replayed(run: dict) -> bool:
    """Whether dbt built anything in ``run``: not when the orchestrator and dbt's exit code both say it failed."""
    return run["status"] == "success" or run["exit_code"] == 0


def _steps(scenario: Scenario, stage: str) -> list[tuple[str, dt.datetime, list[str]]]:
    """(label, moment, dbt args) of every dbt command the replay invokes, in order."""
    runs = scenario.runs()
    steps = [(run["run_id"], run["run_date"], command_of(run["models_run"])) for run in runs if replayed(run)]
    if stage == "fixed":
        last_end = max(run["_loaded_at"] for run in runs)
        remediation = scenario.remediation_steps()
        if remediation and remediation[0][0] < last_end:
            raise DatasetError(f"{scenario.module}: the remediation would run at {remediation[0][0]}, before the "
                               f"last run of the audit log ended ({last_end}); lower fix_hours_before_now.")
        steps += [("remediation", moment, args) for moment, args in remediation]
    return steps


def ensure_unlocked(path: Path) -> None:
    """Fail with a clear message if another process holds ``path``; our own process may."""
    if not path.exists():
        return
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise WarehouseLockedError(
            f"{path} is in use by another process ({exc}). Shut down the Jupyter kernel or program that has it "
            "open (Kernel > Shut Down Kernel), or build somewhere else with --db PATH. Nothing was changed."
        ) from None


def _create_raw(con: duckdb.DuckDBPyConnection, scenario: Scenario) -> None:
    con.execute("create schema if not exists raw")
    for table in scenario.tables.values():
        cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in table.columns.items())
        con.execute(f"create table raw.{table.name} ({cols}, primary key ({table.primary_key}))")


def _load_raw(con: duckdb.DuckDBPyConnection, scenario: Scenario, moment: dt.datetime) -> None:
    """Make raw.* hold exactly what ingestion had landed by ``moment``."""
    for table in scenario.tables.values():
        rows = table.landed_by(moment)
        con.execute(f"delete from raw.{table.name}")
        if rows:
            marks = ", ".join("?" * len(table.columns))
            con.executemany(f"insert into raw.{table.name} values ({marks})", rows)


def _set_clock(con: duckdb.DuckDBPyConnection, moment: dt.datetime) -> None:
    """``scenario_now()`` in SQL: the moment this warehouse stands at, for queries outside dbt."""
    con.execute(f"create or replace macro main.scenario_now() as timestamp '{moment.isoformat(sep=' ')}'")


def _dbt(args: list[str], scenario: Scenario, db: Path, moment: dt.datetime, what: str) -> None:
    result = invoke(args, warehouse=db, now=moment, project=scenario.dbt_project)
    if not result.success:
        detail = "; ".join(failures(result)) or "no detail"
        raise DbtError(f"{what}: `dbt {' '.join(args)}` failed: {detail}")


def build(
    module: str,
    stage: str = "stale",
    db: Path | None = None,
    *,
    variant: str | None = None,
    progress: bool = False,
) -> Path:
    """Replay ``module``'s incident (or its variant ``variant``) into ``db``; return the warehouse's path.

    ``db`` defaults to the project's warehouses folder (``paths.warehouse_path``).
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
    scenario = load_scenario(module)
    if variant:
        scenario = make_variant(scenario, variant)
    target = Path(db) if db else warehouse_path(module, stage, variant)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    ensure_unlocked(target)

    # Same file name as the target (the catalog name lives in the views), in a folder of its own.
    workdir = target.parent / f".building-{os.getpid()}-{target.name}"
    tmp = workdir / target.name
    steps = _steps(scenario, stage)
    bar = _progress(len(steps), f"{module} ({stage}{f', {variant}' if variant else ''})", progress)
    try:
        _remove_tree(workdir)
        workdir.mkdir()
        scenario = _with_overlay(scenario, workdir)
        con = duckdb.connect(str(tmp))
        try:
            _create_raw(con, scenario)
            for label, moment, args in steps:
                bar.set_postfix_str(f"{label} dbt {' '.join(args)}")
                _load_raw(con, scenario, moment)
                _set_clock(con, moment)
                _dbt(args, scenario, tmp, moment, f"replaying {label} ({moment})")
                bar.update()
            _load_raw(con, scenario, scenario.now)
            _set_clock(con, scenario.now)
            write_graph(tmp, scenario)
            con.execute("checkpoint")
        finally:
            con.close()
            bar.close()
        ensure_unlocked(target)
        os.replace(tmp, target)
    finally:
        _remove_tree(workdir)
    return target


def build_all(module: str, progress: bool = False, *, only_missing: bool = False, workers: int = 1) -> list[Path]:
    """Build every stage of ``module``, for the incident and for each of its variants; return the paths.

    ``only_missing`` keeps the warehouses that already exist (the test session reuses them). ``workers`` > 1
    splits the builds over that many processes (each warehouse keeps its own dbt state, so they never meet).
    """
    plan = [(stage, variant) for variant in (None, *variant_names(module)) for stage in STAGES]
    todo = [(stage, variant) for stage, variant in plan
            if not (only_missing and warehouse_path(module, stage, variant).exists())]
    if workers > 1 and len(todo) > 1:
        import concurrent.futures as cf
        import multiprocessing

        shares = [todo[i::workers] for i in range(workers)]
        with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_build_share, [module] * workers, shares))  # re-raises a build's error here
    else:
        _build_share(module, todo, progress)
    return [warehouse_path(module, stage, variant) for stage, variant in plan]


def _build_share(module: str, share: list, progress: bool = False) -> None:
    for stage, variant in share:
        build(module, stage, variant=variant, progress=progress)


_DBT_ARTEFACTS = shutil.ignore_patterns("target", "logs", "dbt_packages")


def _with_overlay(scenario: Scenario, workdir: Path) -> Scenario:
    """The scenario, with its dbt project copied into ``workdir`` and its variant's files over it, if it has any."""
    if scenario.dbt_overlay is None:
        return scenario
    project = workdir / "dbt"
    shutil.copytree(scenario.dbt_project, project, ignore=_DBT_ARTEFACTS)
    shutil.copytree(scenario.dbt_overlay, project, ignore=_DBT_ARTEFACTS, dirs_exist_ok=True)
    return dataclasses.replace(scenario, dbt_project=project)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="run", disable=not enabled, leave=True)
