"""The public Python API: typed results, any thread, several runs, nothing left open."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import config, query, scalar, source_doc, sqlite_doc

import syncline

BACKEND = 'backend_options:\n  table_name: cq_state\n  connection: "@@plugins.{dest}.connection"'


def _incremental(name: str, dest: str, events: int, extra_spec: str = "") -> str:
    return source_doc(
        name=name,
        destinations=(dest,),
        tables='["test_incremental_table"]',
        extra=BACKEND.format(dest=dest),
        spec=f"num_events: {events}\nbatch_size: 100\n{extra_spec}",
    )


def _open_fds() -> set[str]:
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue  # the descriptor listdir itself used
    return fds


def _in_thread(fn: Any, *args: Any, **kw: Any) -> Any:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn(*args, **kw)
        except BaseException as e:  # handed to the test thread
            out["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_sync_from_a_worker_thread_twice_leaves_nothing_open(workdir):
    yaml_text = config(
        source_doc(
            extra=BACKEND.format(dest="sqlite"),
            spec="num_rows: 20\nnum_sub_rows: 2\nnum_events: 30",
        ),
        sqlite_doc(),
    )
    handlers = (logging.getLogger().handlers[:], logging.getLogger("syncline").handlers[:])
    threads = set(threading.enumerate())
    sync(yaml_text)  # warm up imports, so that the figures below compare like with like
    fds = _open_fds()

    first = _in_thread(syncline.sync, yaml_text)
    assert isinstance(first, syncline.SyncResult)
    assert first.ok
    src = first.source("test")
    assert src.destinations == ("sqlite",)
    # the warm-up synced 30 events already; the cursor holds, so none move again
    assert src.tables["test_some_table"].rows == 20
    assert src.tables["test_sub_table"].rows == 40
    assert src.tables["test_incremental_table"].rows == 0
    assert first.rows == 60

    query(workdir / "db.sqlite", "delete from cq_state")
    second = _in_thread(syncline.sync, yaml_text)
    assert second.source("test").tables["test_incremental_table"].rows == 30
    assert second.source("test").cursors == {"test_incremental_table/client_0": "30"}
    assert scalar(workdir / "db.sqlite", "select count(*) from test_some_table") == 20

    assert (logging.getLogger().handlers, logging.getLogger("syncline").handlers) == handlers
    assert set(threading.enumerate()) == threads
    assert _open_fds() == fds


def sync(cfg: Any, **kw: Any) -> syncline.SyncResult:
    return syncline.sync(cfg, **kw)


def test_two_sources_sync_concurrently_from_two_threads(workdir):
    texts = [
        config(
            _incremental(f"src{i}", f"db{i}", 2000, "batch_delay_ms: 5"),
            sqlite_doc(name=f"db{i}", path=f"db{i}.sqlite"),
        )
        for i in (1, 2)
    ]
    results: dict[int, syncline.SyncResult] = {}
    errors: list[BaseException] = []
    started = threading.Barrier(2)

    def run(i: int) -> None:
        try:
            started.wait()
            results[i] = syncline.sync(texts[i - 1])
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in (1, 2):
        assert results[i].source(f"src{i}").tables["test_incremental_table"].rows == 2000
        assert query(
            workdir / f"db{i}.sqlite",
            "select count(*), count(distinct id), max(id) from test_incremental_table",
        ) == [(2000, 2000, 2000)]
        assert scalar(workdir / f"db{i}.sqlite", "select value from cq_state") == "2000"


def test_config_as_dicts_and_progress_callbacks(workdir):
    docs = [
        {
            "kind": "source",
            "spec": {
                "name": "test",
                "path": "cloudquery/test",
                "tables": ["test_some_table"],
                "destinations": ["sqlite"],
                "spec": {"num_rows": 7},
            },
        },
        {
            "kind": "destination",
            "spec": {
                "name": "sqlite",
                "path": "cloudquery/sqlite",
                "spec": {"connection_string": "dicts.sqlite"},
            },
        },
    ]
    seen: list[tuple[str, Any]] = []

    class Recorder(syncline.NoProgress):
        def source_started(self, source: str, destinations: list[str]) -> None:
            seen.append(("started", (source, destinations)))

        def rows(self, table: str, count: int) -> None:
            seen.append(("rows", (table, count)))

        def source_finished(self, result: syncline.SourceSyncResult) -> None:
            seen.append(("finished", result.rows))

    result = syncline.sync(docs, progress=Recorder())
    assert result.rows == 7
    assert scalar(workdir / "dicts.sqlite", "select count(*) from test_some_table") == 7
    assert seen[0] == ("started", ("test", ["sqlite"]))
    assert sum(value[1] for kind, value in seen if kind == "rows") == 7
    assert seen[-1] == ("finished", 7)


def test_a_stop_event_writes_what_was_read_and_commits_its_cursor(workdir):
    stop = threading.Event()

    class StopAfterFirstRows(syncline.NoProgress):
        def rows(self, table: str, count: int) -> None:
            stop.set()

    text = config(_incremental("test", "sqlite", 50_000, "batch_delay_ms: 20"), sqlite_doc())
    with pytest.raises(syncline.SyncFailedError) as failed:
        syncline.sync(text, stop=stop, progress=StopAfterFirstRows())
    assert failed.value.stopped
    assert str(failed.value) == "sync interrupted on request"
    cursor = int(failed.value.result.source("test").cursors["test_incremental_table/client_0"])
    assert 0 < cursor < 50_000
    assert query(
        workdir / "db.sqlite",
        "select count(*), count(distinct id), max(id) from test_incremental_table",
    ) == [(cursor, cursor, cursor)]
    # the next run goes on from there
    rest = syncline.sync(text)
    assert rest.source("test").tables["test_incremental_table"].rows == 50_000 - cursor


def test_errors_carry_the_cli_messages(workdir):
    bad = config(source_doc(spec="num_rows: 1"), sqlite_doc(extra="write_mod: append"))
    with pytest.raises(syncline.ConfigErrors) as e:
        syncline.validate(bad)
    assert "<string> (document 2, line 18): spec.write_mod: unknown key" in str(e.value)
    with pytest.raises(syncline.ConfigError, match=r"missing\.yml: file not found"):
        syncline.sync(workdir / "missing.yml")
    ok = config(source_doc(spec="num_rows: 1"), sqlite_doc())
    with pytest.raises(
        syncline.ConfigError, match=r"<string>: unknown source nope \(the config has test\)"
    ):
        syncline.sync(ok, sources=["nope"])
    with pytest.raises(syncline.SynclineError, match="needs the main thread"):
        _in_thread(syncline.sync, ok, handle_signals=True)


def test_state_tables_and_migrate(workdir):
    text = config(_incremental("test", "sqlite", 40), sqlite_doc())
    syncline.migrate(text)
    assert scalar(workdir / "db.sqlite", "select count(*) from test_incremental_table") == 0
    syncline.sync(text)
    assert syncline.show_state(text) == {"test": {"test_incremental_table/client_0": "40"}}
    assert syncline.reset_state(text, tables=["test_incremental_table"]) == {
        "test": ["test_incremental_table/client_0"]
    }
    assert syncline.show_state(text) == {"test": {}}
    found = syncline.tables(text)["test"]
    assert sorted(t.name for t in found) == [
        "test_incremental_table",
        "test_some_table",
        "test_sub_table",
    ]
    # children come after their parents
    names = [t.name for t in found]
    assert names.index("test_some_table") < names.index("test_sub_table")


def test_typed_user_script_runs_and_passes_mypy_strict(workdir):
    script = Path(__file__).parents[1] / "examples" / "python_api.py"
    done = subprocess.run(
        [sys.executable, str(script)], cwd=workdir, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "test_some_table: 100 rows" in done.stdout
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout


def test_the_orchestrator_example_records_counts_per_table(workdir):
    import importlib.util

    path = Path(__file__).parents[1] / "examples" / "dagster_asset.py"
    spec = importlib.util.spec_from_file_location("dagster_asset_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = config(_incremental("test", "sqlite", 25), sqlite_doc())
    metadata = module.sync_with_counts(text)
    assert metadata == {
        "rows": 25,
        "errors": 0,
        "test.test_incremental_table.rows": 25,
        "test.cursors": {"test_incremental_table/client_0": "25"},
    }
    # a second run moves nothing new and says so
    assert module.sync_with_counts(text)["test.test_incremental_table.rows"] == 0


def test_full_refresh_reads_an_incremental_table_again(workdir):
    text = config(_incremental("test", "sqlite", 60), sqlite_doc())
    syncline.sync(text)
    again = syncline.sync(text)
    assert again.source("test").tables["test_incremental_table"].rows == 0
    refreshed = syncline.sync(text, full_refresh=["test_incremental_table"])
    assert refreshed.source("test").tables["test_incremental_table"].rows == 60
    assert syncline.show_state(text) == {"test": {"test_incremental_table/client_0": "60"}}
