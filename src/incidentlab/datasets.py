"""A module's dataset: its scenario manifest and its raw CSV tables, read and checked line by line."""

from __future__ import annotations

import csv
import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from incidentlab.errors import DatasetError
from incidentlab.paths import dataset_dir, dbt_dir, hidden_variants_path, project_root

LOADED_AT = "_loaded_at"

_PARSERS = {
    "integer": int,
    "varchar": str,
    "date": dt.date.fromisoformat,
    "timestamp": dt.datetime.fromisoformat,
}


def _parser(sql_type: str):
    if sql_type.startswith("decimal"):
        return Decimal
    return _PARSERS[sql_type]


@dataclass
class Table:
    name: str
    primary_key: str
    columns: dict[str, str]  # column name -> DuckDB type
    rows: list[tuple] = field(default_factory=list)

    def index(self, column: str) -> int:
        return list(self.columns).index(column)

    def landed_by(self, moment: dt.datetime) -> list[tuple]:
        """The rows ingestion had loaded at ``moment``."""
        i = self.index(LOADED_AT)
        return [row for row in self.rows if row[i] <= moment]


@dataclass
class Scenario:
    module: str
    title: str
    now: dt.datetime
    dbt_project: Path
    audit_table: str
    remediation: list[list[str]]
    tables: dict[str, Table]
    variants: list[dict]  # the [[variants]] specs, in file order, then the hidden ones
    stages: tuple[str, ...] = ("incident",)  # the incident as found first; the last one has the fix applied
    study_selectors: tuple[str, ...] = ()  # listed in dbt's graph besides the audit log's and the remediation's
    fix_hours_before_now: float = 0.0  # the remediation of `--stage fixed` runs this long before `now`
    fix_minutes_apart: float = 0.0  # between consecutive remediation commands; the last one runs at fixed_at
    noticed_at: dt.datetime | None = None  # when a human noticed the incident (the monitor's replay compares)
    monitor_replay: dict = field(default_factory=dict)  # the project the monitor's replay runs before a deploy
    variant_name: str | None = None  # None for the incident itself
    dbt_overlay: Path | None = None  # files copied over the dbt project for this variant's build
    dbt_files: dict[str, str] = field(default_factory=dict)  # then these (path -> text), the variant's breaks
    variant_columns: dict = field(default_factory=dict)  # scenario.toml's [variant_columns]: what its edits name

    @property
    def fixed_at(self) -> dt.datetime:
        """When the remediation runs (its last command, when it has several)."""
        return self.now - dt.timedelta(hours=self.fix_hours_before_now)

    def remediation_steps(self) -> list[tuple[dt.datetime, list[str]]]:
        """(moment, dbt args) of each remediation command, ``fix_minutes_apart`` apart, the last at ``fixed_at``."""
        apart = dt.timedelta(minutes=self.fix_minutes_apart)
        last = len(self.remediation) - 1
        return [(self.fixed_at - (last - i) * apart, args) for i, args in enumerate(self.remediation)]

    @property
    def first_stage(self) -> str:
        return self.stages[0]

    def is_fixed(self, stage: str) -> bool:
        """Whether ``stage`` is the one with the remediation applied (the last, when there are several)."""
        return len(self.stages) > 1 and stage == self.stages[-1]

    def stage_overlay(self, stage: str) -> Path | None:
        """``dbt/<module>/stages/<stage>/``: files copied over the dbt project for that stage's remediation."""
        folder = dbt_dir(self.module) / "stages" / stage
        return folder if folder.is_dir() else None

    def check_stage(self, stage: str) -> str:
        if stage not in self.stages:
            raise DatasetError(f"{self.module} has no stage {stage!r}; its stages are {', '.join(self.stages)}.")
        return stage

    def runs(self) -> list[dict]:
        """The audit log, oldest run first, as dicts."""
        table = self.tables[self.audit_table]
        rows = sorted(table.rows, key=lambda r: r[table.index("run_date")])
        return [dict(zip(table.columns, row)) for row in rows]


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(project_root()))
    except ValueError:
        return str(path)


def read_table(path: Path, name: str, primary_key: str, columns: dict[str, str]) -> Table:
    """Read one CSV, checking its header, every field's type and the primary key's uniqueness."""
    where = _relative(path)
    if not path.is_file():
        raise DatasetError(f"{where}: file is missing. Restore it (git checkout -- {where}) and build again.")
    table = Table(name, primary_key, columns)
    parsers = [_parser(t) for t in columns.values()]
    seen: dict[object, int] = {}
    key_at = table.index(primary_key)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header != list(columns):
            raise DatasetError(
                f"{where}, line 1: the header must be {','.join(columns)}; found {','.join(header or []) or 'nothing'}."
            )
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue
            if len(fields) != len(columns):
                raise DatasetError(
                    f"{where}, line {line}: expected {len(columns)} fields, found {len(fields)}. "
                    "Check for a missing or extra comma, or an unquoted comma inside a value."
                )
            row: list[object] = []
            for value, (column, sql_type), parse in zip(fields, columns.items(), parsers):
                if value == "" and column not in (primary_key, LOADED_AT):
                    row.append(None)
                    continue
                try:
                    row.append(parse(value))
                except (ValueError, InvalidOperation):
                    raise DatasetError(
                        f"{where}, line {line}, column {column}: {value!r} is not a valid {sql_type}. Fix the value."
                    ) from None
            key = row[key_at]
            if key in seen:
                raise DatasetError(
                    f"{where}, line {line}: {primary_key} {key!r} already appears on line {seen[key]}; "
                    "keys must be unique."
                )
            seen[key] = line
            table.rows.append(tuple(row))
    return table


MANIFEST = "scenario.toml"


def module_names() -> list[str]:
    """The course's modules: every folder of datasets/ with a scenario manifest, by name."""
    folder = project_root() / "datasets"
    return sorted(p.name for p in folder.iterdir() if (p / MANIFEST).is_file()) if folder.is_dir() else []


def _manifest(module: str) -> dict:
    manifest = dataset_dir(module) / MANIFEST
    if not manifest.is_file():
        raise DatasetError(f"no module named {module!r} ({_relative(manifest)} is missing). "
                           f"Known: {', '.join(module_names()) or 'none'}.")
    where = _relative(manifest)
    try:
        spec = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DatasetError(f"{where}: {exc}") from None
    for key in ("title", "now", "audit_table", "tables"):
        if key not in spec:
            raise DatasetError(f"{where}: `{key}` is missing; see datasets/README.md for the manifest's fields.")
    stages = spec.get("stages", ["incident"])
    if (not isinstance(stages, list) or not 1 <= len(stages) <= 2 or len(set(stages)) != len(stages)
            or not all(isinstance(s, str) and _NAME.fullmatch(s) for s in stages)):
        raise DatasetError(f"{where}: `stages` lists one or two distinct names of lowercase letters, digits and _ "
                           f"(the incident as found, then the fixed state); found {stages!r}.")
    if len(stages) == 2 and not spec.get("remediation"):
        raise DatasetError(f"{where}: stage {stages[-1]!r} needs the `remediation` commands that fix the incident.")
    if not (dbt_dir(module) / "dbt_project.yml").is_file():
        raise DatasetError(f"{where}: module {module!r} has no dbt project ({_relative(dbt_dir(module))}/"
                           "dbt_project.yml is missing).")
    _check_variants(spec.get("variants", []), where)
    return spec


def stage_names(module: str) -> tuple[str, ...]:
    """``module``'s stages, the incident as found first."""
    return tuple(_manifest(module).get("stages", ["incident"]))


_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _check_variants(variants: list[dict], where: str) -> None:
    seen = set()
    for number, variant in enumerate(variants, start=1):
        name = variant.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise DatasetError(f"{where}: variant {number} needs a name of lowercase letters, digits and _; "
                               f"found {name!r}.")
        if name in seen:
            raise DatasetError(f"{where}: two variants are named {name!r}; names must be unique.")
        if not isinstance(variant.get("description"), str) or not variant["description"].strip():
            raise DatasetError(f"{where}: variant {name!r} needs a description.")
        seen.add(name)


def _hidden_variants(module: str) -> list[dict]:
    """The variants of ``grading/<module>/hidden_variants.toml`` (none when the file is absent, as in a student's
    install): grading builds and judges them; nothing a student reads describes them."""
    path = hidden_variants_path(module)
    if not path.is_file():
        return []
    try:
        variants = tomllib.loads(path.read_text(encoding="utf-8")).get("variants", [])
    except tomllib.TOMLDecodeError as exc:
        raise DatasetError(f"{_relative(path)}: {exc}") from None
    return [{**variant, "hidden": True} for variant in variants]


def _variants(module: str) -> list[dict]:
    """Every variant of ``module``: scenario.toml's, then the hidden ones; names unique across both."""
    variants = _manifest(module).get("variants", []) + _hidden_variants(module)
    _check_variants(variants, f"{_relative(dataset_dir(module) / MANIFEST)} (or "
                              f"{_relative(hidden_variants_path(module))})")
    return variants


def variant_names(module: str, hidden: bool = True) -> list[str]:
    """The names of ``module``'s variants, in the order of its scenario.toml, then the hidden ones (unless
    ``hidden`` is false)."""
    return [variant["name"] for variant in _variants(module) if hidden or not variant.get("hidden")]


def variant_spec(variants: list[dict], name: str, module: str) -> dict:
    """The spec of variant ``name``; an error naming the known ones if there is none."""
    for variant in variants:
        if variant["name"] == name:
            return variant
    known = ", ".join(v["name"] for v in variants) or "none"
    raise DatasetError(f"{module} has no variant named {name!r}. Known: {known}.")


def variant_description(module: str, name: str) -> str:
    """How variant ``name`` differs, as a phrase completing "on another version of the incident in which …"."""
    return variant_spec(_variants(module), name, module)["description"]


def load_scenario(module: str) -> Scenario:
    """The scenario manifest of ``module`` and all its tables, checked."""
    spec = _manifest(module)
    folder = dataset_dir(module)
    tables = {
        name: read_table(folder / f"{name}.csv", name, t["primary_key"], t["columns"])
        for name, t in spec["tables"].items()
    }
    return Scenario(
        module=module,
        title=spec["title"],
        now=spec["now"],
        dbt_project=dbt_dir(module),
        audit_table=spec["audit_table"],
        remediation=spec.get("remediation", []),
        tables=tables,
        variants=_variants(module),
        fix_hours_before_now=spec.get("fix_hours_before_now", 0.0),
        stages=tuple(spec.get("stages", ["incident"])),
        study_selectors=tuple(spec.get("study_selectors", [])),
        noticed_at=spec.get("noticed_at"),
        monitor_replay=spec.get("monitor_replay", {}),
        variant_columns=spec.get("variant_columns", {}),
    )
