"""Every AWS table against the shared moto_server: once with resources in many services, once
empty. A table may fail only because moto lacks its API; those tables are listed in
tests/aws/moto_unimplemented.txt, so the list cannot change silently:

- ``unimplemented``: moto has no handler for the operation (checked against moto's code);
- ``moto-bug``: moto has a handler, but it fails (a server error) or leaves out a field the
  API always returns (the ARN that keys the table); the line says which.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws import resources
from aws.moto_coverage import implements
from conftest import config, query, sqlite_doc

from syncline.connectors.aws.catalog import specs
from syncline.connectors.aws.plugin import BY_HAND, all_tables
from syncline.schema.table import flatten

pytestmark = pytest.mark.slow
UNIMPLEMENTED = Path(__file__).parent / "aws" / "moto_unimplemented.txt"
SOURCE = """\
kind: source
spec:
  name: aws
  path: cloudquery/aws
  tables: ["*"]
  destinations: [sqlite]
  spec:
    regions: ["us-east-1"]
    concurrency: 8
    max_retries: 0
"""


def listed() -> dict[str, tuple[str, str]]:
    """Table -> (kind, what) from the checked-in file."""
    out: dict[str, tuple[str, str]] = {}
    for line in UNIMPLEMENTED.read_text().splitlines():
        if line and not line.startswith("#"):
            table, kind, what = line.split(maxsplit=2)
            out[table] = (kind, what)
    return out


def sync_every_table(write, run_cli, workdir) -> tuple[dict[str, int], dict[str, int]]:
    write("a.yml", config(SOURCE, sqlite_doc()))
    r = run_cli("sync", "a.yml", "--summary-location", "summary.jsonl")
    assert r.code == 0, r.err
    summary = json.loads((workdir / "summary.jsonl").read_text().splitlines()[-1])
    return summary["resources_per_table"], summary["errors_per_table"]


def assert_failures_are_moto_gaps(failed: set[str]) -> None:
    entries = listed()
    unexpected = failed - set(entries)
    assert not unexpected, f"tables failing that are not listed as moto gaps: {unexpected}"
    generated = specs()
    for name, (kind, what) in entries.items():
        assert name in generated, f"{name} is listed but is no generated table"
        spec = generated[name]
        assert what.startswith(f"{spec.service} {spec.operation}"), name
        has_handler = implements(spec.service, spec.operation)
        assert kind in ("unimplemented", "moto-bug"), name
        assert has_handler == (kind == "moto-bug"), f"{name}: moto has a handler: {has_handler}"


def test_scale_of_the_catalogue():
    tables = flatten(all_tables())
    services = {specs()[t.name].service for t in tables if t.name not in BY_HAND}
    assert len(tables) >= 400 and len(services) >= 60
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert f"**{len(tables):,} tables from {len(services)} services**" in readme
    by_name = {t.name: t for t in tables}
    for spec in specs().values():  # a child's inputs come from columns its parent has
        if spec.parent:
            assert set(spec.bind.values()) <= set(by_name[spec.parent].column_names), spec.name
    for t in tables:
        names = t.column_names
        assert "account_id" in names and "region" in names, t.name
        keys = t.primary_keys
        assert keys in (["arn"], ["_cq_id"]) or keys[:2] == ["account_id", "region"], t.name


def test_every_table_with_resources_in_many_services(aws_env, write, run_cli, workdir):
    expected = resources.create_all()
    services = {specs()[t].service if t in specs() else t.split("_")[1] for t, _, _ in expected}
    assert len(services) >= 40
    rows, errors = sync_every_table(write, run_cli, workdir)
    failed = {t for t, n in errors.items() if n}
    assert_failures_are_moto_gaps(failed)
    assert_the_list_holds_no_stale_entry(failed)
    assert set(rows) | set(errors) <= {t.name for t in flatten(all_tables())}
    db = workdir / "db.sqlite"
    missing = [
        (table, column, value)
        for table, column, value in expected
        if not query(
            db,
            f'select account_id, region from "{table}" where "{column}" = ?',
            (value,),
        )
    ]
    assert not missing, f"rows not synced: {missing}"
    # global services once, with region aws-global; regional rows with their region
    assert query(db, "select region, account_id from aws_iam_users") == [
        ("aws-global", "123456789012")
    ]
    assert query(db, "select distinct region from aws_ec2_vpcs") == [("us-east-1",)]
    # a child table's rows link to their parent row
    assert query(
        db,
        "select u.user_name from aws_iam_user_access_keys k "
        "join aws_iam_users u on k._cq_parent_id = u._cq_id",
    ) == [("ada",)]
    assert rows["aws_ec2_vpcs"] >= 2  # the default VPC and ours


def test_every_table_against_empty_moto(aws_env, write, run_cli, workdir):
    """With nothing in moto, every table still either succeeds or fails for a listed gap."""
    _rows, errors = sync_every_table(write, run_cli, workdir)
    failed = {t for t, n in errors.items() if n}
    assert_failures_are_moto_gaps(failed)
    assert_the_list_holds_no_stale_entry(failed)


def assert_the_list_holds_no_stale_entry(failed: set[str]) -> None:
    """A top-level table whose API moto lacks fails in every sync."""
    lacking = {
        name
        for name, (kind, _) in listed().items()
        if kind == "unimplemented" and specs()[name].parent is None
    }
    assert lacking <= failed
