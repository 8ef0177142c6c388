"""The ``incidentlab`` command."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from incidentlab.errors import IncidentLabError

# What `incidentlab grade` needs beyond the student's install (the extra `instructor` of pyproject.toml).
INSTRUCTOR_TOOLS = ("nbgrader", "dask", "distributed")
NEEDS_INSTRUCTOR = "the grading commands need the instructor tools: pip install 'incidentlab[instructor]'"


def _build(ns: argparse.Namespace) -> None:
    from incidentlab.build import build, build_all
    from incidentlab.datasets import module_names, variant_description

    if ns.all:
        workers = min(os.cpu_count() or 1, 4)  # builds of different incidents and variants never meet
        for path in build_all(ns.module, progress=not ns.quiet and workers == 1, workers=workers):
            print(f"built {path}")
        return
    if ns.module is None:
        raise IncidentLabError(f"name the module to build ({', '.join(module_names())}), or build them all with --all")
    if ns.variant is not None:
        variant_description(ns.module, ns.variant)  # an unknown name fails before any work, naming the known ones
    path = build(ns.module, ns.stage, ns.db, variant=ns.variant, progress=not ns.quiet)
    print(f"built {path}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="incidentlab", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    b = commands.add_parser("build", help="replay a module's incident into a DuckDB warehouse")
    b.add_argument("module", nargs="?", help="the module (a folder of datasets/); with --all and no module, every one")
    b.add_argument("--stage", help="one of the module's stages (its scenario.toml): the incident as found (the "
                                   "default), or the last one, after the fix")
    b.add_argument("--db", type=Path, help="where to write the warehouse (default: "
                   "warehouses/MODULE/STAGE/acme.duckdb; keep the file name when you copy it)")
    b.add_argument("--variant", metavar="NAME",
                   help="replay the variant NAME of the incident (one of the module's [[variants]] in scenario.toml)")
    b.add_argument("--all", action="store_true", help="build every stage, of the incident and of every variant, "
                   "into warehouses/ (every module's, if none is named)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(run=_build)

    from incidentlab.grading.cli import register as register_grading

    register_grading(commands)
    from incidentlab.monitor.cli import register as register_monitor

    register_monitor(commands)
    from incidentlab.mutants.cli import register as register_mutants

    register_mutants(commands)
    from incidentlab.hub.cli import register as register_hub

    register_hub(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    top = parser()
    ns, extra = top.parse_known_args(argv)
    if extra and ns.command in ("monitor", "coverage", "lint"):  # their usage errors exit 3 (2 is a failed check)
        print(f"incidentlab {ns.command}: error: unrecognized arguments: {' '.join(extra)}", file=sys.stderr)
        return 3
    if extra:
        top.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(ns, "all", False) and ns.db:
        parser().error("--all builds into warehouses/; it does not take --db")
    if getattr(ns, "all", False) and ns.variant:
        parser().error("--all builds every variant; it does not take --variant")
    try:
        if ns.command == "grade" and importlib.util.find_spec("nbgrader") is None:
            raise IncidentLabError(NEEDS_INSTRUCTOR)
        code = ns.run(ns)
    except IncidentLabError as exc:
        print(f"incidentlab: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # e.g. --scheduler without dask's distributed
        if (exc.name or "").split(".")[0] not in INSTRUCTOR_TOOLS:
            raise
        print(f"incidentlab: error: {NEEDS_INSTRUCTOR}", file=sys.stderr)
        return 2
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
