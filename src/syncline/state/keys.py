"""The one scheme for cursor keys, and which table a key belongs to.

A key is the table's name, alone or followed by ``/`` and a scope for sources that keep one
cursor per client (``test_incremental_table/client_0``,
``aws_cloudtrail_events/123456789012/us-east-1``). Keys of external sources may use another
separator after the table's name, so ``:``, ``|`` and ``.`` are read as separators too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

SEPARATOR = "/"
_SEPARATORS = "/:|."


def cursor_key(table: str, *scope: object) -> str:
    """The key of ``table``'s cursor, one per scope (e.g. per account and region)."""
    return SEPARATOR.join([table, *(str(s) for s in scope)])


def belongs_to(key: str, table: str) -> bool:
    """Whether ``key`` names ``table``'s cursor (``orders/x`` is ``orders``'s, not ``order``'s)."""
    return key == table or (
        key.startswith(table) and len(key) > len(table) and key[len(table)] in _SEPARATORS
    )


def table_of(key: str, tables: Iterable[str]) -> str | None:
    """The table of ``tables`` that ``key`` belongs to; the longest name when several match
    (``a.b/x`` is ``a.b``'s, not ``a``'s)."""
    found = [t for t in tables if belongs_to(key, t)]
    return max(found, key=len) if found else None


def keys_of(keys: Iterable[str], table: str) -> list[str]:
    return [k for k in keys if belongs_to(k, table)]


def keys_of_tables(
    keys: Iterable[str], tables: Collection[str], known: Iterable[str] = ()
) -> list[str]:
    """The keys of any of ``tables`` (every key when ``tables`` is empty); a key that belongs
    to a longer name among the ``known`` tables is that table's, not one of ``tables``."""
    if not tables:
        return list(keys)
    names = set(tables) | set(known)
    return [k for k in keys if table_of(k, names) in tables]
