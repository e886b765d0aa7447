"""JSON paths, sensitive columns and allowlists on real SQLite and PostgreSQL destinations.

The rows come from a small in-process source with nested JSON documents and a column the
source marks sensitive (``cq:table_sensitive_columns``); everything after it is the real
engine and the real destination.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from conftest import config
from test_transformers import marker, transformer_doc

from syncline.config.reader import read_config
from syncline.engine.plugins import resolve_plugins
from syncline.engine.sync import SyncFailed, run_sync
from syncline.messages import Insert, MigrateTable, SyncMessage
from syncline.plugin.contracts import PluginContext, SourceInfo
from syncline.schema.arrow import rows_to_record, to_arrow_schema
from syncline.schema.table import Column, Table
from syncline.schema.types import JSON

DOCS = [
    {
        "owner": "ann",
        "items": [{"name": "a", "secret": "s1"}, {"name": "b", "secret": "s2"}],
        "meta": {"internal": {"x": 1}, "public": "yes"},
        "k8s.io/config": "hidden",
    },
    {"owner": "bob", "items": [], "meta": {"public": "no"}},
]
TABLE = Table(
    "nested_items",
    columns=(
        Column("id", pa.int64(), primary_key=True),
        Column("token", pa.utf8()),
        Column("doc", JSON),
    ),
    sensitive_columns=("token",),
)


class NestedSource:
    def __init__(self, rows: int) -> None:
        self.rows = rows

    def tables(self) -> list[Table]:
        return [TABLE]

    def sync(self, options: Any, state: Any) -> Iterator[SyncMessage]:
        yield MigrateTable(TABLE)
        rows = [
            # every third row has no token
            {"id": i + 1, "token": f"tok-{i + 1}" if (i + 1) % 3 else None, "doc": DOCS[i % 2]}
            for i in range(self.rows)
        ]
        yield Insert(TABLE.name, rows_to_record(to_arrow_schema(TABLE), rows))

    def test_connection(self) -> None: ...

    def close(self) -> None: ...


SOURCE = """\
kind: source
spec:
  name: nested
  path: cloudquery/test
  tables: ["*"]
  destinations: [dest]
"""


def dest_doc(kind: str, target: str, transformers: str) -> str:
    path, conn = (
        ("cloudquery/sqlite", target)
        if kind == "sqlite"
        else ("cloudquery/postgresql", f'"{target}"')
    )
    return f"""\
kind: destination
spec:
  name: dest
  path: {path}
  transformers: {transformers}
  spec:
    connection_string: {conn}
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def target(request, workdir):
    if request.param == "sqlite":
        return "sqlite", str(workdir / "db.sqlite")
    return "postgresql", request.getfixturevalue("pg_url")


def run(workdir, target, *transformers: str, rows: int = 2, chain: str = "[basic]") -> None:
    kind, where = target
    (workdir / "a.yml").write_text(config(SOURCE, dest_doc(kind, where, chain), *transformers))
    cfg = read_config([str(workdir / "a.yml")])
    plugins = resolve_plugins(cfg)
    resolved = plugins.sources["nested"]

    def factory(spec: Any, ctx: PluginContext) -> NestedSource:
        return NestedSource(rows)

    info = SourceInfo(path="nested", spec_model=resolved.info.spec_model, factory=factory)
    plugins.sources["nested"] = replace(resolved, info=info)
    run_sync(cfg, plugins)


def fetch(target, sql: str) -> list[tuple[Any, ...]]:
    kind, where = target
    if kind == "sqlite":
        with sqlite3.connect(where) as conn:
            return conn.execute(sql).fetchall()
    with psycopg.connect(where) as conn:
        return conn.execute(sql).fetchall()


def docs(target, table: str = "nested_items") -> list[Any]:
    return [
        v if isinstance(v, dict) else json.loads(v)
        for (v,) in fetch(target, f"select doc from {table} order by id")
    ]


def test_json_paths_obfuscate_remove_and_case(workdir, target):
    run(
        workdir,
        target,
        transformer_doc(
            r"""
            - kind: obfuscate_columns
              columns: ["doc.items.#.secret", "doc.items.0.name"]
            - kind: remove_columns
              columns: ["doc.meta.internal", "doc.k8s\\.io\\/config"]
            - kind: uppercase
              columns: [doc.owner]
            """
        ),
    )
    first, second = docs(target)
    same = marker('["s1","s2"]')  # one marker for every element a # path names, as CloudQuery
    assert first == {
        "owner": "ANN",
        "items": [{"name": marker('"a"'), "secret": same}, {"name": "b", "secret": same}],
        "meta": {"public": "yes"},
    }
    assert second == {"owner": "BOB", "items": [], "meta": {"public": "no"}}


def test_obfuscate_sensitive_columns(workdir, target):
    run(workdir, target, transformer_doc("- kind: obfuscate_sensitive_columns"))
    assert fetch(target, "select id, token from nested_items order by id") == [
        (1, marker("tok-1")),
        (2, marker("tok-2")),
    ]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("drop", {"items": [{"name": "a"}, {"name": "b"}], "meta": {"public": "yes"}}),
        (
            "collapse",
            {
                "owner": marker('"ann"'),
                "items": [
                    {"name": "a", "secret": marker('"s1"')},
                    {"name": "b", "secret": marker('"s2"')},
                ],
                "meta": {"internal": marker('{"x":1}'), "public": "yes"},
                "k8s.io/config": marker('"hidden"'),
            },
        ),
        (
            "redact",
            {
                "owner": marker('"ann"'),
                "items": [
                    {"name": "a", "secret": marker('"s1"')},
                    {"name": "b", "secret": marker('"s2"')},
                ],
                "meta": {"internal": {"x": marker("1")}, "public": "yes"},
                "k8s.io/config": marker('"hidden"'),
            },
        ),
    ],
)
def test_obfuscate_columns_except_on_nested_json(workdir, target, mode, expected):
    run(
        workdir,
        target,
        transformer_doc(
            f"""
            - kind: obfuscate_columns_except
              unmatched: {mode}
              columns: [id, "doc.items.#.name", doc.meta.public]
            """
        ),
    )
    assert docs(target)[0] == expected
    tokens = fetch(target, "select token from nested_items order by id") if mode != "drop" else []
    assert tokens == ([] if mode == "drop" else [(marker("tok-1"),), (marker("tok-2"),)])


def test_chain_with_renamed_tables_and_delete_stale(workdir, target):
    rename = transformer_doc(
        "- kind: change_table_names\n  new_table_name_template: 'clean_{{.OldName}}'", name="rename"
    )
    scrub = transformer_doc(
        "- kind: obfuscate_columns\n  tables: [clean_*]\n  columns: [token]\n  include_sha: false\n"
        "- kind: add_column\n  tables: [clean_*]\n  name: stage\n  value: scrubbed",
        name="scrub",
    )
    run(workdir, target, rename, scrub, rows=4, chain="[rename, scrub]")
    assert fetch(target, "select count(*), min(token), min(stage) from clean_nested_items") == [
        (4, "Redacted by CloudQuery", "scrubbed")
    ]
    run(workdir, target, rename, scrub, rows=1, chain="[rename, scrub]")
    assert fetch(target, "select id from clean_nested_items") == [(1,)]


def test_drop_rows_with_a_null_value(workdir, target):
    run(workdir, target, transformer_doc("- kind: drop_rows\n  columns: [token]"), rows=7)
    assert fetch(target, "select id from nested_items order by id") == [
        (1,),
        (2,),
        (4,),
        (5,),
        (7,),
    ]


class FailingTransformer:
    """Passes records through until the ``fail_at``-th, then fails (a transformer bug)."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at, self.seen = fail_at, 0

    def transform_schema(self, schema: pa.Schema) -> pa.Schema:
        return schema

    def transform(self, record: pa.RecordBatch) -> pa.RecordBatch:
        self.seen += 1
        if self.seen == self.fail_at:
            raise RuntimeError("cannot parse record")
        return record

    def close(self) -> None: ...


def test_a_failing_transformer_never_leaves_the_cursor_ahead_of_durable_rows(workdir):
    db = workdir / "db.sqlite"
    text = f"""\
kind: source
spec:
  name: test
  path: cloudquery/test
  tables: [test_incremental_table]
  destinations: [sqlite]
  backend_options:
    table_name: cq_state
    connection: "@@plugins.sqlite.connection"
  spec:
    num_events: 100
    batch_size: 10
    concurrency: 1
---
kind: destination
spec:
  name: sqlite
  path: cloudquery/sqlite
  transformers: [flaky]
  spec:
    connection_string: {db}
    batch_size: 10
"""
    (workdir / "a.yml").write_text(
        config(text, transformer_doc("- kind: uppercase\n  columns: [payload]", name="flaky"))
    )
    cfg = read_config([str(workdir / "a.yml")])
    plugins = resolve_plugins(cfg)
    resolved = plugins.transformers["flaky"]

    def factory(spec: Any, ctx: PluginContext) -> FailingTransformer:
        return FailingTransformer(fail_at=5)

    plugins.transformers["flaky"] = replace(resolved, info=replace(resolved.info, factory=factory))
    with pytest.raises(
        SyncFailed,
        match="transformer flaky \\(destination sqlite\\) failed to transform a record: cannot parse record",
    ):
        run_sync(cfg, plugins)
    with sqlite3.connect(db) as conn:
        stored = conn.execute("select count(*), max(id) from test_incremental_table").fetchone()
        cursor = conn.execute("select value from cq_state").fetchall()
    assert stored[0] == 40  # four records made it through before the fifth failed
    # a cursor, if any was committed, covers only rows that are in the table
    assert all(int(v) <= stored[1] for (v,) in cursor)
    committed = int(cursor[0][0]) if cursor else 0

    # the next run, with a working transformer, resumes and ends with every event once
    cfg = read_config([str(workdir / "a.yml")])
    run_sync(cfg, resolve_plugins(cfg))
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "select count(*), count(distinct id) from test_incremental_table"
        ).fetchone() == (100, 100)
        # rows after the committed cursor were synced again, through the transformer
        upper = "select count(*) from test_incremental_table where payload = upper(payload)"
        assert conn.execute(upper).fetchone() == (100 - committed,)
        assert conn.execute("select value from cq_state").fetchall() == [("100",)]
