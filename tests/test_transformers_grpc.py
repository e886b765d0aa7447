"""Transformers over CloudQuery protocol v3: syncline's basic transformer served to CloudQuery's
CLI and to syncline, and external transformers driven by syncline. Every way must write the
same tables as the built-in transformer does in process."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import plugin_exe

from syncline.testing.postgres import free_port

TRANSFORMATIONS = """\
      - kind: change_table_names
        tables: ["test_*"]
        new_table_name_template: "raw_{{.OldName}}"
      - kind: rename_column
        tables: [raw_test_some_table]
        name: string_col
        value: label
      - kind: obfuscate_columns
        columns: [label, json_col.id, binary_col]
      - kind: remove_columns
        columns: [list_col, json_col.client]
      - kind: add_column
        name: origin
        value: lab
      - kind: uppercase
        tables: [raw_test_sub_table]
        columns: [value]
      - kind: drop_rows
        columns: [id]
        value: "2"
      - kind: add_primary_keys
        tables: [raw_test_sub_table]
        columns: [value]
"""


def cq_config(transformer_path: str, registry: str, built_in: bool = False) -> str:
    """The same sync as CloudQuery writes it; ``built_in`` uses syncline's in-process plugins."""
    source = "cloudquery/test" if built_in else plugin_exe("syncline-plugin-test")
    sqlite = "cloudquery/sqlite" if built_in else plugin_exe("syncline-plugin-sqlite")
    plugin_registry = "cloudquery" if built_in else "local"
    return f"""\
kind: source
spec:
  name: test
  path: {source}
  registry: {plugin_registry}
  tables: ["test_some_table", "test_sub_table"]
  destinations: [sqlite]
  spec:
    num_rows: 4
    num_sub_rows: 2
---
kind: destination
spec:
  name: sqlite
  path: {sqlite}
  registry: {plugin_registry}
  write_mode: overwrite-delete-stale
  transformers: [basic]
  spec:
    connection_string: ./db.sqlite
---
kind: transformer
spec:
  name: basic
  path: {transformer_path}
  registry: {registry}
  spec:
    transformations:
{TRANSFORMATIONS}"""


# _cq_id is random per row and _cq_sync_time per sync: everything else must be equal.
_VARYING = {"_cq_id", "_cq_parent_id", "_cq_sync_time"}


def snapshot(db: Path) -> dict[str, object]:
    with sqlite3.connect(db) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "select name from sqlite_master where type = 'table' order by name"
            )
        ]
        out: dict[str, object] = {}
        for name in names:
            info = conn.execute(f"pragma table_info({name})").fetchall()
            cols = [r[1] for r in info if r[1] not in _VARYING]
            rows = conn.execute(
                f"select {', '.join(cols)} from {name} order by {', '.join(cols)}"
            ).fetchall()
            out[name] = {"columns": [(r[1], r[2], r[3], r[5]) for r in info], "rows": rows}
        return out


def syncline_sync(workdir: Path, text: str) -> Path:
    workdir.mkdir(exist_ok=True)
    (workdir / "a.yml").write_text(text)
    p = subprocess.run(
        [sys.executable, "-m", "syncline", "--no-log-file", "sync", "a.yml"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    return workdir / "db.sqlite"


@pytest.fixture(scope="module")
def built_in(tmp_path_factory) -> dict[str, object]:
    db = syncline_sync(
        tmp_path_factory.mktemp("built_in"),
        cq_config("cloudquery/basic", "cloudquery", built_in=True),
    )
    snap = snapshot(db)
    # the transformations did what they say
    assert sorted(snap) == ["raw_test_some_table", "raw_test_sub_table"]
    some = snap["raw_test_some_table"]
    assert "label" in [c[0] for c in some["columns"]] and "list_col" not in [
        c[0] for c in some["columns"]
    ]
    assert len(some["rows"]) == 3
    return snap


@contextlib.contextmanager
def serving(name: str, cwd: Path | None = None) -> Iterator[str]:
    """``syncline plugin serve NAME`` on a loopback port, once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncline",
            "plugin",
            "serve",
            name,
            "--address",
            f"127.0.0.1:{port}",
        ],
        cwd=cwd,
        stderr=subprocess.DEVNULL,
    )
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=120)
        channel.close()
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def served_basic() -> Iterator[str]:
    with serving("basic") as address:
        yield address


def test_syncline_drives_the_basic_transformer_over_grpc(tmp_path, built_in, served_basic):
    db = syncline_sync(tmp_path / "grpc", cq_config(served_basic, "grpc", built_in=True))
    assert snapshot(db) == built_in


def test_syncline_runs_the_cloudquery_config_with_local_plugins(tmp_path, built_in):
    db = syncline_sync(tmp_path / "local", cq_config(plugin_exe("syncline-plugin-basic"), "local"))
    assert snapshot(db) == built_in


def _cloudquery() -> str:
    import cloudquery

    return os.path.join(cloudquery.__path__[0], "bin", "cloudquery")


def test_cloudquery_cli_with_syncline_basic_writes_the_same_tables(tmp_path, built_in):
    """CloudQuery's CLI drives every plugin of the sync over gRPC, the transformer included.

    The plugins are served before the CLI starts (``registry: grpc``), so a slow start on a
    busy machine cannot run into the CLI's own start-up deadline. CloudQuery's CLI also stops
    reading a transformer's output about a second after the source ends, dropping answers
    still on their way; a slow extra table (whose rows the transformer drops) keeps the
    source going well after the compared tables' rows have been transformed.
    """
    workdir = tmp_path / "cq"
    workdir.mkdir()
    with (
        serving("test") as source,
        serving("sqlite", cwd=workdir) as destination,
        serving("basic") as transformer,
    ):
        text = (
            cq_config(transformer, "grpc", built_in=True)
            .replace("path: cloudquery/test", f"path: {source}")
            .replace("path: cloudquery/sqlite", f"path: {destination}")
            .replace("registry: cloudquery", "registry: grpc")
            .replace('"test_sub_table"]', '"test_sub_table", "test_incremental_table"]')
            .replace(
                "    num_sub_rows: 2\n",
                "    num_sub_rows: 2\n    num_events: 40\n    batch_size: 10\n"
                "    batch_delay_ms: 1000\n",
            )
            .replace(
                TRANSFORMATIONS,
                TRANSFORMATIONS + "      - kind: drop_rows\n"
                "        tables: [raw_test_incremental_table]\n        columns: [_cq_parent_id]\n",
            )
        )
        (workdir / "cq.yml").write_text(text)
        p = subprocess.run(
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
    assert p.returncode == 0, p.stderr
    assert 'transformers=["basic (grpc@' in p.stderr
    snap = snapshot(workdir / "db.sqlite")
    assert snap.pop("raw_test_incremental_table")["rows"] == []  # type: ignore[index]
    assert snap == built_in


def test_an_external_transformer_error_fails_the_sync_with_its_name(tmp_path, served_basic):
    text = cq_config(served_basic, "grpc", built_in=True).replace(
        TRANSFORMATIONS, "      - kind: obfuscate_columns\n        columns: [id]\n"
    )
    workdir = tmp_path / "bad"
    workdir.mkdir()
    (workdir / "a.yml").write_text(text)
    p = subprocess.run(
        [sys.executable, "-m", "syncline", "--no-log-file", "sync", "a.yml"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 1
    assert (
        "transformer basic" in p.stderr
        and "column id is not a string, binary or JSON column" in p.stderr
    )


def test_validate_config_checks_a_served_transformer_spec(tmp_path, served_basic):
    text = cq_config(served_basic, "grpc", built_in=True).replace(
        TRANSFORMATIONS, "      - kind: bogus\n        columns: [id]\n"
    )
    (tmp_path / "a.yml").write_text(text)
    p = subprocess.run(
        [sys.executable, "-m", "syncline", "--no-log-file", "validate-config", "a.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 1
    assert (
        "a.yml (document 3, line 29): spec.spec.transformations.0.kind: 'bogus' is not one of"
        in p.stderr
    )
