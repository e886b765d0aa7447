"""Table selection by ``tables`` / ``skip_tables`` globs and ``skip_dependent_tables``."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from syncline.schema.table import Table, flatten


class SelectionError(ValueError):
    def __init__(self, message: str, key: str = "tables", index: int | None = None) -> None:
        super().__init__(message)
        # Where in a source spec the problem is: "tables" or "skip_tables", and which pattern.
        self.key = key
        self.index = index


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    # Only "*" is a wildcard; everything else matches literally.
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


def glob_match(pattern: str, name: str) -> bool:
    return pattern == "*" or _glob_regex(pattern).match(name) is not None


def _matches_any(patterns: list[str], name: str) -> bool:
    return any(glob_match(p, name) for p in patterns)


def select_tables(
    tables: list[Table],
    include: list[str],
    skip: list[str] | None = None,
    skip_dependent_tables: bool = True,
) -> list[Table]:
    """Filter a forest of tables; parents of a selected child are kept (without siblings)."""
    skip = skip or []
    if not include:
        raise SelectionError(
            "no tables specified for syncing, review tables and skip_tables in the config"
        )
    names = [t.name for t in flatten(tables)]
    for label, patterns in (("tables", include), ("skip_tables", skip)):
        for i, p in enumerate(patterns):
            if not any(glob_match(p, n) for n in names):
                raise SelectionError(f"{label} include a pattern {p} with no matches", label, i)

    def visit(t: Table, parent_matched: bool) -> Table | None:
        if _matches_any(skip, t.name):
            return None
        matched = _matches_any(include, t.name) or (parent_matched and not skip_dependent_tables)
        children = tuple(c for c in (visit(r, matched) for r in t.relations) if c is not None)
        if matched or children:
            return replace(t, relations=children)
        return None

    out = [s for s in (visit(t, False) for t in tables) if s is not None]
    if not out:
        raise SelectionError(
            "no tables specified for syncing, review tables and skip_tables in the config"
        )
    return out
