"""The table docs in docs/tables are what ``syncline tables`` generates today."""

from __future__ import annotations

from pathlib import Path

from conftest import query  # noqa: F401  (shared fixtures)

ROOT = Path(__file__).parent.parent


def test_aws_table_docs_are_up_to_date(run_cli, workdir):
    r = run_cli(
        "tables",
        str(ROOT / "examples" / "aws.yml"),
        "--format",
        "markdown",
        "--output-dir",
        "fresh",
    )
    assert r.code == 0, r.err
    fresh = {p.name: p.read_text() for p in (workdir / "fresh" / "aws").iterdir()}
    committed = {p.name: p.read_text() for p in (ROOT / "docs" / "tables" / "aws").iterdir()}
    assert fresh == committed, (
        "run: syncline tables examples/aws.yml --format markdown --output-dir docs/tables"
    )
    # The README links the generated index, which links every table.
    readme = (ROOT / "README.md").read_text()
    assert "docs/tables/aws/README.md" in readme
    index = fresh["README.md"]
    for name in fresh:
        if name != "README.md":
            assert f"]({name})" in index, f"the index does not link {name}"
