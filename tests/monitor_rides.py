"""``rides``: a dbt-duckdb project unlike the course's, built by real dbt in the tests, with every trap of a real one.

Its profile lives outside the project (``DBT_PROFILES_DIR``), its target ``prod`` writes to schema ``analytics``
(not ``main``), its marts stamp ``loaded_at`` with DuckDB's ``current_timestamp`` (a TIMESTAMPTZ), its
packages.yml lists a ``git:`` package (installed in dbt_packages/, as ``dbt deps`` left it) and the course's
run_history package, ``selectors.yml`` has a selector, there is no audit table, and ``stg_trips`` declares no
``unique`` test (``fct_trips`` does, which the job's ``dbt run`` never runs). ``stage_stale`` and
``stage_fan_out`` stage the two incidents on it with real dbt runs.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import duckdb

from incidentlab.paths import project_root

GIT_PACKAGE = "bike_utils"  # what the git: entry installed, per package-lock.yml
FILES = {
    "dbt_project.yml": """\
name: rides
version: "2.1.0"
config-version: 2
profile: rides
models:
  rides:
    staging:
      +materialized: view
    marts:
      +materialized: table
""",
    "packages.yml": f"""\
packages:
  - git: "https://example.invalid/acme-bikes/bike_utils.git"
    revision: "0.3.1"
  - local: "{project_root() / 'dbt' / 'run_history'}"
""",
    "package-lock.yml": f"""\
packages:
  - git: "https://example.invalid/acme-bikes/bike_utils.git"
    revision: 0f3c2b1a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b
    name: {GIT_PACKAGE}
  - local: "{project_root() / 'dbt' / 'run_history'}"
    name: incidentlab_run_history
sha1_hash: 0000000000000000000000000000000000000000
""",
    "selectors.yml": """\
selectors:
  - name: marts_only
    definition: {method: path, value: models/marts}
""",
    "models/staging/_sources.yml": """\
version: 2
sources:
  - name: ops
    schema: ops_raw
    tables: [{name: trips}, {name: trip_legs}, {name: stations}]
""",
    "models/staging/stg_trips.sql": """\
with

trips as (

    select * from {{ source('ops', 'trips') }}

),

final as (

    select trip_id, station_id, started_on, fare from trips

)

select * from final
""",
    "models/staging/stg_stations.sql": """\
with

stations as (

    select * from {{ source('ops', 'stations') }}

),

final as (

    select station_id, city from stations

)

select * from final
""",
    "models/marts/_marts.yml": """\
version: 2
models:
  - name: fct_trips
    config:
      meta: {sla_hours: 6}
    columns:
      - name: trip_id
        data_tests: [unique]
  - name: trips_by_day
    config:
      meta: {sla_hours: 6, monitor_metric: revenue}
    columns:
      - name: started_on
        data_tests: [unique]
""",
    "models/marts/fct_trips.sql": """\
with

trips as (

    select * from {{ ref('stg_trips') }}

),

stations as (

    select * from {{ ref('stg_stations') }}

),

final as (

    select trips.trip_id, trips.started_on, trips.fare, stations.city, current_timestamp as loaded_at
    from trips
    left join stations on stations.station_id = trips.station_id

)

select * from final
""",
    "models/marts/trips_by_day.sql": """\
with

trips as (

    select * from {{ ref('fct_trips') }}

),

final as (

    select started_on, count(*) as trips, sum(fare) as revenue, max(loaded_at) as loaded_at
    from trips
    group by started_on

)

select * from final
""",
}
# The fan-out: a change that joins each trip's legs inside staging (one row per leg, the fare on each).
FAN_OUT_STG_TRIPS = """\
with

trips as (

    select * from {{ source('ops', 'trips') }}

),

legs as (

    select * from {{ source('ops', 'trip_legs') }}

),

final as (

    select trips.trip_id, trips.station_id, trips.started_on, trips.fare, legs.leg_no
    from trips
    join legs on legs.trip_id = trips.trip_id

)

select * from final
"""
DAYS = 6  # days of trips; a trip has 3 legs


def write_files(project: Path, files: dict[str, str]) -> None:
    """Each of ``files`` (path in the project: text) written under ``project``."""
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")


def write_project(root: Path) -> tuple[Path, Path, Path]:
    """(project dir, profiles dir, warehouse) of a fresh ``rides`` project under ``root``, raw data loaded."""
    project, profiles, warehouse = root / "rides", root / "dot-dbt", root / "data" / "rides_prod.duckdb"
    write_files(project, FILES)
    installed = project / "dbt_packages" / GIT_PACKAGE  # as `dbt deps` left it; the monitor must not run it
    (installed / "macros").mkdir(parents=True)
    (installed / "dbt_project.yml").write_text(f"name: {GIT_PACKAGE}\nversion: '0.3.1'\nconfig-version: 2\n")
    shutil.copytree(project_root() / "dbt" / "run_history", project / "dbt_packages" / "incidentlab_run_history")
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(
        "rides:\n  target: prod\n  outputs:\n"
        "    dev:\n      type: duckdb\n      path: dev.duckdb\n"
        "    prod:\n      type: duckdb\n      path: \"{{ env_var('RIDES_DATA') }}/rides_prod.duckdb\"\n"
        "      schema: analytics\n      threads: 2\n", encoding="utf-8")
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema ops_raw")
        con.execute("create table ops_raw.stations as select * from (values (1, 'Lyon'), (2, 'Nantes')) "
                    "as t(station_id, city)")
        con.execute("create table ops_raw.trips (trip_id integer, station_id integer, started_on date, "
                    "fare decimal(8, 2))")
        con.execute("create table ops_raw.trip_legs (trip_id integer, leg_no integer)")
        land_day(con, 0)
    return project, profiles, warehouse


def land_day(con, day: int) -> None:
    """Ingestion lands day ``day``'s trips (4 + day of them, fares 5..) and their 3 legs each."""
    first = con.execute("select coalesce(max(trip_id), 0) from ops_raw.trips").fetchone()[0]
    con.execute(f"""insert into ops_raw.trips
        select {first} + 1 + i, 1 + i % 2, date '2026-03-01' + {day}, 5 + i from range(4 + {day}) as r(i)""")
    con.execute(f"""insert into ops_raw.trip_legs
        select {first} + 1 + i, leg from range(4 + {day}) as r(i), range(3) as l(leg)""")


@contextmanager
def profile_env(profiles: Path, warehouse: Path):
    """DBT_PROFILES_DIR and the profile's env var, as the user's shell would set them."""
    old = {k: os.environ.get(k) for k in ("DBT_PROFILES_DIR", "RIDES_DATA")}
    os.environ.update(DBT_PROFILES_DIR=str(profiles), RIDES_DATA=str(warehouse.parent))
    try:
        yield
    finally:
        for key, value in old.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def dbt(project: Path, *args: str) -> None:
    """``dbt <args>`` in-process as the user runs it (profiles from DBT_PROFILES_DIR); it must succeed."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([*args, "--project-dir", str(project), "--no-send-anonymous-usage-stats",
                                 "--log-level", "none", "--no-use-colors"])
    assert result.success, f"dbt {' '.join(args)}: {result.exception}"


def stage_stale(project: Path, warehouse: Path) -> None:
    """Three full days (``dbt build``), then three days of green staging-only runs: the marts stop (a ``dbt test``
    after them builds nothing, and is no run of the job). The source then corrects the fare of the first trip in
    place, which no mart shows either."""
    for day in range(DAYS):
        if day:
            with duckdb.connect(str(warehouse)) as con:
                land_day(con, day)
        dbt(project, "build") if day < 3 else dbt(project, "run", "--select", "staging", "--exclude", "stg_stations")
    dbt(project, "test")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update ops_raw.trips set fare = fare + 1 where trip_id = 1")


def stage_fan_out(project: Path, warehouse: Path) -> None:
    """Five full days, then the change that joins the legs inside stg_trips, deployed and run."""
    for day in range(DAYS):
        if day:
            with duckdb.connect(str(warehouse)) as con:
                land_day(con, day)
        if day == DAYS - 1:
            (project / "models" / "staging" / "stg_trips.sql").write_text(FAN_OUT_STG_TRIPS, encoding="utf-8")
        dbt(project, "run")
