"""The file destination on object storage: S3 on a real moto_server, GCS on the
gcp-storage-emulator package (an emulator started on loopback by this module)."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from conftest import config, source_doc, sqlite_doc

from syncline.connectors.file import FileDestination, FileSpec
from syncline.plugin.contracts import PluginContext
from syncline.testing.destination_suite import CASES, Harness, Skip

APPLICABLE = {
    "migrate_new_table",
    "append_adds_rows",
    "state_table_round_trip",
    "every_type_round_trips",
    "names_that_need_quoting",
}


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory):
    """gcp-storage-emulator (PyPI) in memory on a loopback port, as host:port."""
    from syncline.testing.postgres import free_port

    port = free_port()
    exe = Path(sys.executable).parent / "gcp-storage-emulator"
    proc = subprocess.Popen(
        [str(exe), "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/storage/v1/b?project=test", timeout=1)
            break
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the GCS emulator did not start") from None
            time.sleep(0.1)
    yield endpoint
    proc.terminate()
    proc.wait(timeout=10)


def _gcs_bucket(endpoint: str, name: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/storage/v1/b?project=test",
        data=f'{{"name": "{name}"}}'.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10)


def _keys(bucket: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))


@pytest.fixture
def s3_harness(aws_env):
    boto3.client("s3").create_bucket(Bucket="suite")
    h = Harness(
        lambda: FileDestination(FileSpec(directory="s3://suite/out"), PluginContext("file")),
        upsert=False,
        migrations=False,
        delete=False,
    )
    yield h
    h.close()


@pytest.fixture
def gcs_harness(gcs_emulator, monkeypatch):
    import uuid

    bucket = f"suite-{uuid.uuid4().hex[:8]}"
    _gcs_bucket(gcs_emulator, bucket)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    h = Harness(
        lambda: FileDestination(FileSpec(directory=f"gs://{bucket}/out"), PluginContext("file")),
        upsert=False,
        migrations=False,
        delete=False,
    )
    yield h
    h.close()


def _run(case, harness):
    try:
        case(harness)
    except Skip:
        assert case.__name__ not in APPLICABLE
        pytest.skip(f"{case.__name__} needs a capability files do not have")
    else:
        assert case.__name__ in APPLICABLE


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_s3_conformance(case, s3_harness):
    _run(case, s3_harness)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_gcs_conformance(case, gcs_harness):
    _run(case, gcs_harness)


def s3_doc(directory: str = "s3://exports/syncline", spec: str = "") -> str:
    return f"""\
kind: destination
spec:
  name: files
  path: cloudquery/file
  write_mode: append
  spec:
    directory: {directory}
    format: parquet
    path: "{{{{TABLE}}}}/{{{{SYNC_ID}}}}-{{{{UUID}}}}.{{{{FORMAT}}}}"
    batch_size: 4
{spec}"""


def test_sync_to_s3_one_complete_object_per_batch(write, run_cli, aws_env):
    boto3.client("s3").create_bucket(Bucket="exports")
    write(
        "a.yml",
        config(
            source_doc(destinations=("files",), tables='["test_some_table"]', spec="num_rows: 10"),
            s3_doc(),
        ),
    )
    r = run_cli("sync", "a.yml", "--invocation-id", "run1")
    assert r.code == 0, r.err
    keys = _keys("exports")
    # 10 rows in objects of at most 4, under their final names only (nothing temporary)
    assert len(keys) == 3
    assert all(
        k.startswith("syncline/test_some_table/run1-") and k.endswith(".parquet") for k in keys
    )
    s3 = boto3.client("s3")
    ids = sorted(
        i
        for k in keys
        for i in pq.read_table(io.BytesIO(s3.get_object(Bucket="exports", Key=k)["Body"].read()))[
            "id"
        ].to_pylist()
    )
    assert ids == list(range(1, 11))


def test_endpoint_url_key_without_aws_endpoint_variable(write, run_cli, aws_env, monkeypatch):
    boto3.client("s3").create_bucket(Bucket="exports")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    write(
        "a.yml",
        config(
            source_doc(destinations=("files",), tables='["test_some_table"]', spec="num_rows: 2"),
            s3_doc(spec=f"    endpoint_url: {aws_env}\n"),
        ),
    )
    r = run_cli("sync", "a.yml")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)  # for the check below
    assert r.code == 0, r.err
    assert len(_keys("exports")) == 1


def test_a_failed_upload_fails_the_sync_and_keeps_the_cursor(write, run_cli, workdir, aws_env):
    # No bucket: every upload fails.
    write(
        "a.yml",
        config(
            source_doc(
                destinations=("files",),
                tables='["test_incremental_table"]',
                extra="backend_options:\n  table_name: cq_state\n  connection: '@@plugins.sqlite.connection'",
                spec="num_events: 5",
            ),
            s3_doc(directory="s3://no-such-bucket/x"),
            sqlite_doc(),
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "cannot write s3://no-such-bucket/x/test_incremental_table/" in r.err
    from conftest import query

    assert query(workdir / "db.sqlite", "select count(*) from cq_state") == [(0,)]


def test_sync_to_gcs(write, run_cli, gcs_emulator, monkeypatch):
    import pyarrow.fs as pafs

    _gcs_bucket(gcs_emulator, "gcs-exports")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    write(
        "a.yml",
        config(
            source_doc(destinations=("files",), tables='["test_some_table"]', spec="num_rows: 10"),
            s3_doc(directory="gs://gcs-exports/syncline"),
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    fs = pafs.GcsFileSystem(
        anonymous=True, endpoint_override=gcs_emulator.split("://")[1], scheme="http"
    )
    infos = fs.get_file_info(pafs.FileSelector("gcs-exports/syncline", recursive=True))
    files = sorted(i.path for i in infos if i.type == pafs.FileType.File)
    assert len(files) == 3
    ids = sorted(i for f in files for i in pq.read_table(f, filesystem=fs)["id"].to_pylist())
    assert ids == list(range(1, 11))
