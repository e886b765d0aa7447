"""Many small tables: a PostgreSQL database of N tables into SQLite, DuckDB and PostgreSQL,
first and second run, against a hand-written table-by-table copy of the same tables in the
same run; and CloudQuery's Python plugin SDK serving N tables over gRPC, through syncline and
alone. Prints Markdown tables.

Run: python benchmarks/bench_many_tables.py [--tables 100,1000] [--rows 100]
     [--dest sqlite,duckdb,postgresql] [--no-sdk]

How it measures:
- every figure is a whole process timed from spawn to exit (start-up included), with its CPU
  seconds and peak resident memory (harness.timed);
- the hand-written copy reads each table with ADBC (``fetch_arrow_table``) and writes it with
  ``CREATE OR REPLACE TABLE ... AS SELECT`` from Arrow (DuckDB) or ADBC bulk ingest with mode
  ``replace`` (SQLite, and PostgreSQL where ingest is COPY): the least a copy of the tables
  costs, table by table, with no bookkeeping;
- a first run starts from an empty target; the second writes the same tables again into what
  the first left (syncline: upserts by primary key, the default write mode);
- the SDK plugin sends one row per message; "plugin alone" drives it over gRPC with a client
  that only counts the rows (spawn to end of stream), so the difference is syncline's; it runs
  its resolvers on one thread (the SDK's ``concurrency``), its fastest setting: the rows are
  built in Python, so more threads only contend for the interpreter with the gRPC sender;
- "Python gRPC alone" streams the same number of prebuilt one-row insert messages from a
  Python gRPC server to a counting client process: the most any Python plugin that sends one
  row per message can reach on the machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Sample, sync_cmd, timed

ROOT = Path(__file__).resolve().parent.parent
SDK_PLUGIN = ROOT / "tests" / "plugins" / "sdk_many_tables.py"
SUFFIX = {"sqlite": "sqlite", "duckdb": "duckdb"}
SDK_CONCURRENCY = 1


def create_source(url: str, tables: int, rows: int) -> None:
    import psycopg

    statements = [
        f"CREATE TABLE t{i:04d} (id bigint PRIMARY KEY, name text NOT NULL, v double precision, "
        f"at timestamptz); INSERT INTO t{i:04d} SELECT g, 'row-' || g, g * 0.5, "
        f"'2026-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, {rows}) g"
        for i in range(tables)
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        for start in range(0, len(statements), 200):
            conn.execute("; ".join(statements[start : start + 200]))


def _config(folder: Path, source: str, dest: str, target: str) -> Path:
    path = folder / f"{dest}.yml"
    path.write_text(
        f"""kind: source
spec:
  name: pg
  path: cloudquery/postgresql
  tables: ["*"]
  destinations: [{dest}]
  spec: {{connection_string: "{source}"}}
---
kind: destination
spec:
  name: {dest}
  path: cloudquery/{dest}
  spec: {{connection_string: "{target}"}}
"""
    )
    return path


def copy_by_hand(dest: str, source: str, target: str) -> None:
    """The hand-written reference: each table fetched with ADBC and written whole."""
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(source, autocommit=True) as src, src.cursor() as cur:
        cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        names = [name for (name,) in cur.fetchall()]
        if dest == "duckdb":
            import duckdb

            con = duckdb.connect(target)
            for name in names:
                cur.execute(f'SELECT * FROM "{name}"')
                data = cur.fetch_arrow_table()  # noqa: F841 (read by DuckDB below)
                con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM data')
            con.close()
            return
        if dest == "sqlite":
            import adbc_driver_sqlite.dbapi as out_driver
        else:
            out_driver = pg  # type: ignore[assignment]
        with out_driver.connect(target) as out, out.cursor() as ocur:
            for name in names:
                cur.execute(f'SELECT * FROM "{name}"')
                ocur.adbc_ingest(name, cur.fetch_arrow_table(), mode="replace")
                out.commit()  # one transaction per table, as a copy table by table would


def sdk_alone(exe: str, tables: int, rows: int) -> None:
    """Drive the SDK plugin over gRPC and count the rows; nothing is written."""
    import json

    from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc

    from syncline.grpc.process import PluginProcess
    from syncline.grpc.transport import open_channel

    process = PluginProcess("source", "sdk", exe)
    try:
        process.wait_ready()
        stub = plugin_pb2_grpc.PluginStub(open_channel(process.address))
        spec = json.dumps(
            {"num_tables": tables, "rows_per_table": rows, "concurrency": SDK_CONCURRENCY}
        ).encode()
        stub.Init(plugin_pb2.Init.Request(spec=spec))
        start, inserts = time.perf_counter(), 0
        for resp in stub.Sync(plugin_pb2.Sync.Request(tables=["*"])):
            inserts += resp.WhichOneof("message") == "insert"
        stream = time.perf_counter() - start
    finally:
        process.stop()
    if inserts != tables * rows:
        raise SystemExit(f"the plugin sent {inserts} rows, not {tables * rows}")
    print(json.dumps({"inner": stream}))


def grpc_alone(count: int) -> None:
    """Serve ``count`` prebuilt one-row insert messages; a client process counts them."""
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    import grpc
    import pyarrow as pa
    from cloudquery.plugin_v3 import arrow, plugin_pb2, plugin_pb2_grpc

    row = pa.record_batch(
        [[1], ["0-1"], [0.5]],
        schema=pa.schema(
            [("id", pa.int64()), ("name", pa.string()), ("v", pa.float64())],
            metadata={"cq:table_name": "sdk_t0000"},
        ),
    )
    message = plugin_pb2.Sync.Response(
        insert=plugin_pb2.Sync.MessageInsert(record=arrow.record_to_bytes(row))
    )

    class Rows(plugin_pb2_grpc.PluginServicer):  # type: ignore[misc]
        def Sync(self, request: object, context: object) -> object:
            for _ in range(count):
                yield message

    server = grpc.server(ThreadPoolExecutor(max_workers=10))
    plugin_pb2_grpc.add_PluginServicer_to_server(Rows(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        child = [sys.executable, __file__, "--child", "count", str(port), str(count)]
        print(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
    finally:
        server.stop(0)


def count_rows(port: str, count: int) -> None:
    import json

    import grpc
    from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc

    stub = plugin_pb2_grpc.PluginStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    start = time.perf_counter()
    n = sum(1 for _ in stub.Sync(plugin_pb2.Sync.Request()))
    if n != count:
        raise SystemExit(f"received {n} messages, not {count}")
    print(json.dumps({"inner": time.perf_counter() - start}))


def _sdk_exe(folder: Path) -> str:
    exe = folder / "sdk-many-tables"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SDK_PLUGIN}" "$@"\n')
    exe.chmod(0o755)
    return str(exe)


def _sdk_config(folder: Path, exe: str, tables: int, rows: int) -> Path:
    path = folder / "sdk.yml"
    path.write_text(
        f"""kind: source
spec:
  name: sdk
  path: {exe}
  registry: local
  tables: ["*"]
  destinations: [sqlite]
  spec: {{num_tables: {tables}, rows_per_table: {rows}, concurrency: {SDK_CONCURRENCY}}}
---
kind: destination
spec:
  name: sqlite
  path: cloudquery/sqlite
  spec: {{connection_string: "{folder / "sdk.sqlite"}"}}
"""
    )
    return path


def _line(label: str, s: Sample, ref: Sample | None, tables: int) -> str:
    ratio = f"{s.seconds / ref.seconds:.2f}x" if ref else ""
    return (
        f"| {label} | {s.seconds:.2f} | {1000 * s.seconds / tables:.1f} | {ratio} "
        f"| {s.cpu:.1f} | {s.peak_mb:.0f} |"
    )


def _exists(server: object, name: str) -> bool:
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:  # type: ignore[attr-defined]
        return bool(
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        )


def bench_postgresql(
    work: Path, server: object, tables: int, rows: int, dests: list[str]
) -> list[str]:
    url = server.url(f"source{tables}")  # type: ignore[attr-defined]
    if not _exists(server, f"source{tables}"):
        server.create_database(f"source{tables}")  # type: ignore[attr-defined]
        create_source(url, tables, rows)
    lines = []
    for dest in dests:
        folder = work / f"{dest}{tables}"
        folder.mkdir()
        if dest == "postgresql":
            ours = server.create_database(f"ours{tables}")  # type: ignore[attr-defined]
            theirs = server.create_database(f"byhand{tables}")  # type: ignore[attr-defined]
        else:
            ours = str(folder / f"ours.{SUFFIX[dest]}")
            theirs = str(folder / f"byhand.{SUFFIX[dest]}")
        cfg = _config(folder, url, dest, ours)
        by_hand = [sys.executable, __file__, "--child", "copy", dest, url, theirs]
        samples: dict[str, list[Sample]] = {"syncline": [], "by hand": []}
        for run in (0, 1):  # interleaved, the order swapped on the second run
            order = ["syncline", "by hand"] if run == 0 else ["by hand", "syncline"]
            for lane in order:
                cmd = sync_cmd(cfg) if lane == "syncline" else by_hand
                samples[lane].append(timed(cmd, folder))
        for i, run in enumerate(("first", "second")):
            ref = samples["by hand"][i]
            lines.append(_line(f"{dest} {run}: syncline", samples["syncline"][i], ref, tables))
            lines.append(_line(f"{dest} {run}: copy by hand", ref, None, tables))
        print(f"{tables} tables into {dest}: done", file=sys.stderr)
    return lines


def bench_sdk(work: Path, tables: int, rows: int) -> list[str]:
    folder = work / f"sdk{tables}"
    folder.mkdir()
    exe = _sdk_exe(folder)
    total = tables * rows
    ours = timed(sync_cmd(_sdk_config(folder, exe, tables, rows)), folder)
    alone = timed([sys.executable, __file__, "--child", "sdk", exe, str(tables), str(rows)], folder)
    assert alone.inner is not None
    transport = timed([sys.executable, __file__, "--child", "grpc", str(total)], folder)
    assert transport.inner is not None
    return [
        f"| syncline, SDK plugin -> SQLite (whole process) | {ours.seconds:.2f} "
        f"| {total / ours.seconds:,.0f} | {ours.cpu:.1f} | {ours.peak_mb:.0f} |",
        f"| plugin alone, spawn to end of stream | {alone.seconds:.2f} "
        f"| {total / alone.seconds:,.0f} | {alone.cpu:.1f} | {alone.peak_mb:.0f} |",
        f"| plugin alone, stream only | {alone.inner:.2f} | {total / alone.inner:,.0f} | | |",
        f"| Python gRPC alone, prebuilt one-row messages, stream only | {transport.inner:.2f} "
        f"| {total / transport.inner:,.0f} | | |",
    ]


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        if sys.argv[2] == "copy":
            copy_by_hand(*sys.argv[3:6])
        elif sys.argv[2] == "grpc":
            grpc_alone(int(sys.argv[3]))
        elif sys.argv[2] == "count":
            count_rows(sys.argv[3], int(sys.argv[4]))
        else:
            sdk_alone(sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--tables", default="100", help="comma-separated, e.g. 100,1000")
    parser.add_argument("--rows", type=int, default=100, help="rows per table")
    parser.add_argument("--dest", default="sqlite,duckdb,postgresql")
    parser.add_argument("--no-sdk", action="store_true", help="skip the SDK plugin over gRPC")
    args = parser.parse_args()
    from run import machine

    from syncline.testing.postgres import start_server

    sizes = [int(n) for n in args.tables.split(",")]
    server = start_server()
    work = Path(tempfile.mkdtemp(prefix="syncline-bench-many-"))
    print(f"machine at start: {machine()}", flush=True)
    try:
        for tables in sizes:
            _print(f"\n{tables} tables x {args.rows} rows, PostgreSQL source\n")
            _print("| path | wall s | ms per table | x by hand | CPU s | peak MB |")
            _print("|---|---:|---:|---:|---:|---:|")
            for dest in args.dest.split(","):  # each destination's figures as soon as known
                _print(*bench_postgresql(work, server, tables, args.rows, [dest]))
            if not args.no_sdk:
                _print(f"\n{tables} tables x {args.rows} rows, SDK plugin over gRPC\n")
                _print("| path | wall s | rows/s | CPU s | peak MB |")
                _print("|---|---:|---:|---:|---:|")
                _print(*bench_sdk(work, tables, args.rows))
    finally:
        server.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(server.root, ignore_errors=True)
    print(f"\nmachine at end: {machine()}")


def _print(*lines: str) -> None:
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
