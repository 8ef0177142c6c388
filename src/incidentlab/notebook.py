"""What a notebook's first cell calls: a private copy of the warehouse, ``%sql`` on it, and dbt in-process.

    from incidentlab.notebook import start
    lab = start("wt06_data_stale")      # the incident as it stood on Monday 09:00
    %dbt run --select marts.*           # dbt, in this kernel, on this copy
    lab.reset()                         # back to the incident state

Every kernel works on its own copy, in a folder of its own, so nothing a notebook does (a remediation run, a
dropped table) reaches the built warehouses, another notebook or another student.
"""

from __future__ import annotations

import atexit
import datetime as dt
import difflib
import re
import shlex
import shutil
import sys
import tempfile
import warnings
from functools import cached_property
from pathlib import Path

import duckdb

from incidentlab.dbt_runner import invoke
from incidentlab.errors import DbtError
from incidentlab.paths import warehouse_path

SQL_ALIAS = "acme"
_CONNECTION_NAME = "_incidentlab_connection"


def quiet_warnings() -> None:
    """Library warnings on stderr would read as failures in a graded cell; students need none of them."""
    warnings.filterwarnings("ignore")


class Lab:
    """One kernel's private warehouse for a module, with SQL magics and dbt on it."""

    def __init__(self, module: str, stage: str = "stale", variant: str | None = None):
        self.module = module
        self.variant = variant
        self.stage = stage
        self.last = None  # the last dbt result
        self._folders: list[Path] = []
        self.con: duckdb.DuckDBPyConnection | None = None
        self._open(stage)
        atexit.register(self.close)

    # -- the warehouse --------------------------------------------------------------------------------
    def _open(self, stage: str) -> None:
        pristine = warehouse_path(self.module, stage, self.variant)
        if not pristine.exists():
            from incidentlab.build import build

            print(f"Building the {stage} warehouse once (a few seconds)...")
            build(self.module, stage, variant=self.variant)
        # A new folder every time: dbt-duckdb may keep the previous file open, so it is never overwritten.
        folder = Path(tempfile.mkdtemp(prefix=f"incidentlab-{self.module}-"))
        self._folders.append(folder)
        self.path = folder / pristine.name
        shutil.copyfile(pristine, self.path)
        self.stage = stage
        self.con = duckdb.connect(str(self.path))
        self._connect_magics()

    def _connect_magics(self) -> None:
        ip = _ipython()
        if ip is None:
            return
        if "sql" not in ip.extension_manager.loaded:
            from IPython.utils.capture import capture_output

            with capture_output():  # jupysql's note on reading settings from pyproject.toml; the course sets its own
                ip.run_line_magic("load_ext", "sql")
        for name, value in {"feedback": 0, "displaycon": False, "displaylimit": 30, "short_errors": True}.items():
            ip.run_line_magic("config", f"SqlMagic.{name} = {value!r}")
        ip.user_ns[_CONNECTION_NAME] = self.con
        ip.run_line_magic("sql", f"{_CONNECTION_NAME} --alias {SQL_ALIAS}")
        ip.register_magic_function(self._dbt_magic, magic_kind="line", magic_name="dbt")
        from incidentlab.checking.answer_log import install

        install(ip)  # so a check knows whether its answer cell's latest run failed

    def _disconnect_magics(self) -> None:
        ip = _ipython()
        if ip is None:
            return
        from sql.connection import ConnectionManager

        if SQL_ALIAS in ConnectionManager.connections:
            ConnectionManager.connections[SQL_ALIAS].close()

    def reset(self, stage: str = "stale") -> None:
        """Throw away every change and start again from the incident's ``stage`` ("stale" or "fixed")."""
        self._disconnect_magics()
        if self.con is not None:
            self.con.close()
        self._open(stage)
        print(f"Warehouse reset: {self.module}, {stage}, at {self.now:%a %b %d %Y %H:%M}.")

    def close(self) -> None:
        for folder in self._folders:
            shutil.rmtree(folder, ignore_errors=True)
        self._folders.clear()

    @property
    def now(self) -> dt.datetime:
        """The scenario's "now" in this warehouse (``scenario_now()`` in SQL)."""
        return self.con.sql("select scenario_now()").fetchone()[0]

    def query(self, sql: str):
        """The result of ``sql`` on this warehouse as a pandas DataFrame."""
        return self.con.sql(sql).df()

    # -- dbt ------------------------------------------------------------------------------------------
    @cached_property
    def dbt_project(self) -> Path:
        """The module's dbt project, looked up once per kernel."""
        from incidentlab.datasets import load_scenario

        return load_scenario(self.module).dbt_project

    def dbt(self, command: str, *, show: bool = True):
        """Run ``dbt <command>`` in this kernel on this warehouse at the scenario's now; print a summary."""
        args = shlex.split(command)  # quoted selectors stay one argument, as in a shell
        if args and args[0] == "dbt":
            args = args[1:]
        self.last = invoke(args, warehouse=self.path, now=self.now, project=self.dbt_project)
        if show:
            print(summarize(args, self.last))
        return self.last

    def _dbt_magic(self, line: str) -> None:
        problem = dbt_line_problem(line)
        if problem is None:
            try:
                self.dbt(line)
                return
            except DbtError as exc:
                problem = f"dbt could not run `dbt {line.strip()}`: {_first_words(getattr(exc, 'detail', str(exc)))}"
        print(problem, file=sys.stderr)


def _first_words(detail: str) -> str:
    """dbt's message in one line: a bare heading ("Runtime Error") takes the line that follows it."""
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    if not lines:
        return "no detail"
    text = f"{lines[0]}: {lines[1]}" if len(lines) > 1 and lines[0].endswith("Error") else lines[0]
    return re.sub(r"(/[^\s'\"]+)+", "…", text)  # no internal path


DBT_COMMANDS = ("build", "compile", "ls", "list", "parse", "run", "seed", "show", "snapshot", "source", "test")
_DBT_EXAMPLES = "`%dbt ls --select staging.*`, `%dbt run --select marts.*` or `%dbt source freshness`"


def dbt_line_problem(line: str) -> str | None:
    """What is wrong with a ``%dbt`` line before dbt sees it, in one plain sentence (None: nothing)."""
    try:
        args = shlex.split(line)
    except ValueError as exc:
        return f"%dbt could not read this line ({exc}): close the quote, e.g. `%dbt ls --select \"staging.*\"`"
    if args and args[0] == "dbt":
        args = args[1:]
    if not args:
        return f"%dbt needs a command after it, e.g. {_DBT_EXAMPLES}."
    if args[0] not in DBT_COMMANDS:
        close = difflib.get_close_matches(args[0], DBT_COMMANDS, n=1)
        guess = f" Did you mean `%dbt {close[0]}`?" if close else ""
        return (f"`{args[0]}` is not a dbt command.{guess} The commands are {', '.join(DBT_COMMANDS)}; e.g. "
                f"{_DBT_EXAMPLES}.")
    for option, value in zip(args, [*args[1:], None]):
        if option in _NEEDS_VALUE and (value is None or value.startswith("-")):
            return f"`{option}` needs a value after it, e.g. `%dbt {args[0]} {option} staging.*`."
    return None


_NEEDS_VALUE = {"--select", "-s", "--exclude", "--selector", "--resource-type", "--output", "-o", "--vars"}


def summarize(args: list[str], result) -> str:
    """dbt's result as stable lines (no timings or timestamps), so stored outputs can be compared."""
    lines = [f"dbt {' '.join(args)}"]
    payload = result.result
    if isinstance(payload, list):  # dbt ls
        lines += [f"  {item}" for item in payload] or ["  (nothing selected)"]
        return "\n".join(lines)
    nodes = getattr(payload, "results", None) or []
    if not nodes:
        lines.append("  nothing to do: the selection is empty")
    for node in sorted(nodes, key=lambda n: n.node.unique_id):
        status = str(node.status).upper()
        detail = ""
        if getattr(node, "age", None) is not None:
            detail = f"  last loaded {node.age / 3600:.1f} h before now"
        elif getattr(node, "failures", None):
            detail = f"  {node.failures} failing row(s)"
        elif status == "ERROR" and node.message:
            detail = f"  {node.message.splitlines()[0]}"
        kind = node.node.resource_type
        name = getattr(node.node, "source_name", None)
        name = f"{name}.{node.node.name}" if kind == "source" else node.node.name
        lines.append(f"  {status:<7} {kind:<7} {name}{detail}")
    lines.append("  => success" if result.success else "  => FAILED (dbt exits 1)")
    return "\n".join(lines)


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


_current: Lab | None = None


def current_lab() -> Lab | None:
    """The lab this kernel's ``start()`` opened (checks run an answer's query on it)."""
    return _current


def start(module: str, stage: str = "stale") -> Lab:
    """The first call of every notebook: quiet warnings, a private warehouse, ``%sql`` and ``%dbt`` on it."""
    global _current
    quiet_warnings()
    _current = Lab(module, stage)
    return _current
