"""Shared helpers: write configs, run the real CLI, read real SQLite files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from syncline.cli.main import main


@dataclass
class Run:
    code: int
    out: str
    err: str


def source_doc(
    name: str = "test",
    destinations: tuple[str, ...] = ("sqlite",),
    tables: str = '["*"]',
    extra: str = "",
    spec: str = "",
) -> str:
    text = f"""\
kind: source
spec:
  name: {name}
  path: cloudquery/test
  registry: cloudquery
  version: "v1.0.0"
  tables: {tables}
  destinations: [{", ".join(destinations)}]
"""
    if extra:
        text += textwrap.indent(textwrap.dedent(extra).strip("\n"), "  ") + "\n"
    if spec:
        text += "  spec:\n" + textwrap.indent(textwrap.dedent(spec).strip("\n"), "    ") + "\n"
    return text


def sqlite_doc(
    name: str = "sqlite", path: str = "db.sqlite", extra: str = "", spec: str = ""
) -> str:
    text = f"""\
kind: destination
spec:
  name: {name}
  path: cloudquery/sqlite
  registry: cloudquery
  version: "v1.0.0"
"""
    if extra:
        text += textwrap.indent(textwrap.dedent(extra).strip("\n"), "  ") + "\n"
    text += f"  spec:\n    connection_string: {path}\n"
    if spec:
        text += textwrap.indent(textwrap.dedent(spec).strip("\n"), "    ") + "\n"
    return text


def config(*docs: str) -> str:
    return "\n---\n".join(d.rstrip("\n") for d in docs) + "\n"


# What a source document of ``local_events_config`` says after its destinations by default:
# 30 events of the incremental table, their cursor kept in the destination.
LOCAL_EVENTS = """\
  backend_options: {table_name: cq_state, connection: "@@plugins.sqlite.connection"}
  spec: {num_events: 30}
"""


def local_events_config(source: str, destination: str, source_rest: str = LOCAL_EVENTS) -> str:
    """The test source's incremental table into SQLite, both plugins the given executables
    (``registry: local``); ``source_rest`` ends the source document."""
    return f"""kind: source
spec:
  name: events
  path: {source}
  registry: local
  tables: ["test_incremental_table"]
  destinations: [sqlite]
{source_rest}---
kind: destination
spec:
  name: sqlite
  path: {destination}
  registry: local
  spec: {{connection_string: db.sqlite}}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run_cli(workdir: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run ``syncline`` in-process, as a user would type it."""

    def run(*args: str) -> Run:
        code = main(["--no-log-file", *args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def write(workdir: Path) -> Callable[[str, str], Path]:
    def _write(name: str, text: str) -> Path:
        p = workdir / name
        p.write_text(text)
        return p

    return _write


def query(db: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(sql, params).fetchall()
        conn.commit()  # tests also use it to set a table up
        return rows
    finally:
        conn.close()


def scalar(db: Path | str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return query(db, sql, params)[0][0]


def run_subprocess(args: list[str], cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncline", "--no-log-file", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        **kw,
    )


def prepared(setup: str | None, cmd: list[str]) -> list[str]:
    """``cmd``, run after ``setup`` (Python source) in the same process, by a fresh interpreter
    that then executes ``cmd`` in its place (without ``setup``: ``cmd`` as it is). Not Popen's
    ``preexec_fn``: it makes Popen fork, and in this process, which has used gRPC, gRPC's fork
    handlers can abort the child."""
    if setup is None:
        return cmd
    become = "import os, sys\nos.execv(sys.argv[1], sys.argv[1:])"
    return [sys.executable, "-I", "-S", "-c", f"{setup}\n{become}", *cmd]


def wait_for(
    probe: Callable[[], Any],
    what: str,
    *,
    proc: subprocess.Popen[Any] | None = None,
    timeout: float = 120.0,
) -> Any:
    """Poll ``probe`` until it returns a truthy value (the event), then return that value.

    Tests act on observable events (rows present, a cursor committed, a lock held), never on
    the clock: the deadline is generous so that a busy machine only makes a test slower.
    ``probe`` may raise (a table not created yet); that counts as "not yet", except for an
    AssertionError, which ends the wait. If ``proc``
    exits before the event, the wait ends with None so the caller can tell.
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
        except AssertionError:
            raise  # the probe found something wrong: no point in waiting
        except Exception:
            value = None
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            return None
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


def sqlite_value(db: Path | str, sql: str) -> Any:
    """One value from a SQLite file another process is writing (None while it is not there)."""
    if not Path(db).exists():
        return None
    # Read-write, so that a hot journal left by a killed writer is rolled back, not refused.
    conn = sqlite3.connect(db, timeout=5)
    try:
        row = conn.execute(sql).fetchone()
    finally:
        conn.close()
    return row[0] if row else None


# -- PostgreSQL --------------------------------------------------------------------------------

_PG: list[Any] = []


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for the whole session (tests marked ``pg``).

    Without server binaries the tests are skipped, except where SYNCLINE_REQUIRE_PG=1 (CI):
    there a missing server fails them.
    """
    import os

    from syncline.testing.postgres import find_bin_dir, start_server

    if find_bin_dir() is None:
        message = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get("SYNCLINE_REQUIRE_PG") == "1":
            pytest.fail(message)
        pytest.skip(message)
    server = start_server()
    yield server
    server.stop()
    import shutil

    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server, request) -> str:
    """A fresh database per test."""
    import re
    import uuid

    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40] + "_" + uuid.uuid4().hex[:6]
    return pg_server.create_database(name)


def python_plugin_exe(folder: Path, name: str, script: Path) -> str:
    """An executable ``folder/name`` that runs the Python plugin ``script`` with this
    interpreter, as a ``registry: local`` path."""
    exe = folder / name
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    exe.chmod(0o755)
    return str(exe)


def plugin_exe(name: str) -> str:
    """An installed console script (syncline-plugin-*), wherever pip put it."""
    import os
    import shutil
    import sysconfig
    from pathlib import Path

    # The running interpreter's own first: another install on PATH may hold older code.
    candidates = [
        str(Path(sys.executable).parent / name),
        shutil.which(name),
        str(Path(sysconfig.get_path("scripts")) / name),
        str(Path(sysconfig.get_path("scripts", f"{os.name}_user")) / name),
    ]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    raise AssertionError(f"{name} is not installed (pip install -e .)")


# -- AWS (moto) --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real moto_server process (with the test-only CloudTrail LookupEvents extension)."""
    import subprocess
    import time
    import urllib.request
    from pathlib import Path

    from syncline.testing.postgres import free_port

    port = free_port()
    script = Path(__file__).parent / "aws" / "moto_cloudtrail.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.2)
    yield endpoint
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def aws_env(moto_endpoint, monkeypatch):
    """Credentials and endpoint for boto3 in this process (and in syncline run in-process)."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"))
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    return moto_endpoint


# -- BigQuery (emulator) -----------------------------------------------------------------------


@dataclass(frozen=True)
class BigQueryEmulator:
    host: str  # host:port, as BIGQUERY_EMULATOR_HOST takes it
    project: str


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory):
    """The `local-bigquery` emulator (PyPI, its own Python 3.13 environment) on loopback.

    Found through SYNCLINE_BIGQUERY_EMULATOR or the cache folder `.ci/run` installs it in.
    Without it the tests are skipped, except where SYNCLINE_REQUIRE_BIGQUERY=1 (CI).
    """
    import os
    import subprocess
    import time
    import urllib.request

    from syncline.testing.postgres import free_port

    default = (
        Path.home() / ".cache" / "syncline-ci" / "bigquery-emulator" / "bin" / "local-bigquery"
    )
    exe = os.environ.get("SYNCLINE_BIGQUERY_EMULATOR") or str(default)
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        message = f"BigQuery emulator not found at {exe} (bash .ci/run installs it)"
        if os.environ.get("SYNCLINE_REQUIRE_BIGQUERY") == "1":
            pytest.fail(message)
        pytest.skip(message)
    port, grpc_port = free_port(), free_port()
    data = tmp_path_factory.mktemp("bigquery-emulator")
    log = (data / "emulator.log").open("wb")
    proc = subprocess.Popen(
        [
            exe,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--grpc-port",
            str(grpc_port),
            "--project",
            "syncline-test",
            "--data-dir",
            str(data),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/bigquery/v2/projects/syncline-test/datasets"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                log.close()
                pytest.fail(
                    "BigQuery emulator did not start: "
                    + (data / "emulator.log").read_text()[-2000:]
                )
            time.sleep(0.2)
    yield BigQueryEmulator(f"127.0.0.1:{port}", "syncline-test")
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


@pytest.fixture
def bigquery_env(bigquery_emulator, monkeypatch):
    """BIGQUERY_EMULATOR_HOST for this process, and a fresh dataset id for the test."""
    import uuid

    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", bigquery_emulator.host)
    return f"ds_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def bigquery_client(bigquery_emulator):
    """Google's own client on the emulator, to check what a user would query."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(
        project=bigquery_emulator.project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": f"http://{bigquery_emulator.host}"},
    )
    yield client
    client.close()
