"""How long and how much a submission may run when it is autograded."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    query_timeout: float = 10.0  # seconds one of the student's queries may run on one warehouse
    query_budget: float = 120.0  # seconds all of a submission's queries may run in all
    submission_timeout: int = 600  # seconds of wall clock for a whole submission; past it, it is failed
    # Only with executed notebooks (--execute): the student's code runs in a kernel.
    cell_timeout: int = 300  # seconds one cell may run (a first dbt call parses the project)
    notebook_timeout: int = 900  # seconds one notebook may run
    kernel_memory: int = 4 << 30  # bytes of address space the kernel may map
    max_output_chars: int = 100_000  # characters kept of any one output
