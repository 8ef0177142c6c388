"""``incidentlab monitor`` and ``incidentlab coverage``: the checks from a shell, with exit codes to gate on."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from incidentlab import temp_folders
from incidentlab.errors import IncidentLabError

EXIT_CODES = """exit codes: 0 ok, 1 warn, 2 fail (the worst finding), 3 usage or input error (nothing was checked)"""


def _exits_3(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """A usage error of ``parser`` exits 3, like any other input error of these commands."""
    def error(message: str):
        parser.print_usage(sys.stderr)
        parser.exit(3, f"{parser.prog}: error: {message}\n")

    parser.error = error  # type: ignore[method-assign]
    return parser


def _moment(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time; write it as 2024-02-12T09:00") from None


def _module_target(ns: argparse.Namespace, folder: Path):
    """(warehouse, project dir, now, audit table) of a module's built warehouse at ``--stage``/``--variant``."""
    from incidentlab.build import stage_project
    from incidentlab.datasets import load_scenario, variant_description
    from incidentlab.paths import warehouse_path

    scenario = load_scenario(ns.module)
    stage = scenario.check_stage(ns.stage or scenario.first_stage)
    if ns.variant:
        variant_description(ns.module, ns.variant)  # an unknown name fails here, naming the known ones
    warehouse = warehouse_path(ns.module, stage, ns.variant)
    if not warehouse.exists():
        variant = f" --variant {ns.variant}" if ns.variant else ""
        raise IncidentLabError(f"{ns.module} ({stage}) is not built yet: run `incidentlab build {ns.module} "
                               f"--stage {stage}{variant}` (or `make warehouses`) first.")
    project = stage_project(scenario, stage, ns.variant, folder / "dbt")
    return warehouse, project, ns.now or scenario.now, scenario.audit_table


def _monitor(ns: argparse.Namespace) -> int:
    from incidentlab.monitor.report import run_checks

    if ns.replay:
        return _replay(ns)
    if ns.module and (ns.project_dir or ns.warehouse):
        raise IncidentLabError("name a module, or give --project-dir and --warehouse, not both.")
    if not ns.module and not (ns.project_dir and ns.warehouse):
        from incidentlab.datasets import module_names

        raise IncidentLabError(f"name a module ({', '.join(module_names())}), or give --project-dir and "
                               "--warehouse for any dbt project's warehouse.")
    with temp_folders.folder("monitor") as folder:
        if ns.module:
            warehouse, project, now, audit = _module_target(ns, folder)
        else:
            warehouse, project = ns.warehouse, ns.project_dir
            now, audit = ns.now or dt.datetime.now(), ns.audit_table or "raw_pipeline_runs"
            if not warehouse.is_file():
                raise IncidentLabError(f"{warehouse}: no such warehouse file.")
        con = _open(warehouse)
        try:
            report = run_checks(con, project, now=now, audit_table=ns.audit_table or audit,
                                sla_hours=ns.sla_hours, checks=ns.check)
        finally:
            con.close()
    print(report.to_json() if ns.json else report.render())
    return report.exit_code


def _open(warehouse: Path):
    """A read-only connection to ``warehouse``; this process's own when it already has the file open (dbt did)."""
    import duckdb

    try:
        return duckdb.connect(str(warehouse), read_only=True)
    except duckdb.ConnectionException as exc:
        if "different configuration" not in str(exc):
            raise IncidentLabError(f"{warehouse} cannot be opened: {str(exc).splitlines()[0]}") from None
        return duckdb.connect(str(warehouse))
    except duckdb.Error as exc:
        raise IncidentLabError(f"{warehouse} cannot be opened: {str(exc).splitlines()[0]}") from None


def _replay(ns: argparse.Namespace) -> int:
    from incidentlab.datasets import module_names
    from incidentlab.monitor.replay import replay

    if ns.project_dir or ns.warehouse or ns.stage or ns.variant or ns.now:
        raise IncidentLabError("--replay replays a module's incident: it takes a module name (or none: every "
                               "module) and no --project-dir, --warehouse, --stage, --variant or --now.")
    replays = [replay(module, sla_hours=ns.sla_hours) for module in ([ns.module] if ns.module else module_names())]
    if ns.json:
        print(json.dumps({r.module: json.loads(r.table().to_json(orient="records", date_format="iso"))
                          for r in replays}, indent=2))
    else:
        print("\n\n".join(r.render() for r in replays))
    return 0


def _coverage(ns: argparse.Namespace) -> int:
    from incidentlab.monitor.check_selector_coverage import coverage_of
    from incidentlab.monitor.finding import worst
    from incidentlab.monitor.project import DbtProject
    from incidentlab.monitor.report import EXIT_CODES as VERDICT_CODES
    from incidentlab.paths import dbt_dir

    if ns.project_dir:
        projects = {str(ns.project_dir): ns.project_dir}
    else:
        from incidentlab.datasets import module_names

        projects = {module: dbt_dir(module) for module in module_names()}
    findings = {name: coverage_of(DbtProject.load(path), ns.select) for name, path in projects.items()}
    if ns.json:
        print(json.dumps({name: f.to_dict() for name, f in findings.items()}, indent=2))
    else:
        for name, finding in findings.items():
            print(f"{name}: {finding.verdict.upper()} {finding.message}")
    return VERDICT_CODES[worst(f.verdict for f in findings.values())]


def _guarded(command):
    def run(ns: argparse.Namespace) -> int:
        try:
            return command(ns)
        except IncidentLabError as exc:
            print(f"incidentlab {ns.command}: error: {exc}", file=sys.stderr)
            return 3
    return run


def register(commands) -> None:
    """Add ``monitor`` and ``coverage`` to the ``incidentlab`` command's subcommands."""
    m = _exits_3(commands.add_parser(
        "monitor", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="check a warehouse and its dbt project: staleness, run durations and coverage, grain, reconciliation",
        description="Run the monitor's checks on a module's built warehouse, or on any dbt project's warehouse "
                    "(--project-dir and --warehouse), print the report and a drafted remediation (it changes "
                    "nothing).", epilog=EXIT_CODES + "; --replay exits 0 when it has printed its table."))
    m.add_argument("module", nargs="?", help="a module of the course (its built warehouse and its dbt project)")
    m.add_argument("--stage", help="the module's stage (default: the incident as found)")
    m.add_argument("--variant", metavar="NAME", help="one of the module's variants")
    m.add_argument("--project-dir", type=Path, metavar="DIR",
                   help="a dbt project (its target/manifest.json is read, or written by an in-process dbt parse)")
    m.add_argument("--warehouse", type=Path, metavar="FILE", help="the DuckDB warehouse the project builds")
    m.add_argument("--now", type=_moment, metavar="TS",
                   help="the moment to check at (default: the module's scenario now; the clock for --warehouse)")
    m.add_argument("--audit-table", metavar="TABLE",
                   help="the orchestrator's audit log (default: the module's, or raw_pipeline_runs)")
    m.add_argument("--sla-hours", type=float, metavar="H", help="the SLA of marts without meta.sla_hours")
    m.add_argument("--check", action="append", metavar="NAME", help="run only this check (repeatable)")
    m.add_argument("--json", action="store_true", help="print the report as JSON")
    m.add_argument("--replay", action="store_true",
                   help="replay the module's incident (every module's, if none is named) run by run with the "
                        "monitor on, and print when each check first fired against when a human noticed")
    m.set_defaults(run=_guarded(_monitor))

    c = _exits_3(commands.add_parser(
        "coverage", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="list the marts a dbt selector excludes (for CI): exit 0 at 100%%, 2 below",
        description="Resolve a selector with dbt's own graph (dbt ls, in-process) and list the marts (models of "
                    "a marts folder; else the models materialized as tables) it excludes.",
        epilog="exit codes: 0 the selector covers every mart, 2 it excludes one or more, 3 usage or input error"))
    c.add_argument("--select", required=True, metavar="SELECTOR", help='a dbt selector, e.g. "staging.*"')
    c.add_argument("--project-dir", type=Path, metavar="DIR", help="a dbt project (default: every module's)")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(run=_guarded(_coverage))
