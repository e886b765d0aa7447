"""Whole syncs into the real PostgreSQL server: write modes, state backend, retries, failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import config, run_subprocess, source_doc, wait_for

pytestmark = pytest.mark.pg


def pg_doc(url: str, extra: str = "", spec: str = "") -> str:
    text = """\
kind: destination
spec:
  name: postgresql
  path: cloudquery/postgresql
  registry: cloudquery
  version: "v1.0.0"
"""
    if extra:
        text += "".join(f"  {line}\n" for line in extra.splitlines())
    text += f'  spec:\n    connection_string: "{url}"\n'
    text += "".join(f"    {line}\n" for line in spec.splitlines())
    return text


def q(url: str, sql: str):
    with psycopg.connect(url) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def test_write_modes_relations_and_types(write, run_cli, pg_url):
    src = source_doc(
        destinations=("postgresql",),
        tables='["test_some_table", "test_sub_table"]',
        spec="num_rows: 10\nnum_sub_rows: 2",
    )
    write("a.yml", config(src, pg_doc(pg_url)))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert q(
        pg_url,
        "select count(*) from test_sub_table s join test_some_table p on s._cq_parent_id = p._cq_id",
    ) == [(20,)]
    types = dict(
        q(
            pg_url,
            "select column_name, data_type from information_schema.columns where table_name = 'test_some_table'",
        )
    )
    assert (
        types["uuid_col"] == "uuid"
        and types["json_col"] == "jsonb"
        and types["list_col"] == "ARRAY"
    )
    assert types["timestamp_col"] == "timestamp without time zone" and types["_cq_id"] == "uuid"
    assert q(
        pg_url,
        "select json_col->>'client', list_col[2], uuid_col::text from test_some_table where id = 3",
    ) == [("0", 4, "00000000-0000-8000-8000-000000000003")]

    write("a.yml", config(src.replace("num_rows: 10", "num_rows: 4"), pg_doc(pg_url)))
    assert run_cli("sync", "a.yml").code == 0
    assert q(pg_url, "select count(*), max(id) from test_some_table") == [(4, 4)]
    assert q(pg_url, "select count(*) from test_sub_table") == [(8,)]

    write("a.yml", config(src, pg_doc(pg_url, extra="write_mode: overwrite")))
    assert run_cli("sync", "a.yml").code == 0
    assert run_cli("sync", "a.yml").code == 0
    assert q(pg_url, "select count(*) from test_some_table") == [(10,)]


def test_append_and_schema_option(write, run_cli, pg_url):
    src = source_doc(destinations=("postgresql",), tables='["test_some_table"]', spec="num_rows: 5")
    write("a.yml", config(src, pg_doc(pg_url, extra="write_mode: append", spec="schema: raw_data")))
    assert run_cli("sync", "a.yml").code == 0
    assert run_cli("sync", "a.yml").code == 0
    assert q(pg_url, "select count(*), count(distinct id) from raw_data.test_some_table") == [
        (10, 5)
    ]


def test_incremental_with_postgresql_state(write, run_cli, pg_url):
    src = lambda n: source_doc(  # noqa: E731
        destinations=("postgresql",),
        tables='["test_incremental_table"]',
        extra='backend_options:\n  table_name: cq_state_test\n  connection: "@@plugins.postgresql.connection"',
        spec=f"num_events: {n}\nbatch_size: 250",
    )
    write("a.yml", config(src(1000), pg_doc(pg_url, spec="batch_size: 500")))
    assert run_cli("sync", "a.yml").code == 0
    assert q(pg_url, "select value from cq_state_test") == [("1000",)]
    write("a.yml", config(src(1500), pg_doc(pg_url, spec="batch_size: 500")))
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 500," in r.out
    assert q(pg_url, "select count(*), count(distinct id) from test_incremental_table") == [
        (1500, 1500)
    ]


def test_dropped_connections_are_retried(write, workdir, pg_url):
    src = source_doc(
        destinations=("postgresql",),
        tables='["test_some_table"]',
        spec="num_rows: 10000\nbatch_size: 100\nbatch_delay_ms: 30",
    )
    write("a.yml", config(src, pg_doc(pg_url, spec="batch_size: 100\nretry_delay: 0.1s")))
    killed: list[int] = []
    stop = threading.Event()

    def terminate_sessions() -> None:
        # start once the sync is writing: its first rows are in the table
        wait_for(lambda: q(pg_url, "select count(*) from test_some_table")[0][0], "first rows")
        while not stop.is_set() and len(killed) < 3:
            rows = q(
                pg_url,
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and application_name <> 'psql'",
            )
            killed.extend(1 for (ok,) in rows if ok)
            stop.wait(0.5)

    t = threading.Thread(target=terminate_sessions)
    t.start()
    p = run_subprocess(["sync", "a.yml"], workdir)
    stop.set()
    t.join()
    assert killed, "no session was terminated during the sync"
    assert p.returncode == 0, p.stderr
    assert "transient error" in p.stderr
    assert q(pg_url, "select count(*), count(distinct id) from test_some_table") == [(10000, 10000)]


def test_persistent_error_fails_the_sync(write, run_cli, pg_url):
    src = source_doc(
        destinations=("postgresql",), tables='["test_some_table"]', spec="num_rows: 50"
    )
    write("a.yml", config(src, pg_doc(pg_url)))
    assert run_cli("sync", "a.yml").code == 0
    q(pg_url, "alter table test_some_table add constraint small_ids check (id < 20) not valid")
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert 'violates check constraint "small_ids"' in r.err
    assert q(pg_url, "select count(*) from test_some_table") == [
        (50,)
    ]  # nothing deleted or half-written


def test_unreachable_server_fails_with_a_clear_error(write, run_cli):
    src = source_doc(destinations=("postgresql",), tables='["test_some_table"]')
    write(
        "a.yml",
        config(
            src,
            pg_doc(
                "postgresql://nobody@127.0.0.1:1/none", spec="max_retries: 2\nretry_delay: 0.05s"
            ),
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "destination postgresql:" in r.err and "127.0.0.1" in r.err


def _signal_pending(pid: int, sig: int) -> bool:
    """Whether ``sig`` still waits to be delivered to a thread of process ``pid``."""
    bit = 1 << (sig - 1)
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        for line in status.read_text().splitlines():
            name, _, mask = line.partition(":")
            if name in ("SigPnd", "ShdPnd") and int(mask, 16) & bit:
                return True
    return False


@contextmanager
def _sync_blocked_in_a_cursor_commit(workdir, pg_url) -> Iterator[tuple[Any, Any]]:
    """A sync of many slow batches whose cursor upsert waits on a row lock held by another
    connection: yields the sync's process (waiting) and the connection holding the lock."""
    state = (
        'backend_options:\n  table_name: cq_state\n  connection: "@@plugins.postgresql.connection"'
    )

    def write_config(spec: str) -> None:
        src = source_doc(
            destinations=("postgresql",),
            tables='["test_incremental_table"]',
            extra=state,
            spec=spec,
        )
        # a transaction per 1,000 rows: a cursor to commit after each
        (workdir / "s.yml").write_text(config(src, pg_doc(pg_url, spec="batch_size: 1000")))

    write_config("num_events: 100")
    first = run_subprocess(["sync", "s.yml"], workdir)
    assert first.returncode == 0, first.stderr
    assert q(pg_url, "select value from cq_state") == [("100",)]

    # Reading takes 20 s at least, so the sync still reads when it is stopped.
    write_config("num_events: 100000\nbatch_size: 1000\nbatch_delay_ms: 200")
    with psycopg.connect(pg_url) as holder, psycopg.connect(pg_url, autocommit=True) as watch:
        holder.execute("select value from cq_state for update")
        proc = subprocess.Popen(
            [sys.executable, "-m", "syncline", "--no-log-file", "sync", "s.yml"],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            waiting = wait_for(
                lambda: watch.execute(
                    "select a.query from pg_locks l join pg_stat_activity a on a.pid = l.pid "
                    "where not l.granted and a.datname = current_database()"
                ).fetchall(),
                "the cursor upsert waiting on the row lock",
                proc=proc,
            )
            assert waiting, "the sync ended before it waited on the lock"
            assert 'INSERT INTO "public"."cq_state"' in waiting[0][0]
            yield proc, holder
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _sigint(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGINT)
    assert wait_for(lambda: not _signal_pending(proc.pid, signal.SIGINT), "SIGINT delivered")


def test_sigint_while_a_cursor_commit_waits_on_a_lock_stops_cleanly(workdir, pg_url):
    """Ctrl-C while the cursor's upsert waits on a row lock another connection holds: the
    statement completes once the lock goes, and the sync stops after the rows already read
    (exit 130) with a cursor that covers exactly the rows written. (ADBC's DB-API runs each
    statement under its own SIGINT handler, which cancelled the upsert: a failed sync.)"""
    with _sync_blocked_in_a_cursor_commit(workdir, pg_url) as (proc, holder):
        _sigint(proc)
        holder.rollback()
        out, err = proc.communicate(timeout=120)

    assert proc.returncode == 130, out + err
    assert "Stopping after the rows already read (SIGINT)" in err
    cursor = int(q(pg_url, "select value from cq_state")[0][0])
    assert 100 < cursor < 100_000
    assert q(pg_url, "select count(*), max(id) from test_incremental_table") == [(cursor, cursor)]


def test_a_second_sigint_cancels_a_statement_that_waits(workdir, pg_url):
    """A second Ctrl-C does not wait for a statement that waits on a lock: the statement is
    cancelled and the sync ends while the lock is still held, without advancing the cursor
    past the rows written."""
    with _sync_blocked_in_a_cursor_commit(workdir, pg_url) as (proc, holder):
        before = q(pg_url, "select value from cq_state")  # read by another session: not locked
        _sigint(proc)
        _sigint(proc)
        out, err = proc.communicate(timeout=120)  # the lock is still held
        holder.rollback()

    assert proc.returncode != 0, out + err
    assert "canceling statement due to user request" in err, err
    assert q(pg_url, "select value from cq_state") == before
    cursor = int(before[0][0])
    assert q(pg_url, f"select count(*) from test_incremental_table where id <= {cursor}") == [
        (cursor,)
    ]
