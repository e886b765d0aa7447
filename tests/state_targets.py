"""SQLite and PostgreSQL (of the shared SQL destinations) as the destination and state backend
of the state tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import source_doc
from destinations import SqlDestination, make

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.pg),
]


class Target(SqlDestination):
    """The destination named ``dest`` that also keeps the cursors (state table cq_state)."""

    def ids(self, table: str = "test_incremental_table") -> list[int]:
        return [i for (i,) in self.sql(f"select id from {table} order by id")]

    def cursor(self, key: str = "test_incremental_table/client_0") -> str | None:
        rows = self.sql(
            f"select value from cq_state where key = '{key}' order by version desc limit 1"
        )
        return rows[0][0] if rows else None


def make_target(kind: str, request: pytest.FixtureRequest, workdir: Path) -> Target:
    found = make(kind, request, workdir)
    return Target(found.kind, found.where)


def events_source(events: int, spec: str = "", tables: str = '["test_incremental_table"]') -> str:
    return source_doc(
        tables=tables,
        destinations=("dest",),
        extra='backend_options:\n  table_name: cq_state\n  connection: "@@plugins.dest.connection"',
        spec=f"num_events: {events}\nbatch_size: 100\n{spec}",
    )
