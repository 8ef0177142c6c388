"""Release: nbgrader's generate_assignment, which writes the student version and records it in the gradebook, and
the checks' fingerprints of the key's results (``incidentlab.grading.fingerprints``), from the built warehouses."""

from __future__ import annotations

import os
from pathlib import Path

from incidentlab.errors import IncidentLabError
from incidentlab.grading.course import Course


def release(course: Course) -> list[Path]:
    from nbgrader.apps.api import NbGraderAPI

    if not course.source.is_dir():
        raise IncidentLabError(f"no source notebooks for {course.assignment} in {course.source}")
    course.root.mkdir(parents=True, exist_ok=True)
    api = NbGraderAPI(coursedir=course.coursedir(), config=course.config)
    outcome = api.generate_assignment(course.assignment, force=True, create=True)
    if not outcome["success"]:
        detail = (outcome.get("error") or outcome.get("log") or "").strip().splitlines()
        raise IncidentLabError(f"nbgrader generate_assignment failed for {course.assignment}: "
                               f"{detail[-1] if detail else 'no detail'}")
    from incidentlab.grading import fingerprints

    # Nothing where the warehouses are not built (checks test the shape only), nor where they are a read-only copy
    # (a hub's course folder: `make warehouses` wrote its fingerprints before the copy).
    if os.access(fingerprints.built_path(course.assignment).parent, os.W_OK):
        fingerprints.write(course.assignment)
    return sorted(course.release.glob("*.ipynb"))
