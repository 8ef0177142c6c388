"""The student's side of graded exercises: the questions' checks, the answer cells' SQL, the result comparison.

    from incidentlab.exercises import load
    ex = load("wt06_data_stale")
    ex.hours_stale.check()

Nothing here holds an answer: the keys and the hidden checks are the grader's (``incidentlab.grading``).
"""

from incidentlab.checking.answer_sql import AnswerSqlError, NotAnswered, query_of
from incidentlab.checking.compare import compare, shape_problems
from incidentlab.checking.question import Question
from incidentlab.not_answered import NOT_ANSWERED_SQL

__all__ = [
    "NOT_ANSWERED_SQL",
    "AnswerSqlError",
    "NotAnswered",
    "Question",
    "compare",
    "query_of",
    "shape_problems",
]
