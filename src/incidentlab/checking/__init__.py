"""Graded exercises: questions with visible and hidden tests, and the engine that compares query results.

    from incidentlab.checking import Question, NOT_ANSWERED_SQL
"""

from incidentlab.checking.answers import NOT_ANSWERED_SQL, AnswerError, is_not_answered, sql_of
from incidentlab.checking.compare import compare, shape_problems
from incidentlab.checking.question import Question, ReferenceQueryError
from incidentlab.checking.warehouses import TIME_LIMIT_SECONDS, QueryError, QueryTimeout, private_copy, run_query

__all__ = [
    "NOT_ANSWERED_SQL",
    "TIME_LIMIT_SECONDS",
    "AnswerError",
    "Question",
    "QueryError",
    "QueryTimeout",
    "ReferenceQueryError",
    "compare",
    "is_not_answered",
    "private_copy",
    "run_query",
    "shape_problems",
    "sql_of",
]
