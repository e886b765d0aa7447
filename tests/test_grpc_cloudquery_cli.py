"""CloudQuery's own CLI drives syncline's plugins, served by syncline over protocol v3."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import plugin_exe, query, scalar


def _cloudquery() -> str:
    import cloudquery

    return os.path.join(cloudquery.__path__[0], "bin", "cloudquery")


def _exe(name: str) -> str:
    return plugin_exe(name)


def cq_config(write_mode: str, spec: str, backend: bool = False) -> str:
    text = f"""\
kind: source
spec:
  name: test
  path: {_exe("syncline-plugin-test")}
  registry: local
  tables: ["*"]
  destinations: [sqlite]
"""
    if backend:
        text += '  backend_options:\n    table_name: cq_state\n    connection: "@@plugins.sqlite.connection"\n'
    text += f"""\
  spec:
{spec}
---
kind: destination
spec:
  name: sqlite
  path: {_exe("syncline-plugin-sqlite")}
  registry: local
  write_mode: {write_mode}
  spec:
    connection_string: ./db.sqlite
"""
    return text


def run_cq(workdir) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _cloudquery(),
            "sync",
            "cq.yml",
            "--telemetry-level",
            "none",
            "--no-log-file",
            "--log-console",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("write_mode", "expected"),
    [("overwrite-delete-stale", 5), ("overwrite", 10), ("append", 15)],
)
def test_cloudquery_cli_drives_syncline_plugins(workdir, write_mode, expected):
    spec = "    num_rows: {n}\n    num_sub_rows: 2\n    num_events: 0"
    (workdir / "cq.yml").write_text(cq_config(write_mode, spec.format(n=10)))
    p = run_cq(workdir)
    assert p.returncode == 0, p.stderr
    db = workdir / "db.sqlite"
    assert scalar(db, "select count(*) from test_some_table") == 10
    assert (
        scalar(
            db,
            "select count(*) from test_sub_table s join test_some_table p on s._cq_parent_id = p._cq_id",
        )
        == 20
    )
    # CloudQuery's CLI added its internal columns; syncline's destination stored them
    assert scalar(db, "select count(distinct _cq_source_name) from test_some_table") == 1
    (workdir / "cq.yml").write_text(cq_config(write_mode, spec.format(n=5)))
    p = run_cq(workdir)
    assert p.returncode == 0, p.stderr
    assert scalar(db, "select count(*) from test_some_table") == expected


def test_cloudquery_cli_incremental_resumes_from_syncline_backend(workdir):
    spec = "    num_rows: 1\n    num_sub_rows: 0\n    num_events: {n}\n    batch_size: 40"
    (workdir / "cq.yml").write_text(
        cq_config("overwrite-delete-stale", spec.format(n=100), backend=True)
    )
    p = run_cq(workdir)
    assert p.returncode == 0, p.stderr
    db = workdir / "db.sqlite"
    assert query(db, "select key, value from cq_state") == [
        ("test_incremental_table/client_0", "100")
    ]
    (workdir / "cq.yml").write_text(
        cq_config("overwrite-delete-stale", spec.format(n=150), backend=True)
    )
    p = run_cq(workdir)
    assert p.returncode == 0, p.stderr
    # the second run fetched only events 101..150 (plus the one row of test_some_table)
    assert '"resources":51' in p.stderr.replace(" ", "")
    assert query(db, "select count(*), count(distinct id) from test_incremental_table") == [
        (150, 150)
    ]
    assert scalar(db, "select value from cq_state") == "150"
    # incremental rows of the first run survived delete-stale
    assert scalar(db, "select count(distinct _cq_sync_time) from test_incremental_table") == 2
