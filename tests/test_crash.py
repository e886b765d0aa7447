"""Kill -9 a long incremental sync at random moments, re-run it, and check that nothing is lost.

Mirrors Kafka's bounce test: missing ids always fail; duplicates are reported (append mode
keeps them, so they are visible), and a final clean run must reach every id.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import pytest
from conftest import config, query, scalar, source_doc, sqlite_doc, sqlite_value, wait_for

EVENTS = 200_000


def _config(write_mode: str) -> str:
    return config(
        source_doc(
            tables='["test_incremental_table"]',
            extra='backend_options:\n  table_name: cq_state\n  connection: "@@plugins.state.connection"',
            spec=f"num_events: {EVENTS}\nbatch_size: 1000\nbatch_delay_ms: 40",
        ),
        sqlite_doc(extra=f"write_mode: {write_mode}", spec="batch_size: 5000"),
        sqlite_doc(name="state", path="state.sqlite"),
    )


def _cursor(state) -> int:
    return int(
        sqlite_value(state, "select coalesce(max(cast(value as integer)), 0) from cq_state") or 0
    )


def _max_id(db) -> int:
    return int(sqlite_value(db, "select coalesce(max(id), 0) from test_incremental_table") or 0)


def _sync(cwd) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "syncline", "--no-log-file", "sync", "crash.yml"],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
@pytest.mark.parametrize("write_mode", ["append", "overwrite"])
def test_kill_9_at_random_moments_leaves_no_gaps(workdir, write_mode, record_property):
    (workdir / "crash.yml").write_text(_config(write_mode))
    rng = random.Random(int(os.environ.get("SYNCLINE_CRASH_SEED", "20261121")))
    db, state = workdir / "db.sqlite", workdir / "state.sqlite"
    kills = 0
    cursors: list[int] = []
    last = 0
    while kills < 10:
        proc = _sync(workdir)
        # A random moment, defined by progress rather than by the clock: right after this run
        # commits its first cursor, or once rows up to a random distance beyond it are written
        # (between a flush and its cursor commit, or in the middle of the next batch).
        committed = wait_for(
            lambda last=last: (c := _cursor(state)) > last and c,
            f"a cursor past {last}",
            proc=proc,
        )
        distance = rng.choice([0, rng.randint(1, 9_000)])
        if committed and distance:
            target = committed + distance
            wait_for(lambda target=target: _max_id(db) >= target, f"id {target}", proc=proc)
        if proc.poll() is not None:
            break  # finished before the kill: the remaining work is too short
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        cursor = _cursor(state)
        present = scalar(
            db, "select count(distinct id) from test_incremental_table where id <= ?", (cursor,)
        )
        # at every moment, the cursor never runs ahead of the committed rows
        assert present == cursor
        cursors.append(cursor)
        last = cursor
    assert kills >= 10, "syncs finished too fast to be killed 10 times"
    assert cursors == sorted(cursors) and 0 < cursors[-1] < EVENTS

    final = subprocess.run(
        [sys.executable, "-m", "syncline", "--no-log-file", "sync", "crash.yml"],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert final.returncode == 0, final.stderr
    distinct = scalar(db, "select count(distinct id) from test_incremental_table")
    total = scalar(db, "select count(*) from test_incremental_table")
    gaps = query(
        db,
        "select count(*) from (select id, lead(id) over (order by id) as next from "
        "(select distinct id from test_incremental_table)) where next is not null and next != id + 1",
    )[0][0]
    assert (distinct, gaps) == (EVENTS, 0)
    assert scalar(db, "select min(id) from test_incremental_table") == 1
    assert scalar(db, "select max(id) from test_incremental_table") == EVENTS
    assert scalar(state, "select value from cq_state") == str(EVENTS)
    duplicates = total - distinct
    if write_mode == "overwrite":
        assert duplicates == 0
    record_property("duplicates", duplicates)
    record_property("cursors_after_kills", cursors)
    print(f"\n{write_mode}: {kills} kills, cursors {cursors}, {duplicates} duplicate rows")


@pytest.mark.parametrize("point", ["after_state_read", "after_flush_before_state"])
def test_crash_points_leave_no_gaps(workdir, point):
    """Deterministic twins of kill -9: die at a named point, then re-run to completion."""
    (workdir / "crash.yml").write_text(
        config(
            source_doc(
                tables='["test_incremental_table"]',
                extra='backend_options:\n  table_name: cq_state\n  connection: "@@plugins.sqlite.connection"',
                spec="num_events: 3000\nbatch_size: 500",
            ),
            sqlite_doc(extra="write_mode: append", spec="batch_size: 1000"),
        )
    )
    db = workdir / "db.sqlite"
    env = {**os.environ, "SYNCLINE_CRASHPOINT": point}
    died = subprocess.run(
        [sys.executable, "-m", "syncline", "--no-log-file", "sync", "crash.yml"],
        cwd=workdir,
        env=env,
    )
    assert died.returncode == 137
    if point == "after_flush_before_state":
        # the first 1000 rows are committed but their cursor is not
        assert scalar(db, "select count(*) from test_incremental_table") == 1000
        assert scalar(db, "select count(*) from cq_state") == 0
    ok = subprocess.run(
        [sys.executable, "-m", "syncline", "--no-log-file", "sync", "crash.yml"], cwd=workdir
    )
    assert ok.returncode == 0
    assert scalar(db, "select count(distinct id) from test_incremental_table") == 3000
    duplicates = scalar(db, "select count(*) - count(distinct id) from test_incremental_table")
    # only the rows after the last committed cursor come twice
    assert duplicates == (1000 if point == "after_flush_before_state" else 0)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_after_the_rows_already_read(workdir, sig):
    """SIGTERM/SIGINT: write what was read, commit its cursor, exit 128+signal; no duplicates."""

    def write_config(delay_ms: int) -> None:
        (workdir / "crash.yml").write_text(
            config(
                source_doc(
                    tables='["test_incremental_table"]',
                    extra='backend_options:\n  table_name: cq_state\n  connection: "@@plugins.sqlite.connection"',
                    spec=f"num_events: 100000\nbatch_size: 1000\nbatch_delay_ms: {delay_ms}",
                ),
                sqlite_doc(extra="write_mode: append", spec="batch_size: 5000"),
            )
        )

    # Reading takes 20 s at least, so the signal comes while the source still reads however
    # slowly a busy machine commits the first cursor; the re-run reads the rest at full speed.
    write_config(200)
    db = workdir / "db.sqlite"
    proc = _sync(workdir)
    # act once the sync is demonstrably mid-way: its first cursor is committed
    assert wait_for(
        lambda: sqlite_value(db, "select max(cast(value as integer)) from cq_state"),
        "the first committed cursor",
        proc=proc,
    ), "the sync ended before it committed a cursor"
    os.kill(proc.pid, sig)
    assert proc.wait(timeout=30) == 128 + sig
    # the backend is append-only here (write_mode: append): the highest version wins
    cursor = int(scalar(db, "select value from cq_state order by version desc limit 1"))
    assert 0 < cursor < 100_000
    # every row written is covered by the committed cursor: nothing to repeat
    assert query(
        db, "select count(*), count(distinct id), max(id) from test_incremental_table"
    ) == [(cursor, cursor, cursor)]
    write_config(0)
    done = subprocess.run(
        [sys.executable, "-m", "syncline", "--no-log-file", "sync", "crash.yml"],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert query(db, "select count(*), count(distinct id) from test_incremental_table") == [
        (100_000, 100_000)
    ]
