"""Errors a user can act on: each message says what is wrong, where, and what to do."""


class IncidentLabError(Exception):
    """Base class for every error incidentlab raises on purpose."""


class DatasetError(IncidentLabError):
    """A dataset file is missing or malformed."""


class WarehouseLockedError(IncidentLabError):
    """Another process holds the DuckDB warehouse file."""


class DbtError(IncidentLabError):
    """A dbt invocation failed."""

    detail: str  # dbt's own words, when dbt raised it (without the project's or the warehouse's path)
