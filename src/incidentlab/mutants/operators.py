"""The mutation operators: each one small, plausible mistake a student makes in SQL.

An operator looks at one node of the key's syntax tree and yields ``(name, change)`` pairs: ``change`` takes the
same node in a fresh copy of the tree and edits it there (in place, or by replacing it). ``KeyContext`` tells an
operator what it cannot see in the tree: the columns of the tables the key reads, whether the question asks for
an order, and the values of a subquery on the question's warehouse.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

from sqlglot import exp

from incidentlab.mutants.shapes import pass_through, tagged_union, unique_rows

Change = Callable[[exp.Expression], object]  # edits the node in place or replaces it; what it returns is unused
Mutation = tuple[str, Change]


@dataclass
class KeyContext:
    """What the operators know beyond the tree."""

    ordered: bool = False
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> column -> type, tables read
    rows_of: Callable[[str], list[tuple]] | None = None  # a query's rows on the question's own warehouse


COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)
SWAPPED_AGGREGATES: dict[type[exp.Expression], type[exp.Expression]] = {
    exp.Sum: exp.Avg, exp.Avg: exp.Sum, exp.Min: exp.Max, exp.Max: exp.Min,
    exp.ArgMin: exp.ArgMax, exp.ArgMax: exp.ArgMin}
REMOVABLE_FUNCTIONS = (exp.Lower, exp.Upper, exp.Trim, exp.Coalesce, exp.Abs)
JOIN_KINDS = ("inner", "left", "right", "full")
MAX_UNROLLED = 4


def _replace_with(cls: type[exp.Expression]) -> Change:
    def change(node: exp.Expression) -> None:
        node.replace(cls(**{key: value for key, value in node.args.items() if value is not None}))
    return change


def _set_to(key: str, value: exp.Expression) -> Change:
    """A change setting the node's ``key`` to a fresh copy of ``value``."""
    return lambda node: node.set(key, value.copy())


def comparison(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """`<`, `<=`, `>`, `>=`, `=`, `<>` swapped for each other."""
    if type(node) in COMPARISONS:
        for other in COMPARISONS:
            if other is not type(node):
                yield "comparison", _replace_with(other)


_NEXT_UNIT: dict[type[exp.Expression], tuple[type[exp.Expression], int]] = {
    exp.LTE: (exp.LT, 1), exp.LT: (exp.LTE, -1), exp.GTE: (exp.GT, -1), exp.GT: (exp.GTE, 1)}


def boundary(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """`x <= n` as `x < n + 1 unit` (and the like): the same boundary, written with the next unit."""
    if type(node) not in _NEXT_UNIT or isinstance(node.this, exp.Count):
        return  # a count is a whole number: `> 1` and `>= 2` are one condition
    steps = [n for n in node.expression.find_all(exp.Literal) if _step(n)]
    if len(steps) != 1:
        return
    other, sign = _NEXT_UNIT[type(node)]
    position = list(node.expression.find_all(exp.Literal)).index(steps[0])

    def change(copy: exp.Expression) -> None:
        _move(list(copy.expression.find_all(exp.Literal))[position], sign)
        copy.replace(other(this=copy.this, expression=copy.expression))
    yield "boundary", change


def _move(literal: exp.Expression, sign: int) -> None:
    """Move ``literal`` (in a copy of the tree, where the original's literal has a step) by ``sign`` units."""
    step = _step(literal) if isinstance(literal, exp.Literal) else None
    assert step is not None, "the operator yields a change only for a literal with a step"
    literal.replace(step(sign))


def _step(literal: exp.Literal) -> Callable[[int], exp.Expression] | None:
    """A function giving the literal moved by ±1 of its smallest unit, or None if it is not a number or moment."""
    text = str(literal.this)
    if isinstance(literal.parent, exp.Interval) or not literal.is_string:
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            return None
        exponent = number.as_tuple().exponent
        if not isinstance(exponent, int):  # 'nan' or 'infinity' (an interval's count is a string): no unit
            return None
        unit = decimal.Decimal(1).scaleb(exponent) if exponent < 0 else 1
        if literal.is_string:  # an interval's count is a string in sqlglot's tree
            return lambda sign: exp.Literal.string(str(number + sign * unit))
        return lambda sign: exp.Literal.number(str(number + sign * unit))
    moment = _moment(text)
    if moment is None:
        return None
    tick = dt.timedelta(days=1) if len(text.strip()) == 10 else dt.timedelta(seconds=1)
    shown = (lambda m: m.date().isoformat()) if len(text.strip()) == 10 else (lambda m: m.isoformat(sep=" "))
    return lambda sign: exp.Literal.string(shown(moment + sign * tick))


def _moment(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def literal(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """Numbers, dates, times and interval counts moved by ±1 unit (not rounding digits: see ``rounding``)."""
    if not isinstance(node, exp.Literal) or _step(node) is None:
        return
    if isinstance(node.parent, exp.Round) and node.arg_key == "decimals":
        return
    if node.find_ancestor(exp.Exists) is not None and isinstance(node.parent, exp.Select):
        return  # `exists (select 1 ...)`: the value selected is never read
    for sign in (-1, 1):
        yield ("interval" if isinstance(node.parent, exp.Interval) else "literal",
               partial(_move, sign=sign))


def _conditions(node: exp.Expression) -> exp.Expression | None:
    if isinstance(node, exp.Where | exp.Having):
        return node.this
    if isinstance(node, exp.Join):
        return node.args.get("on")
    return None


def _terms(node: exp.Expression) -> list[exp.Expr]:
    """The conjuncts of the condition of ``node`` (a where, having or join); none when it has no condition."""
    condition = _conditions(node)
    if condition is None:
        return []
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def _without(node: exp.Expression, index: int) -> None:
    """Drop conjunct ``index`` of the condition of ``node`` (a where, having or join)."""
    condition = _conditions(node)
    assert condition is not None, "conjunct yields a change only for a node with a condition"
    rest = [term for i, term in enumerate(_terms(node)) if i != index]
    if rest:
        condition.replace(exp.and_(*rest, copy=False))
    elif isinstance(node, exp.Join):
        node.set("on", exp.true())
    elif isinstance(node.parent, exp.Filter):
        node.parent.replace(node.parent.this)
    else:
        node.pop()


def _negated(node: exp.Expression, index: int) -> None:
    terms = _terms(node)
    assert terms, "conjunct yields a change only for a node with a condition"
    terms[index].replace(exp.Not(this=exp.Paren(this=terms[index].copy())))


def conjunct(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """Each term of a `where`, `having` or join's `on` dropped, or negated."""
    terms = _terms(node)
    where = "join-term" if isinstance(node, exp.Join) else "conjunct"
    for index in range(len(terms)):
        yield f"{where}-dropped", partial(_without, index=index)
        yield f"{where}-negated", partial(_negated, index=index)


def disjunct(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """Each side of an `or` dropped."""
    if isinstance(node, exp.Or):
        yield "disjunct-dropped", lambda copy: copy.replace(copy.expression)
        yield "disjunct-dropped", lambda copy: copy.replace(copy.this)


def join_kind(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """Inner, left, right and full joins swapped for each other (cross joins have no condition to keep)."""
    if not isinstance(node, exp.Join) or node.args.get("on") is None:
        return
    current = (node.side or "inner").lower()
    for kind in JOIN_KINDS:
        if kind != current:
            def change(copy: exp.Expression, kind=kind) -> None:
                copy.set("kind", None)
                copy.set("side", None if kind == "inner" else kind.upper())
            yield "join-kind", change


def _nullable_columns_near(node: exp.Expression, ctx: KeyContext) -> list[exp.Column]:
    """The table columns the node's select reads that may be null there (not compared with `=` in its inner
    joins or its `where`: a null never passes that)."""
    select = node.find_ancestor(exp.Select)
    if select is None:
        return []
    table_columns = {name for columns in ctx.columns.values() for name in columns}
    conditions = [j.args.get("on") for j in select.args.get("joins") or [] if not j.side and j.args.get("on")]
    conditions += [select.args["where"].this] if select.args.get("where") else []
    kept = {c.sql() for condition in conditions for eq in condition.find_all(exp.EQ) for c in eq.find_all(exp.Column)}
    seen: dict[str, exp.Column] = {}
    for column in select.find_all(exp.Column):
        if (column.find_ancestor(exp.Select) is select and column.name.lower() in table_columns
                and column.sql() not in kept):
            seen.setdefault(column.sql(), column)
    return list(seen.values())


def count(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """`count(*)`, `count(x)` and `count(distinct x)` swapped for each other (`count(*)` for `count(x)` where x
    is a table column that may be null there)."""
    if not isinstance(node, exp.Count):
        return
    inner = node.this
    if isinstance(inner, exp.Star):
        for column in _nullable_columns_near(node, ctx)[:4]:
            yield "count", _set_to("this", column)
            yield "count", _set_to("this", exp.Distinct(expressions=[column.copy()]))
        return
    yield "count", lambda copy: copy.set("this", exp.Star())
    if isinstance(inner, exp.Distinct):
        yield "count", lambda copy: copy.set("this", copy.this.expressions[0])
    else:
        yield "count", lambda copy: copy.set("this", exp.Distinct(expressions=[copy.this]))


def aggregate(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """`sum`/`avg`, `min`/`max` and `arg_min`/`arg_max` swapped."""
    other = SWAPPED_AGGREGATES.get(type(node))
    if other is not None:
        yield "aggregate", _replace_with(other)


def distinct(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """`select distinct` for `select` and the other way round; `union` for `union all` and back. Left out where
    they cannot change a result: a pass-through select, rows distinct by construction, an `exists` or `in`
    subquery, the branches of a `union` that removes duplicates anyway, branches that each tag their rows."""
    if isinstance(node, exp.Select):
        if node.args.get("distinct"):
            yield "distinct", lambda copy: copy.set("distinct", None)
        elif not (pass_through(node) or unique_rows(node) or isinstance(node.parent, exp.Exists)
                  or isinstance(node.parent, exp.Subquery) and isinstance(node.parent.parent, exp.In)
                  or isinstance(node.parent, exp.Union) and node.parent.args.get("distinct")):
            yield "distinct", lambda copy: copy.set("distinct", exp.Distinct())
    if isinstance(node, exp.Union) and not isinstance(node.parent, exp.Union) and (
            node.args.get("distinct") or tagged_union(node) is None):
        yield "union", lambda copy: _set_union(copy, not copy.args.get("distinct"))


def _set_union(union: exp.Expression, value: bool) -> None:
    union.set("distinct", value)
    if isinstance(union.this, exp.Union):
        _set_union(union.this, value)


def _bare_in_select(select: exp.Select, column: exp.Expression) -> None:
    """Wrap the select's references to ``column`` outside aggregates in any_value() (it left the group by)."""
    text = column.sql()
    for found in list(select.find_all(exp.Column)):
        if (found.sql() == text and found.find_ancestor(exp.AggFunc, exp.Select) is select
                and found.find_ancestor(exp.Group) is None):
            found.replace(exp.AnyValue(this=found.copy()))


def grouping(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """A `group by` or `partition by` column dropped."""
    if isinstance(node, exp.Group):
        for index in range(len(node.expressions)):
            def change(copy: exp.Expression, index=index) -> None:
                dropped = copy.expressions[index]
                select = copy.parent
                assert isinstance(select, exp.Select), "a group by belongs to a select"
                rest = [e for i, e in enumerate(copy.expressions) if i != index]
                if rest:
                    copy.set("expressions", rest)
                else:
                    copy.pop()
                _bare_in_select(select, dropped)
            yield "group-by-dropped", change
    if isinstance(node, exp.Window):
        for index in range(len(node.args.get("partition_by") or [])):
            def dropped(copy: exp.Expression, index: int = index) -> None:
                copy.set("partition_by", [e for i, e in enumerate(copy.args["partition_by"]) if i != index] or None)
            yield "partition-dropped", dropped


def ordering(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """The final `order by` dropped on an ordered question; a direction flipped where order matters (a window,
    a `limit`, an ordered question)."""
    if isinstance(node, exp.Order) and isinstance(node.parent, exp.Select) and ctx.ordered:
        yield "order-dropped", lambda copy: copy.pop()
    if isinstance(node, exp.Ordered):
        owner = node.parent.parent if isinstance(node.parent, exp.Order) else None
        if isinstance(owner, exp.Window) or (isinstance(owner, exp.Select) and (owner.args.get("limit")
                                                                                or ctx.ordered)):
            yield "order-direction", lambda copy: copy.set("desc", not copy.args.get("desc"))


def rounding(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """Rounding digits ±1, and the rounding left out."""
    if not isinstance(node, exp.Round):
        return
    yield "round-removed", lambda copy: copy.replace(copy.this)
    digits = node.args.get("decimals")
    if isinstance(digits, exp.Literal) and not digits.is_string:
        for sign in (-1, 1):
            if int(digits.this) + sign >= 0:
                def moved(copy: exp.Expression, sign: int = sign) -> None:
                    copy.set("decimals", exp.Literal.number(int(copy.args["decimals"].this) + sign))
                yield "round-digits", moved


def division(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """Integer division for division, and the other way round."""
    if isinstance(node, exp.Div):  # DuckDB's `//` divides doubles exactly: cast to integers first, as SQL does
        yield "integer-division", lambda copy: copy.replace(exp.IntDiv(
            this=exp.cast(copy.this, "bigint"), expression=exp.cast(copy.expression, "bigint")))
    if isinstance(node, exp.IntDiv):
        yield "double-division", lambda copy: copy.replace(exp.Div(this=copy.this, expression=copy.expression))


def function_removed(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """`lower`, `upper`, `trim`, `coalesce` (its first argument kept) and `abs` left out."""
    if isinstance(node, REMOVABLE_FUNCTIONS):
        yield f"{node.key}-removed", lambda copy: copy.replace(copy.this)


def sibling_column(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """A column replaced by another of the same type from a table it may come from (a start time by a finish
    time, a folder by a name). A projection keeps its name, so only its values can tell."""
    if not isinstance(node, exp.Column) or not node.name:
        return
    name = node.name.lower()
    siblings: dict[str, None] = {}
    for table in ctx.columns.values():
        if name in table:
            siblings.update({other: None for other, kind in table.items() if kind == table[name] and other != name})
    projected = isinstance(node.parent, exp.Select) and node.arg_key == "expressions"
    for other in sorted(siblings):
        def change(copy: exp.Expression, other=other) -> None:
            assert isinstance(copy, exp.Column), "the copy of a column is a column"
            replacement = exp.column(other, table=copy.table or None)
            copy.replace(exp.alias_(replacement, name) if projected else replacement)
        yield "sibling-column", change


def _common_prefix(values: list) -> str:
    texts = [v for v in values if isinstance(v, str)]
    if not texts or len(texts) != len(values):
        return ""
    prefix = texts[0]
    for text in texts[1:]:
        while not text.startswith(prefix):
            prefix = prefix[:-1]
    return prefix


def _whole_condition(node: exp.Expression) -> exp.Expression:
    """The `where` the comparison is a term of (its other terms pick the rows too), or the comparison alone."""
    where = node.find_ancestor(exp.Where, exp.Select)
    return where.this if isinstance(where, exp.Where) else node


def _unqualified(condition: exp.Expression) -> exp.Expression:
    condition = condition.copy()
    for column in condition.find_all(exp.Column):
        column.set("table", None)
    return condition


def name_pattern(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """`x = 'value'` replaced by a name pattern that picks the same rows on the question's warehouse: a name
    column of the table (`name`, `*_name`) starting with what all those rows share there (a folder by a name
    prefix). Ids and other texts are left alone: their prefixes are typed-in values or the id's own scheme."""
    if type(node) is not exp.EQ or ctx.rows_of is None:
        return
    column, value = node.this, node.expression
    if not (isinstance(column, exp.Column) and isinstance(value, exp.Literal) and value.is_string):
        return
    name = column.name.lower()
    for table, columns in ctx.columns.items():
        if name not in columns:
            continue
        for other, kind in columns.items():
            if other == name or kind != "VARCHAR" or not (other == "name" or other.endswith("_name")):
                continue
            try:
                rows = ctx.rows_of(exp.select(exp.column(other)).from_(table).where(
                    _unqualified(_whole_condition(node))).sql(dialect="duckdb"))
            except Exception:  # noqa: BLE001 - a table the probe cannot read makes no mutant
                continue
            prefix = _common_prefix([row[0] for row in rows])
            if len(prefix) >= 2:  # the pattern as a student writes it: `_` unescaped
                def pattern(copy: exp.Expression, other: str = other, prefix: str = prefix) -> None:
                    copy.replace(exp.Like(this=exp.column(other, table=copy.this.table or None),
                                          expression=exp.Literal.string(prefix.replace("%", "") + "%")))
                yield "name-pattern", pattern


def _scalar(node: exp.Expression) -> bool:
    return (isinstance(node, exp.Subquery) and not isinstance(node.parent, exp.From | exp.Join | exp.In)
            and node.find_ancestor(exp.CTE, exp.Select) is not None)


def _as_literal(value) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | decimal.Decimal):
        return exp.Literal.number(value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "timestamp")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "date")
    return exp.Literal.string(str(value))


def _evaluated(node: exp.Expression, ctx: KeyContext) -> list[tuple] | None:
    """The rows the subquery ``node`` gives on the question's warehouse (None if it cannot run on its own)."""
    if ctx.rows_of is None:
        return None
    subquery = node.copy() if isinstance(node, exp.Subquery) else exp.Subquery(this=node.copy())
    probe = exp.select(exp.Star()).from_(subquery)
    top = node.root()
    if top.args.get("with_") is not None:
        probe.set("with_", top.args["with_"].copy())
    try:
        return ctx.rows_of(probe.sql(dialect="duckdb"))
    except Exception:  # a correlated subquery does not run alone; any failure means: no such mutant
        return None


def _replace_by_value(node: exp.Expression, value: object) -> None:
    node.replace(_as_literal(value))


def typed_in(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """A scalar subquery replaced by its value on the question's warehouse; an `in (select ...)` by its list."""
    if _scalar(node):
        rows = _evaluated(node, ctx)
        if rows is not None and len(rows) == 1 and len(rows[0]) == 1:
            yield "typed-in-value", partial(_replace_by_value, value=rows[0][0])
    if isinstance(node, exp.In) and isinstance(node.args.get("query"), exp.Subquery):
        rows = _evaluated(node.args["query"], ctx)
        if rows and all(len(row) == 1 for row in rows) and len(rows) <= 100:
            def change(copy: exp.Expression, rows=rows) -> None:
                copy.set("query", None)
                copy.set("expressions", [_as_literal(row[0]) for row in rows])
            yield "typed-in-list", change


def _self_reference(step: exp.Expression, name: str) -> list[exp.Table]:
    return [table for table in step.find_all(exp.Table) if table.name == name and not table.db]


def unrolled(node: exp.Expression, ctx: KeyContext) -> Iterator[Mutation]:
    """A recursive CTE unrolled to a fixed depth of 1 to 4 (its base, then that many steps at most)."""
    if not isinstance(node, exp.CTE) or not isinstance(node.this, exp.Union):
        return
    name = node.alias_or_name
    if not _self_reference(node.this.expression, name) or _self_reference(node.this.this, name):
        return
    for depth in range(1, MAX_UNROLLED + 1):
        def change(copy: exp.Expression, depth=depth) -> None:
            base, step = copy.this.this, copy.this.expression
            levels = [base.copy()]
            for _ in range(1, depth):
                next_step = step.copy()
                for table in _self_reference(next_step, name):
                    table.replace(exp.Subquery(this=levels[-1].copy(), alias=exp.TableAlias(
                        this=exp.to_identifier(table.alias_or_name))))
                levels.append(next_step)
            body = levels[0]
            for level in levels[1:]:
                body = exp.Union(this=body, expression=level, distinct=copy.this.args.get("distinct"))
            copy.set("this", body)
        yield f"unrolled-{depth}", change


OPERATORS = (comparison, boundary, join_kind, conjunct, disjunct, count, aggregate, distinct, grouping, ordering,
             rounding, division, literal, function_removed, sibling_column, name_pattern, unrolled, typed_in)
