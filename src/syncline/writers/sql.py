"""SQL helpers shared by SQL destinations."""

from __future__ import annotations

from collections.abc import Sequence

from syncline.schema.internal import free_name


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


def latest_rows_sql(
    source: str,
    columns: Sequence[str],
    keys: Sequence[str],
    version: str,
    written_order: str,
    select: Sequence[str] | None = None,
) -> str:
    """The rows of each key's highest ``version`` (null as 0), in the order written.

    A join on each key's maximum: one aggregate pass and one scan, where a window function
    would sort every row. ``written_order`` is the engine's physical row order (``rowid``,
    ``ctid``), the order a plain read returns rows in; ``select`` the outer expressions
    over the alias ``t`` (default: ``columns``).
    """
    top = quote_ident(free_name("__syncline_top", columns))
    ver = quote_ident(version)
    match = " AND ".join(f"t.{quote_ident(k)} = m.{quote_ident(k)}" for k in keys)
    outer = (
        ", ".join(select)
        if select is not None
        else ", ".join(f"t.{quote_ident(c)}" for c in columns)
    )
    return (
        f"SELECT {outer} FROM {source} AS t JOIN (SELECT {column_list(keys)}, "
        f"max(coalesce({ver}, 0)) AS {top} FROM {source} GROUP BY {column_list(keys)}) AS m "
        f"ON {match} AND coalesce(t.{ver}, 0) = m.{top} ORDER BY t.{written_order}"
    )
