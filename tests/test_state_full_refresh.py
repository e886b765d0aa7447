"""``sync --full-refresh``: incremental tables synced in full, stale rows deleted, the new
cursor committed only at the end."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from conftest import config, run_subprocess, wait_for
from state_targets import BACKENDS, events_source, make_target


@pytest.fixture(params=BACKENDS)
def target(request, workdir):
    return make_target(request.param, request, workdir)


def test_full_refresh_resyncs_and_deletes_rows_not_seen_again(write, run_cli, target):
    write("a.yml", config(events_source(500), target.doc()))
    assert run_cli("sync", "a.yml").code == 0
    assert target.cursor() == "500"
    # The source now has only 300 events: an incremental run moves nothing and deletes nothing.
    write("a.yml", config(events_source(300), target.doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 0," in r.out
    assert target.ids() == list(range(1, 501))

    r = run_cli("sync", "a.yml", "--full-refresh", "--table", "test_incremental_table")
    assert r.code == 0, r.err
    assert "Resources: 300," in r.out
    assert target.ids() == list(range(1, 301))  # 301..500 were not seen again: stale
    assert target.cursor() == "300"
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 0," in r.out


def test_full_refresh_of_a_table_that_is_not_incremental_is_refused(write, run_cli, target):
    write("a.yml", config(events_source(10), target.doc()))
    r = run_cli("sync", "a.yml", "--full-refresh", "--table", "test_some_table")
    assert r.code == 1
    assert "--full-refresh: test_some_table is not an incremental table of any source" in r.err
    r = run_cli("sync", "a.yml", "--table", "test_incremental_table")
    assert r.code == 1 and "--table needs --full-refresh" in r.err
    r = run_cli("sync", "a.yml", "--full-refresh", "--executor", "processes")
    assert r.code == 1 and "--full-refresh runs with --executor local only" in r.err


def test_a_killed_full_refresh_keeps_the_old_cursor_and_every_row(write, run_cli, target, workdir):
    write("a.yml", config(events_source(1000), target.doc()))
    assert run_cli("sync", "a.yml").code == 0
    assert target.cursor() == "1000"
    # Far too slow to finish before the kill (100,000 events, 40 ms per 100).
    slow = events_source(100_000, spec="batch_delay_ms: 40")
    write("a.yml", config(slow, target.doc(spec="batch_size: 100")))
    refresh = subprocess.Popen(
        [sys.executable, "-m", "syncline", "--no-log-file", "sync", "a.yml", "--full-refresh"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "refresh.err").open("w"),
    )
    try:
        # Rows of this run are in (they carry a second sync time): kill it mid-refresh.
        rewritten = wait_for(
            lambda: (
                target.value("select count(distinct _cq_sync_time) from test_incremental_table")
                == 2
            ),
            "rows written by the full refresh",
            proc=refresh,
        )
        assert rewritten, f"the refresh ended first: {(workdir / 'refresh.err').read_text()}"
        refresh.send_signal(signal.SIGKILL)
        refresh.wait(timeout=30)
    finally:
        if refresh.poll() is None:
            refresh.kill()
            refresh.wait(timeout=30)
    assert refresh.returncode == -signal.SIGKILL
    assert target.cursor() == "1000"  # the old cursor, not one from the refresh
    ids = target.ids()
    assert ids[:1000] == list(range(1, 1001))  # no row lost
    assert len(ids) < 100_000

    write("a.yml", config(events_source(5000), target.doc(spec="batch_size: 100")))
    r = run_subprocess(["sync", "a.yml", "--full-refresh"], cwd=workdir, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Resources: 5000," in r.stdout
    assert target.ids() == list(range(1, 5001))
    assert target.cursor() == "5000"
