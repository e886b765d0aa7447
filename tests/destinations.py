"""The three SQL destinations (SQLite, DuckDB, PostgreSQL) as one parametrised fixture, for the
conformance suite and the engine behaviour tests.

Use ``dest`` (a ``SqlDestination``): ``dest.doc()`` is the destination's config document
(named ``dest``), ``dest.sql(...)`` runs SQL on what the sync wrote, ``dest.plugin()`` makes
the destination plugin itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import query

from syncline.plugin.contracts import DestinationPlugin, PluginContext

KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("duckdb", id="duckdb"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.pg),
]
NAME = "dest"


@dataclass
class SqlDestination:
    kind: str
    where: str  # a SQLite or DuckDB file, or a PostgreSQL URL

    @property
    def label(self) -> str:
        return {"sqlite": "SQLite", "duckdb": "DuckDB", "postgresql": "PostgreSQL"}[self.kind]

    def doc(self, extra: str = "", spec: str = "") -> str:
        """The destination's document; ``extra`` goes under ``spec``, ``spec`` under its spec."""
        text = (
            f"kind: destination\nspec:\n  name: {NAME}\n  path: cloudquery/{self.kind}\n"
            '  registry: cloudquery\n  version: "v1.0.0"\n'
        )
        text += "".join(f"  {line}\n" for line in extra.splitlines())
        text += f'  spec:\n    connection_string: "{self.where}"\n'
        return text + "".join(f"    {line}\n" for line in spec.splitlines())

    def plugin(self) -> DestinationPlugin:
        ctx = PluginContext(self.kind)
        if self.kind == "sqlite":
            from syncline.connectors.sqlite import SQLiteDestination, SQLiteSpec

            return SQLiteDestination(SQLiteSpec(connection_string=self.where), ctx)
        if self.kind == "duckdb":
            from syncline.connectors.duckdb import DuckDBDestination, DuckDBSpec

            return DuckDBDestination(DuckDBSpec(connection_string=self.where), ctx)
        from syncline.connectors.postgresql import PostgreSQLDestination, PostgreSQLSpec

        return PostgreSQLDestination(PostgreSQLSpec(connection_string=self.where), ctx)

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            return query(self.where, statement)
        if self.kind == "duckdb":
            import duckdb

            with duckdb.connect(self.where) as con:
                cur = con.execute(statement)
                return cur.fetchall() if cur.description else []
        import psycopg

        with psycopg.connect(self.where, autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []

    def value(self, statement: str) -> Any:
        return self.sql(statement)[0][0]

    def has_table(self, name: str) -> bool:
        if self.kind == "sqlite":
            found = f"select count(*) from sqlite_master where type = 'table' and name = '{name}'"
        else:
            found = f"select count(*) from information_schema.tables where table_name = '{name}'"
        return int(self.value(found)) > 0

    def primary_key(self, table: str) -> list[str]:
        if self.kind == "sqlite":
            rows = self.sql(f"pragma table_info({table})")
            return [r[1] for r in sorted((r for r in rows if r[5] > 0), key=lambda r: r[5])]
        return [
            name
            for (name,) in self.sql(
                "select k.column_name from information_schema.table_constraints c "
                "join information_schema.key_column_usage k on k.constraint_name = "
                "c.constraint_name and k.table_name = c.table_name "
                f"where c.table_name = '{table}' and c.constraint_type = 'PRIMARY KEY' "
                "order by k.ordinal_position"
            )
        ]


def make(kind: str, request: pytest.FixtureRequest, workdir: Path) -> SqlDestination:
    if kind == "postgresql":
        return SqlDestination(kind, request.getfixturevalue("pg_url"))
    return SqlDestination(kind, str(workdir / f"db.{kind}"))


@pytest.fixture(params=KINDS)
def dest(request: pytest.FixtureRequest, workdir: Path) -> SqlDestination:
    """Each SQL destination in turn, fresh for each test."""
    return make(request.param, request, workdir)
