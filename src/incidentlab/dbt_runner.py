"""dbt, invoked in-process: fast, and it shares the process's DuckDB instance instead of fighting its lock."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from incidentlab import parsed_projects
from incidentlab.errors import DbtError

os.environ.setdefault("DO_NOT_TRACK", "1")  # dbt's anonymous usage statistics would need the network


@contextmanager
def _env(name: str, value: str):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _dbt_runner():
    """dbt's ``dbtRunner`` class, imported on first use: importing dbt takes a couple of seconds."""
    if "jsonschema" not in sys.modules:
        # dbt imports jsonschema, which builds the grammar of its optional IRI format checker (rfc3987-syntax,
        # there for Jupyter's own packages) on import: over a second of a kernel's first %dbt. dbt never checks
        # an IRI; a None entry makes that optional import fail, so jsonschema leaves the checker out.
        sys.modules.setdefault("rfc3987_syntax", None)
    from dbt.cli.main import dbtRunner

    return dbtRunner


_SOURCE_DIRS = ("models", "macros", "tests", "analyses", "snapshots", "seeds")
_manifests: dict[tuple, object] = {}


def project_version(project: Path) -> tuple:
    """Changes whenever a file of the dbt project does, so an edited model is parsed again (the monitor keys its
    loaded projects on it too)."""
    files = [project / "dbt_project.yml"]
    for name in _SOURCE_DIRS:
        files += sorted(p for p in (project / name).rglob("*") if p.is_file())
    return (str(project),) + tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)


def _manifest(project: Path, warehouse: Path, state: Path, profiles: Path | None = None):
    """The parsed project, parsed once per process and version of the files.

    Passing it to dbtRunner skips parsing: ~0.2 s a command instead of ~1 s, since a new
    scenario_now var would otherwise force a full re-parse every time.

    The parse keeps its own target folder per project: dbt keeps what it parsed (partial_parse.msgpack) there and
    next time reparses only the files that differ. One warehouse is worked on by more than one project (the
    incident's, then the fixed one): from another project's state, a partial parse can miss a model added with
    the unit test that reads it.
    """
    key = project_version(project)
    if key not in _manifests:
        target = state / "parsed" / _project_id(project)
        stored = parsed_projects.key(project, profiles or project, warehouse.name)
        manifest = parsed_projects.load(stored, target)
        if manifest is None:
            # Parsing never opens the warehouse. dbt's saved parse is valid only for the profile it was made with:
            # parsed with one path for every copy of the warehouse, it serves them all.
            with _env("INCIDENTLAB_WAREHOUSE", f"/incidentlab-parsing/{warehouse.name}"):
                result = _dbt_runner()().invoke(["parse", *_common(project, state, profiles, target)])
            if not result.success:
                error = DbtError(f"dbt could not parse the project in {project}: {result.exception}")
                error.detail = str(result.exception).strip()  # dbt's own words, without the project's path
                raise error
            parsed_projects.save(stored, target)
            manifest = result.result
        _manifests.clear()
        _manifests[key] = manifest
    return _manifests[key]


def _project_id(project: Path) -> str:
    """A name for ``project``'s folder, for files and folders kept per project."""
    import hashlib

    return hashlib.sha1(str(project.resolve()).encode()).hexdigest()[:16]


def _missing_packages(project: Path) -> list[str]:
    """The local packages of ``project``'s packages.yml that dbt has not installed into dbt_packages/ yet."""
    import yaml  # dbt's own dependency

    listed = project / "packages.yml"
    if not listed.is_file():
        return []
    entries = (yaml.safe_load(listed.read_text(encoding="utf-8")) or {}).get("packages") or []
    missing = []
    for entry in entries:
        if "local" not in entry:
            continue  # a hub or git package: `dbt deps` installs it with the network, never this module
        source = (project / entry.get("local", "")).resolve()
        spec = yaml.safe_load((source / "dbt_project.yml").read_text(encoding="utf-8"))
        name = spec.get("name")
        if not (project / "dbt_packages" / name).exists():
            missing.append(name)
    return missing


_installed: set[Path] = set()  # projects whose packages this process has seen installed


def ensure_packages(project: Path) -> None:
    """``dbt deps`` for ``project`` when a package it lists (the scenario clock) is not installed yet."""
    import fcntl

    if project in _installed:
        return
    if not _missing_packages(project):
        _installed.add(project)
        return
    dbtRunner = _dbt_runner()
    # Builds in parallel processes share the module's project: they take turns on a lock of the project's folder
    # itself (no lock file to leave behind), released when the folder is closed, however the process ends.
    lock = os.open(project, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _missing_packages(project):
            return
        result = dbtRunner().invoke(["deps", "--project-dir", str(project), "--profiles-dir", str(project),
                                     "--no-send-anonymous-usage-stats", "--no-version-check", "--log-level", "none"])
        if not result.success or _missing_packages(project):
            raise DbtError(f"`dbt deps` could not install the packages of {project}: {result.exception}")
    finally:
        os.close(lock)


# One dbt command at a time per process: commands share os.environ (the warehouse's path) and the parsed project.
_ONE_AT_A_TIME = threading.RLock()


def _common(project: Path, state: Path, profiles: Path | None = None, target: Path | None = None) -> list[str]:
    return [
        "--project-dir", str(project),
        "--profiles-dir", str(profiles or project),
        "--target-path", str(target or state / "target"),
        "--log-path", str(state / "logs"),
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
        "--no-use-colors",
        "--log-level", "none",
    ]


def warm_up(project: Path, warehouse: Path) -> threading.Thread:
    """Import dbt and parse ``project`` in the background, so a notebook's first ``%dbt`` does not wait for them.

    Silent: a problem with the project is reported by the first real command instead.
    """
    def work() -> None:
        try:
            with _ONE_AT_A_TIME:
                ensure_packages(project)
                with _env("INCIDENTLAB_WAREHOUSE", str(warehouse)):
                    manifest = _manifest(project, warehouse, state_dir(warehouse))
                    # dbt's first command in a process sets up its adapter and imports its tasks: done here too
                    _dbt_runner()(manifest=manifest).invoke(["ls", "--select", "path:nothing-at-all",
                                                             *_common(project, state_dir(warehouse))])
        except Exception:  # noqa: BLE001 (the first %dbt raises it with a clear message)
            pass

    thread = threading.Thread(target=work, name="incidentlab-dbt-warm-up", daemon=True)
    thread.start()
    return thread


def is_parsed(project: Path) -> bool:
    """Whether this process holds the parse of ``project``'s files as they are now."""
    return project_version(project) in _manifests


def forget_parses() -> None:
    """Drop this process's parses, as a new kernel starts (a stored parse may still be loaded)."""
    _manifests.clear()


def waiting_for(project: Path) -> str | None:
    """What a command on ``project`` would wait for before dbt starts on it, in a line for the student; None when
    it starts at once (dbt imported, these files of the project parsed, no other dbt command running)."""
    if "dbt.cli.main" not in sys.modules or not _manifests:
        return "Starting dbt in this kernel (the first command takes a few seconds)…"
    if not is_parsed(project):
        return "dbt is reading the project (new or changed files)…"
    if not _ONE_AT_A_TIME.acquire(blocking=False):
        return "Waiting for dbt to finish reading the project…"
    _ONE_AT_A_TIME.release()
    return None


def state_dir(warehouse: Path) -> Path:
    """dbt's target/ and logs/ for one warehouse, beside it, so parallel graders never share them."""
    return warehouse.parent / f".{warehouse.name}.dbt"


def invoke(
    args: list[str],
    *,
    warehouse: Path,
    now: dt.datetime,
    project: Path,
    quiet: bool = True,  # False: let dbt print its own log lines
    state: Path | None = None,
    write_json: bool = True,  # False: no manifest.json and run_results.json in target/ (the replay needs none)
    profiles: Path | None = None,  # the folder of profiles.yml, when it is not the project's own
):
    """Run ``dbt <args>`` on ``warehouse`` with the scenario clock at ``now``; return dbt's result object.

    A dbt command that runs but reports failures (a failing test, a stale source) returns normally with
    ``result.success`` false; only a crash (bad project, bad SQL, unreachable warehouse) raises DbtError.
    """
    dbtRunner = _dbt_runner()
    state = state or state_dir(warehouse)
    common = _common(project, state, profiles)
    clock = ["--vars", json.dumps({"scenario_now": now.isoformat(sep=" ")})]
    with _ONE_AT_A_TIME:
        ensure_packages(project)
        with _env("INCIDENTLAB_WAREHOUSE", str(warehouse)):
            manifest = _manifest(project, warehouse, state, profiles)
            full = [*args, *(common if quiet else common[:-2]), *clock, *([] if write_json else ["--no-write-json"])]
            result = dbtRunner(manifest=manifest).invoke(full)
    if result.exception is not None:
        error = DbtError(f"`dbt {' '.join(args)}` crashed on {warehouse}: {result.exception}")
        error.detail = str(result.exception).strip()  # dbt's own words, without the warehouse's path
        raise error
    return result


def failures(result) -> list[str]:
    """The messages of the nodes that did not pass, for error reports."""
    out = []
    for node in getattr(result.result, "results", None) or []:
        status = str(getattr(node, "status", ""))
        if status.lower() not in {"success", "pass"}:
            name = getattr(getattr(node, "node", None), "name", "?")
            out.append(f"{name}: {status} {getattr(node, 'message', '') or ''}".strip())
    return out
