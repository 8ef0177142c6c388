"""``incidentlab lint`` on WT-05's project: PR #212's buggy stage fails before its first run, the fixed stage passes."""

from __future__ import annotations

import json

import pytest

from incidentlab.build import stage_project
from incidentlab.cli import main
from incidentlab.datasets import load_scenario

WT05 = "wt05_fan_out"


@pytest.mark.parametrize("stage_index", [0, -1])
def test_lint_fails_the_buggy_project_and_passes_the_fixed_one(stage_index, tmp_path, capsys):
    scenario = load_scenario(WT05)
    project = stage_project(scenario, scenario.stages[stage_index], None, tmp_path / "dbt")
    assert not (project / "target").exists()  # from the project alone, before any run
    code = main(["lint", "--project-dir", str(project), "--format", "json"])
    out, err = capsys.readouterr()
    findings = json.loads(out)
    if stage_index == 0:
        joins = [m for m in (project / "models" / "staging").glob("*.sql") if " join " in m.read_text().lower()]
        assert joins and code == 2 and not err
        flagged = {f["subject"] for f in findings if f["evidence"].get("rule") == "staging_joins"}
        assert flagged == {m.stem for m in joins}
    else:
        assert code == 0 and [f["verdict"] for f in findings] == ["ok"], out


def test_lint_rules_each_name_the_model(tmp_path, capsys):
    """A mart without an SLA and a join without a grain test, on a copy of the fixed project."""
    scenario = load_scenario(WT05)
    project = stage_project(scenario, scenario.stages[-1], None, tmp_path / "dbt")
    marts = project / "models" / "marts" / "marts.yml"
    marts.write_text(marts.read_text().replace("sla_hours: 26}", "}").replace("[unique, not_null]", "[not_null]")
                     .replace('grain: "one row per order", ', ""), encoding="utf-8")
    code = main(["lint", "--project-dir", str(project)])
    out = capsys.readouterr().out
    assert code == 2
    assert "fct_orders is a mart without a freshness SLA" in out
    assert "fct_orders joins but has no unique or grain test" in out
