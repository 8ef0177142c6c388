"""The ``incidentlab`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from incidentlab.errors import IncidentLabError


def _build(ns: argparse.Namespace) -> None:
    from incidentlab.build import STAGES, build

    if ns.all:
        plan = [(stage, variant) for variant in (False, True) for stage in STAGES]
    else:
        plan = [(ns.stage, ns.variant)]
    for stage, variant in plan:
        path = build(ns.module, stage, ns.db, variant=variant, progress=not ns.quiet)
        print(f"built {path}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="incidentlab", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    b = commands.add_parser("build", help="replay a module's incident into a DuckDB warehouse")
    b.add_argument("module", help="dataset name, e.g. wt06_data_stale")
    b.add_argument("--stage", choices=["stale", "fixed"], default="stale",
                   help="stale: as on the morning of the incident; fixed: after the remediation")
    b.add_argument("--db", type=Path, help="where to write the warehouse (default: warehouses/MODULE/STAGE/acme.duckdb; keep the file name when you copy it)")
    b.add_argument("--variant", action="store_true", help="replay the variant scenario (shifted dates and amounts)")
    b.add_argument("--all", action="store_true", help="build every stage, real and variant, into warehouses/")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(run=_build)

    from incidentlab.grading.cli import register as register_grading

    register_grading(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    if getattr(ns, "all", False) and ns.db:
        parser().error("--all builds into warehouses/; it does not take --db")
    try:
        ns.run(ns)
    except IncidentLabError as exc:
        print(f"incidentlab: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
