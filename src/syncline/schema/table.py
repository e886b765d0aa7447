"""The Table/Column model shared by sources, the engine and destinations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str = ""
    primary_key: bool = False
    # Used only to derive a deterministic _cq_id; _cq_id then becomes the key.
    primary_key_component: bool = False
    not_null: bool = False
    unique: bool = False
    incremental_key: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    description: str = ""
    title: str = ""
    relations: tuple[Table, ...] = ()
    parent: str | None = None
    is_incremental: bool = False
    pk_constraint_name: str = ""
    # Columns that may hold secrets (cq:table_sensitive_columns), for obfuscating transformers.
    sensitive_columns: tuple[str, ...] = ()

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def primary_keys(self) -> list[str]:
        return [c.name for c in self.columns if c.primary_key]

    def with_columns(self, columns: tuple[Column, ...]) -> Table:
        return replace(self, columns=columns)

    def walk(self) -> Iterator[Table]:
        """This table, then its descendants depth-first (parents before children)."""
        yield self
        for child in self.relations:
            yield from child.walk()


def flatten(tables: list[Table] | tuple[Table, ...]) -> list[Table]:
    """All tables of the trees, parents first, each name once."""
    seen: set[str] = set()
    out: list[Table] = []
    for top in tables:
        for t in top.walk():
            if t.name not in seen:
                seen.add(t.name)
                out.append(t)
    return out
