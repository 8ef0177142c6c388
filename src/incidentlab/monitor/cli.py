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


def _subcommand(commands, name: str, **kwargs) -> argparse.ArgumentParser:
    """The parser of the subcommand ``name``, its description and epilog as written; a usage error of it exits 3,
    like any other input error of these commands."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def error(message: str):
        parser.print_usage(sys.stderr)
        parser.exit(3, f"{parser.prog}: error: {message}\n")

    parser.error = error  # type: ignore[method-assign]
    return parser


def _moment(text: str) -> dt.datetime:
    from incidentlab.monitor.timezones import local_naive

    try:
        return local_naive(dt.datetime.fromisoformat(text))  # with an offset: the same moment in local time
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

    if ns.replay and not ns.project_dir:
        return _replay(ns)
    if ns.module and (ns.project_dir or ns.warehouse):
        raise IncidentLabError("name a module, or give --project-dir (and --warehouse), not both.")
    if not ns.module and not ns.project_dir:
        from incidentlab.datasets import module_names

        raise IncidentLabError(f"name a module ({', '.join(module_names())}), or give --project-dir for any "
                               "dbt-duckdb project (its warehouse is its profile's, or --warehouse).")
    selection = _selection(ns)
    with temp_folders.folder("monitor") as folder:
        if ns.module:
            warehouse, project, now, audit = _module_target(ns, folder)
        else:
            project, now, audit = ns.project_dir, ns.now or dt.datetime.now(), ns.audit_table
            warehouse = ns.warehouse or _profile_warehouse(ns)
            if not warehouse.is_file():
                raise IncidentLabError(f"{warehouse}: no such warehouse file (pass --warehouse).")
        con = _open(warehouse)
        try:
            if ns.replay:
                return _replay_project(ns, con, project)
            report = run_checks(con, project, now=now, audit_table=ns.audit_table or audit,
                                sla_hours=ns.sla_hours, checks=ns.check, selectors=selection,
                                profiles_dir=ns.profiles_dir, target=ns.target)
        finally:
            con.close()
    _print_report(ns, report)
    return report.exit_code


def _print_report(ns: argparse.Namespace, report) -> None:
    from incidentlab.monitor.alert import markdown, post_webhook, slack_payload

    fmt = _format(ns)
    print({"json": report.to_json, "markdown": lambda: markdown(report), "text": report.render}[fmt]())
    if ns.webhook:
        try:
            post_webhook(ns.webhook, slack_payload(report))
        except IncidentLabError as exc:  # the checks ran: the exit code stays the report's
            print(f"incidentlab monitor: error: {exc}", file=sys.stderr)


def _selection(ns: argparse.Namespace) -> tuple[str, ...]:
    """The selection selector_coverage checks: --select/--exclude/--selector as one dbt argument string."""
    from incidentlab.monitor.selection import join_args

    given = [getattr(ns, k, None) for k in ("select", "exclude", "selector")]
    return (join_args(*given),) if any(given) else ()


def _profile_warehouse(ns: argparse.Namespace) -> Path:
    from incidentlab.monitor.profile import find_target

    project = ns.project_dir.resolve()
    target = find_target(project, ns.profiles_dir, ns.target)
    warehouse = target.warehouse(project)
    if warehouse is None:
        raise IncidentLabError(f"the target {target.name!r} of {target.source} has no DuckDB file (path); "
                               "pass --warehouse.")
    return warehouse


def _replay_project(ns: argparse.Namespace, con, project: Path) -> int:
    """``--replay --noticed-at`` on a user's project: the history checks over the recorded runs."""
    from incidentlab.monitor.checks import run_one
    from incidentlab.monitor.context import Context
    from incidentlab.monitor.history import read_history
    from incidentlab.monitor.project import DbtProject
    from incidentlab.monitor.replay_history import replay_history
    from incidentlab.monitor.warehouse import warehouse_file

    if ns.noticed_at is None:
        raise IncidentLabError("--replay on a project needs --noticed-at TS (when a human noticed the incident).")
    dbt_project = DbtProject.load(project, warehouse_file(con).name, profiles_dir=ns.profiles_dir, target=ns.target)
    ctx = Context(con, dbt_project, ns.noticed_at, read_history(con, ns.noticed_at, ns.audit_table), ns.sla_hours,
                  run_check=run_one)
    result = replay_history(ctx, ns.noticed_at)
    print(json.dumps(result.to_dict(), indent=2) if _format(ns) == "json" else result.render())
    return 0


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

    if ns.warehouse or ns.stage or ns.variant or ns.now or ns.noticed_at:
        raise IncidentLabError("--replay replays a module's incident: it takes a module name (or none: every "
                               "module) and no --warehouse, --stage, --variant, --now or --noticed-at (those are "
                               "for --project-dir).")
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
    if not (ns.select or ns.selector):
        raise IncidentLabError("give the selection to check: --select (with --exclude) or --selector.")
    selection = _selection(ns)[0]
    findings = {name: coverage_of(DbtProject.load(path, profiles_dir=ns.profiles_dir, target=ns.target), selection)
                for name, path in projects.items()}
    if ns.json:
        print(json.dumps({name: f.to_dict() for name, f in findings.items()}, indent=2))
    else:
        for name, finding in findings.items():
            print(f"{name}: {finding.verdict.upper()} {finding.message}")
    return VERDICT_CODES[worst(f.verdict for f in findings.values())]


def _lint(ns: argparse.Namespace) -> int:
    from incidentlab.monitor.finding import worst
    from incidentlab.monitor.lint import lint
    from incidentlab.monitor.project import DbtProject
    from incidentlab.monitor.report import EXIT_CODES as VERDICT_CODES

    findings = lint(DbtProject.load(ns.project_dir, profiles_dir=ns.profiles_dir, target=ns.target))
    fmt = _format(ns)
    if fmt == "json":
        print(json.dumps([f.to_dict() for f in findings], indent=2))
    else:
        bad = [f for f in findings if f.verdict != "ok"]
        head = f"incidentlab lint {ns.project_dir}: " + (f"{len(bad)} problem(s)" if bad else "OK")
        bullet = "- " if fmt == "markdown" else "  "
        print(f"### {head}\n" if fmt == "markdown" else head)
        for f in findings:
            print(f"{bullet}{f.verdict.upper():<4}  {f.message}")
    return VERDICT_CODES[worst(f.verdict for f in findings)]


def _guarded(command):
    def run(ns: argparse.Namespace) -> int:
        from incidentlab.monitor.checks import plain

        try:
            return command(ns)
        except IncidentLabError as exc:
            print(f"incidentlab {ns.command}: error: {exc}", file=sys.stderr)
            return 3
        except Exception as exc:  # noqa: BLE001 (one line, never a traceback: nothing was checked)
            print(f"incidentlab {ns.command}: error: {plain(exc)}", file=sys.stderr)
            return 3
    return run


def _project_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profiles-dir", type=Path, metavar="DIR",
                        help="the folder of profiles.yml (default as dbt: DBT_PROFILES_DIR, the project, ~/.dbt)")
    parser.add_argument("--target", metavar="NAME", help="the profile's target (default as dbt: DBT_TARGET, "
                        "the profile's target)")


def _selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--select", "-s", metavar="SELECTOR", help='a dbt selection, e.g. "staging.*" '
                        '(selection flags inside it, "+orders --exclude customers", are read as dbt reads them)')
    parser.add_argument("--exclude", metavar="SELECTOR", help="dbt's --exclude, passed through")
    parser.add_argument("--selector", metavar="NAME", help="a selector of the project's selectors.yml")


def _format(ns: argparse.Namespace) -> str:
    """The output format of ``_format_option``'s flags: ``--json`` wins over ``--format``."""
    return "json" if ns.json else ns.format


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                        help="text (default), json, or markdown (for a CI comment)")
    parser.add_argument("--json", action="store_true", help="the same as --format json")


def register(commands) -> None:
    """Add ``monitor``, ``coverage`` and ``lint`` to the ``incidentlab`` command's subcommands."""
    m = _subcommand(
        commands, "monitor",
        help="check a warehouse and its dbt project: staleness, run durations and coverage, grain, reconciliation",
        description="Run the monitor's checks on a module's built warehouse, or on any dbt-duckdb project's "
                    "(--project-dir: its profile target's warehouse, or --warehouse), print the report and a "
                    "drafted remediation (it changes nothing).",
        epilog=EXIT_CODES + "; --replay exits 0 when it has printed its table.")
    m.add_argument("module", nargs="?", help="a module of the course (its built warehouse and its dbt project)")
    m.add_argument("--stage", help="the module's stage (default: the incident as found)")
    m.add_argument("--variant", metavar="NAME", help="one of the module's variants")
    m.add_argument("--project-dir", type=Path, metavar="DIR",
                   help="a dbt project (its target/manifest.json is read, or written by an in-process dbt parse)")
    m.add_argument("--warehouse", type=Path, metavar="FILE",
                   help="the DuckDB warehouse the project builds (default: its profile target's path)")
    _project_options(m)
    m.add_argument("--now", type=_moment, metavar="TS",
                   help="the moment to check at (default: the module's scenario now; the clock for --warehouse)")
    m.add_argument("--audit-table", metavar="TABLE",
                   help="the orchestrator's audit log (default: the module's; for --project-dir, dbt's own record "
                        "from the run_history package or Elementary, else raw_pipeline_runs when there is one)")
    m.add_argument("--sla-hours", type=float, metavar="H", help="the SLA of marts without meta.sla_hours")
    m.add_argument("--check", action="append", metavar="NAME", help="run only this check (repeatable)")
    _selection_options(m)
    _format_option(m)
    m.add_argument("--webhook", metavar="URL", help="also POST the report to a Slack-compatible incoming webhook")
    m.add_argument("--replay", action="store_true",
                   help="replay the module's incident (every module's, if none is named) run by run with the "
                        "monitor on, and print when each check first fired against when a human noticed; with "
                        "--project-dir, replay the checks of the run history up to --noticed-at")
    m.add_argument("--noticed-at", type=_moment, metavar="TS", help="when a human noticed (--replay --project-dir)")
    m.set_defaults(run=_guarded(_monitor))

    c = _subcommand(
        commands, "coverage",
        help="list the marts a dbt selector excludes (for CI): exit 0 at 100%%, 2 below",
        description="Resolve a selector with dbt's own graph (dbt ls, in-process) and list the marts (models of "
                    "a marts folder; else the models materialized as tables) it excludes.",
        epilog="exit codes: 0 the selector covers every mart, 2 it excludes one or more, 3 usage or input error")
    _selection_options(c)
    c.add_argument("--project-dir", type=Path, metavar="DIR", help="a dbt project (default: every module's)")
    _project_options(c)
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(run=_guarded(_coverage))

    lint_parser = _subcommand(
        commands, "lint",
        help="static rules on a dbt project's manifest, for CI before a deploy: exit 0 clean, 2 a violation",
        description="Check a dbt project from its manifest (no warehouse): staging models never join and read one "
                    "source, a model that joins has a unique or grain test, a mart has a freshness SLA.",
        epilog="exit codes: 0 every rule passes, 2 one or more violations, 3 usage or input error")
    lint_parser.add_argument("--project-dir", type=Path, metavar="DIR", required=True, help="the dbt project")
    _project_options(lint_parser)
    _format_option(lint_parser)
    lint_parser.set_defaults(run=_guarded(_lint))
