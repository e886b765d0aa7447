"""What a sync imports: heavy libraries only when a plugin or a feature that needs them is used."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import config, local_events_config, plugin_exe, query, run_subprocess, sqlite_doc

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


# Where pandas is installed, pyarrow imports it (0.3 to 0.4 s) the first time a process
# converts Python or NumPy values, only to check whether they are pandas objects; the data
# path makes its arrays from buffers instead. This finder, on the path of every process of
# the sync, records any import of pandas.
PANDAS_TRACER = """
import os, sys, traceback
class _PandasTracer:
    def find_spec(self, name, path, target=None):
        if name == "pandas":
            with open(os.environ["SYNCLINE_TEST_PANDAS_LOG"], "a") as log:
                log.write(" ".join(sys.argv) + "\\n")
                frames = [f for f in traceback.format_stack()[:-1] if "importlib._bootstrap" not in f]
                log.writelines(frames[-6:])
        return None
sys.meta_path.insert(0, _PandasTracer())
"""


def _traced_env(workdir: Path) -> tuple[dict[str, str], Path]:
    tracer = workdir / "tracer"
    tracer.mkdir()
    (tracer / "sitecustomize.py").write_text(PANDAS_TRACER)
    log = workdir / "pandas.log"
    return _first_on_path(tracer, SYNCLINE_TEST_PANDAS_LOG=str(log)), log


def _first_on_path(folder: Path, **variables: str) -> dict[str, str]:
    """This environment with ``folder`` first on the module path (its ``sitecustomize`` runs
    in every Python process started with it) and ``variables`` set."""
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **variables}


def _count(lane: str, target: str, sql: str) -> list[tuple[object, ...]]:
    if lane == "duckdb":
        import duckdb

        with duckdb.connect(target, read_only=True) as db:
            return db.execute(sql).fetchall()
    if lane == "postgresql":
        import psycopg

        with psycopg.connect(target) as db:
            return db.execute(sql).fetchall()
    return query(Path(target), sql)


@pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pandas is not installed")
@pytest.mark.parametrize(
    "lane",
    [
        "sqlite",
        "sqlite over gRPC",
        "duckdb",
        pytest.param("postgresql", marks=pytest.mark.pg),
        pytest.param("postgresql over gRPC", marks=pytest.mark.pg),
    ],
)
def test_a_sync_of_rows_imports_pandas_in_no_process(workdir, lane, request):
    """First and second run (new rows, then upserts of the same keys), stale rows deleted,
    cursors committed."""
    env, log = _traced_env(workdir)
    # The tracer sees a conversion that imports pandas: the check below can fail.
    seen = subprocess.run(
        [sys.executable, "-c", "import pyarrow as pa; pa.scalar(1)"], env=env, timeout=120
    )
    assert seen.returncode == 0 and log.exists()
    log.unlink()

    kind = lane.split()[0]
    source, destination = "cloudquery/test", f"cloudquery/{kind}"
    if lane.endswith("gRPC"):
        source = f"{plugin_exe('syncline-plugin-test')}\n  registry: local"
        destination = f"{plugin_exe(f'syncline-plugin-{kind}')}\n  registry: local"
    target = (
        request.getfixturevalue("pg_url") if kind == "postgresql" else str(workdir / f"db.{kind}")
    )
    cfg = workdir / "rows.yml"
    cfg.write_text(
        f"""kind: source
spec:
  name: rows
  path: {source}
  tables: ["test_some_table", "test_incremental_table"]
  destinations: [{kind}]
  backend_options: {{table_name: cq_state, connection: "@@plugins.{kind}.connection"}}
  spec: {{num_rows: 300, num_sub_rows: 0, num_events: 40}}
---
kind: destination
spec:
  name: {kind}
  path: {destination}
  spec: {{connection_string: "{target}"}}
"""
    )
    for _ in range(2):
        r = run_subprocess(["sync", str(cfg)], workdir, env=env, timeout=300)
        assert r.returncode == 0, r.stderr

    assert _count(kind, target, "SELECT count(*) FROM test_some_table") == [(300,)]
    assert _count(kind, target, "SELECT count(*) FROM test_incremental_table") == [(40,)]
    assert _count(kind, target, "SELECT value FROM cq_state") == [("40",)]
    assert not log.exists(), log.read_text()


@pytest.mark.pg
@pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pandas is not installed")
def test_a_sync_from_postgresql_imports_pandas_in_no_process(workdir, pg_url):
    """The PostgreSQL source, a full table and an incremental one, run twice (the second run
    reads from the committed cursor), into SQLite."""
    import psycopg

    env, log = _traced_env(workdir)
    with psycopg.connect(pg_url) as db:
        db.execute(
            "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(8, 2), "
            "seen timestamptz, tags text[], doc jsonb, ref uuid, photo bytea)"
        )
        db.execute(
            "INSERT INTO items SELECT i, 'item ' || i, i * 1.5, "
            "timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute', "
            "ARRAY['a', 'b'], jsonb_build_object('i', i), gen_random_uuid(), '\\x0102' "
            "FROM generate_series(1, 200) i"
        )
        db.execute("CREATE TABLE events (id bigint PRIMARY KEY, at timestamp NOT NULL)")
        db.execute(
            "INSERT INTO events SELECT i, timestamp '2026-01-01' + i * interval '1 second' "
            "FROM generate_series(1, 50) i"
        )
    cfg = workdir / "pg.yml"
    cfg.write_text(
        f"""kind: source
spec:
  name: pg
  path: cloudquery/postgresql
  tables: ["*"]
  destinations: [sqlite]
  backend_options: {{table_name: cq_state, connection: "@@plugins.sqlite.connection"}}
  spec:
    connection_string: "{pg_url}"
    incremental: {{events: at}}
---
{sqlite_doc()}"""
    )
    for _ in range(2):
        r = run_subprocess(["sync", str(cfg)], workdir, env=env, timeout=300)
        assert r.returncode == 0, r.stderr

    db = workdir / "db.sqlite"
    assert query(db, "SELECT count(*), sum(id) FROM items") == [(200, 20100)]
    assert query(db, "SELECT count(*), max(id) FROM events") == [(50, 50)]
    assert query(db, "SELECT value FROM cq_state") == [("2026-01-01T00:00:50",)]
    assert not log.exists(), log.read_text()


# In the ``syncline`` process only: each plugin process it spawns, and its first import of
# pydantic, in the order they happen.
ORDER_TRACER = """
import os, subprocess, sys
if os.environ.get("SYNCLINE_TEST_ORDER_LOG") and sys.argv[-2:-1] == ["sync"]:
    _log = os.environ.pop("SYNCLINE_TEST_ORDER_LOG")
    def _note(line):
        with open(_log, "a") as f:
            f.write(line + "\\n")
    class _PydanticTracer:
        def find_spec(self, name, path, target=None):
            if name == "pydantic":
                _note("import pydantic")
                sys.meta_path.remove(self)
            return None
    sys.meta_path.insert(0, _PydanticTracer())
    _popen_init = subprocess.Popen.__init__
    def _init(self, args, *a, **kw):
        if isinstance(args, (list, tuple)) and "serve" in args:
            _note("start " + os.path.basename(str(args[list(args).index("serve") - 1])))
        _popen_init(self, args, *a, **kw)
    subprocess.Popen.__init__ = _init
"""


def test_the_command_starts_local_plugins_before_it_imports_the_config_models(workdir):
    """The plugin processes of the config import their libraries while ``syncline sync``
    imports pydantic to check the config (the state backend's process comes later, from the
    engine)."""
    tracer = workdir / "tracer"
    tracer.mkdir()
    (tracer / "sitecustomize.py").write_text(ORDER_TRACER)
    log = workdir / "order.log"
    env = _first_on_path(tracer, SYNCLINE_TEST_ORDER_LOG=str(log))
    cfg = workdir / "local.yml"
    cfg.write_text(
        local_events_config(
            plugin_exe("syncline-plugin-test"), plugin_exe("syncline-plugin-sqlite")
        )
    )
    r = run_subprocess(["sync", str(cfg)], workdir, env=env, timeout=300)

    assert r.returncode == 0, r.stderr
    assert query(workdir / "db.sqlite", "SELECT count(*) FROM test_incremental_table") == [(30,)]
    assert log.read_text().splitlines() == [
        "start syncline-plugin-test",
        "start syncline-plugin-sqlite",
        "import pydantic",
        "start syncline-plugin-sqlite",
    ]


def test_the_command_skips_pydantic_plugins_unless_the_environment_asks(workdir):
    """pydantic looks for plugins in every installed distribution's metadata; the command's
    specs need none. An explicit ``PYDANTIC_DISABLE_PLUGINS`` is kept."""
    site = workdir / "site"
    (site / "acme_hook").mkdir(parents=True)
    (site / "acme_hook" / "__init__.py").write_text(
        "import os\nopen(os.environ['ACME_HOOK_LOG'], 'a').write('loaded\\n')\n"
        "class Plugin:\n    def new_schema_validator(self, *a, **k):\n"
        "        return None, None, None\nplugin = Plugin()\n"
    )
    dist = site / "acme_hook-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-hook\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pydantic]\nacme = acme_hook:plugin\n")
    log = workdir / "hook.log"
    cfg = workdir / "noop.yml"
    cfg.write_text(config(INCREMENTAL, sqlite_doc()))
    env = _first_on_path(site, ACME_HOOK_LOG=str(log))
    env.pop("PYDANTIC_DISABLE_PLUGINS", None)

    r = run_subprocess(["sync", str(cfg)], workdir, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert not log.exists()

    r = run_subprocess(["sync", str(cfg)], workdir, env={**env, "PYDANTIC_DISABLE_PLUGINS": ""})
    assert r.returncode == 0, r.stderr
    assert log.read_text().split() == ["loaded"]
