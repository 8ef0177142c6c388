"""The monitor on ``rides`` (tests/monitor_rides.py), a dbt-duckdb project unlike the course's, with a real project's
traps: profiles in DBT_PROFILES_DIR with a non-main schema, a TIMESTAMPTZ refresh column, a git: package, no audit
table, a model without a unique test, --exclude and a selector that matches nothing.

Two incidents are staged on it with real dbt runs (its run_history package records them): green staging-only runs
that stop the marts, and a join moved into staging that fans the trips out. Expected values are computed from the
warehouse and the project, never typed in.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import duckdb
import monitor_rides as rides
import pytest

from incidentlab.cli import main


def _staged(tmp_path_factory, name: str, stage):
    root = tmp_path_factory.mktemp(name)
    project, profiles, warehouse = rides.write_project(root)
    with rides.profile_env(profiles, warehouse):
        stage(project, warehouse)
    return project, profiles, warehouse


@pytest.fixture(scope="module")
def stale(tmp_path_factory):
    return _staged(tmp_path_factory, "rides_stale", rides.stage_stale)


@pytest.fixture(scope="module")
def fan_out(tmp_path_factory):
    return _staged(tmp_path_factory, "rides_fan_out", rides.stage_fan_out)


def _run(capsys, target, *args: str) -> tuple[int, str, str]:
    project, profiles, warehouse = target
    with rides.profile_env(profiles, warehouse):
        code = main([*args, "--project-dir", str(project)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _findings(out: str) -> dict:
    return {(f["check"], f["subject"]): f for f in json.loads(out)["findings"]}


def _query(warehouse, sql: str):
    # dbt-duckdb, in this process, may still hold the file open read-write: a read-only connection is refused
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(sql).fetchall()


def test_the_stale_marts_incident_exits_2_and_names_the_marts(stale, capsys):
    project, _, warehouse = stale
    code, out, err = _run(capsys, stale, "monitor")  # no --warehouse: the profile's (DBT_PROFILES_DIR, prod)
    assert code == 2 and not err
    marts = sorted(name for (name,) in _query(warehouse, "select table_name from information_schema.tables "
                                              "where table_schema = 'analytics' and table_type = 'BASE TABLE' "
                                              "and table_name not like 'dbt_%'"))
    phantoms = _query(warehouse, "select invocation_id from analytics.dbt_invocations_history "
                                 "where command = 'run' order by started_at")
    assert marts and phantoms
    for mart in marts:
        assert mart in out
    assert "phantom success" in out and "dbt run --select staging --exclude stg_stations" in out

    code, out, _ = _run(capsys, stale, "monitor", "--format", "json")
    found = _findings(out)
    (tests,), = _query(warehouse, "select invocation_id from analytics.dbt_invocations_history where command = 'test'")
    assert not [key for key in found if key[1] == tests]  # dbt test built nothing, and is no phantom run
    assert {s for (c, s) in found if c == "run_coverage"} == {p for (p,) in phantoms}
    coverage = found[("run_coverage", phantoms[0][0])]
    assert coverage["verdict"] == "fail" and coverage["evidence"]["left_out"] == marts
    duration = found[("duration_anomaly", phantoms[0][0])]
    assert duration["verdict"] == "fail" and duration["evidence"]["measure"] in ("models_seconds", "models_executed")
    assert found[("selector_coverage", "--select staging --exclude stg_stations")]["verdict"] == "fail"
    assert not any(f["verdict"] == "fail" for (check, _), f in found.items() if check == "grain")

    blast = found[("blast_radius", "fct_trips")]["evidence"]
    (late, fares), = _query(warehouse, """
        select count(*), sum(fare) from ops_raw.trips
        where started_on > (select max(started_on) from analytics.fct_trips)""")
    (changed,), = _query(warehouse, """
        select count(*) from ops_raw.trips as t join analytics.fct_trips as f using (trip_id)
        where t.fare != f.fare""")
    assert (blast["missing_rows"], blast["missing_totals"]["fare"]) == (late, float(fares))
    assert late and changed and blast["changed_rows"] == changed
    # trips_by_day reads the fct_trips table as it stands: rebuilt now, it would not change until fct_trips does
    assert found[("blast_radius", "trips_by_day")]["evidence"]["changed_rows"] == 0


def test_staleness_reads_a_timestamptz_refresh_column_against_the_sla(stale, capsys):
    _, _, warehouse = stale
    (refreshed,) = _query(warehouse, "select max(loaded_at) from analytics.trips_by_day")[0]
    assert refreshed.tzinfo is not None  # TIMESTAMPTZ, as DuckDB's current_timestamp is
    local = refreshed.astimezone().replace(tzinfo=None)
    for hours, verdict in ((5, "ok"), (7, "fail")):  # its SLA is 6 hours
        now = (local + dt.timedelta(hours=hours)).isoformat()
        code, out, _ = _run(capsys, stale, "monitor", "--check", "staleness", "--now", now, "--json")
        finding = _findings(out)[("staleness", "trips_by_day")]
        assert finding["verdict"] == verdict and finding["evidence"]["refresh_source"] == "column loaded_at"


def test_a_manifest_written_for_another_target_is_not_read(stale, capsys):
    project, profiles, warehouse = stale
    with rides.profile_env(profiles, warehouse):
        rides.dbt(project, "parse", "--target", "dev")  # target/manifest.json now says schema main
    code, out, _ = _run(capsys, stale, "monitor", "--check", "staleness", "--json")
    found = _findings(out)
    assert {f["evidence"]["refresh_source"] for f in found.values()} == {"column loaded_at"}  # in analytics


def test_the_fan_out_exits_2_with_grain_row_counts_and_the_metric(fan_out, capsys):
    project, _, warehouse = fan_out
    code, out, _ = _run(capsys, fan_out, "monitor", "--json")
    assert code == 2
    found = _findings(out)
    rows, keys = _query(warehouse, "select count(*), count(distinct trip_id) from analytics.stg_trips")[0]
    assert rows > keys
    grain = found[("grain", "stg_trips")]  # no unique test: the key comes from the model's name
    assert grain["verdict"] == "fail"
    assert (grain["evidence"]["rows"], grain["evidence"]["distinct_keys"]) == (rows, keys)
    assert "inferred" in grain["evidence"]["key_source"]
    assert found[("grain", "fct_trips")]["verdict"] == "fail"
    counts = [n for (n,) in _query(warehouse, """
        select r.row_count from analytics.dbt_node_results_history as r
        join analytics.dbt_invocations_history as i using (invocation_id)
        where r.name = 'fct_trips' order by i.started_at""")]
    trend = found[("row_count", "fct_trips")]
    assert trend["verdict"] == "fail" and trend["evidence"]["rows"] == counts[-1]
    assert trend["evidence"]["ratio"] > 2
    assert found[("metric_jump", "trips_by_day (per run)")]["verdict"] == "fail"
    # the draft adds the unique test stg_trips lacks, not fct_trips's, and says the job never runs that one
    remediation = json.loads(out)["remediation"]
    assert "name: stg_trips" in remediation["tests"] and "fct_trips" not in remediation["tests"]
    assert any("`unique` is declared on fct_trips" in line and "use `dbt build`" in line
               for line in remediation["job"])
    code, out, _ = _run(capsys, fan_out, "lint")
    assert code == 2 and "stg_trips is a staging model and joins" in out


def test_coverage_passes_exclude_and_selectors_through_and_says_when_nothing_matches(stale, capsys):
    code, out, _ = _run(capsys, stale, "coverage", "--select", "+trips_by_day --exclude fct_trips", "--json")
    finding = next(iter(json.loads(out).values()))
    assert code == 2 and finding["evidence"]["excluded"] == ["fct_trips"]
    code, again, _ = _run(capsys, stale, "coverage", "--select", "+trips_by_day", "--exclude", "fct_trips", "--json")
    again = next(iter(json.loads(again).values()))
    same = ("message", "excluded", "selected_models")
    assert code == 2 and [{**again, **again["evidence"]}[k] for k in same] == [{**finding, **finding["evidence"]}[k]
                                                                             for k in same]

    code, out, _ = _run(capsys, stale, "coverage", "--select", "tag:nightly")
    assert code == 2 and "matches no model" in out
    code, out, _ = _run(capsys, stale, "coverage", "--selector", "marts_only")
    assert code == 0 and "covers all 2 marts" in out
    code, _, err = _run(capsys, stale, "coverage", "--selector", "no_such_selector")
    assert code == 3 and len(err.strip().splitlines()) == 1


def test_without_run_history_the_other_checks_run_and_history_checks_say_so(tmp_path, capsys):
    project, profiles, warehouse = rides.write_project(tmp_path)
    with rides.profile_env(profiles, warehouse):
        rides.dbt(project, "run", "--exclude", "package:incidentlab_run_history")  # the hook still records…
    with duckdb.connect(str(warehouse)) as con:  # …so drop it: a project with no history at all
        con.execute("drop table analytics.dbt_invocations_history")
        con.execute("drop table analytics.dbt_node_results_history")
    code, out, _ = _run(capsys, (project, profiles, warehouse), "monitor", "--json")
    found = _findings(out)
    assert {f["verdict"] for (c, _), f in found.items() if c in ("duration_anomaly", "run_coverage", "row_count")} \
        == {"skip"}
    assert found[("grain", "stg_trips")]["verdict"] == "ok" and found[("staleness", "fct_trips")]["verdict"] == "ok"
    assert code == 0

    code, out, _ = _run(capsys, (project, profiles, warehouse), "monitor", "--check", "row_count")
    assert code == 3 and "not checked" in out  # nothing could be checked


def test_the_monitor_never_runs_dbt_deps(tmp_path, capsys):
    project, profiles, warehouse = rides.write_project(tmp_path)
    shutil.rmtree(project / "dbt_packages" / rides.GIT_PACKAGE)
    code, _, err = _run(capsys, (project, profiles, warehouse), "monitor")
    assert code == 3 and rides.GIT_PACKAGE in err and "dbt deps" in err and len(err.strip().splitlines()) == 1
    assert not (project / "dbt_packages" / rides.GIT_PACKAGE).exists()


def test_a_broken_check_is_one_error_line_and_the_others_run(stale, capsys, monkeypatch):
    from incidentlab.monitor import checks

    def broken(ctx):
        raise ZeroDivisionError("division by zero\nin a second line")

    monkeypatch.setitem(checks.CHECKS, "grain", broken)
    code, out, _ = _run(capsys, stale, "monitor", "--json")
    found = _findings(out)
    assert found[("grain", "check")]["verdict"] == "error"
    assert found[("grain", "check")]["message"] == "grain could not run: ZeroDivisionError: division by zero"
    assert code == 2 and found[("staleness", "fct_trips")]["verdict"] == "ok"


def _copy(staged, tmp_path, name: str = "rides_prod.duckdb"):
    """A copy of a staged warehouse in ``tmp_path`` under ``name``, to change without touching the fixture's."""
    copy = tmp_path / name
    _query(staged[2], "checkpoint")  # dbt, in this process, may hold it open with changes still in its WAL
    shutil.copyfile(staged[2], copy)
    return copy


def test_seconds_of_noise_in_models_time_are_no_duration_anomaly(fan_out, capsys, tmp_path):
    # jaffle_shop_duckdb: its models take about a second, and a busy machine doubles it on a healthy run
    copy = _copy(fan_out, tmp_path)
    with duckdb.connect(str(copy)) as con:
        runs = [r for (r,) in con.execute("select invocation_id from analytics.dbt_invocations_history "
                                          "where command = 'run' order by started_at").fetchall()]
        healthy = runs[3]  # the fourth full run: three before it make its baseline
        con.execute("update analytics.dbt_node_results_history set execution_seconds = execution_seconds * 3 + 1 "
                    "where invocation_id = ?", [healthy])
        (seconds,), = con.execute("select sum(execution_seconds) from analytics.dbt_node_results_history "
                                  "where invocation_id = ? and resource_type = 'model'", [healthy]).fetchall()
    assert seconds < 10
    code, out, _ = _run(capsys, fan_out, "monitor", "--json", "--warehouse", str(copy))
    assert ("duration_anomaly", healthy) not in _findings(out)


def test_a_row_the_stale_mart_holds_is_changed_in_place_not_missing(stale, capsys, tmp_path):
    # jaffle_shop_duckdb's customers: a customer with no order yet is a row, its first order's date null; once
    # the order lands, the rebuild dates the row past the mart's newest date, yet the row is not missing
    copy = _copy(stale, tmp_path)
    with duckdb.connect(str(copy)) as con:
        (held,), = con.execute("select max(trip_id) from ops_raw.trips").fetchall()
        con.execute("insert into analytics.fct_trips (trip_id, started_on, fare, city) values (?, null, null, null)",
                    [held])
    code, out, _ = _run(capsys, stale, "monitor", "--json", "--warehouse", str(copy))
    before = _findings(_run(capsys, stale, "monitor", "--json")[1])[("blast_radius", "fct_trips")]["evidence"]
    blast = _findings(out)[("blast_radius", "fct_trips")]["evidence"]
    assert blast["key"] == "trip_id"
    assert blast["missing_rows"] == before["missing_rows"] - 1
    assert blast["changed_rows"] == before["changed_rows"] + 1


def test_a_copy_of_the_warehouse_under_another_name_says_what_to_do(stale, capsys, tmp_path):
    copy = _copy(stale, tmp_path, "snapshot.duckdb")
    code, out, err = _run(capsys, stale, "monitor", "--warehouse", str(copy))
    line = next(line for line in out.splitlines() if "grain could not run" in line)
    assert 'read catalog "rides_prod"' in line and "open rides_prod.duckdb" in line
    assert code == 2 and "phantom success" in out  # the history checks still ran


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_markdown_and_a_slack_webhook(stale, capsys):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        code, out, _ = _run(capsys, stale, "monitor", "--format", "markdown", "--webhook", url)
        thread.join(10)
    finally:
        server.server_close()
    assert code == 2 and out.startswith("### incidentlab monitor: ") and "| run_coverage |" in out
    (content_type, payload), = _Hook.received
    assert content_type == "application/json" and payload["text"].startswith("incidentlab monitor: FAIL")
    assert payload["blocks"][0]["type"] == "header" and "phantom success" in json.dumps(payload["blocks"])

    code, out, err = _run(capsys, stale, "monitor", "--webhook", url)  # the server is gone: the report stands
    assert code == 2 and out and len(err.strip().splitlines()) == 1 and "not delivered" in err


def test_replay_on_the_project_from_its_own_history(stale, capsys):
    _, _, warehouse = stale
    first_phantom, ended = _query(warehouse, "select invocation_id, ended_at from analytics.dbt_invocations_history "
                                             "where command = 'run' order by started_at limit 1")[0]
    noticed = ended.astimezone().replace(tzinfo=None) + dt.timedelta(hours=30)
    code, out, _ = _run(capsys, stale, "monitor", "--replay", "--noticed-at", noticed.isoformat(), "--json")
    replay = json.loads(out)
    assert code == 0
    for check in ("duration_anomaly", "run_coverage"):
        assert replay["checks"][check]["run_id"] == first_phantom
        assert replay["checks"][check]["hours_gained"] >= 30
    defaults = [r for r in replay["duration_sensitivity"] if r["default"]]
    assert len(defaults) == 1 and defaults[0]["run_id"] == first_phantom
    assert {r["trailing_runs"] for r in replay["duration_sensitivity"]} == {3, 5, 10}
    # in text, each time says which way it lies from the moment noticed (a "+30.0 h" read as 30 hours late)
    code, out, _ = _run(capsys, stale, "monitor", "--replay", "--noticed-at", noticed.isoformat())
    line = next(line for line in out.splitlines() if line.strip().startswith("run_coverage"))
    hours = replay["checks"]["run_coverage"]["hours_gained"]
    assert f"{hours:.1f} h before it was noticed" in line and first_phantom in line and "+" not in line
