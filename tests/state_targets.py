"""SQLite and PostgreSQL as the destination and state backend of the state tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import query, source_doc, sqlite_doc

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.pg),
]


@dataclass
class Target:
    """The destination named ``dest`` that also keeps the cursors (state table cq_state)."""

    kind: str
    where: str  # SQLite file or PostgreSQL URL

    def doc(self, extra: str = "", spec: str = "") -> str:
        if self.kind == "sqlite":
            return sqlite_doc(name="dest", path=self.where, extra=extra, spec=spec)
        text = "kind: destination\nspec:\n  name: dest\n  path: cloudquery/postgresql\n"
        text += "".join(f"  {line}\n" for line in extra.splitlines())
        text += f'  spec:\n    connection_string: "{self.where}"\n'
        return text + "".join(f"    {line}\n" for line in spec.splitlines())

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            return query(self.where, statement)
        import psycopg

        with psycopg.connect(self.where) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []

    def value(self, statement: str) -> Any:
        return self.sql(statement)[0][0]

    def ids(self, table: str = "test_incremental_table") -> list[int]:
        return [i for (i,) in self.sql(f"select id from {table} order by id")]

    def cursor(self, key: str = "test_incremental_table/client_0") -> str | None:
        rows = self.sql(
            f"select value from cq_state where key = '{key}' order by version desc limit 1"
        )
        return rows[0][0] if rows else None


def make_target(kind: str, request: pytest.FixtureRequest, workdir: Path) -> Target:
    if kind == "sqlite":
        return Target("sqlite", str(workdir / "db.sqlite"))
    return Target("postgresql", request.getfixturevalue("pg_url"))


def events_source(events: int, spec: str = "", tables: str = '["test_incremental_table"]') -> str:
    return source_doc(
        tables=tables,
        destinations=("dest",),
        extra='backend_options:\n  table_name: cq_state\n  connection: "@@plugins.dest.connection"',
        spec=f"num_events: {events}\nbatch_size: 100\n{spec}",
    )
