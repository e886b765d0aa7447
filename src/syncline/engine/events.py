"""What a sync logs at info: one line per event a person debugging a sync looks for.

Each line carries its facts as fields (``table``, ``rows``, ...) so JSON logs can be queried;
never a spec or connection string.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from syncline.engine.summary import SourceResult

log = logging.getLogger("syncline.engine")

_KEY_SEPARATORS = "/:|."


def table_of_key(key: str, tables: Iterable[str]) -> str:
    """The table a cursor key belongs to: the table name it is or starts with (then a
    separator); the key itself when no table matches."""
    best = ""
    for name in tables:
        rest = key[len(name) :] if key.startswith(name) else None
        if rest is not None and (not rest or rest[0] in _KEY_SEPARATORS) and len(name) > len(best):
            best = name
    return best or key


def cursors_committed(
    source: str,
    tables: Iterable[str],
    old: Mapping[str, str | None],
    new: Mapping[str, str | None],
) -> None:
    names = list(tables)
    for key, value in new.items():
        log.info(
            "cursor committed",
            extra={
                "source": source,
                "table": table_of_key(key, names),
                "key": key,
                "old": old.get(key),
                "new": value,
            },
        )


def stale_deleted(source: str, destination: str, table: str, rows: int | None) -> None:
    log.info(
        "deleted stale rows",
        extra={"source": source, "destination": destination, "table": table, "rows": rows},
    )


def tables_finished(result: SourceResult) -> None:
    for name, stats in sorted(result.tables.items()):
        log.info(
            "table sync finished",
            extra={
                "source": result.source_name,
                "table": name,
                "rows": stats.rows,
                "errors": stats.errors,
            },
        )
