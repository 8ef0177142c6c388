"""The incident replay: rebuild a module's warehouse by replaying its audit log with real dbt runs.

For every run in the audit log, oldest first: load the raw rows ingestion had landed by the run's start,
set the scenario clock to that moment, and invoke the dbt command the run used (its ``models_run``).
A run that failed by both accounts (status other than ``success`` and a non-zero exit code) died before dbt
built anything, so it is not replayed; a run only one of them calls failed is (dbt built, the orchestrator
disagreed). A module's last stage (when it has two, e.g. wt06's ``fixed``) then copies the files of
``dbt/<module>/stages/<stage>/`` over the project, if there are any, and runs the remediation. The warehouse is
built in a temporary file beside the target and renamed over it only when complete.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb

from incidentlab.datasets import Scenario, load_scenario, module_names, stage_names, variant_names
from incidentlab.dbt_runner import ensure_packages, failures, invoke
from incidentlab.errors import DatasetError, DbtError, WarehouseLockedError
from incidentlab.graph import write_graph
from incidentlab.paths import dbt_dir, warehouse_path
from incidentlab.variant import make_variant


def command_of(models_run: str) -> list[str]:
    """The dbt command a run used, read from its audit-log ``models_run``."""
    return ["run"] if models_run == "all" else ["run", "--select", models_run]


def replayed(run: dict) -> bool:
    """Whether dbt built anything in ``run``: not when the orchestrator and dbt's exit code both say it failed."""
    return run["status"] == "success" or run["exit_code"] == 0


def replay_steps(scenario: Scenario, stage: str) -> list[tuple[str, dt.datetime, list[str]]]:
    """(label, moment, dbt args) of every dbt command the replay invokes, in order."""
    runs = scenario.runs()
    steps = [(run["run_id"], run["run_date"], command_of(run["models_run"])) for run in runs if replayed(run)]
    if scenario.is_fixed(stage):
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
        keys = [row[table.index(table.primary_key)] for row in table.rows]
        # A key loaded twice (a variant's duplicates) is the data's, not a broken load: no constraint then.
        unique = f", primary key ({table.primary_key})" if len(set(keys)) == len(keys) else ""
        con.execute(f"create table raw.{table.name} ({cols}{unique})")


def _load_raw(con: duckdb.DuckDBPyConnection, scenario: Scenario, moment: dt.datetime) -> None:
    """Make raw.* hold exactly what ingestion had landed by ``moment``."""
    for table in scenario.tables.values():
        rows = table.landed_by(moment)
        con.execute(f"delete from raw.{table.name}")
        if rows:
            marks = ", ".join("?" * len(table.columns))
            con.executemany(f"insert into raw.{table.name} values ({marks})", rows)


def stand_at(con: duckdb.DuckDBPyConnection, scenario: Scenario, moment: dt.datetime) -> None:
    """Make the warehouse hold what ingestion had landed by ``moment``, with the clock at ``moment``."""
    _load_raw(con, scenario, moment)
    _set_clock(con, moment)


def _set_clock(con: duckdb.DuckDBPyConnection, moment: dt.datetime) -> None:
    """``scenario_now()`` in SQL: the moment this warehouse stands at, for queries outside dbt."""
    con.execute(f"create or replace macro main.scenario_now() as timestamp '{moment.isoformat(sep=' ')}'")


def _dbt(args: list[str], scenario: Scenario, db: Path, moment: dt.datetime, what: str) -> None:
    result = invoke(args, warehouse=db, now=moment, project=scenario.dbt_project, write_json=False)
    if not result.success:
        detail = "; ".join(failures(result)) or "no detail"
        raise DbtError(f"{what}: `dbt {' '.join(args)}` failed: {detail}")


def build(
    module: str,
    stage: str | None = None,
    db: Path | None = None,
    *,
    variant: str | None = None,
    progress: bool = False,
    start_from: Path | None = None,
    after_run=None,
    project_at=None,
) -> Path:
    """Replay ``module``'s incident (or its variant ``variant``) into ``db``; return the warehouse's path.

    ``db`` defaults to the project's warehouses folder (``paths.warehouse_path``); ``stage`` to the module's first.
    ``start_from``, for the fixed stage, is the built first stage of the same incident or variant: the fix then
    runs on a copy of it instead of on a new replay of the audit log (the same runs, so the same warehouse).
    ``after_run(con, scenario, run_id, moment)``, if given, is called after each run of the audit log is replayed
    (the monitor's replay watches the warehouse there); ``project_at(moment)``, if given, names the dbt project a
    run of the audit log ran (None: the module's).
    """
    scenario = load_scenario(module)
    stage = scenario.check_stage(stage or scenario.first_stage)
    if variant:
        scenario = make_variant(scenario, variant)
    target = Path(db) if db else warehouse_path(module, stage, variant)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    ensure_unlocked(target)

    # Same file name as the target (the catalog name lives in the views), in a folder of its own.
    workdir = target.parent / f".building-{os.getpid()}-{target.name}"
    tmp = workdir / target.name
    steps = replay_steps(scenario, stage)
    if start_from is not None:
        if not scenario.is_fixed(stage):
            raise ValueError("start_from serves the fixed stage only")
        steps = [step for step in steps if step[0] == "remediation"]
    bar = _progress(len(steps), f"{module} ({stage}{f', {variant}' if variant else ''})", progress)
    try:
        _remove_tree(workdir)
        workdir.mkdir()
        scenario = _with_overlay(scenario, scenario.dbt_overlay, workdir / "dbt", scenario.dbt_files)
        fix_overlay = scenario.stage_overlay(stage) if scenario.is_fixed(stage) else None
        if start_from is not None:
            shutil.copyfile(start_from, tmp)
        con = duckdb.connect(str(tmp))
        try:
            if start_from is None:
                _create_raw(con, scenario)
            for label, moment, args in steps:
                if label == "remediation" and fix_overlay is not None:  # the fix is deployed, then run
                    scenario = _with_overlay(scenario, fix_overlay, workdir / "dbt-fixed")
                    fix_overlay = None
                bar.set_postfix_str(f"{label} dbt {' '.join(args)}")
                _load_raw(con, scenario, moment)
                _set_clock(con, moment)
                ran = scenario
                if project_at is not None and label != "remediation" and project_at(moment) is not None:
                    ran = dataclasses.replace(scenario, dbt_project=project_at(moment))
                _dbt(args, ran, tmp, moment, f"replaying {label} ({moment})")
                if after_run is not None and label != "remediation":
                    after_run(con, ran, label, moment)
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


def build_all(module: str | None = None, progress: bool = False, *, only_missing: bool = False,
              workers: int = 1) -> list[Path]:
    """Build every stage of ``module`` (of every module when None), for the incident and each of its variants.

    Returns the paths. ``only_missing`` keeps the warehouses that already exist (the test session reuses them).
    ``workers`` > 1 splits the builds over that many processes (each warehouse keeps its own dbt state).
    """
    plan = [(name, stage, variant) for name in ([module] if module else module_names())
            for variant in (None, *variant_names(name)) for stage in stage_names(name)]
    todo = [job for job in plan if not (only_missing and warehouse_path(*job).exists())]
    for name in dict.fromkeys(name for name, _, _ in todo):
        ensure_packages(dbt_dir(name))  # once, before processes share the project
    # The stages of one incident or variant stay together: the fixed one starts from the built first one.
    units = list(dict.fromkeys((name, variant) for name, _, variant in todo))
    shares = [[job for job in todo if (job[0], job[2]) in units[i::workers]] for i in range(max(workers, 1))]
    shares = [share for share in shares if share]
    if workers > 1 and len(shares) > 1:
        import concurrent.futures as cf
        import multiprocessing

        with cf.ProcessPoolExecutor(len(shares), mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_build_share, shares))  # re-raises a build's error here
    else:
        for share in shares:
            _build_share(share, progress)
    return [warehouse_path(*job) for job in plan]


def _build_share(share: list, progress: bool = False) -> None:
    for module, stage, variant in share:
        first_stage = stage_names(module)[0]
        first = warehouse_path(module, first_stage, variant)
        derived = stage != first_stage and first.exists()
        build(module, stage, variant=variant, progress=progress, start_from=first if derived else None)


_DBT_ARTEFACTS = shutil.ignore_patterns("target", "logs")


def _with_overlay(scenario: Scenario, overlay: Path | None, project: Path, files: dict | None = None) -> Scenario:
    """The scenario, with its dbt project copied to ``project``, ``overlay``'s files over it (if any), then
    ``files`` (path in the project -> text)."""
    if overlay is None and not files:
        return scenario
    ensure_packages(scenario.dbt_project)
    copy_project(scenario.dbt_project, project)
    _overlay_onto(project, overlay, files or {})
    return dataclasses.replace(scenario, dbt_project=project)


def _overlay_onto(project: Path, overlay: Path | None, files: dict[str, str]) -> None:
    """``overlay``'s files (if any) copied over ``project``, then ``files`` (path in the project -> text)."""
    if overlay is not None:
        shutil.copytree(overlay, project, ignore=_DBT_ARTEFACTS, dirs_exist_ok=True)
    for path, text in files.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text, encoding="utf-8")


def copy_project(source: Path, target: Path) -> Path:
    """A copy of a dbt project without its run artefacts or stages; its packages stay the same packages."""
    import yaml  # dbt's own dependency

    shutil.copytree(source, target, ignore=shutil.ignore_patterns("target", "logs", "stages"), symlinks=True)
    listed = target / "packages.yml"
    if listed.is_file():  # a local package's path is relative to the project: make it hold from the copy too
        spec = yaml.safe_load(listed.read_text(encoding="utf-8")) or {}
        for entry in spec.get("packages") or []:
            if "local" in entry:
                entry["local"] = str((source / entry["local"]).resolve())
        listed.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return target


def stage_project(scenario: Scenario, stage: str, variant: str | None, target: Path) -> Path:
    """A copy in ``target`` of the module's dbt project as it stands at ``stage`` of the incident or ``variant``."""
    ensure_packages(scenario.dbt_project)
    copy_project(scenario.dbt_project, target)
    played = make_variant(scenario, variant) if variant else scenario
    _overlay_onto(target, played.dbt_overlay, played.dbt_files)
    if scenario.is_fixed(stage):
        _overlay_onto(target, scenario.stage_overlay(stage), {})
    return target


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="run", disable=not enabled, leave=True)
