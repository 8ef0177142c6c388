"""Every path derives from one project root, never from the current directory."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout that holds datasets/, dbt/ and notebooks/.

    ``INCIDENTLAB_ROOT`` overrides it; otherwise it is found above this file (src layout, editable install).
    """
    if env := os.environ.get("INCIDENTLAB_ROOT"):
        return Path(env).resolve()
    for parent in Path(__file__).resolve().parents:
        if (parent / "datasets").is_dir() and (parent / "dbt").is_dir():
            return parent
    raise RuntimeError("incidentlab cannot find its project root; set INCIDENTLAB_ROOT to the checkout")


def dataset_dir(module: str) -> Path:
    return project_root() / "datasets" / module


def dbt_dir(module: str) -> Path:
    """``dbt/<module>/``: the module's own dbt project."""
    return project_root() / "dbt" / module


def hidden_variants_path(module: str) -> Path:
    """``grading/<module>/hidden_variants.toml``: the variants only grading knows (next to the answer key)."""
    return project_root() / "grading" / module / "hidden_variants.toml"


def warehouses_dir() -> Path:
    """Where built warehouses live; ``INCIDENTLAB_WAREHOUSES`` overrides it (graders use this)."""
    if env := os.environ.get("INCIDENTLAB_WAREHOUSES"):
        return Path(env).resolve()
    return project_root() / "warehouses"


# dbt-duckdb writes the catalog name, which DuckDB takes from the file name, into every view it creates;
# so every copy of a warehouse keeps this name and copies differ by their folder.
WAREHOUSE_FILE = "acme.duckdb"


def warehouse_path(module: str, stage: str, variant: str | None = None) -> Path:
    """``warehouses/<module>/<stage>/acme.duckdb``, or ``<stage>-<variant>/`` for a variant's."""
    if variant is True:  # the old flag: there is no single variant any more
        raise TypeError("variant is a variant's name (see datasets.variant_names) or None, not True")
    suffix = f"-{variant}" if variant else ""
    return warehouses_dir() / module / f"{stage}{suffix}" / WAREHOUSE_FILE
