"""SQL helpers shared by SQL destinations."""

from __future__ import annotations

from collections.abc import Sequence


def quote_ident(name: str) -> str:
    """Quote an identifier so any name (spaces, quotes, reserved words) is safe."""
    if "\x00" in name:
        raise ValueError(f"identifier contains a NUL byte: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def column_list(names: Sequence[str]) -> str:
    return ", ".join(quote_ident(n) for n in names)


def upsert_sql(table: str, columns: Sequence[str], keys: Sequence[str], placeholder: str) -> str:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE`` (or a plain insert when there are no keys)."""
    sql = (
        f"INSERT INTO {quote_ident(table)} ({column_list(columns)}) "
        f"VALUES ({', '.join(placeholder for _ in columns)})"
    )
    if not keys:
        return sql
    return f"{sql} {on_conflict_update(columns, keys)}"


def on_conflict_update(columns: Sequence[str], keys: Sequence[str]) -> str:
    """``ON CONFLICT (keys) DO UPDATE SET`` every other column to the incoming value."""
    updates = [c for c in columns if c not in keys] or list(keys)
    sets = ", ".join(f"{quote_ident(c)} = excluded.{quote_ident(c)}" for c in updates)
    return f"ON CONFLICT ({column_list(keys)}) DO UPDATE SET {sets}"
