"""The project's packages as ``dbt deps`` left them: the monitor reads them and never runs ``dbt deps`` itself."""

from __future__ import annotations

from pathlib import Path

import yaml  # dbt's own dependency

from incidentlab.errors import IncidentLabError


def missing_packages(project_dir: Path) -> list[str]:
    """The packages the project lists that are not in its ``dbt_packages/`` (by ``package-lock.yml``'s names).

    Without a lock, a local package is named by its own dbt_project.yml, a hub package by its last path part;
    a ``git:`` or tarball entry without a lock cannot be named, so it counts as missing when dbt_packages/ holds
    fewer packages than are listed.
    """
    listed = _entries(project_dir / "packages.yml") or _entries(project_dir / "dependencies.yml")
    if not listed:
        return []
    installed = project_dir / "dbt_packages"
    locked = _entries(project_dir / "package-lock.yml")
    names = [entry.get("name") for entry in locked] if len(locked) == len(listed) else []
    if not all(names):
        names = [_name(project_dir, entry) for entry in listed]
    missing = [n for n in names if n and not (installed / n).is_dir()]
    unnamed = sum(1 for n in names if not n)
    if unnamed and len([p for p in installed.glob("*/dbt_project.yml")]) < len(listed):
        missing.append(f"{unnamed} git/tarball package(s)")
    return missing


def require_packages(project_dir: Path) -> None:
    """Raise, in one line, when the project's packages are not installed (dbt could not parse it).

    The course's own module projects (``dbt/<module>``) install their local packages as every course command
    does; any other project is only read.
    """
    from incidentlab.dbt_runner import ensure_packages
    from incidentlab.paths import project_root

    if (project_root() / "dbt").resolve() in project_dir.resolve().parents:
        ensure_packages(project_dir)
    missing = missing_packages(project_dir)
    if missing:
        raise IncidentLabError(f"{project_dir}: package(s) {', '.join(missing)} are not installed in "
                               "dbt_packages/; run `dbt deps` there (the monitor never does).")


def _entries(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    try:
        return [e for e in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("packages") or []
                if isinstance(e, dict)]
    except yaml.YAMLError as exc:
        raise IncidentLabError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None


def _name(project_dir: Path, entry: dict) -> str | None:
    if "local" in entry:
        spec = (project_dir / entry["local"]) / "dbt_project.yml"
        if spec.is_file():
            return (yaml.safe_load(spec.read_text(encoding="utf-8")) or {}).get("name")
        return str(entry["local"])
    if "package" in entry:
        return str(entry["package"]).split("/")[-1]
    return None
