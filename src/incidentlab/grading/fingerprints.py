"""Computes each question's fingerprint (``incidentlab.checking.fingerprint``) from the answer key's result on
the built warehouse of the question's stage, and writes a module's beside its warehouses.

``make warehouses`` and ``make release`` run it (``python -m incidentlab.grading.fingerprints [MODULE...]``), and
the wheel carries the file ``make release`` wrote (``hatch_build.py``). The file holds salts and hashes only: no
SQL, no value.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

from incidentlab.checking.fingerprint import FORMAT, Fingerprint, built_path
from incidentlab.exercises import load
from incidentlab.grading.answer_key import AnswerKeyError, key_folder, read_key
from incidentlab.grading.atomic import write_json
from incidentlab.paths import warehouse_path


def fingerprints(module: str) -> dict[str, Fingerprint | None]:
    """question -> its fingerprint (None: no grid fits its numbers, the check stays on the shape)."""
    keys = read_key(module)
    out: dict[str, Fingerprint | None] = {}
    for question in load(module):
        path = warehouse_path(module, question.stage)
        with duckdb.connect(str(path), read_only=True) as con:
            try:
                frame = con.execute(keys[question.name]).df()
            except (KeyError, duckdb.Error) as exc:
                raise AnswerKeyError(f"the answer key of {module}.{question.name} gives no result on {path}: "
                                     f"{exc}") from None
        out[question.name] = Fingerprint.of(frame, os.urandom(16), question.ordered)
    return out


def write(module: str) -> Path | None:
    """Write ``module``'s fingerprints beside its warehouses; None (nothing written) when they are not built or
    the module has no answer key here."""
    if not key_folder(module).is_dir() or not all(warehouse_path(module, q.stage).exists() for q in load(module)):
        return None
    found = fingerprints(module)
    target = built_path(module)
    write_json(target, {"format": FORMAT, "module": module,
                        "questions": {name: fp.to_json() for name, fp in found.items() if fp is not None}})
    return target


def main(argv: list[str]) -> int:
    from incidentlab.datasets import module_names

    for module in argv or module_names():
        target = write(module)
        if target is None:
            print(f"{module}: no fingerprints (its warehouses are not built, `make warehouses`, or it has no answer "
                  "key); its checks test the shape of an answer only")
        else:
            print(f"{module}: the checks' fingerprints are in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
