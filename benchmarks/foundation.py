"""Timings of the course foundation, printed; run with `make bench` (about two minutes).

(a) a fresh setup: a new venv in a temporary folder, installed by the Makefile's own `install` target
    (pip installs uv, uv installs requirements.lock, then the project); uv's download cache is used if warm;
(b) the incident replay of every module, per stage, into a temporary folder;
(c) one dbt command in-process (warm: dbt imported, project parsed) against the `dbt` CLI in a subprocess, on the
    first module's incident warehouse;
(d) what a student waits for in a fresh kernel: the first cell (start, questions, plots) and the first `%dbt`,
    run at once and after 10 s of reading (dbt is imported and the project parsed in the background meanwhile),
    and at once in the first kernel ever on the project (no parse of it stored yet); with when the `%dbt`'s first
    line reaches the screen (a line that says what it waits for, when it has to wait).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from incidentlab.paths import WAREHOUSE_FILE, project_root

DBT_COMMAND = ["run", "--select", "marts.*"]  # the remediation: rebuild both marts
REPEATS_IN_PROCESS = 5
REPEATS_SUBPROCESS = 3


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def report(label: str, seconds: float, note: str = "") -> None:
    print(f"  {label:<44} {seconds:8.2f} s{'  ' + note if note else ''}", flush=True)


def base_python() -> str:
    """The interpreter the Makefile would create .venv from (not this venv's own python)."""
    return shutil.which("python3.11") or getattr(sys, "_base_executable", sys.executable)


def fresh_setup(scratch: Path) -> None:
    print("(a) fresh setup: make install into a new venv", flush=True)
    venv = scratch / "venv"
    command = ["make", "--no-print-directory", "-C", str(project_root()), "install", f"VENV={venv}",
               f"PYTHON={base_python()}"]
    seconds, done = timed(lambda: subprocess.run(command, capture_output=True, text=True))
    if done.returncode != 0:
        print(f"  failed (exit {done.returncode}):\n{done.stdout}{done.stderr}", flush=True)
        return
    packages = subprocess.run([str(venv / "bin" / "uv"), "pip", "list", "--python", str(venv / "bin" / "python")],
                              capture_output=True, text=True).stdout.count("\n") - 2
    report("venv + uv + requirements.lock + project", seconds, f"({packages} packages)")


def builds(scratch: Path) -> dict[str, Path]:
    from incidentlab.build import build

    print("(b) warehouse builds (replay of every audit-log run)", flush=True)
    seconds, _ = timed(lambda: __import__("dbt.cli.main"))
    report("import dbt (once per process)", seconds)
    from incidentlab.datasets import module_names, stage_names, variant_names

    built = {}
    for module in module_names():
        variants = variant_names(module)[:1]
        for stage, variant in [(stage, None) for stage in stage_names(module)] + [(stage_names(module)[0], v)
                                                                                for v in variants]:
            label = f"{module} {stage}" + (f"-{variant}" if variant else "")
            target = scratch / label.replace(" ", "_") / WAREHOUSE_FILE
            seconds, built[label] = timed(
                lambda module=module, stage=stage, target=target, variant=variant: build(module, stage, target,
                                                                                         variant=variant))
            report(label, seconds, "(parses the project: no parse stored yet)" if len(built) == 1 else "")
    return built


def in_process(warehouse: Path, now: dt.datetime, project: Path) -> list[float]:
    from incidentlab.dbt_runner import invoke

    invoke(DBT_COMMAND, warehouse=warehouse, now=now, project=project)  # warm-up: the manifest is cached
    return [timed(lambda: invoke(DBT_COMMAND, warehouse=warehouse, now=now, project=project))[0]
            for _ in range(REPEATS_IN_PROCESS)]


def subprocess_cli(warehouse: Path, now: dt.datetime, project: Path) -> list[float]:
    state = warehouse.parent / ".cli"
    command = [
        str(Path(sys.executable).with_name("dbt")), *DBT_COMMAND,
        "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(state / "target"), "--log-path", str(state / "logs"),
        "--no-send-anonymous-usage-stats", "--no-version-check", "--quiet",
        "--vars", json.dumps({"scenario_now": now.isoformat(sep=" ")}),
    ]
    env = {**os.environ, "INCIDENTLAB_WAREHOUSE": str(warehouse), "DO_NOT_TRACK": "1"}

    def once() -> None:
        subprocess.run(command, env=env, check=True, capture_output=True)

    return [timed(once)[0] for _ in range(REPEATS_SUBPROCESS)]


def dbt_invocations(module: str, stale: Path, scratch: Path) -> None:
    from incidentlab.datasets import load_scenario

    scenario = load_scenario(module)
    print(f"(c) one dbt command: dbt {' '.join(DBT_COMMAND)}, on copies of {module}'s {scenario.first_stage} "
          "warehouse", flush=True)
    copies = {}
    for name in ("in-process", "subprocess"):
        (scratch / name).mkdir()
        copies[name] = shutil.copyfile(stale, scratch / name / WAREHOUSE_FILE)
    inside = statistics.median(in_process(copies["in-process"], scenario.now, scenario.dbt_project))
    outside = statistics.median(subprocess_cli(copies["subprocess"], scenario.now, scenario.dbt_project))
    report(f"in-process, warm (median of {REPEATS_IN_PROCESS})", inside)
    report(f"dbt CLI subprocess (median of {REPEATS_SUBPROCESS})", outside)
    print(f"  {'ratio subprocess / in-process':<44} {outside / inside:8.1f} x", flush=True)


FIRST_CELLS = """
import sys, time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
module, reading, stored = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "stored"
if not stored:  # as the first kernel ever on this project: no parse of it stored yet
    from incidentlab import parsed_projects, temp_folders
    empty = temp_folders.make("bench-parses")
    parsed_projects.store = lambda: empty


class FirstLine:  # when the first character reaches the screen
    def __init__(self, stream):
        self.stream, self.at = stream, None

    def write(self, text):
        if self.at is None and text.strip():
            self.at = time.perf_counter()
        return self.stream.write(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)


started = time.perf_counter()
ip.run_cell(f'from incidentlab.notebook import start\\nlab = start("{module}")\\n'
            f'from incidentlab.exercises import load\\nex = load("{module}")\\nfrom incidentlab import plots')
first = time.perf_counter() - started
time.sleep(reading)
sys.stdout = screen = FirstLine(sys.stdout)
started = time.perf_counter()
ip.run_line_magic("dbt", "ls --select marts.*")
print(f"{first:.2f} {time.perf_counter() - started:.2f} {screen.at - started:.2f}", file=sys.stderr)
"""


def first_cells(module: str, warehouses: Path) -> None:
    print(f"(d) a fresh kernel on {module}: the first cell, then the first %dbt", flush=True)
    env = {**os.environ, "INCIDENTLAB_WAREHOUSES": str(warehouses)}
    for reading, stored in ((0, "stored"), (10, "stored"), (0, "not stored")):
        done = subprocess.run([sys.executable, "-c", FIRST_CELLS, module, str(reading), stored], env=env,
                              capture_output=True, text=True, check=True)
        cell, dbt, line = (float(x) for x in done.stderr.strip().splitlines()[-1].split())
        report("first cell", cell)
        report(f"first %dbt, {reading} s after it, parse {stored}", dbt,
               f"(its first line on screen after {line:.2f} s)")


def main() -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="incidentlab-bench-") as folder:
        scratch = Path(folder)
        fresh_setup(scratch)
        from incidentlab import parsed_projects

        parsed_projects.store = lambda: scratch / ".dbt-parsed"  # the builds start with no parse stored
        built = builds(scratch)
        from incidentlab.datasets import load_scenario, module_names

        first = module_names()[0]
        dbt_invocations(first, built[f"{first} {load_scenario(first).first_stage}"], scratch)
        from incidentlab.paths import warehouses_dir

        first_cells(first, warehouses_dir())  # the built ones: `make bench` builds them first
    print(f"total {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
