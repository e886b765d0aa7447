"""Transformers through whole syncs into real SQLite files: config, each transformation,
chains, renamed tables with delete-stale, cursors and failures."""

from __future__ import annotations

import hashlib
import json
import textwrap

import pytest
from conftest import config, query, scalar, source_doc, sqlite_doc


def sha(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def marker(text: str | bytes) -> str:
    return f"Redacted by CloudQuery | {sha(text)}"


def transformer_doc(transformations: str, name: str = "basic") -> str:
    body = textwrap.indent(textwrap.dedent(transformations).strip("\n"), "      ")
    return f"""\
kind: transformer
spec:
  name: {name}
  path: cloudquery/basic
  registry: cloudquery
  version: "v1.0.0"
  spec:
    transformations:
{body}
"""


def some_table(rows: int = 3, extra: str = "") -> str:
    return source_doc(tables='["test_some_table"]', spec=f"num_rows: {rows}\n{extra}")


def dest(transformers: str = "[basic]", extra: str = "", name: str = "sqlite") -> str:
    return sqlite_doc(name=name, extra=f"transformers: {transformers}\n{extra}")


def columns(db, table: str) -> list[str]:
    return [r[1] for r in query(db, f"pragma table_info({table})")]


# -- config ------------------------------------------------------------------------------------


def test_unknown_transformer_reference_names_file_document_line_and_key(write, run_cli):
    write(
        "a.yml",
        config(
            some_table(),
            dest("[basic, missing]"),
            transformer_doc("- kind: remove_columns\n  columns: [bool_col]"),
        ),
    )
    r = run_cli("validate-config", "a.yml")
    assert r.code == 1
    assert (
        "a.yml (document 2, line 18): spec.transformers.1: destination sqlite references unknown transformer missing"
        in r.err
    )


def test_duplicate_transformer_names_are_refused(write, run_cli):
    t = transformer_doc("- kind: remove_columns\n  columns: [bool_col]")
    write("a.yml", config(some_table(), dest(), t, t))
    r = run_cli("validate-config", "a.yml")
    assert r.code == 1
    assert "a.yml (document 4, line 35): spec.name: duplicate transformer name basic" in r.err


@pytest.mark.parametrize(
    ("transformation", "expected"),
    [
        (
            "- kind: add_column\n  name: origin",
            "'value' field must be specified for add_column transformation",
        ),
        (
            "- kind: remove_columns",
            "'columns' field must be specified for remove_columns transformation",
        ),
        ("- kind: shuffle_rows\n  columns: [id]", "kind: input should be"),
        (
            "- kind: change_table_names\n  new_table_name_template: 'x_{{.Other}}'",
            "supports only the {{.OldName}} placeholder",
        ),
        (
            "- kind: remove_columns\n  columns: [id]\n  include_sha: false",
            "'include_sha' field must not be specified",
        ),
        (
            "- kind: obfuscate_columns_except\n  columns: [id]\n  unmatched: hide",
            "unmatched: input should be 'drop', 'collapse' or 'redact'",
        ),
    ],
)
def test_invalid_transformations_name_the_key(write, run_cli, transformation, expected):
    write("a.yml", config(some_table(), dest(), transformer_doc(transformation)))
    r = run_cli("validate-config", "a.yml")
    assert r.code == 1
    assert "a.yml (document 3, line" in r.err and "spec.spec.transformations.0" in r.err, r.err
    assert expected in r.err


# -- each transformation -----------------------------------------------------------------------


def sync(write, run_cli, workdir, transformations: str, rows: int = 3, extra_dest: str = ""):
    write(
        "a.yml", config(some_table(rows), dest(extra=extra_dest), transformer_doc(transformations))
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    return workdir / "db.sqlite"


def test_remove_columns_and_json_paths(write, run_cli, workdir):
    db = sync(
        write,
        run_cli,
        workdir,
        "- kind: remove_columns\n  tables: ['test_*']\n  columns: [bool_col, list_col, json_col.client, no_such_column]",
    )
    cols = columns(db, "test_some_table")
    assert "bool_col" not in cols and "list_col" not in cols and "json_col" in cols
    assert query(db, "select id, json_col from test_some_table order by id") == [
        (1, '{"id":1}'),
        (2, '{"id":2}'),
        (3, '{"id":3}'),
    ]


def test_add_column_and_current_timestamp(write, run_cli, workdir):
    db = sync(
        write,
        run_cli,
        workdir,
        "- kind: add_column\n  name: origin\n  value: lab\n- kind: add_current_timestamp_column\n  name: processed_at",
    )
    cols = columns(db, "test_some_table")
    assert cols[-2:] == ["origin", "processed_at"]
    assert query(db, "select distinct origin from test_some_table") == [("lab",)]
    stamp, synced = query(db, "select min(processed_at), min(_cq_sync_time) from test_some_table")[
        0
    ]
    assert stamp is not None and stamp >= synced[:19]
    notnull = {r[1]: r[3] for r in query(db, "pragma table_info(test_some_table)")}
    assert notnull["origin"] == 1 and notnull["processed_at"] == 0


def test_obfuscate_columns_with_and_without_sha(write, run_cli, workdir):
    db = sync(
        write,
        run_cli,
        workdir,
        "- kind: obfuscate_columns\n  columns: [string_col, binary_col]\n"
        "- kind: obfuscate_columns\n  columns: [json_col]\n  include_sha: false",
    )
    rows = query(db, "select string_col, binary_col, json_col from test_some_table where id = 2")
    binary = (2).to_bytes(8, "big")
    assert rows == [
        (
            marker("row-0-2"),
            marker(binary).encode(),
            '{"redacted_by_cloudquery":"Redacted by CloudQuery"}',
        )
    ]


def test_obfuscate_json_path_keeps_the_rest(write, run_cli, workdir):
    db = sync(write, run_cli, workdir, "- kind: obfuscate_columns\n  columns: [json_col.id]")
    assert json.loads(scalar(db, "select json_col from test_some_table where id = 3")) == {
        "id": marker("3"),
        "client": 0,
    }


def test_obfuscate_columns_except_drop_collapse_redact(write, run_cli, workdir):
    db = sync(
        write,
        run_cli,
        workdir,
        "- kind: obfuscate_columns_except\n  columns: [client_id, id, json_col.id]",
    )
    # drop (the default): unlisted columns and JSON leaves are gone, internal columns stay
    assert columns(db, "test_some_table") == [
        "_cq_sync_time",
        "_cq_source_name",
        "_cq_id",
        "_cq_parent_id",
        "client_id",
        "id",
        "json_col",
    ]
    assert scalar(db, "select json_col from test_some_table where id = 1") == '{"id":1}'
    db.unlink()
    db = sync(
        write,
        run_cli,
        workdir,
        "- kind: obfuscate_columns_except\n  unmatched: redact\n  columns: [client_id, id, json_col.id]",
    )
    row = query(db, "select string_col, json_col from test_some_table where id = 1")[0]
    assert row == (
        marker("row-0-1"),
        json.dumps({"id": 1, "client": marker("0")}, separators=(",", ":")),
    )
    # numbers, timestamps and lists cannot hold a marker: they are dropped
    assert "int64_col" not in columns(db, "test_some_table") and "binary_col" in columns(
        db, "test_some_table"
    )


def test_obfuscate_columns_except_refuses_to_lose_a_primary_key(write, run_cli, workdir):
    write(
        "a.yml",
        config(
            some_table(),
            dest(),
            transformer_doc(
                "- kind: obfuscate_columns_except\n  unmatched: collapse\n  columns: [client_id, string_col]"
            ),
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "transformer basic (destination sqlite) failed" in r.err
    assert "primary-key column 'id' has type int64 that cannot be redacted in place" in r.err
    assert (
        scalar(
            workdir / "db.sqlite",
            "select count(*) from sqlite_master where name = 'test_some_table'",
        )
        == 0
    )


def test_rename_column_add_primary_keys_and_case(write, run_cli, workdir):
    db = sync(
        write,
        run_cli,
        workdir,
        "- kind: rename_column\n  name: string_col\n  value: label\n"
        "- kind: uppercase\n  columns: [label]\n"
        "- kind: lowercase\n  columns: [json_col]\n"
        "- kind: add_primary_keys\n  columns: [label]",
        extra_dest="write_mode: overwrite",
    )
    assert "string_col" not in columns(db, "test_some_table")
    assert query(db, "select label from test_some_table order by id") == [
        ("ROW-0-1",),
        ("ROW-0-2",),
        ("ROW-0-3",),
    ]
    pks = [r[1] for r in query(db, "pragma table_info(test_some_table)") if r[5]]
    assert pks == ["client_id", "id", "label"]


def test_drop_rows_by_value(write, run_cli, workdir):
    db = sync(
        write,
        run_cli,
        workdir,
        "- kind: drop_rows\n  columns: [id, int8_col]\n  value: 2\n- kind: drop_rows\n  columns: [string_col]\n  value: row-0-4",
        rows=5,
    )
    assert query(db, "select id from test_some_table order by id") == [(1,), (3,), (5,)]
    db.unlink()
    db = sync(
        write,
        run_cli,
        workdir,
        "- kind: drop_rows\n  columns: [timestamp_col]\n  value: '2024-01-01 00:00:03'\n"
        "- kind: drop_rows\n  columns: [bool_col]\n  value: true\n"
        "- kind: drop_rows\n  columns: [float64_col]\n  value: 0.5",
        rows=5,
    )
    # id 3 by its timestamp, 2 and 4 by bool_col (even ids), 1 by float64_col (id * 0.5)
    assert query(db, "select id from test_some_table order by id") == [(5,)]


def test_tables_globs_limit_a_transformation(write, run_cli, workdir):
    src = source_doc(
        tables='["test_some_table", "test_sub_table"]', spec="num_rows: 2\nnum_sub_rows: 1"
    )
    t = transformer_doc(
        "- kind: add_column\n  tables: ['test_sub_*']\n  name: origin\n  value: child"
    )
    write("a.yml", config(src, dest(), t))
    assert run_cli("sync", "a.yml").code == 0
    db = workdir / "db.sqlite"
    assert "origin" not in columns(db, "test_some_table")
    assert query(db, "select distinct origin from test_sub_table") == [("child",)]


# -- renamed tables, delete-stale, state, chains -----------------------------------------------

RENAME = (
    "- kind: change_table_names\n  tables: ['*']\n  new_table_name_template: 'raw_{{.OldName}}'"
)


def test_renamed_tables_with_overwrite_delete_stale(write, run_cli, workdir):
    t = transformer_doc(RENAME)
    write("a.yml", config(some_table(5), dest(), t))
    assert run_cli("sync", "a.yml").code == 0
    db = workdir / "db.sqlite"
    assert scalar(db, "select count(*) from sqlite_master where name = 'test_some_table'") == 0
    assert scalar(db, "select count(*) from raw_test_some_table") == 5
    write("a.yml", config(some_table(2), dest(), t))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    # stale rows were deleted from the renamed table
    assert query(db, "select id from raw_test_some_table order by id") == [(1,), (2,)]


def test_incremental_cursor_keeps_source_names_and_delete_stale_skips_renamed_table(
    write, run_cli, workdir
):
    backend = (
        "backend_options:\n  table_name: cq_state\n  connection: '@@plugins.sqlite.connection'"
    )

    def src(events: int) -> str:
        return source_doc(
            tables='["test_incremental_table"]',
            extra=backend,
            spec=f"num_events: {events}\nbatch_size: 10",
        )

    t = transformer_doc(RENAME + "\n- kind: remove_columns\n  columns: [payload]")
    write("a.yml", config(src(30), dest(), t))
    assert run_cli("sync", "a.yml").code == 0
    db = workdir / "db.sqlite"
    # the state backend is not transformed: keys keep the source's table name
    assert query(db, "select key, value from cq_state") == [
        ("test_incremental_table/client_0", "30")
    ]
    write("a.yml", config(src(45), dest(), t))
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 15," in r.out
    # incremental rows of the first sync survived delete-stale of the renamed table
    assert scalar(db, "select count(*) from raw_test_incremental_table") == 45
    assert "payload" not in columns(db, "raw_test_incremental_table")


def test_a_chain_of_transformers_runs_in_order_for_its_destination_only(write, run_cli, workdir):
    first = transformer_doc(
        RENAME + "\n- kind: rename_column\n  name: string_col\n  value: label", name="first"
    )
    # the second transformer sees the names the first one gave
    second = transformer_doc(
        "- kind: uppercase\n  tables: [raw_test_some_table]\n  columns: [label]", name="second"
    )
    src = source_doc(
        tables='["test_some_table"]', destinations=("sqlite", "plain"), spec="num_rows: 2"
    )
    plain = sqlite_doc(name="plain", path="plain.sqlite")
    write("a.yml", config(src, dest("[first, second]"), plain, first, second))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert query(workdir / "db.sqlite", "select label from raw_test_some_table order by id") == [
        ("ROW-0-1",),
        ("ROW-0-2",),
    ]
    assert query(
        workdir / "plain.sqlite", "select string_col from test_some_table order by id"
    ) == [("row-0-1",), ("row-0-2",)]


def test_a_transformer_error_fails_the_sync_with_its_name_and_keeps_the_cursor(
    write, run_cli, workdir
):
    backend = (
        "backend_options:\n  table_name: cq_state\n  connection: '@@plugins.sqlite.connection'"
    )
    src = source_doc(
        tables='["test_incremental_table"]', extra=backend, spec="num_events: 30\nbatch_size: 10"
    )
    bad = transformer_doc("- kind: obfuscate_columns\n  columns: [id]", name="scrub")
    write("a.yml", config(src, dest("[scrub]"), bad))
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "transformer scrub (destination sqlite) failed to transform" in r.err
    assert "column id is not a string, binary or JSON column" in r.err
    db = workdir / "db.sqlite"
    assert (
        scalar(db, "select count(*) from sqlite_master where name = 'cq_state'") == 0
        or scalar(db, "select count(*) from cq_state") == 0
    )


def test_migrate_command_creates_transformed_tables(write, run_cli, workdir):
    write(
        "a.yml",
        config(
            some_table(),
            dest(),
            transformer_doc(RENAME + "\n- kind: remove_columns\n  columns: [list_col]"),
        ),
    )
    r = run_cli("migrate", "a.yml")
    assert r.code == 0, r.err
    db = workdir / "db.sqlite"
    assert "list_col" not in columns(db, "raw_test_some_table") and "string_col" in columns(
        db, "raw_test_some_table"
    )
