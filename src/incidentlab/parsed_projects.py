"""dbt's parse of a project, kept on disk by content, so a new kernel loads what an earlier one parsed.

Parsing a course project takes dbt about 3.5 s; loading a saved parse about 0.4 s. Every kernel works on a copy
of the project in a folder of its own, so dbt's own saved parse (in the target folder) never carries over to the
next kernel; this store does. Its key is all that the parse reads: every file of the project and of its packages,
the profiles, the warehouse's file name, and the versions of dbt and of its adapter. A stored parse that does
not load is parsed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from importlib.metadata import version
from pathlib import Path

from incidentlab.paths import warehouses_dir

SAVED = "partial_parse.msgpack"  # the name dbt gives its saved parse in the target folder
KEPT = 64  # stored parses, about 650 KB each
# Not read by a parse: what dbt writes into a project; what `dbt deps` reads (the parse reads what it installed,
# in dbt_packages/; a copy of a project rewrites its packages.yml); the stages' overlays, never part of a project.
_SKIPPED_FOLDERS = {"target", "logs", "stages"}
_SKIPPED_FILES = {"packages.yml", "package-lock.yml"}


def key(project: Path, profiles: Path, warehouse_name: str) -> str:
    """The name of ``project``'s parse, with ``profiles``/profiles.yml, for a warehouse file ``warehouse_name``."""
    digest = hashlib.sha256()
    for part in (version("dbt-core"), version("dbt-duckdb"), warehouse_name):
        digest.update(part.encode() + b"\0")
    listed = profiles / "profiles.yml"
    digest.update((listed.read_bytes() if listed.is_file() else b"") + b"\0")  # none: dbt's parse says so
    for folder, subfolders, names in os.walk(project, followlinks=True):  # dbt_packages/ may be a link
        subfolders[:] = sorted(d for d in subfolders if d not in _SKIPPED_FOLDERS and not d.startswith("."))
        for file in (Path(folder) / name for name in sorted(names) if name not in _SKIPPED_FILES):
            digest.update(str(file.relative_to(project)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def store() -> Path:
    """Beside the built warehouses: written by whoever builds them, by builds and kernels alike."""
    return warehouses_dir() / ".dbt-parsed"


def _stored(name: str) -> Path:
    return store() / f"{name}.msgpack"


def load(name: str, target: Path):
    """The stored parse ``name`` as dbt's Manifest (None if there is none, or it does not load); it is also put
    in ``target`` as dbt's own saved parse, so a model changed later is parsed alone."""
    from dbt.contracts.graph.manifest import Manifest
    from dbt.parser.manifest import extended_mashumuro_decoder

    stored = _stored(name)
    try:
        data = stored.read_bytes()
        manifest = Manifest.from_msgpack(data, decoder=extended_mashumuro_decoder)
    except Exception:  # noqa: BLE001 (missing, unreadable, or from another dbt: parse instead)
        return None
    manifest.build_parent_and_child_maps()  # as dbt does after loading a saved parse
    manifest.build_flat_graph()
    target.mkdir(parents=True, exist_ok=True)
    (target / SAVED).write_bytes(data)
    with contextlib.suppress(OSError):
        os.utime(stored)  # recently used: kept when the store is pruned
    return manifest


def save(name: str, target: Path) -> None:
    """Store the parse dbt saved in ``target``; quietly nothing where the warehouses folder is read-only."""
    stored = _stored(name)
    temporary = stored.with_name(f".{stored.name}.{os.getpid()}.tmp")
    try:
        stored.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target / SAVED, temporary)
        os.replace(temporary, stored)  # whole or not at all: kernels and builds may read it meanwhile
        _prune(stored.parent)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def _prune(folder: Path) -> None:
    """Keep the ``KEPT`` most recently stored or loaded parses (each model a student edits makes a new one)."""
    by_use = sorted(folder.glob("*.msgpack"), key=lambda path: path.stat().st_mtime, reverse=True)
    for old in by_use[KEPT:]:
        with contextlib.suppress(OSError):
            old.unlink()
