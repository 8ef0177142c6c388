"""nbgrader and nbconvert made cheap for a sandbox, with the same verdicts and the same gradebook rows.

Grading one submission opens nbgrader's ``Gradebook`` about 25 times (each converter step and preprocessor opens
its own). Each one creates an SQLAlchemy engine, whose statement cache starts empty, so every query is compiled
again, then inspects the database and runs ``create_all``. A sandbox's gradebook is always a copy of the template
nbgrader made, whose tables exist, so for those files (and only those) one engine per file serves every
``Gradebook`` of the process. nbconvert also validates the whole notebook after each preprocessor; the notebook
is validated when it is read and nbgrader validates it again when it writes it. Each change is installed once
per process and keeps nbgrader's own behaviour for any other gradebook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_ENGINES: dict[str, Any] = {}  # sqlite URL of a sandbox gradebook -> its engine
_installed = False


def sandbox_gradebook(path: Path, template: Path) -> str:
    """Put a fresh copy of the template at ``path`` and return its URL; the engine for that URL is reused (its
    connections closed first, so none of them still points at the previous copy)."""
    import shutil

    from sqlalchemy import create_engine, event

    install()
    url = f"sqlite:///{path}"
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = create_engine(url, echo=False, future=True)
        event.listen(engine, "connect", _throwaway)
    engine.dispose()
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return url


def _throwaway(connection, _record) -> None:
    """A sandbox gradebook lives for one submission: its commits need not reach the disk."""
    connection.execute("pragma synchronous = off")
    connection.execute("pragma journal_mode = memory")


def install() -> None:
    global _installed
    if _installed:
        return
    _reuse_sandbox_engines()
    _validate_once_per_notebook()
    _schema_checked_once()
    _installed = True


def _reuse_sandbox_engines() -> None:
    from nbgrader import api
    from sqlalchemy.orm import scoped_session, sessionmaker

    original = api.Gradebook.__init__

    def __init__(self, db_url, course_id="default_course", authenticator=None):
        engine = _ENGINES.get(db_url)
        if engine is None:
            return original(self, db_url, course_id, authenticator)
        self.engine = engine
        self.db = scoped_session(sessionmaker(autoflush=True, bind=engine, future=True))
        self.check_course(course_id=course_id)
        self.course_id = course_id
        self.authenticator = authenticator

    api.Gradebook.__init__ = __init__


def _validate_once_per_notebook() -> None:
    from nbconvert.exporters.exporter import Exporter

    Exporter._validate_preprocessor = lambda self, nbc, preprocessor: None


def _schema_checked_once() -> None:
    """nbgrader checks each cell's metadata with ``jsonschema.validate``, which first checks the schema itself,
    every time. Here the validator is built once per schema; the verdicts (and the errors raised) are the same."""
    import jsonschema
    from nbgrader.nbgraderformat import common

    validators: dict[str, object] = {}

    class _OncePerSchema:
        ValidationError = jsonschema.ValidationError

        @staticmethod
        def validate(instance, schema):
            key = json.dumps(schema, sort_keys=True)
            if key not in validators:
                cls = jsonschema.validators.validator_for(schema)
                cls.check_schema(schema)
                validators[key] = cls(schema)
            error = jsonschema.exceptions.best_match(validators[key].iter_errors(instance))
            if error is not None:
                raise error

    common.jsonschema = _OncePerSchema


def _prefetched(lookup, cells: dict):
    """``lookup(name, notebook, assignment)`` answered from one notebook's cells, by name; nbgrader's own query
    (and its MissingEntry) for any other name."""
    def find(name, notebook, assignment):
        cell = cells.get(name)
        return cell if cell is not None else lookup(name, notebook, assignment)
    return find


def fast_preprocessors():
    """nbgrader's OverwriteCells and SaveAutoGrades, with the same effect on the notebook and the gradebook: the
    first reads a notebook's cells from the gradebook in one query instead of one per cell, the second commits
    a notebook's grades and comments once instead of once per cell."""
    from nbgrader.preprocessors import OverwriteCells, SaveAutoGrades

    class PrefetchedOverwriteCells(OverwriteCells):
        def preprocess_cell(self, cell, resources, cell_index):
            gb = self.gradebook
            if not getattr(gb, "prefetched", False):
                notebook = gb.find_notebook(self.notebook_id, self.assignment_id)
                gb.find_source_cell = _prefetched(gb.find_source_cell, {c.name: c for c in notebook.source_cells})
                gb.find_graded_cell = _prefetched(gb.find_graded_cell, {
                    c.name: c for c in list(notebook.grade_cells) + list(notebook.task_cells)})
                gb.prefetched = True
            return super().preprocess_cell(cell, resources, cell_index)

    class CommitOnceSaveAutoGrades(SaveAutoGrades):
        def preprocess(self, nb, resources):  # SaveAutoGrades.preprocess, with one commit at the end
            from nbgrader.api import Gradebook

            self.notebook_id = resources["nbgrader"]["notebook"]
            self.assignment_id = resources["nbgrader"]["assignment"]
            self.student_id = resources["nbgrader"]["student"]
            self.db_url = resources["nbgrader"]["db_url"]
            self.gradebook = Gradebook(self.db_url)
            with self.gradebook:
                db = self.gradebook.db
                db.commit = db.flush  # what each cell's commit would write, kept in the transaction
                try:
                    nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)
                finally:
                    del db.commit
                db.commit()
            return nb, resources

    return PrefetchedOverwriteCells, CommitOnceSaveAutoGrades
