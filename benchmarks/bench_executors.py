"""Sharded syncs on 1, 2 and 4 Dask workers against one process: the speed-up, and where the
destination becomes the limit.

Run: python benchmarks/bench_executors.py [--clients 16] [--lanes 1000:2000,0:20000]
     [--concurrency 2] [--dest sqlite,postgresql] [--repeats 3]
     (or as part of python benchmarks/run.py; --executors-only there runs only this)

The source is the test source, ``test_some_table`` only, written in ``append`` mode by
``--clients`` clients in 1,000-row batches. Each lane ``WAIT_MS:ROWS_PER_CLIENT`` sets how
long the source waits before each batch (an API answering slowly) and how many rows each
client has: the default lanes are a source that mostly waits (1 s a batch, 32,000 rows) and
one that never waits (320,000 rows), where the destination and the CPU set the pace. Every
engine run reads with the same concurrency (``--concurrency`` resolver threads), as an API's
rate limit or a process's CPU would hold it, so more workers mean more batches in flight.

How it measures:
- a real ``dask scheduler`` and ``dask worker --nthreads 1`` processes on loopback, one
  cluster per worker count, all started before the first run (cluster start-up is not
  timed: a cluster is there before a sync is asked of it);
- every figure is a whole ``syncline sync`` process (start-up included), ``--executor dask
  --address ... --shards`` twice the workers, next to ``--executor local``; the median of
  ``--repeats`` runs, interleaved in rotating order, each into a fresh, empty target;
- CPU seconds are those of the sync process and, on Dask, of the workers during the run;
- after every run the rows in the destination are counted: a run that lost rows fails;
- "destination alone" is the raw bulk load of the same number of rows into the same kind
  of table (``_raw.py``, clock started after the rows were in memory): the most rows a
  second the destination takes from one writer. A sync's rows/s ÷ that figure near or
  above 1 says the destination is the limit, not the source.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import BIN, TABLE, Sample, destination_doc, sync_cmd, timed
from run import Targets, machine, median, run_lane

WORKERS = (1, 2, 4)
LOCAL = 0  # the worker count that stands for --executor local
DESTINATIONS = ("sqlite", "postgresql")  # DuckDB takes writes from one process only


@dataclass(frozen=True)
class Cluster:
    address: str
    worker_pids: tuple[int, ...]

    def cpu(self) -> float:
        """User plus system seconds the workers have used so far."""
        import psutil  # a dependency of Dask distributed

        return sum(sum(psutil.Process(p).cpu_times()[:2]) for p in self.worker_pids)


@contextmanager
def dask_cluster(workers: int) -> Iterator[Cluster]:
    """A scheduler and ``workers`` single-threaded workers on loopback."""
    import distributed

    from syncline.testing.postgres import free_port

    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    dask = str(BIN / "dask")
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], **quiet
        )
    ]
    try:
        for _ in range(workers):
            procs.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    **quiet,
                )
            )
        with distributed.Client(address, timeout="120s") as client:
            client.wait_for_workers(workers, timeout=300)
            pids = client.run(os.getpid)
        yield Cluster(address, tuple(pids.values()))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def source_doc(dest: str, clients: int, rows: int, delay_ms: int, concurrency: int) -> str:
    return f"""kind: source
spec:
  name: bench
  path: cloudquery/test
  tables: ["{TABLE}"]
  skip_dependent_tables: true
  destinations: [{dest}]
  spec:
    num_clients: {clients}
    num_rows: {rows}
    num_sub_rows: 0
    batch_size: 1000
    batch_delay_ms: {delay_ms}
    concurrency: {concurrency}
"""


def count_rows(dest: str, target: str) -> int:
    if dest == "postgresql":
        import psycopg

        with psycopg.connect(target) as conn:
            row = conn.execute(f'SELECT count(*) FROM "{TABLE}"').fetchone()
    else:
        import sqlite3

        conn = sqlite3.connect(target)
        try:
            row = conn.execute(f'SELECT count(*) FROM "{TABLE}"').fetchone()
        finally:
            conn.close()
    assert row is not None
    return int(row[0])


Lane = tuple[int, int]  # (source wait per batch in ms, rows per client)


def lanes_of(text: str) -> list[Lane]:
    out = []
    for item in text.split(","):
        wait, rows = item.split(":")
        out.append((int(wait), int(rows)))
    return out


def one_run(
    targets: Targets,
    dest: str,
    args: argparse.Namespace,
    lane: Lane,
    workers: int,
    cluster: Cluster | None,
) -> Sample:
    """One sync into a fresh target; its CPU seconds include the workers'."""
    wait, rows = lane
    with targets.fresh(dest) as (folder, target):
        cfg = folder / "bench.yml"
        cfg.write_text(
            source_doc(dest, args.clients, rows, wait, args.concurrency)
            + destination_doc(dest, target, "append", external=False)
        )
        cmd = sync_cmd(cfg)
        worker_cpu = 0.0
        if cluster is not None:
            cmd += ["--executor", "dask", "--address", cluster.address]
            cmd += ["--shards", str(2 * workers)]
            worker_cpu = -cluster.cpu()
        sample = timed(cmd, folder)
        if cluster is not None:
            worker_cpu += cluster.cpu()
            sample = replace(sample, cpu=sample.cpu + worker_cpu)
        found = count_rows(dest, target)
    if found != args.clients * rows:
        raise SystemExit(f"{' '.join(cmd)} wrote {found} rows, not {args.clients * rows}")
    return sample


Results = dict[tuple[str, Lane, int], list[Sample]]  # (dest, lane, workers) -> samples
Raw = dict[tuple[str, int], list[Sample]]  # (dest, rows) -> the raw load of that many rows


def measure(args: argparse.Namespace, dests: list[str], work: Path) -> tuple[Results, Raw]:
    """Every (destination, lane, worker count) ``--repeats`` times, interleaved; and the raw
    load of the same rows into each destination, as the destination's own limit."""
    lanes = lanes_of(args.lanes)
    order = [LOCAL, *WORKERS]
    results: Results = {}
    raw: Raw = {}
    targets = Targets(work, "postgresql" in dests)
    try:
        with ExitStack() as stack:
            clusters: dict[int, Cluster | None] = {
                w: stack.enter_context(dask_cluster(w)) for w in WORKERS
            }
            clusters[LOCAL] = None
            for rep in range(args.repeats):
                for dest in dests:
                    for lane in lanes:
                        total = args.clients * lane[1]
                        raw.setdefault((dest, total), []).append(
                            run_lane("raw", targets, total, dest, "append")[0]
                        )
                        shift = rep % len(order)  # A B C D, B C D A, ...
                        for w in order[shift:] + order[:shift]:
                            s = one_run(targets, dest, args, lane, w, clusters[w])
                            results.setdefault((dest, lane, w), []).append(s)
                            name = f"{w} dask workers" if w else "local"
                            print(
                                f"{dest} wait {lane[0]} ms, {total} rows, {name}: {s.seconds:.2f}s",
                                file=sys.stderr,
                            )
    finally:
        targets.close()
    return results, raw


def print_table(args: argparse.Namespace, dests: list[str], results: Results, raw: Raw) -> None:
    print(
        f"test_some_table from {args.clients} clients in 1,000-row batches, "
        f"{args.concurrency} resolver threads per engine run, append mode; medians of "
        f"{args.repeats} interleaved runs"
    )
    print(f"machine: {machine()}\n")
    print(
        "| destination | source wait per batch | rows | executor | shards | wall s "
        "| speed-up vs local | speed-up vs 1 worker | rows/s | ÷ destination alone "
        "| CPU s, all processes |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for dest in dests:
        for lane in lanes_of(args.lanes):
            rows = args.clients * lane[1]
            loaded = median(raw[(dest, rows)], "inner")
            alone = rows / loaded
            local = median(results[(dest, lane, LOCAL)], "seconds")
            one = median(results[(dest, lane, 1)], "seconds")
            head = f"| {dest} | {lane[0]} ms | {rows:,} |"
            for w in (LOCAL, *WORKERS):
                t = median(results[(dest, lane, w)], "seconds")
                name, shards, vs_one = "local", "1", "-"
                if w:
                    name, shards, vs_one = f"dask, {w} workers", str(2 * w), f"{one / t:.2f}x"
                print(
                    f"{head} {name} | {shards} | {t:.2f} | {local / t:.2f}x | {vs_one} "
                    f"| {rows / t:,.0f} | {rows / t / alone:.2f} "
                    f"| {median(results[(dest, lane, w)], 'cpu'):.1f} |"
                )
            print(
                f"{head} destination alone: raw bulk load, one writer | | {loaded:.2f} | | "
                f"| {alone:,.0f} | 1.00 | |"
            )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=16, help="test source clients")
    parser.add_argument(
        "--lanes",
        default="1000:2000,0:20000",
        help="WAIT_MS:ROWS_PER_CLIENT,...: the source's wait per batch and rows per client",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="resolver threads per run")


def run(args: argparse.Namespace, dests: list[str]) -> None:
    dests = [d for d in dests if d in DESTINATIONS]
    if not dests:
        return
    print(f"machine at start: {machine()}", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="syncline-bench-executors-"))
    try:
        results, raw = measure(args, dests, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(args, dests, results, raw)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add_arguments(parser)
    parser.add_argument("--dest", default=",".join(DESTINATIONS))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run(args, args.dest.split(","))


if __name__ == "__main__":
    main()
