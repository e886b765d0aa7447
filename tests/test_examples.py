"""The README's example configs run as written (only the address or URL filled in)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import psycopg
import pytest
from conftest import query

from syncline.testing.postgres import free_port

EXAMPLES = Path(__file__).parent.parent / "examples"


def _wait_serving(address: str, deadline_s: float = 60) -> None:
    """Until the plugin accepts connections (gRPC keeps retrying until the deadline)."""
    channel = grpc.insecure_channel(address)
    try:
        grpc.channel_ready_future(channel).result(timeout=deadline_s)
    finally:
        channel.close()


def test_grpc_example(run_cli, workdir):
    address = f"127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [sys.executable, "-m", "syncline", "plugin", "serve", "test", "--address", address],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_serving(address)
        text = (EXAMPLES / "grpc.yml").read_text()
        assert "path: localhost:7777" in text
        (workdir / "grpc.yml").write_text(text.replace("localhost:7777", address))
        r = run_cli("sync", "grpc.yml")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert r.code == 0, r.err
    assert query(workdir / "remote.sqlite", "select count(*) from test_some_table") == [(100,)]


@pytest.mark.pg
def test_postgresql_example(run_cli, workdir, pg_url, monkeypatch):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(10,2), "
            "updated_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO orders VALUES (1, 9.50, '2026-01-01T10:00Z'), "
            "(2, 20.00, '2026-01-02T10:00Z')"
        )
    monkeypatch.setenv("PG_SOURCE_URL", pg_url)
    example = str(EXAMPLES / "postgresql.yml")
    r = run_cli("sync", example)
    assert r.code == 0, r.err
    db = workdir / "shop.sqlite"
    assert query(db, "select id, total from orders order by id") == [(1, "9.50"), (2, "20.00")]

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE orders SET total = 11.00, updated_at = '2026-01-03T10:00Z' WHERE id = 1"
        )
    assert run_cli("sync", example).code == 0
    assert query(db, "select id, total from orders order by id") == [(1, "11.00"), (2, "20.00")]
    cursor = query(db, "select value from syncline_state where key = 'orders'")
    assert cursor and cursor[0][0].startswith("2026-01-03")
