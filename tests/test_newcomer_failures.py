"""Ordinary mistakes end with a one-line message and exit code, never a Python traceback, and
are caught by validate-config / test-connection before anything is created."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import config, prepared, source_doc, sqlite_doc


def syncline(
    args: list[str], cwd: Path, setup: str | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """The real command in a child process, as a user runs it (with its default log file),
    after ``setup`` (Python source) in that process.

    The output is wide enough that tables do not wrap their messages.
    """
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run(
        prepared(setup, [sys.executable, "-m", "syncline", *args]),
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        **kw,
    )


def no_traceback(p: subprocess.CompletedProcess[str]) -> None:
    for stream in (p.stdout, p.stderr):
        assert "Traceback" not in stream and 'File "' not in stream, stream


# -- a folder the user cannot write ------------------------------------------------------------


_PR_CAPBSET_DROP = 24
# Capabilities that let root ignore file permissions: DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER.
_PERMISSION_CAPS = (1, 2, 3)

# As root, give up what lets root write anywhere (run before the command, in its process).
_WITHOUT_PERMISSION_OVERRIDE = f"""\
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
for cap in {_PERMISSION_CAPS}:
    if libc.prctl({_PR_CAPBSET_DROP}, cap, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
"""


@pytest.fixture
def read_only_dir() -> Iterator[tuple[Path, str | None]]:
    """A folder holding a config that the user running syncline cannot write to.

    File permissions do not bind root, so as root the command runs without the capabilities
    that override them (same user, so it still reads this checkout and its interpreter).
    """
    drop = _WITHOUT_PERMISSION_OVERRIDE if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="syncline-ro-"))
    folder = base / "readonly"
    folder.mkdir()
    (folder / "sync.yml").write_text(
        config(source_doc(tables='["test_some_table"]', spec="num_rows: 3"), sqlite_doc())
    )
    folder.chmod(0o555)
    try:
        probe = subprocess.run(
            prepared(drop, [sys.executable, "-c", "open('probe', 'w')"]),
            cwd=folder,
            capture_output=True,
            text=True,
        )
        if "PermissionError" not in probe.stderr:
            pytest.skip(f"cannot make a folder read-only for this user: {probe.stderr[-200:]}")
        yield folder, drop
    finally:
        folder.chmod(0o755)
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
        base.rmdir()


def test_log_file_in_a_read_only_folder_warns_and_logs_to_the_console(read_only_dir):
    folder, drop = read_only_dir
    p = syncline(["validate-config", "sync.yml"], folder, setup=drop)
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    warning = (
        "Warning: cannot write log file syncline.log: Permission denied; "
        "logging to the console only"
    )
    assert p.stderr.splitlines()[0] == warning
    assert "plugin started kind=source plugin=test" in p.stderr  # the log, on stderr instead
    assert "Config is valid." in p.stdout


def test_sqlite_file_in_a_read_only_folder_says_permission_denied(read_only_dir):
    folder, drop = read_only_dir
    p = syncline(["sync", "sync.yml", "--no-log-file"], folder, setup=drop)
    no_traceback(p)
    assert p.returncode == 1
    assert "Error: destination sqlite: cannot open db.sqlite: permission denied" in p.stderr
    assert "allocate memory" not in p.stderr
    p = syncline(["test-connection", "sync.yml", "--no-log-file"], folder, setup=drop)
    no_traceback(p)
    assert p.returncode == 1
    assert "permission denied" in p.stdout
    assert "Error: at least one test connection failed" in p.stderr
    assert not (folder / "db.sqlite").exists()


def test_log_file_in_a_missing_folder_warns_and_logs_to_the_console(tmp_path):
    (tmp_path / "sync.yml").write_text(
        config(source_doc(tables='["test_some_table"]', spec="num_rows: 3"), sqlite_doc())
    )
    p = syncline(["sync", "sync.yml", "--log-file-name", "logs/run.log"], tmp_path)
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[0] == (
        "Warning: cannot write log file logs/run.log: No such file or directory; "
        "logging to the console only"
    )
    assert "table sync finished source=test table=test_some_table rows=3" in p.stderr
    assert "Sync completed successfully. Resources: 3" in p.stdout
    assert not (tmp_path / "logs").exists()


# -- messages shown as they are ----------------------------------------------------------------


def test_test_connection_shows_messages_verbatim(tmp_path):
    pg = """\
kind: destination
spec:
  name: postgresql
  path: cloudquery/postgresql
  spec:
    connection_string: "postgresql://nobody@127.0.0.1:1/none"
    max_retries: 1
"""
    (tmp_path / "a.yml").write_text(config(source_doc(destinations=("postgresql",)), pg))
    p = syncline(["test-connection", "a.yml", "--no-log-file"], tmp_path)
    no_traceback(p)
    assert p.returncode == 1
    table = p.stdout  # the table wraps long messages
    assert "Failure: destination postgresql:" in table
    assert "OperationalError: IO: [libpq] Failed to" in table  # not eaten as markup
    assert "Connection refused" in table
    assert p.stderr.strip().endswith("Error: at least one test connection failed")


# -- registry: grpc ------------------------------------------------------------------------------


def _grpc_source(address: str) -> str:
    return (
        source_doc()
        .replace("path: cloudquery/test", f"path: {address}")
        .replace("registry: cloudquery", "registry: grpc")
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_grpc_address_that_refuses_connections_fails_with_the_reason(tmp_path):
    address = f"127.0.0.1:{_closed_port()}"
    (tmp_path / "a.yml").write_text(config(_grpc_source(address), sqlite_doc()))
    expected = f"source plugin test: cannot connect to {address}: failed to connect"
    for command in ("sync", "validate-config"):
        p = syncline([command, "a.yml", "--no-log-file"], tmp_path)
        no_traceback(p)
        assert p.returncode == 1, command
        assert expected in p.stderr, p.stderr
        assert "Connection refused" in p.stderr
    assert not (tmp_path / "db.sqlite").exists()
    p = syncline(["test-connection", "a.yml", "--no-log-file"], tmp_path)
    no_traceback(p)
    assert p.returncode == 1
    assert "Connection refused" in p.stdout


@pytest.mark.parametrize("command", ["validate-config", "test-connection", "sync"])
def test_grpc_path_that_is_not_host_port_is_a_config_error(tmp_path, command):
    (tmp_path / "a.yml").write_text(config(_grpc_source("my-plugin"), sqlite_doc()))
    p = syncline([command, "a.yml", "--no-log-file"], tmp_path)
    no_traceback(p)
    assert p.returncode == 1
    assert (
        "Error: a.yml (document 1, line 4): spec.path: 'my-plugin' is not an address to dial: "
        "registry grpc needs host:port (e.g. localhost:7777)"
    ) in p.stderr
    assert not (tmp_path / "db.sqlite").exists()


# -- table selection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selection", "where", "message"),
    [
        ('tables: ["test_some_table", "nope*"]', "line 7): spec.tables.1", "tables include a "
         "pattern nope* with no matches"),
        ('tables: ["*"]\nskip_tables: ["test_gone"]', "line 8): spec.skip_tables.0",
         "skip_tables include a pattern test_gone with no matches"),
    ],
)  # fmt: skip
def test_a_selection_that_matches_nothing_is_caught_before_anything_is_created(
    tmp_path, selection, where, message
):
    backend = """\
backend_options:
  table_name: syncline_state
  connection: "@@plugins.sqlite.connection"
"""
    doc = source_doc(extra=backend).replace('  tables: ["*"]\n', "")
    doc = doc.replace(
        "  destinations:", "".join(f"  {s}\n" for s in selection.split("\n")) + "  destinations:"
    )
    (tmp_path / "a.yml").write_text(config(doc, sqlite_doc()))
    error = f"a.yml (document 1, {where}: {message}"

    p = syncline(["validate-config", "a.yml", "--no-log-file"], tmp_path)
    no_traceback(p)
    assert (p.returncode, p.stderr.strip()) == (1, f"Error: {error}")

    for command in ("migrate", "sync"):
        p = syncline([command, "a.yml", "--no-log-file"], tmp_path)
        no_traceback(p)
        assert p.returncode == 1, command
        assert f"Error: {error}" in p.stderr, command
    # Refused before any destination file or state table was created.
    assert not (tmp_path / "db.sqlite").exists()

    p = syncline(["test-connection", "a.yml", "--no-log-file"], tmp_path)
    no_traceback(p)
    assert p.returncode == 1
    assert f"Failure: {error}" in p.stdout
