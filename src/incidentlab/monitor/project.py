"""A dbt project as the monitor sees it: its own manifest.json and, for selectors, dbt's own selection (in-process).

The monitor never writes into the project or the warehouse it watches: dbt's commands (``parse`` when the project
has no ``target/manifest.json`` for the target, ``ls``, ``compile``) run against an empty scratch warehouse of the
same file name (so compiled SQL names the same catalog) in a temporary folder of their own.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cached_property
from pathlib import Path

import yaml  # dbt's own dependency

from incidentlab import temp_folders
from incidentlab.dbt_runner import invoke, project_version
from incidentlab.errors import DbtError, IncidentLabError
from incidentlab.monitor.packages import require_packages
from incidentlab.monitor.profile import Target, find_target
from incidentlab.monitor.selection import ls_args

WHOLE_PROJECT = "all"  # an audit log's models_run for a run without --select
MARTS_FOLDER = "marts"
_projects: dict[tuple, DbtProject] = {}


class DbtProject:
    """The models, tests, exposures and selections of one dbt project."""

    def __init__(self, project_dir: Path, manifest: dict, scratch: Path, target: Target):
        self.dir = project_dir
        self.manifest = manifest
        self.target = target
        self._scratch = scratch
        self._selections: dict[str, frozenset[str]] = {}
        self._compiled: dict[str, str] = {}

    @classmethod
    def load(cls, project_dir: Path, warehouse_name: str = "acme.duckdb", *, profiles_dir: Path | None = None,
             target: str | None = None) -> DbtProject:
        """The project in ``project_dir``: its ``target/manifest.json`` when written for the target, else one an
        in-process ``dbt parse`` writes for it.

        The profile is found as dbt finds it (``profiles_dir``, DBT_PROFILES_DIR, the project, ~/.dbt) and
        ``target`` chosen as dbt does; the packages must be installed already (the monitor never runs dbt deps).
        """
        project_dir = Path(project_dir).resolve()
        if not (project_dir / "dbt_project.yml").is_file():
            raise IncidentLabError(f"{project_dir} is not a dbt project (it has no dbt_project.yml); "
                                   "pass the folder that holds it with --project-dir.")
        found = find_target(project_dir, profiles_dir, target)
        key = (project_version(project_dir), warehouse_name, repr(found))
        if key not in _projects:
            require_packages(project_dir)
            scratch = temp_folders.make("monitor")
            manifest = _own_manifest(project_dir, found)
            if manifest is None:
                manifest = _read(_parse(project_dir, scratch, warehouse_name, found))
            _projects.clear()
            _projects[key] = cls(project_dir, manifest, scratch / warehouse_name, found)
        return _projects[key]

    # -- the graph ------------------------------------------------------------------------------------------
    @cached_property
    def models(self) -> dict[str, dict]:
        """Name -> manifest node of every enabled model of the project itself (not of its packages)."""
        name = self.manifest.get("metadata", {}).get("project_name")
        return {n["name"]: n for n in self.manifest["nodes"].values()
                if n["resource_type"] == "model" and (name is None or n["package_name"] == name)}

    @cached_property
    def marts(self) -> list[str]:
        """The marts: models in a ``marts`` folder; in a project without one, the models materialized as tables.

        They are what dashboards read, so these are the models a run must not leave out.
        """
        in_folder = [n for n, node in self.models.items() if MARTS_FOLDER in node["fqn"][1:-1]]
        if in_folder:
            return sorted(in_folder)
        return sorted(n for n, node in self.models.items()
                      if node["config"].get("materialized") in ("table", "incremental"))

    def meta(self, model: str) -> dict:
        node = self.models[model]
        return {**(node.get("meta") or {}), **(node["config"].get("meta") or {})}

    def relation(self, model: str) -> tuple[str, str]:
        """``(schema, table name)`` of a model in the warehouse."""
        node = self.models[model]
        return node["schema"], node.get("alias") or node["name"]

    def source_relation(self, name: str) -> tuple[str, str] | None:
        """``(schema, table name)`` of source ``source_name.table_name``, or None when there is no such source."""
        for node in self.manifest.get("sources", {}).values():
            if f"{node['source_name']}.{node['name']}" == name:
                return node["schema"], node.get("identifier") or node["name"]
        return None

    def freshness_source(self, model: str) -> str | None:
        """``source_name.table`` of a source declared on ``model``'s relation with a freshness (a count in
        ``warn_after`` or ``error_after``), or None."""
        for node in self.manifest.get("sources", {}).values():
            freshness = node.get("freshness") or {}
            if (node.get("schema"), node.get("identifier") or node["name"]) == self.relation(model) and any(
                    (freshness.get(k) or {}).get("count") for k in ("warn_after", "error_after")):
                return f"{node['source_name']}.{node['name']}"
        return None

    def unique_keys(self, model: str) -> list[str]:
        """The columns a ``unique`` test of the project asserts for ``model``."""
        uid = self.models[model]["unique_id"]
        keys = []
        for node in self.manifest["nodes"].values():
            meta = node.get("test_metadata") or {}
            if node["resource_type"] == "test" and meta.get("name") == "unique" and node.get("attached_node") == uid:
                column = node.get("column_name") or meta.get("kwargs", {}).get("column_name")
                if column and re.fullmatch(r"\w+", column):
                    keys.append(column)
        return sorted(set(keys))

    def parents(self, model: str) -> list[str]:
        """The models ``model`` reads directly (sources and other resources left out)."""
        by_id = {n["unique_id"]: n["name"] for n in self.models.values()}
        return [by_id[p] for p in self.models[model].get("depends_on", {}).get("nodes", []) if p in by_id]

    def downstream(self, model: str) -> tuple[list[str], list[str]]:
        """(models, exposures) that read ``model``, directly or through other models."""
        by_id = {**{n["unique_id"]: n for n in self.manifest["nodes"].values()},
                 **self.manifest.get("exposures", {})}
        children = self.manifest.get("child_map", {})
        seen, todo = set(), [self.models[model]["unique_id"]]
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        models = sorted(by_id[c]["name"] for c in seen if c.startswith("model."))
        exposures = sorted(by_id[c]["name"] for c in seen if c.startswith("exposure."))
        return models, exposures

    # -- dbt, in-process, on the scratch warehouse ------------------------------------------------------------
    def select(self, selector: str) -> frozenset[str]:
        """The models ``dbt run <selector>`` builds, by ``dbt ls``: ``selector`` is a --select value (``all``: a run
        without --select) or selection arguments (``--select a --exclude b``, ``--selector name``)."""
        if selector not in self._selections:
            select = [] if selector == WHOLE_PROJECT else ls_args(selector)
            result = self._dbt(["ls", "--resource-type", "model", "--output", "name", *select])
            if not result.success:
                raise IncidentLabError(f"dbt could not list the selector {selector!r}: {one_line(result.exception)}")
            self._selections[selector] = frozenset(n.split(".")[-1] for n in result.result or [])
        return self._selections[selector]

    def compiled_sql(self, model: str, now: dt.datetime) -> str:
        """The SQL ``model`` would run now, compiled by dbt."""
        key = f"{model}@{now.isoformat()}"
        if key not in self._compiled:
            result = self._dbt(["compile", "--select", model], now=now)
            nodes = getattr(result.result, "results", None) or []
            if not result.success or not nodes:
                raise IncidentLabError(f"dbt could not compile {model}: {one_line(result.exception or 'no result')}")
            self._compiled[key] = nodes[0].node.compiled_code
        return self._compiled[key]

    def _dbt(self, args: list[str], now: dt.datetime | None = None):
        try:
            return invoke(args, warehouse=self._scratch, now=now or dt.datetime(2000, 1, 1), project=self.dir,
                          state=self._scratch.parent, write_json=False,
                          profiles=_profiles(self.target, self._scratch.parent))
        except DbtError as exc:
            raise IncidentLabError(f"dbt failed on the project in {self.dir}: "
                                   f"{one_line(getattr(exc, 'detail', exc))}") from None


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IncidentLabError(f"{path} is not a readable manifest.json ({exc}); run `dbt parse` "
                               "to write it again.") from None


def _own_manifest(project_dir: Path, target: Target) -> dict | None:
    """The project's ``target/manifest.json`` when it was written for ``target`` (its models are in the target's
    schema, or a custom schema dbt derives from it); None when there is none, or it was written for another
    target (``dbt run --target dev`` last): then the monitor parses the project for its own target."""
    path = project_dir / "target" / "manifest.json"
    if not path.is_file():
        return None
    manifest = _read(path)
    name = manifest.get("metadata", {}).get("project_name")
    schemas = {n.get("schema") for n in manifest.get("nodes", {}).values()
               if n.get("resource_type") == "model" and n.get("package_name") == name}
    if schemas and not any(s == target.schema or str(s).startswith(f"{target.schema}_") for s in schemas):
        return None
    return manifest


def one_line(message) -> str:
    """dbt's message on one line: its heading ("Runtime Error") dropped, the rest joined."""
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith("Error"):
        lines = lines[1:]
    return "; ".join(lines)


def _profiles(target: Target, scratch: Path) -> Path:
    """A profiles.yml in ``scratch``: the project's own target (schema, settings), its path the scratch warehouse.

    So dbt never opens the warehouse the monitor watches, yet compiles the same relation names.
    """
    output = {**target.output, "path": "{{ env_var('INCIDENTLAB_WAREHOUSE') }}"}
    output.pop("attach", None)  # other databases the target attaches are not needed to list or compile
    (scratch / "profiles.yml").write_text(
        yaml.safe_dump({target.profile: {"target": target.name, "outputs": {target.name: output}}}), encoding="utf-8")
    return scratch


def _parse(project_dir: Path, scratch: Path, warehouse_name: str, target: Target) -> Path:
    """manifest.json of an in-process ``dbt parse`` (dbt_runner's, parsed once per process), in ``scratch``."""
    result = invoke(["parse"], warehouse=scratch / warehouse_name, now=dt.datetime(2000, 1, 1), project=project_dir,
                    state=scratch, profiles=_profiles(target, scratch), write_json=False)
    if not result.success or result.result is None:
        raise IncidentLabError(f"dbt could not parse the project in {project_dir}: {one_line(result.exception)}")
    path = scratch / "target" / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    result.result.write(str(path))
    return path
