"""incidentlab: investigate and prevent data incidents on a real DuckDB warehouse."""

from incidentlab.errors import IncidentLabError

__all__ = ["IncidentLabError"]
__version__ = "0.1.0"
