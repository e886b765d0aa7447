"""The log of a sync: each event a person debugging it looks for, with its facts as fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import config, plugin_exe, source_doc, sqlite_doc

from syncline.cli.main import main


def sync_logged(workdir: Path, cfg: str, *flags: str, log: str = "sync.log") -> int:
    """Run ``syncline sync`` in-process, logging to a fresh file in ``workdir``."""
    return main(
        ["sync", cfg, "--log-file-name", str(workdir / log), "--log-file-overwrite", *flags]
    )


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def events(lines: list[dict[str, Any]], message: str) -> list[dict[str, Any]]:
    return [e for e in lines if e["message"] == message]


def incremental_config(num_rows: int, num_events: int) -> str:
    return config(
        source_doc(
            extra="""\
            backend_options:
              table_name: syncline_state
              connection: "@@plugins.sqlite.connection"
            """,
            spec=f"num_rows: {num_rows}\nnum_sub_rows: 2\nnum_events: {num_events}",
        ),
        sqlite_doc(),
    )


def test_info_log_of_a_sync_has_every_event_as_fields(write, workdir, capsys):
    write("a.yml", incremental_config(num_rows=10, num_events=100))
    assert sync_logged(workdir, "a.yml", "--log-format", "json") == 0
    first = json_lines(workdir / "sync.log")
    created = {e["table"]: e["change"] for e in events(first, "migrating table")}
    assert created == {
        "syncline_state": "created",
        "syncline_state_history": "created",
        "test_some_table": "created",
        "test_sub_table": "created",
        "test_incremental_table": "created",
    }

    # Fewer rows (stale ones get deleted) and more events (the cursor moves from 100 to 150).
    write("a.yml", incremental_config(num_rows=4, num_events=150))
    assert sync_logged(workdir, "a.yml", "--log-format", "json") == 0
    lines = json_lines(workdir / "sync.log")
    assert {e["level"] for e in lines} == {"info"}
    assert all(e["invocation_id"] and e["time"] for e in lines)

    started = {(e["kind"], e["plugin"]): e for e in events(lines, "plugin started")}
    assert set(started) == {("source", "test"), ("destination", "sqlite")}
    source = started[("source", "test")]
    assert source["path"] == "cloudquery/test"
    assert source["registry"] == "cloudquery"
    assert source["version"] == "v1.0.0"
    assert source["implementation"].startswith("built in, syncline ")

    migrated = {e["table"]: e for e in events(lines, "migrating table")}
    assert {t: e["change"] for t, e in migrated.items()} == dict.fromkeys(created, "unchanged")
    assert {e["destination"] for e in migrated.values()} == {"sqlite"}

    finished = {e["table"]: (e["rows"], e["errors"]) for e in events(lines, "table sync finished")}
    assert finished == {
        "test_some_table": (4, 0),
        "test_sub_table": (8, 0),
        "test_incremental_table": (50, 0),
    }

    stale = {e["table"]: e["rows"] for e in events(lines, "deleted stale rows")}
    assert stale == {"test_some_table": 6, "test_sub_table": 12}  # incremental: never stale

    (cursor,) = events(lines, "cursor committed")
    assert cursor["table"] == "test_incremental_table"
    assert cursor["key"] == "test_incremental_table/client_0"
    assert (cursor["old"], cursor["new"]) == ("100", "150")

    (summary,) = events(lines, "Sync completed successfully.")
    assert (summary["resources"], summary["errors"], summary["warnings"]) == (62, 0, 0)
    assert lines[-1] is summary

    # The facts are fields, not text inside the message.
    for e in lines:
        assert "=" not in e["message"], e
    assert "Sync completed successfully. Resources: 62, Errors: 0" in capsys.readouterr().out


def test_text_log_carries_the_same_fields_as_key_value(write, workdir):
    write("a.yml", incremental_config(num_rows=3, num_events=10))
    assert sync_logged(workdir, "a.yml") == 0
    text = (workdir / "sync.log").read_text().splitlines()

    def line_of(start: str) -> str:
        found = [line for line in text if start in line]
        assert found, f"no line with {start!r} in:\n" + "\n".join(text)
        return found[0]

    assert "INFO  table sync finished source=test table=test_some_table rows=3 errors=0 " in (
        line_of("table=test_some_table rows=3")
    )
    assert "key=test_incremental_table/client_0 old=null new=10 " in line_of("cursor committed")
    assert 'implementation="built in, syncline ' in line_of("plugin started kind=source")
    summary = line_of("Sync completed successfully.")
    assert "resources=19 errors=0 warnings=0 duration_s=" in summary
    assert "module=syncline.cli invocation_id=" in summary


def test_debug_log_shows_each_batch_flushed(write, workdir):
    write(
        "a.yml",
        config(
            source_doc(tables='["test_some_table"]', spec="num_rows: 25"),
            sqlite_doc(spec="batch_size: 10"),
        ),
    )
    assert sync_logged(workdir, "a.yml", "--log-format", "json", "--log-level", "debug") == 0
    lines = json_lines(workdir / "sync.log")
    flushed = [(e["table"], e["rows"]) for e in events(lines, "batch flushed")]
    assert flushed == [("test_some_table", 10), ("test_some_table", 10), ("test_some_table", 5)]
    assert all(
        e["level"] == "debug" and e["destination"] == "sqlite" and e["bytes"] > 0
        for e in events(lines, "batch flushed")
    )
    # Not at info.
    assert sync_logged(workdir, "a.yml", "--log-format", "json", log="info.log") == 0
    assert not events(json_lines(workdir / "info.log"), "batch flushed")


def test_debug_log_shows_grpc_calls_to_an_external_plugin(write, workdir):
    exe = plugin_exe("syncline-plugin-test")
    backend = """\
backend_options:
  table_name: syncline_state
  connection: "@@plugins.sqlite.connection"
"""
    doc = (
        source_doc(tables='["test_incremental_table"]', extra=backend, spec="num_events: 3")
        .replace("path: cloudquery/test", f"path: {exe}")
        .replace("registry: cloudquery", "registry: local")
    )
    write("a.yml", config(doc, sqlite_doc()))
    assert sync_logged(workdir, "a.yml", "--log-format", "json", "--log-level", "debug") == 0
    lines = json_lines(workdir / "sync.log")
    calls = [e["method"] for e in events(lines, "grpc call") if e["plugin"] == "test"]
    for method in ("GetVersions", "Init", "GetTables", "Sync", "Close"):
        assert method in calls, calls
    (sync_call,) = [e for e in events(lines, "grpc call") if e["method"] == "Sync"]
    assert sync_call["tables"] == ["test_incremental_table"]
    # The plugin reads its cursors from the state backend the engine serves it.
    served = {e["method"] for e in events(lines, "grpc call served")}
    assert "/cloudquery.plugin.v3.Plugin/Read" in served, served
    (started,) = [e for e in events(lines, "plugin started") if e["kind"] == "source"]
    assert (started["registry"], started["implementation"]) == ("local", f"executable {exe}")


def test_debug_log_shows_retries_with_their_cause(write, workdir):
    pg = """\
kind: destination
spec:
  name: postgresql
  path: cloudquery/postgresql
  spec:
    connection_string: "postgresql://nobody@127.0.0.1:1/none"
    max_retries: 3
    retry_delay: 0.01s
"""
    write("a.yml", config(source_doc(destinations=("postgresql",)), pg))
    assert sync_logged(workdir, "a.yml", "--log-format", "json", "--log-level", "debug") == 1
    retries = events(json_lines(workdir / "sync.log"), "transient error, retrying")
    assert [(e["attempt"], e["attempts"]) for e in retries] == [(1, 3), (2, 3)]
    assert all("Connection refused" in e["cause"] for e in retries)
    assert [e["delay_s"] for e in retries] == [0.01, 0.02]


@pytest.mark.pg
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_password_in_a_connection_string_never_reaches_the_log(
    write, workdir, pg_url, fmt, capsys
):
    secret = "Pw-n0t-f0r-l0gs"
    url = pg_url.replace("postgresql://postgres@", f"postgresql://postgres:{secret}@")
    assert url != pg_url
    pg = f"""\
kind: destination
spec:
  name: postgresql
  path: cloudquery/postgresql
  spec:
    connection_string: "{url}"
"""
    src = source_doc(
        destinations=("postgresql",),
        extra="""\
        backend_options:
          table_name: syncline_state
          connection: "@@plugins.postgresql.connection"
        """,
        spec="num_rows: 5\nnum_events: 20",
    )
    write("a.yml", config(src, pg))
    for command in ("sync", "validate-config", "test-connection", "migrate"):
        code = main(
            [command, "a.yml", "--log-level", "debug", "--log-format", fmt,
             "--log-file-name", str(workdir / "all.log")]
        )  # fmt: skip
        assert code == 0, command
    log = (workdir / "all.log").read_text()
    assert "cursor committed" in log and "batch flushed" in log  # debug lines are there
    assert secret not in log
    printed = capsys.readouterr()
    assert "Sync completed successfully." in printed.out
    assert secret not in printed.out + printed.err
