"""``incidentlab lint``: static rules on a dbt project's manifest, for CI before a deploy (no warehouse needed).

The rules are the postmortems' (WT-05: "staging never joins", a join needs a grain test; WT-06: a mart needs a
freshness SLA). Each violation is a ``fail`` finding naming the model and what to do.
"""

from __future__ import annotations

import re

from incidentlab.monitor.finding import Finding
from incidentlab.monitor.project import DbtProject

NAME = "lint"
STAGING_FOLDER = "staging"
JOIN = re.compile(r"\bjoin\b", re.IGNORECASE)
COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/|\{#.*?#\}", re.DOTALL)


def is_staging(project: DbtProject, model: str) -> bool:
    node = project.models[model]
    return STAGING_FOLDER in node["fqn"][1:-1] or model.startswith("stg_")


def has_join(project: DbtProject, model: str) -> bool:
    return bool(JOIN.search(COMMENTS.sub("", project.models[model].get("raw_code") or "")))


def _inputs(project: DbtProject, model: str) -> list[str]:
    """The models and sources ``model`` reads, by name."""
    names = []
    for uid in project.models[model].get("depends_on", {}).get("nodes", []):
        kind, *_, name = uid.split(".")
        if kind in ("model", "source", "seed", "snapshot"):
            names.append(name)
    return names


def _grain_tested(project: DbtProject, model: str) -> bool:
    """A ``unique`` test, ``meta.grain``, or a test of the model named for its grain or uniqueness."""
    if project.unique_keys(model) or project.meta(model).get("grain"):
        return True
    uid = project.models[model]["unique_id"]
    for node in project.manifest["nodes"].values():
        if node["resource_type"] == "test" and uid in node.get("depends_on", {}).get("nodes", []):
            name = ((node.get("test_metadata") or {}).get("name") or node["name"]).lower()
            if "grain" in name or "unique" in name:
                return True
    return False


def _freshness_sla(project: DbtProject, model: str) -> bool:
    return project.meta(model).get("sla_hours") is not None or project.freshness_source(model) is not None


def lint(project: DbtProject) -> list[Finding]:
    """Every rule on every model of the project; one ``ok`` finding when nothing is wrong."""
    findings = []
    for model in sorted(project.models):
        inputs = _inputs(project, model)
        if is_staging(project, model):
            if has_join(project, model):
                findings.append(Finding(NAME, model, "fail", f"{model} is a staging model and joins: staging "
                                        "models clean one source; move the join into a mart, aggregated to its "
                                        "grain first.", {"rule": "staging_joins"}))
            elif len(inputs) > 1:
                findings.append(Finding(NAME, model, "fail", f"{model} is a staging model with {len(inputs)} "
                                        f"parents ({', '.join(inputs)}): staging models read one source.",
                                        {"rule": "staging_parents", "parents": inputs}))
        if has_join(project, model) and not _grain_tested(project, model):
            findings.append(Finding(NAME, model, "fail", f"{model} joins but has no unique or grain test: add "
                                    "`data_tests: [unique]` on its key (or meta.grain) so a fan-out fails the build.",
                                    {"rule": "join_without_grain_test"}))
    for mart in project.marts:
        if not _freshness_sla(project, mart):
            findings.append(Finding(NAME, mart, "fail", f"{mart} is a mart without a freshness SLA: add "
                                    "meta.sla_hours, or declare it as a source with a freshness.",
                                    {"rule": "mart_without_sla"}))
    if not findings:
        findings.append(Finding(NAME, "project", "ok", f"{len(project.models)} models pass every rule "
                                "(staging never joins, joins have a grain test, marts have an SLA)."))
    return findings
