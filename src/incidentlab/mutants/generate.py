"""A key's mutants: every operator applied to every node of its syntax tree, one change per mutant.

A mutant's id is stable while the key does not change: the operator, where it changes the key (the common table
expression, or ``main``) and a hash of its SQL, e.g. ``comparison@with_baseline#3f2a9c1b``. Mutants that give the
same SQL are one mutant, and none is the key itself. The SQL is sqlglot's rendering: an upgrade of sqlglot that
renders differently gives new ids, and the test of the equivalents then names the declarations it left stale.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from incidentlab.errors import IncidentLabError
from incidentlab.mutants.operators import OPERATORS, KeyContext

DIALECT = "duckdb"
logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "EXCLUDE is not supported": it is rendered all the same


class KeyParseError(IncidentLabError):
    """sqlglot cannot parse or rewrite an answer key."""


@dataclass(frozen=True)
class Mutant:
    question: str
    operator: str
    location: str  # the common table expression it changes, or "main"
    sql: str

    @property
    def id(self) -> str:
        return f"{self.operator}@{self.location}#{hashlib.sha1(self.sql.encode()).hexdigest()[:8]}"


def parse(sql: str, where: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(sql, read=DIALECT)  # type: ignore[return-value]  # typed Expr: it is an Expression
    except sqlglot.errors.ParseError as exc:
        first = str(exc).strip().splitlines()[0]
        raise KeyParseError(f"{where}: sqlglot cannot parse it ({first}); mutation analysis needs a key it "
                            "can read") from None


def render(tree: exp.Expression) -> str:
    return tree.sql(dialect=DIALECT, pretty=True)


def _location(node: exp.Expression) -> str:
    cte = node if isinstance(node, exp.CTE) else node.find_ancestor(exp.CTE)
    return cte.alias_or_name if cte is not None else "main"


def _nodes(tree: exp.Expression) -> list[exp.Expression]:
    """The tree's nodes in the order of its walk (sqlglot types them as Expr; each is an Expression)."""
    return list(tree.walk())  # type: ignore[arg-type]


def mutants_of(question: str, sql: str, ctx: KeyContext, where: str = "") -> list[Mutant]:
    """Every distinct mutant of the key ``sql`` of ``question``, in the order of its tree."""
    tree = parse(sql, where or question)
    original = render(tree)
    nodes = _nodes(tree)
    seen: dict[str, Mutant] = {}
    for index, node in enumerate(nodes):
        for operator in OPERATORS:
            for name, change in operator(node, ctx):
                copy = tree.copy()
                target = _nodes(copy)[index]
                try:
                    change(target)
                    text = render(copy)
                except Exception:  # noqa: BLE001 - a change sqlglot cannot express is no mutant, not an error
                    continue
                if text != original and text not in seen:
                    seen[text] = Mutant(question, name, _location(node), text)
    return list(seen.values())


_BARE = {"SELECT", "SELECT DISTINCT", "UNION", "UNION ALL"}


def diff(key_sql: str, mutant: Mutant, width: int = 110) -> list[str]:
    """The lines the mutant changes, as `- key line` / `+ mutant line`, each cut to ``width``; a bare keyword
    (`SELECT DISTINCT`) is followed by the line after it, for where it is."""
    before = render(parse(key_sql, mutant.question)).splitlines()
    after = mutant.sql.splitlines()
    lines = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        lines += [f"- {line.strip()}" for line in before[i1:i2]] + [f"+ {line.strip()}" for line in after[j1:j2]]
        if j2 > j1 and after[j2 - 1].strip() in _BARE and j2 < len(after):
            lines.append(f"  {after[j2].strip()} …")
    return [line[:width] for line in lines]
