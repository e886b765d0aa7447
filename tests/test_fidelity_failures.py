"""Failures say why: a full disk, a value PostgreSQL cannot take, a file cut short."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import config, prepared, source_doc, sqlite_doc

from syncline.connectors.postgresql.plugin import PostgreSQLDestination, PostgreSQLSpec
from syncline.plugin.contracts import PluginContext
from syncline.plugin.errors import WriteError
from syncline.schema.table import Column, Table

LIMIT = 300_000  # bytes a file may grow to in the syncs below


# A process whose files cannot grow past LIMIT, as on a full disk (EFBIG, not a signal).
_LIMITED = f"""\
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({LIMIT}, {LIMIT}))
"""


def _sync_limited(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        prepared(_LIMITED, [sys.executable, "-m", "syncline", "sync", "--no-log-file", "s.yml"]),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


SOURCE = source_doc(tables='["test_some_table"]', spec="num_rows: 20000")


def test_sqlite_write_failure_reports_its_cause(tmp_path: Path):
    (tmp_path / "s.yml").write_text(config(SOURCE, sqlite_doc(spec="batch_size: 20000")))
    p = _sync_limited(tmp_path)
    assert p.returncode == 1
    message = p.stdout + p.stderr
    assert "destination sqlite: insert failed" in message
    assert "disk I/O error" in message  # the cause, not the failed rollback after it
    assert "cannot rollback" not in message
    assert "Traceback" not in message


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_file_write_failure_leaves_no_partial_file(tmp_path: Path, fmt: str):
    files = f"""\
kind: destination
spec:
  name: sqlite
  path: cloudquery/file
  write_mode: append
  spec:
    directory: ./out
    format: {fmt}
"""
    (tmp_path / "s.yml").write_text(config(SOURCE, files))
    p = _sync_limited(tmp_path)
    assert p.returncode == 1
    assert "cannot write" in p.stdout + p.stderr and "File too large" in p.stdout + p.stderr
    left = [f.name for f in (tmp_path / "out").rglob("*") if f.is_file()]
    assert left == []  # no .tmp, and no half file under its final name


@pytest.mark.pg
def test_postgresql_does_not_retry_a_value_it_cannot_take(pg_url, caplog):
    spec = PostgreSQLSpec(connection_string=pg_url, max_retries=5, retry_delay=0.01)
    logger = logging.getLogger("syncline.test.pg")
    dest = PostgreSQLDestination(spec, PluginContext(name="pg", logger=logger))
    table = Table(
        "far", (Column("id", pa.int64(), primary_key=True), Column("t", pa.timestamp("us")))
    )
    dest.migrate_tables([table], False)
    # Year -144,000: Arrow holds it, PostgreSQL (4713 BC onwards) cannot.
    record = pa.RecordBatch.from_pydict(
        {"id": [1], "t": pa.array([-(2**62)], pa.timestamp("us"))},
        schema=pa.schema([("id", pa.int64()), ("t", pa.timestamp("us"))]),
    )
    with caplog.at_level(logging.WARNING), pytest.raises(WriteError) as e:
        dest.write_batch(table, [dest.prepare(table, record)])
    assert "destination pg: table far: " in str(e.value)
    assert str(e.value).strip().endswith(":") is False  # the message carries its cause
    assert "retrying" not in caplog.text  # not transient: tried once
    # the connection still works for the next batch
    ok = pa.RecordBatch.from_pydict(
        {"id": [2], "t": pa.array([0], pa.timestamp("us"))}, schema=record.schema
    )
    dest.write_batch(table, [dest.prepare(table, ok)])
    assert sum(b.num_rows for b in dest.read(table)) == 1
    dest.close()
