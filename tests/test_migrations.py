"""Safe and forced migrations against a real SQLite file."""

from __future__ import annotations

from conftest import config, query, scalar, source_doc, sqlite_doc


def _columns(db, table):
    return {
        r[1]: (r[2].lower(), bool(r[3]), r[5] > 0) for r in query(db, f"pragma table_info({table})")
    }


def test_safe_migration_adds_a_nullable_column(write, run_cli, workdir):
    db = workdir / "db.sqlite"
    query(
        db,
        'create table test_incremental_table ("_cq_sync_time" timestamp, "_cq_source_name" text, '
        '"_cq_id" text not null, "_cq_parent_id" text, "client_id" integer not null, '
        '"id" integer not null, "event_time" timestamp, primary key (client_id, id))',
    )
    query(db, "insert into test_incremental_table (_cq_id, client_id, id) values ('x', 0, 999)")
    write(
        "a.yml",
        config(
            source_doc(tables='["test_incremental_table"]', spec="num_events: 3"),
            sqlite_doc(extra="write_mode: overwrite"),
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "payload" in _columns(db, "test_incremental_table")
    # the existing row survived the migration
    assert scalar(db, "select count(*) from test_incremental_table") == 4
    assert scalar(db, "select payload from test_incremental_table where id = 2") == "event-0-2"


def test_safe_migration_refuses_a_type_change_naming_table_and_column(write, run_cli, workdir):
    db = workdir / "db.sqlite"
    write(
        "a.yml",
        config(source_doc(tables='["test_incremental_table"]', spec="num_events: 3"), sqlite_doc()),
    )
    assert run_cli("sync", "a.yml").code == 0
    # Rebuild the table with payload as an integer column, as an older schema might have had.
    query(db, "alter table test_incremental_table drop column payload")
    query(db, "alter table test_incremental_table add column payload integer")
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "can't migrate tables automatically" in r.err
    assert 'table "test_incremental_table": change column "payload" (type integer -> text)' in r.err
    assert "migrate_mode: forced" in r.err
    # nothing was dropped
    assert scalar(db, "select count(*) from test_incremental_table") == 3


def test_safe_migration_refuses_a_primary_key_change(write, run_cli, workdir):
    write(
        "a.yml",
        config(
            source_doc(tables='["test_some_table"]', spec="num_rows: 2"),
            sqlite_doc(extra="write_mode: append"),
        ),
    )
    assert run_cli("sync", "a.yml").code == 0
    write(
        "a.yml", config(source_doc(tables='["test_some_table"]', spec="num_rows: 2"), sqlite_doc())
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert 'change column "id" (not null False -> True, primary key False -> True)' in r.err


def test_forced_migration_drops_and_recreates(write, run_cli, workdir):
    db = workdir / "db.sqlite"
    write(
        "a.yml",
        config(
            source_doc(tables='["test_some_table"]', spec="num_rows: 2"),
            sqlite_doc(extra="write_mode: append"),
        ),
    )
    assert run_cli("sync", "a.yml").code == 0
    assert run_cli("sync", "a.yml").code == 0
    assert scalar(db, "select count(*) from test_some_table") == 4
    write(
        "a.yml",
        config(
            source_doc(tables='["test_some_table"]', spec="num_rows: 2"),
            sqlite_doc(extra="migrate_mode: forced"),
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert scalar(db, "select count(*) from test_some_table") == 2
    cols = _columns(db, "test_some_table")
    assert cols["id"] == ("integer", True, True) and cols["client_id"][2]


def test_no_migrate_does_not_create_tables(write, run_cli, workdir):
    write("a.yml", config(source_doc(tables='["test_some_table"]'), sqlite_doc()))
    r = run_cli("sync", "a.yml", "--no-migrate")
    assert r.code == 1
    assert "no such table: test_some_table" in r.err


def test_migrate_command_creates_selected_tables_only(write, run_cli, workdir):
    write(
        "a.yml",
        config(
            source_doc(tables='["test_some_table"]', extra="skip_dependent_tables: false"),
            sqlite_doc(),
        ),
    )
    r = run_cli("migrate", "a.yml")
    assert r.code == 0 and "Migration completed successfully." in r.out
    names = {
        n
        for (n,) in query(
            workdir / "db.sqlite", "select name from sqlite_master where type='table'"
        )
    }
    assert names == {"test_some_table", "test_sub_table"}
    assert scalar(workdir / "db.sqlite", "select count(*) from test_some_table") == 0
