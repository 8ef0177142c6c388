"""Whether an answer holds the answer key, compared by meaning (parse trees), not by text.

Both queries are parsed by DuckDB (``json_serialize_sql``). The trees are made canonical: no positions, no
aliases (of columns, tables or subqueries), identifiers in lower case, and each common table expression named by
its place in its ``with`` instead of its name. An answer holds the key when the key's canonical tree is a subtree
of the answer's: the key reformatted, wrapped in ``select * from (<key>) as mine``, put in a CTE of another name,
or with its columns renamed is still the key.
"""

from __future__ import annotations

import hashlib
import json

from incidentlab.checking.sql_allowlist import Refused, parse_tree

_DROPPED = {"query_location", "alias", "column_name_alias", "aliases"}
_NAMES = {"column_names", "table_name", "schema_name", "catalog_name", "relation_name", "function_name"}


def _lower(value):
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        return [_lower(item) for item in value]
    return value


def canonical(node, ctes: dict[str, str] | None = None):
    """The tree without what does not change the query's meaning; CTE names replaced by their place."""
    ctes = dict(ctes or {})
    if isinstance(node, list):
        return [canonical(item, ctes) for item in node]
    if not isinstance(node, dict):
        return node
    entries = node.get("cte_map", {}).get("map", []) if isinstance(node.get("cte_map"), dict) else []
    for index, entry in enumerate(entries):  # by place, not by depth: the key wrapped in a `with` is the key
        ctes[str(entry["key"]).lower()] = f"cte_{index}"
    out: dict = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "key" and isinstance(value, str):
            out[key] = ctes.get(value.lower(), value.lower())
        elif key == "cte_name":
            out[key] = ctes.get(str(value).lower(), value)
        elif key in _NAMES:
            out[key] = _lower(value)
        else:
            out[key] = canonical(value, ctes)
    if out.get("type") == "BASE_TABLE" and not out.get("schema_name") and out.get("table_name") in ctes:
        out["table_name"] = ctes[out["table_name"]]
    if out.get("class") == "COLUMN_REF":  # `t.x` and `x` name one column when only t has it
        out["column_names"] = out["column_names"][-1:]
    return out


def _digests(node, into: set[str]) -> str:
    """The digest of ``node`` from its children's digests; every dict's digest is added to ``into``."""
    if isinstance(node, dict):
        text = json.dumps({k: _digests(v, into) for k, v in node.items()}, sort_keys=True)
    elif isinstance(node, list):
        text = json.dumps([_digests(item, into) for item in node])
    else:
        text = json.dumps(node)
    digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    if isinstance(node, dict):
        into.add(digest)
    return digest


def holds_key(sql: str, key: str) -> bool:
    """The answer's tree holds the key's (either unreadable: False, the allow-list says why)."""
    try:
        answer, reference = parse_tree(sql), parse_tree(key)
    except (Refused, RecursionError):
        return False
    found: set[str] = set()
    _digests(canonical(answer), found)
    return _digests(canonical(reference), set()) in found
