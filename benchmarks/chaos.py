"""kill -9 a sync again and again, then check that no event was lost and no cursor ran ahead.

Each case (state backend x write mode) syncs ``--events`` events of the test source's
incremental table into a destination that also holds the state table. A seeded random
generator picks, for every run, the event to wait for before ``kill -9``: the committed cursor
advancing 1..4 times, or rows present past the committed cursor (the window between a flush
and the cursor commit). Kills never wait on a clock. After each kill the committed cursor is
checked against the rows (every id up to the cursor must be present); after the last kill one
sync runs to the end and the table is checked.

    python benchmarks/chaos.py                          # 1,000,000 events, 10 kills per case
    python benchmarks/chaos.py --kills 25 --seed 7 --backends sqlite --modes append
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TABLE = "test_incremental_table"
STATE = "cq_state"
POLL_S = 0.02
DEADLINE_S = 600.0


@dataclass
class Figures:
    backend: str
    mode: str
    kills: int = 0
    runs_finished_before_kill: int = 0
    cursor_checks: int = 0
    cursor_violations: int = 0
    missing: int = 0
    gap_runs: int = 0
    duplicates: int = 0
    final_cursor: int = 0
    rows: int = 0
    seconds: float = 0.0
    triggers: dict[str, int] = field(default_factory=dict)


class Store:
    """Reads the destination: committed cursor, and the event ids present."""

    def __init__(self, query: Callable[[str], list[tuple[Any, ...]]]) -> None:
        self.query = query

    def cursor(self) -> int:
        try:
            rows = self.query(f"SELECT value, version FROM {STATE} WHERE key LIKE '{TABLE}%'")
        except Exception:
            return 0  # not created yet
        if not rows:
            return 0
        value = max(rows, key=lambda r: r[1] or 0)[0]
        return int(value) if value else 0

    def max_id(self) -> int:
        try:
            return int(self.query(f"SELECT coalesce(max(id), 0) FROM {TABLE}")[0][0])
        except Exception:
            return 0

    def ids_up_to(self, cursor: int) -> int:
        rows = self.query(f"SELECT count(DISTINCT id) FROM {TABLE} WHERE id <= {cursor}")
        return int(rows[0][0])

    def final(self, events: int) -> tuple[int, int, int, int]:
        """(missing ids, runs of consecutive missing ids, duplicate rows, rows)."""
        ids = sorted(int(r[0]) for r in self.query(f"SELECT id FROM {TABLE}"))
        distinct = sorted(set(ids))
        present = set(distinct)
        missing = [i for i in range(1, events + 1) if i not in present]
        runs = sum(1 for j, i in enumerate(missing) if j == 0 or missing[j - 1] != i - 1)
        return len(missing), runs, len(ids) - len(distinct), len(ids)


def sqlite_store(path: Path) -> Store:
    def query(sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(path, timeout=60) as c:
            return c.execute(sql).fetchall()

    return Store(query)


def postgres_store(url: str) -> Store:
    import psycopg

    conn = psycopg.connect(url, autocommit=True)  # one connection: polls stay cheap

    def query(sql: str) -> list[tuple[Any, ...]]:
        try:
            return conn.execute(sql).fetchall()
        except psycopg.errors.UndefinedTable:
            raise LookupError(sql) from None

    return Store(query)


def write_config(folder: Path, destination: str, mode: str, events: int, batch: int) -> Path:
    text = f"""\
kind: source
spec:
  name: chaos
  path: cloudquery/test
  tables: ["{TABLE}"]
  destinations: [dest]
  backend_options:
    table_name: {STATE}
    connection: "@@plugins.dest.connection"
  spec:
    num_events: {events}
    batch_size: {batch}
---
kind: destination
spec:
  name: dest
  write_mode: {mode}
{destination}
"""
    path = folder / "chaos.yml"
    path.write_text(text)
    return path


def wait_for(event: Callable[[], bool], proc: subprocess.Popen[bytes]) -> bool:
    """True once ``event`` holds; False if the sync ended first."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if event():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(POLL_S)
    raise SystemExit("no progress within the deadline")


def run_case(
    backend: str, mode: str, args: argparse.Namespace, rng: random.Random, pg: Any
) -> Figures:
    figures = Figures(backend, mode)
    folder = Path(tempfile.mkdtemp(prefix=f"chaos-{backend}-{mode}-"))
    if backend == "sqlite":
        db = folder / "chaos.sqlite"
        destination = (
            f"  path: cloudquery/sqlite\n  spec:\n    connection_string: {db}\n"
            f"    batch_size: {args.batch_size}"
        )
        store = sqlite_store(db)
    else:
        url = pg.create_database(f"chaos_{mode}_{os.getpid()}")
        destination = (
            f'  path: cloudquery/postgresql\n  spec:\n    connection_string: "{url}"\n'
            f"    batch_size: {args.batch_size}"
        )
        store = postgres_store(url)
    cfg = write_config(folder, destination, mode, args.events, args.batch_size)
    command = [sys.executable, "-m", "syncline", "sync", "--no-log-file", str(cfg)]
    env = {**os.environ, "SYNCLINE_LOCK_DIR": str(folder / "locks")}
    started = time.monotonic()
    while figures.kills < args.kills:
        before = store.cursor()
        log = (folder / "run.log").open("w")
        proc = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=log)
        seen = [False]  # set when a "rows past cursor" wait fell back to cursor+3
        if rng.random() < 0.7:
            # The cursor moves one source batch per commit, or several when a commit
            # covers more: count batches, so a poll that misses a commit misses nothing.
            advances = rng.randint(1, 4)
            trigger = f"cursor+{advances}"

            def moved(before: int = before, advances: int = advances) -> bool:
                return store.cursor() >= before + advances * int(args.batch_size)

            event: Callable[[], bool] = moved

        else:
            trigger = "rows past cursor"

            def ahead(before: int = before, seen: list[bool] = seen) -> bool:
                # The window between a flush and its cursor commit can be too short to
                # observe (PostgreSQL): after three commits, kill anyway.
                cursor = store.cursor()
                if cursor >= before + 3 * int(args.batch_size):
                    seen[0] = True
                    return True
                return cursor > before and store.max_id() > cursor

            event = ahead

        if wait_for(event, proc):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            figures.kills += 1
            if trigger == "rows past cursor" and seen[0]:
                trigger = "cursor+3 (no rows past cursor seen)"
            figures.triggers[trigger] = figures.triggers.get(trigger, 0) + 1
        else:
            figures.runs_finished_before_kill += 1
            if proc.returncode != 0:
                raise SystemExit(f"a sync failed:\n{(folder / 'run.log').read_text()}")
            if store.cursor() >= args.events:
                break  # nothing left to interrupt
        log.close()
        cursor = store.cursor()
        figures.cursor_checks += 1
        if cursor and store.ids_up_to(cursor) < cursor:
            figures.cursor_violations += 1
    final = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    if final.returncode != 0:
        raise SystemExit(f"the final sync failed:\n{final.stdout}\n{final.stderr}")
    figures.seconds = time.monotonic() - started
    figures.final_cursor = store.cursor()
    figures.missing, figures.gap_runs, figures.duplicates, figures.rows = store.final(args.events)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--kills", type=int, default=10, help="kills per case")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--modes", default="append,overwrite")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    backends = args.backends.split(",")
    pg = None
    if "postgresql" in backends:
        from syncline.testing.postgres import start_server

        pg = start_server()
    results: list[Figures] = []
    try:
        for backend in backends:
            for mode in args.modes.split(","):
                results.append(run_case(backend, mode, args, rng, pg))
                print_figures(results[-1], args)
    finally:
        if pg is not None:
            pg.stop()
    print()
    print(
        f"{'backend':<11} {'mode':<10} {'kills':>5} {'missing':>8} {'gap runs':>8} "
        f"{'dups':>9} {'cursor viol.':>12} {'final cursor':>12} {'seconds':>8}"
    )
    for f in results:
        print(
            f"{f.backend:<11} {f.mode:<10} {f.kills:>5} {f.missing:>8} {f.gap_runs:>8} "
            f"{f.duplicates:>9} {f.cursor_violations:>12} {f.final_cursor:>12} {f.seconds:>8.1f}"
        )
    bad = any(f.missing or f.cursor_violations or f.final_cursor != args.events for f in results)
    sys.exit(1 if bad else 0)


def print_figures(f: Figures, args: argparse.Namespace) -> None:
    print(
        f"{f.backend}/{f.mode}: {f.kills} kills ({f.triggers}), "
        f"{f.runs_finished_before_kill} runs ended before their kill event, "
        f"{f.cursor_checks} cursor checks, {f.cursor_violations} violations; final: "
        f"{f.rows} rows, {f.missing} missing of {args.events}, {f.gap_runs} gap runs, "
        f"{f.duplicates} duplicates, cursor {f.final_cursor}",
        flush=True,
    )


if __name__ == "__main__":
    main()
