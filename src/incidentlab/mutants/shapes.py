"""What a select guarantees whatever the data: one row at most, or rows that are all distinct.

The operators leave out the mutants these guarantees make equivalent to the key by construction (a `distinct`
on rows that are distinct already, `union` for `union all` between branches that tag their rows), so that a
survivor is worth an author's look.
"""

from __future__ import annotations

from sqlglot import exp


def pass_through(select: exp.Select) -> bool:
    """`select * from x` and nothing else: a distinct there is a distinct where x is made (or a table's key)."""
    return (isinstance(select.expressions[0], exp.Star) and len(select.expressions) == 1
            and not any(select.args.get(k) for k in ("joins", "where", "group", "having", "limit", "order")))


def _value(projection: exp.Expression) -> exp.Expression:
    return projection.this if isinstance(projection, exp.Alias) else projection


def _source_cte(select: exp.Select) -> exp.Expression | None:
    """The body of the common table expression a select reads alone (no join), if it reads one."""
    source = select.args.get("from_")
    if source is None or select.args.get("joins") or not isinstance(source.this, exp.Table) or source.this.db:
        return None
    cte = next((c for c in select.root().find_all(exp.CTE) if c.alias_or_name == source.this.name), None)
    return cte.this if cte is not None and cte.this is not select else None


def _ctes_read(select: exp.Select) -> list[exp.Expression | None]:
    """The bodies of the common table expressions in the select's `from` and joins (None: not one)."""
    tables = [select.args["from_"].this] + [join.this for join in select.args.get("joins") or []]
    ctes = {c.alias_or_name: c.this for c in select.root().find_all(exp.CTE)}
    return [ctes.get(t.name) if isinstance(t, exp.Table) and not t.db and ctes.get(t.name) is not select else None
            for t in tables]


def one_row(select: exp.Expression) -> bool:
    """Whether the select gives one row at most whatever the data: aggregates (or literals) without `group by`,
    no `from`, `limit 1`, or a plain projection or cross join of common table expressions that give one row."""
    if not isinstance(select, exp.Select) or select.args.get("group"):
        return False
    limit = select.args.get("limit")
    if limit is not None and isinstance(limit.expression, exp.Literal) and limit.expression.this in ("0", "1", 0, 1):
        return True
    if select.args.get("from_") is None:
        return True
    if select.find(exp.Window):
        return False
    values = [_value(e) for e in select.expressions]
    if any(v.find(exp.AggFunc) for v in values) and all(v.find(exp.AggFunc) or isinstance(v, exp.Literal)
                                                        for v in values):
        return True
    return all(body is not None and one_row(body) for body in _ctes_read(select))


def _resolved(select: exp.Expression) -> exp.Expression:
    """A pass-through `select * from cte` stands for the cte's own body."""
    while isinstance(select, exp.Select) and pass_through(select) and (source := _source_cte(select)) is not None:
        select = source
    return select


def _tag(select: exp.Expression) -> tuple[int, str] | None:
    """(position, value) of the string literal the select projects first, which tells its rows from another
    branch's of the same union."""
    select = _resolved(select)
    if isinstance(select, exp.Select):
        for position, e in enumerate(select.expressions):
            if isinstance(_value(e), exp.Literal) and _value(e).is_string:
                return position, _value(e).this
    return None


def tagged_union(body: exp.Expression) -> str | None:
    """The name of the column whose literal tells apart the branches of a union of distinct rows, if it is one."""
    if not isinstance(body, exp.Union) or body.args.get("distinct"):
        return None
    branches = _branches(body)
    tags = [tag for b in branches if (tag := _tag(b)) is not None]
    if len(tags) != len(branches) or len({t[1] for t in tags}) != len(tags) or len({t[0] for t in tags}) != 1:
        return None
    if not all(unique_rows(_resolved(b)) for b in branches):
        return None
    first = _resolved(branches[0])
    return first.expressions[tags[0][0]].alias_or_name if isinstance(first, exp.Select) else None


def unique_rows(select: exp.Expression) -> bool:
    """Whether the select's rows are distinct whatever the data: one row, a `distinct`, groups whose every key is
    projected, a projected `row_number()` over the whole result, all the columns of a common table expression
    whose rows are distinct, or the tag column of a union whose branches each tag their distinct rows."""
    if not isinstance(select, exp.Select):
        return isinstance(select, exp.Union) and (select.args.get("distinct") or tagged_union(select) is not None)
    if select.args.get("distinct") or one_row(select):
        return True
    values = [_value(e) for e in select.expressions]
    if any(isinstance(v, exp.Window) and isinstance(v.this, exp.RowNumber) and not v.args.get("partition_by")
           for v in values):
        return True
    group = select.args.get("group")
    if group is not None:
        return all(key.sql() in {v.sql() for v in values} for key in group.expressions)
    source = _source_cte(select)
    if source is None:
        return False
    if isinstance(values[0], exp.Star) and len(values) == 1:
        return unique_rows(source)
    tag = tagged_union(source)
    return tag is not None and tag in {v.name for v in values if isinstance(v, exp.Column)}


def _branches(union: exp.Expression) -> list[exp.Expression]:
    if isinstance(union, exp.Union):
        return _branches(union.this) + _branches(union.expression)
    return [union]
