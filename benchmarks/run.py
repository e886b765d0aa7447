"""Every destination's append and overwrite, first and second run, in-process and over gRPC,
against the raw bulk path; and a no-op incremental sync. Prints a Markdown table.

Run: python benchmarks/run.py [--rows 1000000] [--repeats 3] [--dest sqlite,duckdb]
     [--mode overwrite] [--no-grpc] [--cloudquery] [--no-executors | --executors-only]
     python benchmarks/run.py --noop-only [--python OTHER_PYTHON]   (the no-op sync alone)
     python benchmarks/run.py --many-tables 100,1000   (bench_many_tables.py: many small tables)

Then sharded syncs on 1, 2 and 4 Dask workers (bench_executors.py: speed-up, and where the
destination becomes the limit) for the SQLite and PostgreSQL destinations among --dest.

How it measures (so the figures cannot flatter):
- every figure is a whole process timed from spawn to exit, start-up included (the raw paths
  are also whole processes, but their reference figure is the load alone, clock started after
  their rows were generated and converted: the fastest the destination can take the rows);
- each figure is the median of --repeats runs, and the paths are interleaved (in-process, raw,
  gRPC, then again in a rotated order), never all runs of one path then all of another;
- a first run starts from an empty target; the second run writes the same rows again
  (new ``_cq_id`` and sync time) into what the first run left;
- "over gRPC" runs the same plugins as ``registry: local`` executables (unix socket, Arrow
  IPC); ``--cloudquery`` adds CloudQuery's CLI driving those executables, where installed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Sample, destination_doc, source_doc, sync_cmd, timed

RAW = str(Path(__file__).parent / "_raw.py")
SUFFIX = {"sqlite": "sqlite", "duckdb": "duckdb"}


class Targets:
    """A fresh, empty target per run of a path: a file, or a new PostgreSQL database."""

    def __init__(self, work: Path, need_pg: bool) -> None:
        self.work, self.count, self.pg = work, 0, None
        if need_pg:
            from syncline.testing.postgres import start_server

            self.pg = start_server()

    @contextmanager
    def fresh(self, dest: str) -> Iterator[tuple[Path, str]]:
        self.count += 1
        folder = self.work / f"run{self.count}"
        folder.mkdir()
        try:
            if dest == "postgresql":
                assert self.pg is not None
                yield folder, self.pg.create_database(f"bench{self.count}")
                self._drop(f"bench{self.count}")
            else:
                yield folder, str(folder / f"bench.{SUFFIX[dest]}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _drop(self, name: str) -> None:
        import psycopg

        assert self.pg is not None
        with psycopg.connect(self.pg.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}"')

    def close(self) -> None:
        if self.pg is not None:
            self.pg.stop()


def _config(folder: Path, rows: int, dest: str, target: str, mode: str, external: bool) -> Path:
    path = folder / ("grpc.yml" if external else "bench.yml")
    path.write_text(
        source_doc(rows, dest, external) + destination_doc(dest, target, mode, external)
    )
    return path


def _cloudquery() -> str | None:
    try:
        import cloudquery  # type: ignore[import-not-found]
    except ImportError:
        return None
    exe = Path(cloudquery.__path__[0]) / "bin" / "cloudquery"
    return str(exe) if exe.exists() else None


def run_lane(lane: str, targets: Targets, rows: int, dest: str, mode: str) -> list[Sample]:
    """One path's first and second run on a fresh target."""
    with targets.fresh(dest) as (folder, target):
        if lane == "raw":
            if dest != "duckdb":  # the table exactly as a sync creates it
                cfg = _config(folder, rows, dest, target, mode, external=False)
                timed(
                    [sys.executable, "-m", "syncline", "--no-log-file", "migrate", str(cfg)], folder
                )
            cmd = [sys.executable, RAW, dest, mode]
            return [timed([*cmd, run, str(rows), target], folder) for run in ("first", "second")]
        cfg = _config(folder, rows, dest, target, mode, external=lane != "in-process")
        cmd = sync_cmd(cfg)
        if lane == "cloudquery CLI":
            cq = _cloudquery()
            assert cq is not None
            cmd = [cq, "sync", str(cfg), "--telemetry-level", "none", "--no-log-file"]
        return [timed(cmd, folder), timed(cmd, folder)]


def _lane_or_none(lane: str, targets: Targets, rows: int, dest: str, mode: str) -> list[Sample]:
    """CloudQuery's CLI is a comparison, not a reference: a failure is reported, not fatal."""
    try:
        return run_lane(lane, targets, rows, dest, mode)
    except SystemExit as e:
        if lane != "cloudquery CLI":
            raise
        print(f"CloudQuery CLI could not run: {str(e)[-300:]}", file=sys.stderr)
        return []


# The reference for the no-op sync: a process that only imports the libraries such a sync
# needs (pyarrow, which imports NumPy; the ADBC SQLite driver; PyYAML) and validates one
# pydantic model. Start-up is mostly imports, so this moves with the machine and the
# interpreter as the sync does, and the ratio shows what syncline adds.
LIBRARIES = """import yaml, pyarrow, adbc_driver_sqlite, adbc_driver_manager
from pydantic import BaseModel, Field
class Spec(BaseModel):
    a: int = Field(1)
Spec.model_validate({"a": 2})
"""
NOOP_LANES = ("no-op sync", "libraries alone", "python start-up")


def noop_lanes(work: Path, pythons: list[str]) -> dict[tuple[str, str], Callable[[], Sample]]:
    """A sync of an incremental table whose cursor is already at the end (nothing new), run by
    each interpreter given, beside its references run by the same interpreter."""
    lanes: dict[tuple[str, str], Callable[[], Sample]] = {}
    for i, python in enumerate(pythons):
        folder = work / f"noop{i}"
        folder.mkdir()
        cfg = folder / "noop.yml"
        cfg.write_text(
            f"""kind: source
spec:
  name: bench
  path: cloudquery/test
  tables: ["test_incremental_table"]
  destinations: [sqlite]
  backend_options: {{table_name: cq_state, connection: "@@plugins.sqlite.connection"}}
  spec: {{num_events: 1000}}
---
kind: destination
spec:
  name: sqlite
  path: cloudquery/sqlite
  spec: {{connection_string: "{folder / "db.sqlite"}"}}
"""
        )
        # As an installed package runs: with its bytecode cached (pip compiles it on install),
        # even where the environment says not to write bytecode. The first sync, which takes
        # every event, writes the cache; later ones find nothing new.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        timed(sync_cmd(cfg, python), folder, env)
        name = interpreter(python)
        if any(seen == name for seen, _ in lanes):  # two builds of one version: tell them apart
            name += f" ({python})"
        commands = (sync_cmd(cfg, python), [python, "-c", LIBRARIES], [python, "-c", "pass"])
        for lane, cmd in zip(NOOP_LANES, commands, strict=True):
            lanes[name, lane] = partial(timed, cmd, folder, env)
    return lanes


def median(samples: list[Sample], field: str) -> float:
    return statistics.median(getattr(s, field) for s in samples)


_DESCRIBE = """import platform
try:
    with open("/proc/self/maps") as f:
        shared = any("/libpython" in line for line in f)
    link = ", libpython " + ("a shared library" if shared else "linked into the executable")
except OSError:
    link = ""
print(f"Python {platform.python_version()}{link}")
"""


@cache  # it spawns the interpreter; the machine line asks at the start and at the end
def interpreter(python: str) -> str:
    """Version and build of an interpreter that has syncline installed. The build counts: a
    no-op sync is mostly imports, and builds of the same Python run them at different speeds
    (with and without profile-guided optimization, libpython shared or linked in)."""
    found = subprocess.run(
        [python, "-c", "import syncline\n" + _DESCRIBE], capture_output=True, text=True
    )
    if found.returncode != 0:
        raise SystemExit(f"{python} cannot run syncline: {found.stderr.strip()[-300:]}")
    return found.stdout.strip()


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    with open("/proc/cpuinfo") as f:
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    if names:
        cpu = names[0]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, "
        f"{interpreter(sys.executable)}; load average {load}"
    )


def main() -> None:
    import bench_executors  # here: it imports this module's helpers

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dest", default="sqlite,postgresql,duckdb")
    parser.add_argument("--mode", default="append,overwrite")
    parser.add_argument("--no-grpc", action="store_true", help="skip the gRPC runs")
    parser.add_argument("--no-noop", action="store_true", help="skip the no-op incremental sync")
    parser.add_argument("--noop-only", action="store_true", help="only the no-op incremental sync")
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="PATH",
        help="also run the no-op sync with this interpreter (syncline installed there); repeatable",
    )
    parser.add_argument("--cloudquery", action="store_true", help="add CloudQuery's CLI (SQLite)")
    parser.add_argument(
        "--many-tables",
        metavar="N[,N]",
        help="run the many-tables benchmark instead (bench_many_tables.py), e.g. 100,1000",
    )
    parser.add_argument("--no-executors", action="store_true", help="skip 1, 2, 4 Dask workers")
    parser.add_argument("--executors-only", action="store_true", help="only 1, 2, 4 Dask workers")
    bench_executors.add_arguments(parser)
    args = parser.parse_args()
    if args.many_tables:
        many = str(Path(__file__).parent / "bench_many_tables.py")
        os.execv(sys.executable, [sys.executable, many, "--tables", args.many_tables])
    if args.executors_only:
        bench_executors.run(args, args.dest.split(","))
        return
    if args.noop_only:
        args.dest, args.no_executors = "", True
    dests, modes = [d for d in args.dest.split(",") if d], args.mode.split(",")
    lanes = ["in-process", "raw"] + ([] if args.no_grpc else ["over gRPC"])
    print(f"machine at start: {machine()}", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="syncline-bench-"))
    targets = Targets(work, "postgresql" in dests)
    results: dict[tuple[str, str, str], list[list[Sample]]] = {}
    noop: dict[tuple[str, str], list[Sample]] = {}
    try:
        for dest in dests:
            for mode in modes:
                these = list(lanes)
                if args.cloudquery and dest == "sqlite" and _cloudquery():
                    these.append("cloudquery CLI")
                for rep in range(args.repeats):
                    shift = rep % len(these)  # rotate the order: A B C, B C A, C A B
                    for lane in these[shift:] + these[:shift]:
                        pair = _lane_or_none(lane, targets, args.rows, dest, mode)
                        if pair:
                            results.setdefault((dest, mode, lane), []).append(pair)
                        print(
                            f"{dest} {mode} {lane}: "
                            + ", ".join(f"{s.seconds:.2f}s" for s in pair),
                            file=sys.stderr,
                        )
        if not args.no_noop:
            runs = noop_lanes(work, [sys.executable, *args.python])
            for _ in range(max(args.repeats, 5)):
                for key, fn in runs.items():
                    noop.setdefault(key, []).append(fn())
    finally:
        targets.close()
        shutil.rmtree(work, ignore_errors=True)
    print_tables(args, dests, modes, results, noop)
    if not args.no_executors:
        print()
        bench_executors.run(args, dests)


def print_tables(args, dests, modes, results, noop) -> None:  # type: ignore[no-untyped-def]
    print(f"machine: {machine()}\n")
    if dests:
        print(
            f"{args.rows:,} rows of test_some_table; medians of {args.repeats} interleaved runs\n"
        )
        print_rows(args, dests, modes, results)
        print()
    if noop:
        runs = len(next(iter(noop.values())))
        print(f"no-op incremental sync: medians of {runs} interleaved runs\n")
        print(
            "| no-op incremental sync (SQLite, state in SQLite) | wall s | CPU s | peak MB "
            "| libraries alone s | ÷ libraries | python start-up s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name in dict.fromkeys(name for name, _ in noop):
            sync, libraries, start = (noop[name, lane] for lane in NOOP_LANES)
            t_sync, t_lib = median(sync, "seconds"), median(libraries, "seconds")
            print(
                f"| {name} | {t_sync:.2f} | {median(sync, 'cpu'):.2f} "
                f"| {median(sync, 'peak_mb'):.0f} | {t_lib:.2f} | {t_sync / t_lib:.2f}x "
                f"| {median(start, 'seconds'):.2f} |"
            )


def print_rows(args, dests, modes, results) -> None:  # type: ignore[no-untyped-def]
    grpc = not args.no_grpc
    head = "| destination | mode | run | in-process s | raw load s | in-process ÷ raw | raw process s (CPU s) |"
    line = "|---|---|---|---:|---:|---:|---:|"
    if grpc:
        head += " over gRPC s | gRPC ÷ in-process |"
        line += "---:|---:|"
    head += " peak MB | CPU s |"
    line += "---:|---:|"
    print(head)
    print(line)
    for dest in dests:
        for mode in modes:
            for i, run in enumerate(("first", "second")):
                inproc, raw, over, cq = (
                    [pair[i] for pair in results.get((dest, mode, name), [])]
                    for name in ("in-process", "raw", "over gRPC", "cloudquery CLI")
                )
                t_in, t_raw = median(inproc, "seconds"), median(raw, "inner")
                row = (
                    f"| {dest} | {mode} | {run} | {t_in:.2f} | {t_raw:.2f} | {t_in / t_raw:.2f}x "
                    f"| {median(raw, 'seconds'):.2f} ({median(raw, 'cpu'):.1f}) |"
                )
                peak, cpu = f"{median(inproc, 'peak_mb'):.0f}", f"{median(inproc, 'cpu'):.1f}"
                if grpc:
                    t_over = median(over, "seconds")
                    row += f" {t_over:.2f} | {t_over / t_in:.2f}x |"
                    peak += f" / {median(over, 'peak_mb'):.0f}"
                    cpu += f" / {median(over, 'cpu'):.1f}"
                print(f"{row} {peak} | {cpu} |")
                if cq:
                    t_cq = median(cq, "seconds")
                    print(
                        f"| {dest} | {mode} | {run} | CloudQuery CLI, same plugins: {t_cq:.2f} s |"
                    )


if __name__ == "__main__":
    main()
