"""A dbt project as the monitor sees it: its own manifest.json and, for selectors, dbt's own selection (in-process).

The monitor never writes into the project or the warehouse it watches: dbt's commands (``parse`` when the project
has no ``target/manifest.json``, ``ls``, ``compile``) run against an empty scratch warehouse of the same file name
(so compiled SQL names the same catalog) in a temporary folder of their own.
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

WHOLE_PROJECT = "all"  # an audit log's models_run for a run without --select
MARTS_FOLDER = "marts"
_projects: dict[tuple, DbtProject] = {}


class DbtProject:
    """The models, tests, exposures and selections of one dbt project."""

    def __init__(self, project_dir: Path, manifest: dict, scratch: Path):
        self.dir = project_dir
        self.manifest = manifest
        self._scratch = scratch
        self._selections: dict[str, frozenset[str]] = {}
        self._compiled: dict[str, str] = {}

    @classmethod
    def load(cls, project_dir: Path, warehouse_name: str = "acme.duckdb") -> DbtProject:
        """The project in ``project_dir``: its ``target/manifest.json``, or one an in-process ``dbt parse`` writes."""
        project_dir = Path(project_dir).resolve()
        if not (project_dir / "dbt_project.yml").is_file():
            raise IncidentLabError(f"{project_dir} is not a dbt project (it has no dbt_project.yml); "
                                   "pass the folder that holds it with --project-dir.")
        key = (project_version(project_dir), warehouse_name)
        if key not in _projects:
            scratch = temp_folders.make("monitor")
            own = project_dir / "target" / "manifest.json"
            path = own if own.is_file() else _parse(project_dir, scratch, warehouse_name)
            try:
                manifest = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise IncidentLabError(f"{path} is not a readable manifest.json ({exc}); run `dbt parse` "
                                       "to write it again.") from None
            _projects.clear()
            _projects[key] = cls(project_dir, manifest, scratch / warehouse_name)
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
        """The models ``dbt run --select <selector>`` builds (``all``: a run without --select), by ``dbt ls``."""
        if selector not in self._selections:
            select = [] if selector == WHOLE_PROJECT else ["--select", selector]
            result = self._dbt(["ls", "--resource-type", "model", "--output", "name", *select])
            if not result.success:
                raise IncidentLabError(f"dbt could not list the selector {selector!r}: {result.exception}")
            self._selections[selector] = frozenset(n.split(".")[-1] for n in result.result or [])
        return self._selections[selector]

    def compiled_sql(self, model: str, now: dt.datetime) -> str:
        """The SQL ``model`` would run now, compiled by dbt."""
        key = f"{model}@{now.isoformat()}"
        if key not in self._compiled:
            result = self._dbt(["compile", "--select", model], now=now)
            nodes = getattr(result.result, "results", None) or []
            if not result.success or not nodes:
                raise IncidentLabError(f"dbt could not compile {model}: {result.exception or 'no result'}")
            self._compiled[key] = nodes[0].node.compiled_code
        return self._compiled[key]

    def _dbt(self, args: list[str], now: dt.datetime | None = None):
        try:
            return invoke(args, warehouse=self._scratch, now=now or dt.datetime(2000, 1, 1), project=self.dir,
                          state=self._scratch.parent, write_json=False,
                          profiles=_profiles(self.dir, self._scratch.parent))
        except DbtError as exc:
            raise IncidentLabError(f"dbt failed on the project in {self.dir}: {getattr(exc, 'detail', exc)}") from None


def _profiles(project_dir: Path, scratch: Path) -> Path:
    """A profiles.yml in ``scratch``: the project's own target (schema, settings), its path the scratch warehouse.

    So dbt never opens the warehouse the monitor watches, yet compiles the same relation names.
    """
    spec = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    name = spec.get("profile", "default")
    target, output = "monitor", {"type": "duckdb", "threads": 1}
    own = project_dir / "profiles.yml"
    if own.is_file():
        profile = (yaml.safe_load(own.read_text(encoding="utf-8")) or {}).get(name) or {}
        outputs = profile.get("outputs") or {}
        target = str(profile["target"] if profile.get("target") in outputs else next(iter(outputs), target))
        output = dict(outputs.get(target) or output)
    output["path"] = "{{ env_var('INCIDENTLAB_WAREHOUSE') }}"
    (scratch / "profiles.yml").write_text(yaml.safe_dump({name: {"target": target, "outputs": {target: output}}}),
                                          encoding="utf-8")
    return scratch


def _parse(project_dir: Path, scratch: Path, warehouse_name: str) -> Path:
    """manifest.json of an in-process ``dbt parse`` (dbt_runner's, parsed once per process), in ``scratch``."""
    result = invoke(["parse"], warehouse=scratch / warehouse_name, now=dt.datetime(2000, 1, 1), project=project_dir,
                    state=scratch, profiles=_profiles(project_dir, scratch), write_json=False)
    if not result.success or result.result is None:
        raise IncidentLabError(f"dbt could not parse the project in {project_dir}: {result.exception}")
    path = scratch / "target" / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    result.result.write(str(path))
    return path
