"""Selection arguments as a user writes them, for dbt's own ``ls``: ``staging.*``, ``--select a --exclude b``…"""

from __future__ import annotations

import shlex

from incidentlab.errors import IncidentLabError

# dbt's node selection flags, by every name they have; each takes the words up to the next flag
FLAGS = {"--select": "--select", "-s": "--select", "--models": "--select", "-m": "--select",
         "--exclude": "--exclude", "--selector": "--selector", "--resource-type": "--resource-type",
         "--resource-types": "--resource-type", "--exclude-resource-type": "--exclude-resource-type"}


def ls_args(selection: str) -> list[str]:
    """dbt ls arguments for ``selection``: a bare selector (``staging.* tag:x``) is --select's value; a string
    with flags (``+orders --exclude customers``, ``--selector nightly``) is split at them."""
    try:
        words = shlex.split(selection)
    except ValueError as exc:
        raise IncidentLabError(f"the selection {selection!r} cannot be read: {exc}.") from None
    args, flag = [], "--select"
    values: dict[str, list[str]] = {}
    for word in words:
        if word.startswith("-"):
            if word not in FLAGS:
                raise IncidentLabError(f"the selection {selection!r} has {word}, which is not a dbt selection flag "
                                       f"({', '.join(sorted(set(FLAGS.values())))}).")
            flag = FLAGS[word]
            values.setdefault(flag, [])
        else:
            values.setdefault(flag, []).append(word)
    for flag, words in values.items():
        if not words:
            raise IncidentLabError(f"the selection {selection!r} gives {flag} no value.")
        args += [flag, *words]
    return args


def join_args(select: str | None = None, exclude: str | None = None, selector: str | None = None) -> str:
    """The selection string of separate --select/--exclude/--selector values (``all`` when there is none)."""
    parts = [f"{flag} {value}" for flag, value in (("--select", select), ("--exclude", exclude),
                                                    ("--selector", selector)) if value]
    if len(parts) == 1 and select:
        return select
    return " ".join(parts) or "all"
