"""The file destination: the conformance cases that apply to append-only files, and syncs."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from conftest import config, source_doc

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


@pytest.fixture(params=["parquet", "csv", "json"])
def harness(tmp_path, request):
    spec = FileSpec(directory=str(tmp_path / "out"), format=request.param)
    h = Harness(
        lambda: FileDestination(spec, PluginContext("file")),
        upsert=False,
        migrations=False,
        delete=False,
    )
    yield h
    h.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_file_conformance(case, harness):
    try:
        case(harness)
    except Skip:
        assert case.__name__ not in APPLICABLE
        pytest.skip(f"{case.__name__} needs a capability files do not have")
    else:
        assert case.__name__ in APPLICABLE


def file_doc(fmt: str, extra: str = "write_mode: append") -> str:
    return f"""\
kind: destination
spec:
  name: files
  path: cloudquery/file
  {extra}
  spec:
    directory: ./out
    format: {fmt}
    path: "{{{{TABLE}}}}/{{{{SYNC_ID}}}}-{{{{UUID}}}}.{{{{FORMAT}}}}"
    batch_size: 4
"""


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_sync_to_files(write, run_cli, workdir, fmt):
    write(
        "a.yml",
        config(
            source_doc(destinations=("files",), tables='["test_some_table"]', spec="num_rows: 10"),
            file_doc(fmt),
        ),
    )
    r = run_cli("sync", "a.yml", "--invocation-id", "run1")
    assert r.code == 0, r.err
    files = sorted((workdir / "out" / "test_some_table").iterdir())
    assert len(files) == 3  # 10 rows in files of at most 4
    assert all(f.name.startswith("run1-") and f.suffix == f".{fmt}" for f in files)
    if fmt == "parquet":
        ids = sorted(i for f in files for i in pq.read_table(f)["id"].to_pylist())
    elif fmt == "json":
        ids = sorted(json.loads(line)["id"] for f in files for line in f.read_text().splitlines())
    else:
        ids = sorted(
            int(line.split(",")[5]) for f in files for line in f.read_text().splitlines()[1:]
        )
    assert ids == list(range(1, 11))


def test_other_write_modes_are_refused_before_syncing(write, run_cli, workdir):
    write(
        "a.yml",
        config(
            source_doc(destinations=("files",)), file_doc("parquet", extra="write_mode: overwrite")
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert (
        "(document 2, line 14): spec.write_mode: write_mode overwrite is not supported by cloudquery/file (supported: append)"
        in r.err
    )
    assert not (workdir / "out").exists()
