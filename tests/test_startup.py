"""What a sync imports: heavy libraries only when a plugin or a feature that needs them is used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import config, query, run_subprocess, sqlite_doc

HEAVY = (
    "boto3",
    "botocore",
    "duckdb",
    "grpc",
    "psycopg",
    "dask",
    "distributed",
    "pandas",
    "pyarrow.compute",
    "pyarrow.dataset",
    "rich",
)

# The CLI's own entry point in a fresh process; the last line says what the process imported.
PROBE = f"""
import json, sys
from syncline.cli.main import main
code = main(["--no-log-file", "sync", sys.argv[1]])
loaded = [m for m in {HEAVY!r} if m in sys.modules]
print(json.dumps({{"code": code, "loaded": loaded}}))
"""

INCREMENTAL = """\
kind: source
spec:
  name: events
  path: cloudquery/test
  tables: ["test_incremental_table"]
  destinations: [sqlite]
  backend_options: {table_name: cq_state, connection: "@@plugins.sqlite.connection"}
  spec: {num_events: 50}
"""


def probe(cfg: Path) -> tuple[dict[str, object], str]:
    r = subprocess.run(
        [sys.executable, "-c", PROBE, str(cfg)],
        cwd=cfg.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    *out, last = r.stdout.strip().splitlines()
    return json.loads(last), "\n".join(out)


def test_a_no_op_incremental_sync_to_sqlite_imports_no_heavy_library(workdir):
    cfg = workdir / "noop.yml"
    cfg.write_text(config(INCREMENTAL, sqlite_doc()))
    first = run_subprocess(["sync", str(cfg)], workdir)
    assert first.returncode == 0, first.stderr
    assert query(workdir / "db.sqlite", "SELECT count(*) FROM test_incremental_table") == [(50,)]
    cursor = query(workdir / "db.sqlite", "SELECT key, value FROM cq_state")
    assert len(cursor) == 1

    result, out = probe(cfg)

    assert result == {"code": 0, "loaded": []}
    assert "Sync completed successfully. Resources: 0, Errors: 0" in out
    assert query(workdir / "db.sqlite", "SELECT count(*) FROM test_incremental_table") == [(50,)]
    assert query(workdir / "db.sqlite", "SELECT key, value FROM cq_state") == cursor


def test_the_probe_sees_a_library_a_plugin_needs(workdir):
    """The same probe with a DuckDB destination reports duckdb: an import is not missed."""
    source = INCREMENTAL.replace("[sqlite]", "[duckdb]").replace(
        "@@plugins.sqlite.connection", "@@plugins.duckdb.connection"
    )
    duckdb = """\
kind: destination
spec:
  name: duckdb
  path: cloudquery/duckdb
  spec: {connection_string: db.duckdb}
"""
    cfg = workdir / "duck.yml"
    cfg.write_text(config(source, duckdb))

    result, out = probe(cfg)

    assert result["code"] == 0, out
    assert "duckdb" in result["loaded"]
    assert "Resources: 50" in out
