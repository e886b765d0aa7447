"""CloudQuery's own CLI runs syncline's plugins; syncline runs the same config itself.

Both must end with the same tables, rows, ``_cq_id``s, cursors and error counts. Each
scenario runs the two programs side by side in their own folders, once per module.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import plugin_exe

pytestmark = pytest.mark.slow

MODES = {"dsd": "overwrite-delete-stale", "ovw": "overwrite", "app": "append"}
TOOLS = ("cloudquery", "syncline")


def _cloudquery() -> str:
    import cloudquery

    return os.path.join(cloudquery.__path__[0], "bin", "cloudquery")


def plugin(tool: str, path: str, exe: str) -> str:
    if tool == "cloudquery":
        return f"  path: {plugin_exe(exe)}\n  registry: local\n"
    return f"  path: {path}\n"


def source(tool: str, spec: str, destinations: list[str], extra: str = "") -> str:
    return (
        "kind: source\nspec:\n  name: test\n"
        + plugin(tool, "cloudquery/test", "syncline-plugin-test")
        + f'  tables: ["*"]\n  destinations: [{", ".join(destinations)}]\n'
        + "  deterministic_cq_id: true\n"
        + extra
        + "  spec:\n"
        + "".join(f"    {line}\n" for line in spec.splitlines())
    )


def sqlite(tool: str, name: str, mode: str = "overwrite-delete-stale") -> str:
    return (
        f"kind: destination\nspec:\n  name: {name}\n"
        + plugin(tool, "cloudquery/sqlite", "syncline-plugin-sqlite")
        + f"  write_mode: {mode}\n  spec:\n    connection_string: ./{name}.sqlite\n"
    )


def command(tool: str, *args: str) -> list[str]:
    if tool == "cloudquery":
        return [_cloudquery(), *args, "--log-file-name", "run.log", "--telemetry-level", "none"]
    return [sys.executable, "-m", "syncline", "--log-file-name", "run.log", *args]


def run_both(
    root: Path, make_config: Callable[[str], str], *args: str
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Write each tool's config and run the command in each tool's folder, one after the
    other: CloudQuery gives a plugin five seconds to start listening, and a second program
    starting on a busy machine could slow it past that."""

    def one(tool: str) -> subprocess.CompletedProcess[str]:
        folder = root / tool
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "c.yml").write_text(make_config(tool))
        return subprocess.run(
            command(tool, *args, "c.yml"),
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )

    return {tool: one(tool) for tool in TOOLS}


SUMMARY = re.compile(r"Resources: (\d+), Errors: (\d+), Warnings: (\d+)")


def summary(p: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    m = SUMMARY.search(p.stdout)
    assert m, p.stdout + p.stderr
    return int(m.group(1)), int(m.group(2))


def rows(db: Path, table: str) -> list[tuple[object, ...]]:
    """Every row without _cq_sync_time (each run has its own), in a stable order."""
    with sqlite3.connect(db) as conn:
        names = [r[1] for r in conn.execute(f'pragma table_info("{table}")')]
        keep = [n for n in names if n != "_cq_sync_time"]
        cols = ", ".join(f'"{n}"' for n in keep)
        return sorted(conn.execute(f'select {cols} from "{table}"').fetchall(), key=repr)


def schema(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        return {t: conn.execute(f'pragma table_info("{t}")').fetchall() for t in sorted(tables)}


# -- sync: every write mode, and an incremental table with a state backend -----------------

BACKEND = (
    '  backend_options:\n    table_name: cq_state\n    connection: "@@plugins.dsd.connection"\n'
)


def sync_config(num_rows: int, num_events: int) -> Callable[[str], str]:
    spec = f"num_rows: {num_rows}\nnum_sub_rows: 2\nnum_events: {num_events}\nbatch_size: 40"

    def make(tool: str) -> str:
        docs = [source(tool, spec, list(MODES), BACKEND)]
        docs += [sqlite(tool, name, mode) for name, mode in MODES.items()]
        return "\n---\n".join(docs)

    return make


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    root = tmp_path_factory.mktemp("sync")
    first = run_both(root, sync_config(10, 100), "sync")
    second = run_both(root, sync_config(5, 150), "sync")
    return root, first, second


def test_sync_succeeds_with_the_same_summary(synced):
    _root, first, second = synced
    for runs in (first, second):
        for tool, p in runs.items():
            assert p.returncode == 0, f"{tool}: {p.stdout}\n{p.stderr}"
        assert summary(runs["cloudquery"]) == summary(runs["syncline"])
    # second run: 5 + 10 sub rows, and only the 50 new events (the cursor was kept)
    assert summary(second["syncline"]) == (5 + 10 + 50, 0)


@pytest.mark.parametrize("dest", list(MODES))
def test_sync_gives_the_same_tables_rows_and_ids(synced, dest):
    root, _first, _second = synced
    cq, sl = root / "cloudquery" / f"{dest}.sqlite", root / "syncline" / f"{dest}.sqlite"
    # syncline also keeps each cursor's earlier values next to the state table (documented)
    history = schema(sl).pop("cq_state_history", None)
    assert (history is not None) == (dest == "dsd")
    assert schema(cq) == {t: s for t, s in schema(sl).items() if t != "cq_state_history"}
    expected_parents = {"dsd": 5, "ovw": 10, "app": 15}[dest]
    for table in ("test_some_table", "test_sub_table", "test_incremental_table"):
        got = rows(cq, table)
        assert got == rows(sl, table), table
    assert len(rows(sl, "test_some_table")) == expected_parents
    with sqlite3.connect(sl) as conn:
        ids = conn.execute(
            "select count(*), count(distinct _cq_id) from test_some_table"
        ).fetchone()
    # deterministic ids: an upserting mode keeps one row per id; append repeats them
    assert ids == ((15, 10) if dest == "app" else (expected_parents, expected_parents))


def test_incremental_cursor_is_the_same(synced):
    root, _first, _second = synced
    cursors = {
        tool: sqlite3.connect(root / tool / "dsd.sqlite")
        .execute("select key, value from cq_state order by key")
        .fetchall()
        for tool in TOOLS
    }
    assert (
        cursors["cloudquery"] == cursors["syncline"] == [("test_incremental_table/client_0", "150")]
    )


# -- errors: a table whose resolver fails ----------------------------------------------------


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    root = tmp_path_factory.mktemp("errors")
    spec = "num_rows: 4\nnum_sub_rows: 1\nnum_events: 0\nerror_tables: [test_sub_table]"
    runs = run_both(
        root, lambda tool: source(tool, spec, ["dsd"]) + "\n---\n" + sqlite(tool, "dsd"), "sync"
    )
    return root, runs


def test_table_errors_are_counted_alike(failing):
    root, runs = failing
    for tool, p in runs.items():
        assert p.returncode == 0, f"{tool}: {p.stdout}\n{p.stderr}"
        assert "Sync completed with errors" in p.stdout
    assert summary(runs["cloudquery"]) == summary(runs["syncline"])
    assert summary(runs["syncline"])[1] > 0
    # the plugin's error lines reach CloudQuery's log file
    log = (root / "cloudquery" / "run.log").read_text()
    assert "injected error (error_tables)" in log and "ERR" in log


# -- migrate, tables, validate-config, test-connection ----------------------------------------


def one_sqlite(spec: str = "num_rows: 1") -> Callable[[str], str]:
    return lambda tool: source(tool, spec, ["dsd"]) + "\n---\n" + sqlite(tool, "dsd")


def test_migrate_creates_the_same_tables(tmp_path):
    def make(tool: str) -> str:
        return one_sqlite()(tool).replace("deterministic_cq_id: true", "deterministic_cq_id: false")

    runs = run_both(tmp_path, make, "migrate")
    for tool, p in runs.items():
        assert p.returncode == 0, f"{tool}: {p.stdout}\n{p.stderr}"
        assert "Migration completed successfully." in p.stdout
    cq = schema(tmp_path / "cloudquery" / "dsd.sqlite")
    assert cq == schema(tmp_path / "syncline" / "dsd.sqlite")
    assert {"test_some_table", "test_sub_table", "test_incremental_table"} <= set(cq)
    assert [c[1] for c in cq["test_some_table"] if c[5]] == ["client_id", "id"]


def test_migrate_with_deterministic_ids_keys_on_cq_id(tmp_path):
    """A known difference: CloudQuery's migrate keeps the source's keys even with
    deterministic_cq_id (its sync then keys on _cq_id); syncline's migrate creates the
    table the sync will write."""
    runs = run_both(tmp_path, one_sqlite(), "migrate")
    keys = {}
    for tool, p in runs.items():
        assert p.returncode == 0, f"{tool}: {p.stdout}\n{p.stderr}"
        table = schema(tmp_path / tool / "dsd.sqlite")["test_some_table"]
        keys[tool] = [c[1] for c in table if c[5]]
    assert keys == {"cloudquery": ["client_id", "id"], "syncline": ["_cq_id"]}


def _docs(path: Path) -> dict[str, object]:
    def table(t: dict[str, object]) -> object:
        cols = [
            (
                c["name"],
                c["type"],
                c.get("is_primary_key", False),
                c.get("is_incremental_key", False),
            )
            for c in t["columns"]  # type: ignore[attr-defined]
        ]
        relations = sorted(r["name"] for r in t["relations"])  # type: ignore[attr-defined]
        return (t.get("is_incremental", False), cols, relations)

    def walk(ts: list[dict[str, object]]) -> dict[str, object]:
        out: dict[str, object] = {}
        for t in ts:
            out[t["name"]] = table(t)  # type: ignore[index]
            out.update(walk(t["relations"]))  # type: ignore[arg-type]
        return out

    return walk(json.loads(path.read_text()))


@pytest.mark.parametrize("filter_", ["all", "spec"])
def test_tables_documents_the_same_tables(tmp_path, filter_):
    def make(tool: str) -> str:
        doc = source(tool, "num_rows: 1", ["dsd"]).replace('["*"]', '["test_some_table"]')
        return doc + "\n---\n" + sqlite(tool, "dsd")

    runs = run_both(tmp_path, make, "tables", "--filter", filter_, "--output-dir", "docs")
    for tool, p in runs.items():
        assert p.returncode == 0, f"{tool}: {p.stdout}\n{p.stderr}"
    cq = _docs(tmp_path / "cloudquery" / "docs" / "test" / "__tables.json")
    assert cq == _docs(tmp_path / "syncline" / "docs" / "test" / "__tables.json")
    expected = (
        {"test_some_table"}
        if filter_ == "spec"
        else {
            "test_some_table",
            "test_sub_table",
            "test_incremental_table",
        }
    )
    assert set(cq) == expected


def test_validate_config_accepts_and_refuses_alike(tmp_path):
    runs = run_both(tmp_path / "good", one_sqlite(), "validate-config")
    for tool, p in runs.items():
        assert p.returncode == 0, f"{tool}: {p.stdout}\n{p.stderr}"

    def bad(tool: str) -> str:
        return one_sqlite()(tool).replace(
            "connection_string: ./dsd.sqlite", "connection_string: ./dsd.sqlite\n    batch_sizee: 3"
        )

    runs = run_both(tmp_path / "bad", bad, "validate-config")
    for tool, p in runs.items():
        assert p.returncode == 1, f"{tool}: {p.stdout}\n{p.stderr}"
        assert "batch_sizee" in p.stderr, tool


def test_test_connection_succeeds_and_fails_alike(tmp_path):
    runs = run_both(tmp_path / "good", one_sqlite(), "test-connection")
    for tool, p in runs.items():
        assert p.returncode == 0, f"{tool}: {p.stdout}\n{p.stderr}"
        assert p.stdout.count("Success") == 2, tool

    def closed_port(tool: str) -> str:
        return (
            "kind: destination\nspec:\n  name: pg\n"
            + plugin(tool, "cloudquery/postgresql", "syncline-plugin-postgresql")
            + "  spec:\n    connection_string: postgresql://nobody@127.0.0.1:1/none\n"
        )

    runs = run_both(tmp_path / "bad", closed_port, "test-connection")
    for tool, p in runs.items():
        assert p.returncode == 1, f"{tool}: {p.stdout}\n{p.stderr}"
        assert "at least one test connection failed" in p.stderr, tool
        assert "Failure" in p.stdout, tool
