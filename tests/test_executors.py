"""Sharded syncs on a real Dask cluster (a `dask scheduler` and two `dask worker` processes on
loopback) and on a local process pool: the same data as one process, nothing lost when a
worker is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import config, query, run_subprocess, sqlite_doc, sqlite_value, wait_for

import syncline

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers (each under a nanny that restarts it)."""
    from syncline.testing.postgres import free_port

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    cwd = tmp_path_factory.mktemp("dask")
    # Workers get credentials from their environment, as on a real cluster; the AWS endpoint
    # comes with each config (endpoint_url), so the cluster needs no moto server of its own.
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    procs = [
        subprocess.Popen(
            [
                str(bin_dir / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    for _ in range(2):
        procs.append(
            subprocess.Popen(
                [
                    str(bin_dir / "dask"),
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                ],
                cwd=cwd,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    client = None
    try:
        client = wait_for(lambda: distributed.Client(address, timeout="5s"), "the scheduler")
        client.wait_for_workers(2, timeout=120)
        yield client, address
    finally:
        if client is not None:
            client.close()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def _source(clients: int, rows: int, events: int, extra_spec: str = "") -> str:
    return f"""\
kind: source
spec:
  name: test
  path: cloudquery/test
  tables: ["*"]
  destinations: [sqlite]
  backend_options:
    table_name: cq_state
    connection: "@@plugins.sqlite.connection"
  spec:
    num_clients: {clients}
    num_rows: {rows}
    num_sub_rows: 2
    num_events: {events}
    batch_size: 100
{extra_spec}"""


def _config(
    db: Path, clients: int, rows: int, events: int, extra_spec: str = "", summary: bool = False
) -> str:
    # absolute paths: relative ones resolve in each worker's own working directory
    extra = "write_mode: overwrite-delete-stale" + ("\nsend_sync_summary: true" if summary else "")
    return config(_source(clients, rows, events, extra_spec), sqlite_doc(path=str(db), extra=extra))


def _data(db: Path, table: str) -> list[tuple[Any, ...]]:
    columns = [r[1] for r in query(db, f"pragma table_info({table})") if not r[1].startswith("_cq")]
    return query(db, f"select {', '.join(columns)} from {table} order by {', '.join(columns)}")


def _same_data(a: Path, b: Path) -> None:
    for table in ("test_some_table", "test_sub_table", "test_incremental_table"):
        assert _data(a, table) == _data(b, table), table
    assert query(a, "select key, value from cq_state order by key") == query(
        b, "select key, value from cq_state order by key"
    )


@pytest.mark.slow
def test_dask_shards_sync_the_same_data_as_one_process(workdir, dask_cluster):
    _client, address = dask_cluster
    single, sharded = workdir / "single.sqlite", workdir / "sharded.sqlite"
    seen: dict[str, int] = {}

    class Rows(syncline.NoProgress):
        def rows(self, table: str, count: int) -> None:
            seen[table] = seen.get(table, 0) + count

    syncline.sync(_config(single, 6, 40, 500))
    result = syncline.sync(
        _config(sharded, 6, 40, 500),
        executor="dask",
        address=address,
        shards=4,
        progress=Rows(),
    )
    _same_data(single, sharded)
    assert result.source("test").tables["test_incremental_table"].rows == 3000
    assert result.rows == 6 * 40 + 6 * 40 * 2 + 3000
    # progress from the workers reached this process, table by table
    assert seen == {t.name: t.rows for t in result.source("test").tables.values()}
    # every shard wrote under its own source name
    assert query(
        sharded,
        "select count(distinct n) from (select _cq_source_name n from test_incremental_table "
        "union all select _cq_source_name from test_some_table)",
    ) == [(4,)]

    # fewer rows upstream: each shard deletes its own stale rows, as one process does
    syncline.sync(_config(single, 6, 25, 500))
    syncline.sync(_config(sharded, 6, 25, 500), executor="dask", address=address, shards=4)
    assert sqlite_value(sharded, "select count(*) from test_some_table") == 6 * 25
    _same_data(single, sharded)


@pytest.mark.slow
def test_a_worker_killed_mid_shard_loses_nothing(workdir, dask_cluster):
    client, address = dask_cluster
    db = workdir / "db.sqlite"
    events = 6000
    text = _config(db, 4, 1, events, "    batch_delay_ms: 15\n")
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = syncline.sync(text, executor="dask", address=address, shards=4)
        except BaseException as e:
            outcome["error"] = e

    t = threading.Thread(target=run)
    t.start()
    # Once a shard runs and has written rows, kill the worker running one. The database is
    # read only after the shards started: tables are created in this process first, and two
    # SQLite libraries (ADBC's and sqlite3's) must not share a file in one process.
    busy = wait_for(
        lambda: [w for w, keys in client.processing().items() if keys] or not t.is_alive(),
        "a busy worker",
    )
    assert t.is_alive(), outcome.get("error")
    assert wait_for(
        lambda: sqlite_value(db, "select count(*) from test_incremental_table"),
        "rows of a running shard",
    )
    busy = [w for w, keys in client.processing().items() if keys] or busy
    pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
    os.kill(pid, signal.SIGKILL)
    t.join(timeout=600)
    assert "error" not in outcome, outcome.get("error")
    # every event of every client arrived, and every cursor is at the end
    assert query(
        db,
        "select client_id, count(distinct id), min(id), max(id) from test_incremental_table "
        "group by client_id order by client_id",
    ) == [(c, events, 1, events) for c in range(4)]
    assert query(db, "select value from cq_state") == [(str(events),)] * 4
    client.wait_for_workers(2, timeout=120)  # the nanny restarted the worker


def test_process_pool_shards_and_single_writer_destinations_are_refused(workdir):
    db = workdir / "db.sqlite"
    syncline.sync(_config(db, 3, 10, 200, summary=True), executor="processes", shards=3)
    assert query(db, "select count(*), count(distinct client_id) from test_some_table") == [(30, 3)]
    assert query(
        db,
        "select count(distinct n) from (select _cq_source_name n from test_incremental_table "
        "union all select _cq_source_name from test_some_table)",
    ) == [(3,)]
    assert query(db, "select key, value from cq_state order by key") == [
        (f"test_incremental_table/client_{c}", "200") for c in range(3)
    ]
    # send_sync_summary: one row per shard, as CloudQuery's shards write them, each counting
    # that shard's rows; one sync id, so the rows add up to the sync
    written = {
        n: sum(
            sqlite_value(db, f"select count(*) from {t} where _cq_source_name = 'test_{n}_3'")
            for t in ("test_some_table", "test_sub_table", "test_incremental_table")
        )
        for n in (1, 2, 3)
    }
    assert sum(written.values()) == 3 * 10 + 3 * 10 * 2 + 3 * 200
    assert query(
        db,
        "select shard_num, shard_total, resources, source_name from cloudquery_sync_summaries "
        "order by shard_num",
    ) == [(n, 3, written[n], "test") for n in (1, 2, 3)]
    assert sqlite_value(db, "select count(distinct sync_id) from cloudquery_sync_summaries") == 1
    duck = config(
        _source(2, 10, 0)
        .replace("destinations: [sqlite]", "destinations: [duck]")
        .replace("@@plugins.sqlite.connection", "@@plugins.duck.connection"),
        "kind: destination\nspec:\n  name: duck\n  path: cloudquery/duckdb\n"
        f"  spec:\n    connection_string: {workdir / 'db.duckdb'}\n",
    )
    (workdir / "duck.yml").write_text(duck)
    p = run_subprocess(["sync", "duck.yml", "--executor", "processes"], workdir)
    assert p.returncode == 1
    assert (
        "Error: destination duck (cloudquery/duckdb) takes writes from one process at a time: "
        "use --executor local, or another destination for sharded runs"
    ) in p.stderr
    assert "Traceback" not in p.stderr
    assert not (workdir / "db.duckdb").exists()


AWS_REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
AWS_TABLES = [
    "aws_ec2_vpcs",
    "aws_ec2_subnets",
    "aws_ec2_security_groups",
    "aws_iam_users",
    "aws_s3_buckets",
    "aws_cloudtrail_events",
]


def _aws_config(db: Path, endpoint: str) -> str:
    source = f"""\
kind: source
spec:
  name: aws
  path: cloudquery/aws
  tables: {json.dumps(AWS_TABLES)}
  destinations: [sqlite]
  backend_options:
    table_name: cq_state
    connection: "@@plugins.sqlite.connection"
  spec:
    regions: {json.dumps(AWS_REGIONS)}
    endpoint_url: {endpoint}
    concurrency: 4
    max_retries: 0
"""
    return config(source, sqlite_doc(path=str(db), extra="write_mode: overwrite-delete-stale"))


def _same_aws_data(a: Path, b: Path) -> None:
    for table in AWS_TABLES:
        assert _data(a, table) == _data(b, table), table
    assert query(a, "select key, value from cq_state order by key") == query(
        b, "select key, value from cq_state order by key"
    )


@pytest.mark.slow
def test_aws_regions_sharded_on_dask_sync_the_same_rows_as_one_process(
    workdir, aws_env, dask_cluster
):
    import boto3

    _client, address = dask_cluster
    vpcs = {}
    for region in AWS_REGIONS:
        ec2 = boto3.client("ec2", region_name=region)
        vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")
        ec2.create_security_group(GroupName=f"web-{region}", Description="web", VpcId=vpc)
        boto3.client("s3", region_name=region).create_bucket(
            Bucket=f"bucket-{region}",
            **(
                {"CreateBucketConfiguration": {"LocationConstraint": region}}
                if region != "us-east-1"
                else {}
            ),
        )
        vpcs[region] = vpc
    boto3.client("iam").create_user(UserName="ada")

    single, sharded = workdir / "single.sqlite", workdir / "sharded.sqlite"
    syncline.sync(_aws_config(single, aws_env))
    result = syncline.sync(
        _aws_config(sharded, aws_env), executor="dask", address=address, shards=4
    )
    _same_aws_data(single, sharded)
    assert result.errors == 0
    # every region's resources arrived, and the work was split across the shards
    assert query(
        sharded,
        "select region, count(*) from aws_ec2_security_groups where group_name like 'web-%' group by region order by region",
    ) == [(r, 1) for r in sorted(AWS_REGIONS)]
    assert query(sharded, "select user_name, region from aws_iam_users") == [("ada", "aws-global")]
    assert sorted(k for (k,) in query(sharded, "select key from cq_state")) == [
        f"aws_cloudtrail_events/123456789012/{r}" for r in sorted(AWS_REGIONS)
    ]
    names = " union ".join(f"select _cq_source_name from {t}" for t in AWS_TABLES)
    assert query(sharded, f"select * from ({names}) order by 1") == [
        (f"aws_{n}_4",) for n in range(1, 5)
    ]

    # a VPC gone upstream: the shard that read its region deletes it, as one process does
    ec2 = boto3.client("ec2", region_name="us-west-2")
    ec2.delete_security_group(
        GroupId=ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": ["web-us-west-2"]}]
        )["SecurityGroups"][0]["GroupId"]
    )
    syncline.sync(_aws_config(single, aws_env))
    syncline.sync(_aws_config(sharded, aws_env), executor="dask", address=address, shards=4)
    assert query(
        sharded,
        "select region from aws_ec2_security_groups where group_name like 'web-%' order by region",
    ) == [("eu-west-1",), ("us-east-1",)]
    _same_aws_data(single, sharded)


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_full_refresh_and_one_shard_are_refused_for_sharded_runs(workdir, run_cli, executor):
    """A full refresh resets the cursors its run did not set again, which in one shard are
    every other shard's: refused before anything is created, from the CLI and the API."""
    db = workdir / "db.sqlite"
    text = _config(db, 2, 10, 50)
    (workdir / "a.yml").write_text(text)
    for refresh in (True, ["test_incremental_table"]):
        with pytest.raises(syncline.SynclineError) as e:
            syncline.sync(text, executor=executor, full_refresh=refresh)
        assert str(e.value) == "--full-refresh runs with --executor local only"
    with pytest.raises(syncline.SynclineError) as e:
        syncline.sync(text, executor=executor, shard=(1, 2))
    assert str(e.value) == "--shard runs one shard here: use it with --executor local"
    with pytest.raises(syncline.SynclineError) as e:
        syncline.sync(text, executor=executor, shards=0)
    assert str(e.value) == "invalid --shards 0: must be at least 1"

    for args, message in [
        (["--full-refresh"], "--full-refresh runs with --executor local only"),
        (
            ["--full-refresh", "--table", "test_incremental_table"],
            "--full-refresh runs with --executor local only",
        ),
        (["--shard", "1/2"], "--shard runs one shard here: use it with --executor local"),
        (["--shards", "0"], "invalid --shards 0: must be at least 1"),
    ]:
        r = run_cli("sync", "a.yml", "--executor", executor, *args)
        assert r.code == 1, args
        assert f"Error: {message}" in r.err
        assert "Traceback" not in r.err
    assert not db.exists()


# Alone in the selection, its clients are split across the shards.
INCREMENTAL = "test_incremental_table"


def _empty_incremental_table_with_stale_cursors(db: Path, clients: int, events: int) -> str:
    """Synced once, then the table emptied by hand: every cursor stays in the state table."""
    text = _config(db, clients, 2, events)
    syncline.sync(text)
    query(db, "delete from test_incremental_table")
    assert query(db, "select key, value from cq_state order by key") == [
        (f"test_incremental_table/client_{c}", str(events)) for c in range(clients)
    ]
    return text


def _every_client_synced_from_the_start(db: Path, clients: int, events: int) -> None:
    assert query(
        db,
        "select client_id, count(distinct id), min(id), max(id) from test_incremental_table "
        "group by client_id order by client_id",
    ) == [(c, events, 1, events) for c in range(clients)]
    assert query(db, "select key, value from cq_state order by key") == [
        (f"test_incremental_table/client_{c}", str(events)) for c in range(clients)
    ]


def _each_shard_resynced_its_own_clients(db: Path, clients: int, events: int) -> None:
    """Both shards of two wrote rows of the table, each its own half of the clients."""
    assert query(
        db,
        "select _cq_source_name, count(*) from test_incremental_table group by 1 order by 1",
    ) == [("test_1_2", clients * events // 2), ("test_2_2", clients * events // 2)]


def test_shards_resync_an_emptied_table_whatever_order_they_run_in(workdir, monkeypatch):
    """The cursor guard runs once, before any shard starts. Inside each shard it raced: shard
    2 read its state before shard 1 reset the emptied table's cursors, then checked the table
    after shard 1's rows landed and kept its stale cursors. The shards of the real run_sharded
    run here in this process in exactly that order: shard 2 reads its state, shard 1 runs to
    its end, then shard 2 goes on."""
    from syncline.engine import sync as engine_sync
    from syncline.executors import pool, shards

    db = workdir / "db.sqlite"
    clients, events = 4, 60
    text = _empty_incremental_table_with_stale_cursors(db, clients, events)
    order: list[str] = []

    def shard_2_then_shard_1(tasks, workers, on_rows, *_):
        first, second = sorted(tasks, key=lambda t: t.shard)
        outcomes: list[shards.ShardOutcome] = []

        def after_state_read(name: str) -> None:
            if name == "after_state_read" and not order:
                order.append("shard 2 read its state")
                outcomes.append(shards.run_shard(first))
                order.append("shard 1 finished")

        monkeypatch.setattr(engine_sync.crashpoints, "crash", after_state_read)
        outcomes.append(shards.run_shard(second))
        return outcomes

    monkeypatch.setattr(pool, "run_in_processes", shard_2_then_shard_1)
    result = syncline.sync(text, executor="processes", shards=2, tables=[INCREMENTAL])
    assert order == ["shard 2 read its state", "shard 1 finished"]
    assert result.source("test").tables["test_incremental_table"].rows == clients * events
    _every_client_synced_from_the_start(db, clients, events)
    _each_shard_resynced_its_own_clients(db, clients, events)


def test_shards_run_by_hand_resync_an_emptied_table_whatever_order_they_run_in(
    workdir, monkeypatch
):
    """`--shard n/T` run by hand, as CloudQuery's shards are: each shard guards the cursors
    itself. Shard 2 reads its state; shard 1 then runs to its end (it resets the emptied
    table's cursors, shard 2's clients' among them, and writes its own clients' rows); then
    shard 2 checks the table and finds rows. It must not go on from the cursors it read
    before the reset."""
    from syncline.engine import sync as engine_sync

    db = workdir / "db.sqlite"
    clients, events = 4, 60
    text = _empty_incremental_table_with_stale_cursors(db, clients, events)
    order: list[str] = []

    def shard_1_runs_once_shard_2_read_its_state(name: str) -> None:
        if name == "after_state_read" and not order:
            order.append("shard 2 read its state")
            syncline.sync(text, shard=(1, 2), tables=[INCREMENTAL])
            order.append("shard 1 finished")

    monkeypatch.setattr(engine_sync.crashpoints, "crash", shard_1_runs_once_shard_2_read_its_state)
    result = syncline.sync(text, shard=(2, 2), tables=[INCREMENTAL])
    assert order == ["shard 2 read its state", "shard 1 finished"]
    assert result.source("test").tables["test_incremental_table"].rows == clients * events // 2
    _every_client_synced_from_the_start(db, clients, events)
    _each_shard_resynced_its_own_clients(db, clients, events)


@pytest.mark.parametrize("executor", ["processes", pytest.param("dask", marks=pytest.mark.slow)])
def test_sharded_run_guards_cursors_once_before_its_shards(workdir, caplog, request, executor):
    db = workdir / "db.sqlite"
    clients, events = 4, 60
    text = _empty_incremental_table_with_stale_cursors(db, clients, events)
    where: dict[str, Any] = {"shards": 2}
    if executor == "dask":
        where["address"] = request.getfixturevalue("dask_cluster")[1]
    with caplog.at_level("WARNING", logger="syncline.engine"):
        result = syncline.sync(text, executor=executor, tables=[INCREMENTAL], **where)
    assert result.source("test").tables["test_incremental_table"].rows == clients * events
    _every_client_synced_from_the_start(db, clients, events)
    # the guard ran here, where the sync was asked for, once for the whole table
    resets = [r.getMessage() for r in caplog.records if "resetting cursor(s)" in r.getMessage()]
    assert resets == [
        "table test_incremental_table: destination sqlite holds none of its rows (dropped, "
        "recreated, missing or emptied): resetting cursor(s) "
        + ", ".join(f"test_incremental_table/client_{c}" for c in range(clients))
        + " and syncing the table in full"
    ]


def _nothing_lost_so_far(db: Path) -> dict[int, int]:
    """Each client's rows are 1..n without a gap, and its cursor (if any) is not past n."""
    present = {
        c: (n, top)
        for c, n, top in query(
            db,
            "select client_id, count(distinct id), max(id) from test_incremental_table "
            "group by client_id",
        )
    }
    for c, (n, top) in present.items():
        assert n == top, f"client {c}: a gap in 1..{top}"
    for key, value in query(db, "select key, value from cq_state"):
        client = int(key.rsplit("_", 1)[1])
        assert client in present and int(value) <= present[client][1], (key, value)
    return {c: top for c, (top, _) in present.items()}


@pytest.mark.parametrize("executor", ["processes", pytest.param("dask", marks=pytest.mark.slow)])
def test_stop_ends_a_sharded_run_after_the_rows_already_read(workdir, request, executor):
    """Set once the first rows arrive from the two running shards (of four, on two workers):
    the running shards stop after the rows they read, the two not started never start."""
    db = workdir / "db.sqlite"
    clients, events = 4, 30_000
    slow = _config(db, clients, 1, events, "    batch_delay_ms: 15\n")  # 4.5 s or more a client
    where: dict[str, Any] = {"shards": 4, "tables": [INCREMENTAL]}
    if executor == "dask":
        where["address"] = request.getfixturevalue("dask_cluster")[1]
    stop = threading.Event()

    class StopOnRows(syncline.NoProgress):
        def rows(self, table: str, count: int) -> None:
            stop.set()

    with pytest.raises(syncline.SyncFailedError) as e:
        syncline.sync(slow, executor=executor, stop=stop, progress=StopOnRows(), **where)
    assert str(e.value) == "sync interrupted on request"
    assert e.value.stopped and e.value.signum == 0
    table = e.value.result.source("test").tables[INCREMENTAL]
    assert 0 < table.rows < 2 * events
    assert e.value.result.source("test").error
    synced = _nothing_lost_so_far(db)
    # one client a shard: only the shards that ran (clients 0 and 1) wrote rows
    assert set(synced) <= {0, 1} and sum(synced.values()) == table.rows
    assert query(db, "select distinct _cq_source_name from test_incremental_table") in (
        [("test_1_4",)],
        [("test_2_4",)],
        [("test_1_4",), ("test_2_4",)],
        [("test_2_4",), ("test_1_4",)],
    )

    # nothing was lost: the next run completes every client from where it stopped
    fast = _config(db, clients, 1, events)
    result = syncline.sync(fast, executor=executor, **where)
    assert result.source("test").tables[INCREMENTAL].rows == clients * events - table.rows
    _every_client_synced_from_the_start(db, clients, events)


def test_a_signal_stops_a_sharded_run_with_handle_signals(workdir):
    db = workdir / "db.sqlite"
    clients, events = 2, 30_000
    text = _config(db, clients, 1, events, "    batch_delay_ms: 15\n")
    signals: list[int] = []
    sent: list[int] = []

    class SignalOnRows(syncline.NoProgress):
        def rows(self, table: str, count: int) -> None:
            if not sent:  # as an orchestrator would: to this process only
                sent.append(signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(syncline.SyncFailedError) as e:
        syncline.sync(
            text,
            executor="processes",
            shards=2,
            tables=[INCREMENTAL],
            progress=SignalOnRows(),
            handle_signals=True,
            on_signal=signals.append,
        )
    assert signals == [signal.SIGTERM]
    assert str(e.value) == f"sync interrupted by signal {int(signal.SIGTERM)}"
    assert e.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers restored
    synced = _nothing_lost_so_far(db)
    assert 0 < sum(synced.values()) < clients * events


def test_the_cli_stops_a_process_pool_sync_on_sigterm(workdir):
    """`syncline sync --executor processes` stopped by SIGTERM: shards write what they read,
    commit its cursors, and the CLI exits 128+15 saying so; a re-run completes every client."""
    db = workdir / "db.sqlite"
    clients, events = 2, 30_000
    text = _config(db, clients, 1, events, "    batch_delay_ms: 15\n")
    (workdir / "sync.yml").write_text(text.replace('tables: ["*"]', f"tables: [{INCREMENTAL}]"))
    command = [sys.executable, "-m", "syncline", "--no-log-file", "sync", "sync.yml"]
    sharded = ["--executor", "processes", "--shards", "2"]
    proc = subprocess.Popen(
        command + sharded, cwd=workdir, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert wait_for(
        lambda: sqlite_value(db, f"select count(*) from {INCREMENTAL}"),
        "the shards' first rows",
        proc=proc,
    ), "the sync ended before it wrote a row"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, (out, err)
    assert "Sync interrupted: rows already read are written" in err
    assert 0 < sum(_nothing_lost_so_far(db).values()) < clients * events
    done = subprocess.run(command + sharded, cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _nothing_lost_so_far(db) == dict.fromkeys(range(clients), events)
