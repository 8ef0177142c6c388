"""``incidentlab mutants [MODULE] [--question Q] [--json]``: the mutation report of the answer keys."""

from __future__ import annotations

import argparse
import json
import os
import sys

from incidentlab.errors import IncidentLabError


def _run(ns: argparse.Namespace) -> int:
    from incidentlab.datasets import module_names
    from incidentlab.exercises import modules as graded_modules
    from incidentlab.mutants.analysis import analyse
    from incidentlab.mutants.report import as_json, as_text, standings

    modules = [ns.module] if ns.module else [m for m in module_names() if m in graded_modules()]
    if ns.module and ns.module not in module_names():
        raise IncidentLabError(f"no module named {ns.module!r}; known: {', '.join(module_names())}")
    if ns.question and not ns.module:
        raise IncidentLabError("--question needs the module: incidentlab mutants MODULE --question Q")
    reports, ok = [], True
    for module in modules:
        analysis = analyse(module, ns.question, workers=ns.workers, progress=not ns.json and sys.stderr.isatty())
        ok = ok and all(s.ok for s in standings(analysis))
        if ns.json:
            reports.append(as_json(analysis))
        elif not _printed("\n".join(as_text(analysis))):
            return 1
    if ns.json and not _printed(json.dumps(reports if len(reports) > 1 else reports[0], indent=2)):
        return 1
    return 0 if ok else 1


def _printed(text: str) -> bool:
    """Print ``text``; False when the reader went away (`| head`), with nothing more written to the pipe."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return False
    return True


def register(commands) -> None:
    """Add ``mutants`` to the ``incidentlab`` command's subcommands."""
    m = commands.add_parser(
        "mutants", help="mutation analysis of the answer keys: which small changes to a key does the data catch?",
        description="Change each answer key one small step at a time (a comparison, join, condition, aggregate, "
                    "column, literal, rounding, a recursion cut short, a value typed in), run every change on "
                    "the question's warehouse and its variants, and report per question the mutants, those "
                    "killed (a result differs somewhere) and the survivors, with their change to the key.",
        epilog="exit 0: every survivor is declared in grading/<module>/equivalent_mutants.toml (at most 10%% of "
               "a question's mutants); 1: a survivor is not, or a declaration is stale; 2: an error.")
    m.add_argument("module", nargs="?", help="a module of the course (default: every module)")
    m.add_argument("--question", metavar="Q", help="only this question of the module")
    m.add_argument("--json", action="store_true", help="print the report as JSON")
    m.add_argument("--workers", type=int, metavar="N", help="worker processes (default: the CPU count)")
    m.set_defaults(run=_run)
