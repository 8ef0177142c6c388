"""The query a student version's answer cell holds until the student writes theirs.

A valid query, so the released notebook runs top to bottom; the checks recognise its result and say
"not answered yet" (0 points) instead of failing with an error. Kept free of heavy imports: nbgrader's
configuration imports it.
"""

import re

NOT_ANSWERED_COLUMN = "not_answered"
NOT_ANSWERED_SQL = (
    "-- Write your query here, then run this cell.\n"
    f"select 'not answered yet' as {NOT_ANSWERED_COLUMN}"
)
NOT_ANSWERED_MARK = re.compile(rf"'not answered yet'\s+as\s+{NOT_ANSWERED_COLUMN}", re.IGNORECASE)
