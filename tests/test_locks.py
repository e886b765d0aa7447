"""The overlapping-sync lock meets however a config spells its state table, and wherever the
sync was started from."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import config, source_doc, sqlite_doc

from syncline.connectors.postgresql.plugin import PostgreSQLSpec
from syncline.connectors.sqlite.plugin import SQLiteSpec
from syncline.engine.locks import lock_state_table
from syncline.plugin.errors import SynclineError

BUSY = "another sync of source test with state table cq_state is running"


def _sqlite_lock(path: str, source: str = "test", table: str = "cq_state"):
    spec = SQLiteSpec(connection_string=path)
    return lock_state_table(source, "cloudquery/sqlite", spec, spec.model_dump(), table)


def test_file_lock_keys_on_the_resolved_path(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SYNCLINE_LOCK_DIR", str(tmp_path / "locks"))
    for d in ("a", "b", "shared"):
        (tmp_path / d).mkdir()
    monkeypatch.chdir(tmp_path / "a")
    release = _sqlite_lock("../shared/db.sqlite")
    try:
        monkeypatch.chdir(tmp_path / "b")  # another working directory (cron, systemd)
        for spelling in ("../shared/db.sqlite", str(tmp_path / "shared" / "db.sqlite")):
            with pytest.raises(SynclineError, match=BUSY):
                _sqlite_lock(spelling)
        monkeypatch.chdir(tmp_path / "shared")
        for spelling in ("./db.sqlite", "db.sqlite", "../a/../shared/db.sqlite"):
            with pytest.raises(SynclineError, match=BUSY):
                _sqlite_lock(spelling)
        # another state table, another database or another source is another lock
        _sqlite_lock("db.sqlite", table="cq_other")()
        _sqlite_lock("other.sqlite")()
        _sqlite_lock("db.sqlite", source="other")()
    finally:
        release()
    _sqlite_lock(str(tmp_path / "shared" / "db.sqlite"))()  # free again


@pytest.mark.pg
def test_postgresql_state_table_is_locked_in_the_database(pg_url, pg_server, tmp_path, monkeypatch):
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(pg_url)
    spellings = [
        pg_url,
        f"host=localhost port={parts['port']} dbname={parts['dbname']} user=postgres",
        f"host={pg_server.root} port={parts['port']} dbname={parts['dbname']} user=postgres",
    ]

    def lock(conninfo: str, lock_dir: str, schema: str = "public"):
        monkeypatch.setenv("SYNCLINE_LOCK_DIR", str(tmp_path / lock_dir))
        spec = PostgreSQLSpec(connection_string=conninfo, schema=schema)
        return lock_state_table("test", "cloudquery/postgresql", spec, {}, "cq_state")

    release = lock(spellings[0], "machine-1")
    try:
        for i, spelling in enumerate(spellings):
            # the same machine, or another one (its own lock folder): the database says no
            for machine in ("machine-1", f"machine-{i + 2}"):
                with pytest.raises(SynclineError, match=BUSY):
                    lock(spelling, machine)
        lock(spellings[1], "machine-9", schema="other")()  # another schema, another table
    finally:
        release()
    lock(spellings[2], "machine-2")()


def test_a_sync_started_elsewhere_on_the_same_file_is_refused(tmp_path: Path):
    """End to end: the same config (absolute paths) run from two working directories."""
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    db = tmp_path / "db.sqlite"
    text = config(
        source_doc(
            tables='["test_incremental_table"]',
            extra='backend_options:\n  table_name: cq_state\n  connection: "@@plugins.sqlite.connection"',
            spec="num_events: 1000000\nbatch_size: 100\nbatch_delay_ms: 20",
        ),
        sqlite_doc(path=str(db), spec="batch_size: 100"),
    )
    (tmp_path / "sync.yml").write_text(text)
    env = {**os.environ, "SYNCLINE_LOCK_DIR": str(tmp_path / "locks")}
    args = [sys.executable, "-m", "syncline", "sync", "--no-log-file", str(tmp_path / "sync.yml")]
    first = subprocess.Popen(args, cwd=tmp_path / "a", env=env, stdout=subprocess.DEVNULL)
    try:
        _wait_for_a_cursor(db)
        second = subprocess.run(args, cwd=tmp_path / "b", env=env, capture_output=True, text=True)
        assert second.returncode == 1
        assert BUSY in second.stdout + second.stderr
    finally:
        first.terminate()
        first.wait(timeout=60)


def _wait_for_a_cursor(db: Path) -> None:
    import sqlite3

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db) as c:
                if c.execute("SELECT count(*) FROM cq_state").fetchone()[0]:
                    return
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    raise AssertionError("the first sync never committed a cursor")
