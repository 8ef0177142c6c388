"""How long and how much a submission may run when it is autograded."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    cell_timeout: int = 300  # seconds one cell may run (a first dbt call parses the project)
    notebook_timeout: int = 900  # seconds one notebook may run
    max_output_chars: int = 100_000  # characters kept of any one output
