"""Writes that either happen completely or not at all: a temporary sibling, then a rename."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data) -> None:
    write_text(path, json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")


def replace_tree(source: Path, dest: Path) -> None:
    """Copy the folder ``source`` to ``dest``, replacing what was there, never leaving a half-copied ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
    shutil.copytree(source, staging)
    old = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.old"
    if dest.exists():
        os.replace(dest, old)
    os.replace(staging, dest)
    shutil.rmtree(old, ignore_errors=True)
