"""One clock for every time the monitor compares: naive local time, as ``datetime.now()`` and the course's data are.

A TIMESTAMPTZ column (DuckDB's ``current_timestamp``) comes back aware; it is converted to the machine's local
time and made naive, so it compares with ``now`` instead of failing ("can't subtract offset-naive and
offset-aware datetimes").
"""

from __future__ import annotations

import datetime as dt


def local_naive(value):
    """``value`` as naive local time when it is an aware datetime; anything else unchanged."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone().replace(tzinfo=None)
    return value
