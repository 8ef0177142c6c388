"""The student version of ``%%sql`` answer cells: nbgrader's ClearSolutions, with a SQL stub for SQL cells.

nbgrader picks a solution stub by the kernel's language, so a ``%%sql`` solution would become Python
(``raise NotImplementedError()``) inside a SQL cell. Here every solution region of a ``%%sql`` cell becomes
``NOT_ANSWERED_SQL``, a valid query the checks recognise as "not answered yet"; other cells keep the Python
stub. ``grading/nbgrader_config.py`` puts this preprocessor in ClearSolutions' place.
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearSolutions
from traitlets import Unicode

from incidentlab.not_answered import NOT_ANSWERED_SQL

_SQL = "sql"


def is_sql_cell(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith("%%sql")


class ClearSqlSolutions(ClearSolutions):
    sql_stub = Unicode(NOT_ANSWERED_SQL, help="What replaces a solution region in a %%sql cell").tag(config=True)

    def preprocess(self, nb, resources):
        self.code_stub = {**self.code_stub, _SQL: self.sql_stub}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if not is_sql_cell(cell):
            return super().preprocess_cell(cell, resources, cell_index)
        magic_line = cell.source.lstrip().split("\n", 1)[0]
        cell, _ = super().preprocess_cell(cell, {**resources, "language": _SQL}, cell_index)
        if cell.source == self.sql_stub:  # a whole-cell solution: keep the magic line that stores the result
            cell.source = f"{magic_line}\n{self.sql_stub}"
        return cell, resources


def generate_assignment_preprocessors() -> list[type]:
    """nbgrader's generate_assignment steps, with ClearSqlSolutions in ClearSolutions' place."""
    from nbgrader.converters import GenerateAssignment

    steps = GenerateAssignment.class_traits()["preprocessors"].default()
    return [ClearSqlSolutions if step is ClearSolutions else step for step in steps]
