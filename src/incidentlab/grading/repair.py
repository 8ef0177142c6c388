"""Read a submitted notebook and put its graded structure back the way the release had it.

nbgrader restores the content of locked cells from their checksums, but a batch still breaks on submissions
whose tagged cells were deleted, duplicated, reordered or turned into another cell type. Here every cell that
carries nbgrader metadata is matched to the released notebook by its ``grade_id``: missing ones come back from
the release, duplicates lose their tag, types are restored, and the tagged cells return to the release's order
(each keeping the student's untagged cells that followed it). Each change is reported in plain words.
"""

from __future__ import annotations

import copy
import json
import uuid
import warnings
from pathlib import Path

import nbformat


class UnreadableNotebook(Exception):
    """The file is not a notebook nbgrader can grade; the message says why, for the student's record."""


MAX_NOTEBOOK_BYTES = 25_000_000
MAX_CELLS = 2_000  # a released notebook has a few dozen


def read(path: Path) -> nbformat.NotebookNode:
    """The submitted notebook, validated; ``UnreadableNotebook`` says why not. Sizes are checked on the bytes,
    before any parsing: a notebook of 150,000 cells costs nothing to refuse."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise UnreadableNotebook(f"{path.name} is {size / 1e6:.0f} MB; a notebook of this course is at most "
                                 f"{MAX_NOTEBOOK_BYTES / 1e6:.0f} MB (clear its outputs and submit it again)")
    raw = path.read_bytes()
    if not raw.strip():
        raise UnreadableNotebook(f"{path.name} is an empty file")
    cells = raw.count(b'"cell_type"')  # a key of every cell; inside a string its quotes would be escaped
    if cells > MAX_CELLS:
        raise UnreadableNotebook(f"{path.name} has {cells:,} cells; a notebook of this course has at most "
                                 f"{MAX_CELLS:,} (submit the notebook you worked in, not a generated one)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UnreadableNotebook(f"{path.name} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UnreadableNotebook(f"{path.name} is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: "
                                 f"{exc.msg})") from None
    if not isinstance(data, dict) or "cells" not in data:
        raise UnreadableNotebook(f"{path.name} is JSON but not a notebook (no cells)")
    try:
        with warnings.catch_warnings():  # duplicate cell ids are repaired later, not a reason to refuse
            warnings.simplefilter("ignore")
            nb = nbformat.reads(json.dumps(data), as_version=4)
            nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types for malformed notebooks
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnreadableNotebook(f"{path.name} is not a valid notebook ({first})") from None
    return nb


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _retype(cell, cell_type: str):
    new = copy.deepcopy(cell)
    new.cell_type = cell_type
    if cell_type == "code":
        new.setdefault("outputs", [])
        new.setdefault("execution_count", None)
    else:
        new.pop("outputs", None)
        new.pop("execution_count", None)
    if cell_type == "code":
        new.pop("attachments", None)
    return new


def _untag(cell):
    new = copy.deepcopy(cell)
    new.metadata.pop("nbgrader", None)
    return new


def restore_structure(nb, released) -> tuple[nbformat.NotebookNode, list[str]]:
    """``nb`` with the released notebook's tagged cells present once each, in order and of the right type."""
    master = [c for c in released.cells if grade_id(c)]
    order = {grade_id(c): i for i, c in enumerate(master)}
    notes: list[str] = []

    # Segments: a tagged cell and the untagged cells after it. The untagged cells before the first tag lead.
    lead: list = []
    segments: dict[str, list] = {}
    current = lead
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is None:
            current.append(cell)
        elif gid not in order:
            notes.append(f"cell '{gid}' is not part of this assignment (kept, not graded)")
            current.append(_untag(cell))
        elif gid in segments:
            notes.append(f"cell '{gid}' was duplicated (the copy is kept but not graded)")
            current.append(_untag(cell))
        else:
            current = [cell]
            segments[gid] = current

    seen = [gid for gid in segments]
    if seen != sorted(seen, key=order.__getitem__):  # every gid in segments is one of the release's
        notes.append("graded cells were moved; they are graded in the released order")

    cells = list(lead)
    for ref in master:
        gid = grade_id(ref)
        if gid not in segments:
            notes.append(f"cell '{gid}' was deleted; restored from the release")
            cells.append(copy.deepcopy(ref))
            continue
        head, *rest = segments[gid]
        if head.cell_type != ref.cell_type:
            notes.append(f"cell '{gid}' was changed from {ref.cell_type} to {head.cell_type}; changed back")
            head = _retype(head, ref.cell_type)
        cells.append(head)
        cells.extend(rest)

    seen_ids: set[str] = set()
    for cell in cells:  # nbformat 4.5 cell ids must be unique; copies get fresh ones
        if "id" in cell and cell.id in seen_ids:
            cell.id = uuid.uuid4().hex[:8]
        seen_ids.add(cell.get("id"))
    repaired = copy.deepcopy(nb)
    repaired.cells = cells
    repaired.metadata = copy.deepcopy(released.metadata)  # kernelspec and language from the release
    return repaired, notes
