"""The dbt profile a project runs with, found as dbt finds it: the target's settings, schema and warehouse file.

Order (dbt's): ``--profiles-dir``, then ``DBT_PROFILES_DIR``, then the project's own folder, then ``~/.dbt``;
the target is ``--target``, then ``DBT_TARGET``, then the profile's ``target``. ``{{ env_var(...) }}`` in the
profile is rendered as dbt renders it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml  # dbt's own dependency

from incidentlab.errors import IncidentLabError


@dataclass(frozen=True)
class Target:
    profile: str
    name: str
    output: dict  # the target's settings, rendered
    source: Path  # the profiles.yml it came from (None-like when the project has no profile at all)

    @property
    def schema(self) -> str:
        return self.output.get("schema") or "main"

    def warehouse(self, project_dir: Path) -> Path | None:
        """The DuckDB file the target writes (a relative path is the project's, where dbt is run), or None."""
        path = self.output.get("path")
        if not path or path == ":memory:" or "://" in str(path):
            return None
        path = Path(os.path.expanduser(str(path)))
        return path if path.is_absolute() else (project_dir / path).resolve()


def profiles_file(project_dir: Path, profiles_dir: Path | None = None) -> Path | None:
    """The profiles.yml dbt would read for ``project_dir``, or None."""
    candidates = [profiles_dir, os.environ.get("DBT_PROFILES_DIR"), project_dir, Path.home() / ".dbt"]
    for folder in candidates:
        if folder and (Path(folder) / "profiles.yml").is_file():
            return Path(folder) / "profiles.yml"
    return None


def find_target(project_dir: Path, profiles_dir: Path | None = None, target: str | None = None) -> Target:
    """The target ``dbt run`` would use in ``project_dir``; a DuckDB target of schema main when there is no profile."""
    spec = _yaml(project_dir / "dbt_project.yml") or {}
    name = spec.get("profile", "default")
    path = profiles_file(project_dir, profiles_dir)
    if path is None:
        if profiles_dir or target:
            raise IncidentLabError(f"no profiles.yml found for {project_dir} (looked in --profiles-dir, "
                                   "DBT_PROFILES_DIR, the project and ~/.dbt).")
        return Target(name, target or "default", {"type": "duckdb"}, project_dir / "profiles.yml")
    profile = (_yaml(path) or {}).get(name)
    if not profile:
        raise IncidentLabError(f"{path} has no profile {name!r} (dbt_project.yml's profile); pass --profiles-dir.")
    outputs = profile.get("outputs") or {}
    default = _render(str(profile["target"]), path) if profile.get("target") else next(iter(outputs), None)
    chosen = target or os.environ.get("DBT_TARGET") or default
    if chosen is None or chosen not in outputs:
        raise IncidentLabError(f"{path}: profile {name!r} has no target {chosen!r} "
                               f"(its targets: {', '.join(outputs) or 'none'}).")
    # only the chosen target is rendered, as dbt does: another target may read a variable this shell lacks
    output = {k: _render(v, path) if isinstance(v, str) else v for k, v in outputs[chosen].items()}
    if output.get("type") != "duckdb":
        raise IncidentLabError(f"{path}: target {chosen!r} is of type {output.get('type')!r}; the monitor "
                               "reads DuckDB warehouses (dbt-duckdb).")
    return Target(name, chosen, output, path)


def _yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise IncidentLabError(f"{path} cannot be read: {str(exc).splitlines()[0]}") from None


def _render(text: str, path: Path) -> str:
    """``text`` with dbt's ``env_var`` rendered (a missing variable without a default is an error, as in dbt)."""
    import jinja2

    if "{{" not in text:
        return text
    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise IncidentLabError(f"{path} reads the environment variable {name}, which is not set.")
        return default

    try:
        return jinja2.Environment().from_string(text).render(env_var=env_var)
    except jinja2.TemplateError as exc:
        raise IncidentLabError(f"{path} cannot be rendered: {exc}") from None
