"""What a notebook's first cell calls: a private copy of the warehouse, ``%sql`` on it, and dbt in-process.

    from incidentlab.notebook import start
    lab = start("wt06_data_stale")      # the incident as it stood on Monday 09:00
    %dbt run --select marts.*           # dbt, in this kernel, on this copy
    lab.reset()                         # back to the incident state
    lab.write_model("stg_orders", sql)  # edit a model of this kernel's copy of the dbt project

Every kernel works on its own copy of the warehouse and of the module's dbt project, in a folder of its own, so
nothing a notebook does (a remediation run, a dropped table, an edited model) reaches the built warehouses, the
course's project, another notebook or another student.
"""

from __future__ import annotations

import atexit
import datetime as dt
import difflib
import os
import re
import shlex
import shutil
import warnings
from pathlib import Path

import duckdb

from incidentlab import dbt_runner, progress_line, temp_folders
from incidentlab.error_text import message_line
from incidentlab.errors import DbtError
from incidentlab.paths import warehouse_path

SQL_ALIAS = "acme"
_CONNECTION_NAME = "_incidentlab_connection"


def quiet_warnings() -> None:
    """Library warnings on stderr would read as failures in a graded cell; students need none of them."""
    warnings.filterwarnings("ignore")


class Lab:
    """One kernel's private warehouse for a module, with SQL magics and dbt on it."""

    def __init__(self, module: str, stage: str | None = None, variant: str | None = None):
        from incidentlab.datasets import load_scenario

        self.module = module
        self.variant = variant
        self.scenario = load_scenario(module)
        self.stage = self.scenario.check_stage(stage or self.scenario.first_stage)
        self.last = None  # the last dbt result
        self._folders: list[Path] = []
        self.con: duckdb.DuckDBPyConnection  # set by _open
        self._open(self.stage)
        atexit.register(self.close)

    # -- the warehouse --------------------------------------------------------------------------------
    def _open(self, stage: str) -> None:
        pristine = warehouse_path(self.module, stage, self.variant)
        if not pristine.exists():
            from incidentlab.build import build

            print(f"Building the {stage} warehouse once (a few seconds)...")
            build(self.module, stage, variant=self.variant)
        # A new folder every time: dbt-duckdb may keep the previous file open, so it is never overwritten.
        # Making it also removes the copies of kernels that were killed (temp_folders).
        folder = temp_folders.make(self.module)
        self._folders.append(folder)
        self.path = folder / pristine.name
        shutil.copyfile(pristine, self.path)
        self.project = self._copy_project(stage, folder / "dbt")
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
        from incidentlab import cell_errors, clock_note
        from incidentlab.checking import answer_display, answer_log

        cell_errors.install(ip)  # a failing cell says what is wrong in plain lines
        answer_log.install(ip)  # so a check knows whether its answer cell's latest run failed
        answer_display.install(ip, lambda: self.con)  # an answer cell shows its result
        clock_note.install(ip, lambda: f"{self.now:%a %b %d %Y %H:%M}")  # under SQL that reads today's clock

    def _disconnect_magics(self) -> None:
        ip = _ipython()
        if ip is None:
            return
        from sql.connection import ConnectionManager

        if SQL_ALIAS in ConnectionManager.connections:
            ConnectionManager.connections.pop(SQL_ALIAS).close()

    def reset(self, stage: str | None = None) -> None:
        """Throw away every change (warehouse and dbt project) and start again from ``stage`` (default: the first)."""
        stage = self.scenario.check_stage(stage or self.scenario.first_stage)
        self._disconnect_magics()
        self.con.close()
        self._open(stage)
        print(f"Warehouse reset: {self.module}, {stage}, at {self.now:%a %b %d %Y %H:%M}.")
        warm_up_after_this_cell(self)  # the new copy of the project is parsed while the student reads

    def close(self) -> None:
        ip = _ipython()
        if ip is not None and ip.user_ns.get(_CONNECTION_NAME) is self.con:
            # %sql's connection is this lab's: closed here, jupysql has nothing left to close (and print) at exit
            self._disconnect_magics()
        for folder in self._folders:
            temp_folders.remove(folder)
        self._folders.clear()

    @property
    def now(self) -> dt.datetime:
        """The scenario's "now" in this warehouse (``scenario_now()`` in SQL)."""
        return self.con.sql("select scenario_now()").fetchall()[0][0]

    def query(self, sql: str):
        """The result of ``sql`` on this warehouse as a pandas DataFrame."""
        # execute, not sql: a relation binds against the catalog this connection last saw, so it would miss a
        # model or a column that %dbt (another connection of the same database) has just created.
        return self.con.execute(sql).df()

    def monitor(self, **kw):
        """The monitor's checks (``incidentlab.monitor.run_checks``) on this warehouse and project, at ``now``."""
        from incidentlab.monitor import run_checks

        return run_checks(self.con, self.project, now=self.now, audit_table=self.scenario.audit_table, **kw)

    # -- the dbt project ------------------------------------------------------------------------------
    def _copy_project(self, stage: str, target: Path) -> Path:
        """This kernel's copy of the module's dbt project as it stands at ``stage`` (with the fix in the fixed one)."""
        from incidentlab.build import stage_project

        return stage_project(self.scenario, stage, self.variant, target)

    @property
    def dbt_project(self) -> Path:
        return self.project

    def model_file(self, name: str) -> Path:
        """The SQL file of model ``name`` in this kernel's copy of the dbt project."""
        found = sorted((self.project / "models").rglob(f"{name}.sql"))
        if not found:
            models = sorted(p.stem for p in (self.project / "models").rglob("*.sql"))
            raise DbtError(f"there is no model named {name!r}; the models are {', '.join(models)}.")
        return found[0]

    def show_model(self, name: str) -> None:
        """Print the SQL of model ``name`` as this kernel's project has it."""
        print(self.model_file(name).read_text(encoding="utf-8").rstrip())

    def write_model(self, name: str, sql: str, folder: str | None = None) -> None:
        """Write model ``name``'s SQL in this kernel's copy of the project; the next ``%dbt`` reads it.

        A model that does not exist yet needs its ``folder`` under models/ (e.g. ``"staging"``).
        """
        if folder is None:
            path = self.model_file(name)
        else:
            path = self.project / "models" / folder / f"{name}.sql"
            path.parent.mkdir(parents=True, exist_ok=True)
        verb = "rewritten" if path.exists() else "created"
        path.write_text(sql.strip() + "\n", encoding="utf-8")
        print(f"{name} {verb} in this notebook's copy of the dbt project; run `%dbt run --select {name}+`.")

    def model_diff(self, name: str, old: str | None = None, new: str | None = None) -> str:
        """How model ``name`` differs between two stages of the module (default: the first and the last)."""
        old = self.scenario.check_stage(old or self.scenario.stages[0])
        new = self.scenario.check_stage(new or self.scenario.stages[-1])
        texts = []
        with temp_folders.folder("diff") as scratch:
            for stage in (old, new):
                project = self._copy_project(stage, scratch / stage)
                found = sorted((project / "models").rglob(f"{name}.sql"))
                texts.append(found[0].read_text(encoding="utf-8").splitlines() if found else [])
        diff = difflib.unified_diff(texts[0], texts[1], f"{name}.sql ({old})", f"{name}.sql ({new})", lineterm="")
        return "\n".join(diff) or f"{name}.sql is the same in {old} and {new}."

    def dbt(self, command: str, *, show: bool = True):
        """Run ``dbt <command>`` in this kernel on this warehouse at the scenario's now; print a summary."""
        args = shlex.split(command)  # quoted selectors stay one argument, as in a shell
        if args and args[0] == "dbt":
            args = args[1:]
        with progress_line.waiting(dbt_runner.waiting_for(self.dbt_project) if show else None):
            self.last = dbt_runner.invoke(args, warehouse=self.path, now=self.now, project=self.dbt_project)
        if show:
            print(summarize(args, self.last))
        return self.last

    def _dbt_magic(self, line: str) -> None:
        """``%dbt <command>``; a mistake fails the cell with one plain line (``cell_errors`` shows it)."""
        problem = dbt_line_problem(line)
        if problem is not None:
            raise DbtError(problem)
        try:
            self.dbt(line)
        except DbtError as exc:
            raise DbtError(_crash_lines(line, getattr(exc, "detail", str(exc)))) from None


def _crash_lines(line: str, detail: str) -> str:
    """What a ``%dbt`` line dbt could not run prints: dbt's message, and for a model that does not compile,
    how to see and rewrite it."""
    message = message_line(detail) or "no detail"
    lines = [f"dbt could not run `dbt {line.strip()}`: {message}"]
    model = re.search(r"[Ii]n model (\w+)|Model '[\w.]*?\.(\w+)'", message)
    if model:
        name = model.group(1) or model.group(2)
        lines.append(f'Fix model {name}: `lab.show_model("{name}")` shows it, `lab.write_model("{name}", sql)` '
                     "rewrites it; then run `%dbt` again.")
    return "\n".join(lines)


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
        lines += [f"  {item}" for item in payload] or [f"  {_nothing_selected(args)}"]
        return "\n".join(lines)
    nodes = getattr(payload, "results", None) or []
    if not nodes:
        lines.append(f"  nothing to do: {_nothing_selected(args)}")
    for node in sorted(nodes, key=lambda n: n.node.unique_id):
        status = str(node.status).upper()
        detail = ""
        if getattr(node, "age", None) is not None:
            detail = f"  last loaded {node.age / 3600:.1f} h before now"
        elif getattr(node, "failures", None):
            detail = f"  {node.failures} failing row(s)"
        elif status == "ERROR" and node.message:
            detail = f"  {message_line(node.message)}"
        kind = node.node.resource_type
        name = getattr(node.node, "source_name", None)
        name = f"{name}.{node.node.name}" if kind == "source" else node.node.name
        lines.append(f"  {status:<7} {kind:<7} {name}{detail}")
    lines.append("  => success" if result.success else "  => FAILED (dbt exits 1)")
    return "\n".join(lines)


def _nothing_selected(args: list[str]) -> str:
    """The line of a dbt command whose selection is empty (a misspelt selector, usually)."""
    selectors = [value for option, value in zip(args, args[1:]) if option in ("--select", "-s")]
    if not selectors:
        return "the selection is empty"
    return (f"no model, test or source matches `{' '.join(selectors)}`; `%dbt ls` lists them all (`staging.*` "
            "selects a folder, `stg_orders+` a model and what depends on it)")


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


def start(module: str, stage: str | None = None) -> Lab:
    """The first call of every notebook: quiet warnings, a private warehouse, ``%sql`` and ``%dbt`` on it."""
    global _current
    quiet_warnings()
    # A fresh kernel imports jupysql, pandas and matplotlib here: a second or two with nothing else on screen.
    with progress_line.waiting(f"Opening {module}: copying its warehouse and dbt project, loading %sql and %dbt…"):
        _current = Lab(module, stage)
    print(f"{module} is ready: your own copy of its warehouse and dbt project, at "
          f"{_current.now:%a %b %d %Y %H:%M}.", flush=True)
    warm_up_after_this_cell(_current)
    return _current


def warm_up_after_this_cell(lab: Lab) -> None:
    """Parse ``lab``'s dbt project while the student reads, once the cell is done: started at once, importing dbt
    would take the interpreter from the rest of that cell (the questions, the plots)."""
    ip = _ipython()
    if ip is None or os.environ.get("INCIDENTLAB_NO_WARM_UP"):
        return

    def after_cell(result) -> None:
        ip.events.unregister("post_run_cell", after_cell)
        dbt_runner.warm_up(lab.project, lab.path)

    ip.events.register("post_run_cell", after_cell)
