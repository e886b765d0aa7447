"""The README's "Adding a plugin" example, registered by entry point and synced for real."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from conftest import config, query, sqlite_doc

ROOT = Path(__file__).resolve().parent.parent


def readme_block(language: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Adding a plugin") :]
    found = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert found, f"no {language} block under Adding a plugin"
    return found.group(1)


def test_the_readme_source_registers_by_entry_point_and_syncs(write, run_cli, workdir, monkeypatch):
    package = workdir / "site" / "acme_people"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(readme_block("python"))
    toml = readme_block("toml")
    group, name, target = re.search(
        r'entry-points\."([^"]+)"\]\n"([^"]+)" = "([^"]+)"', toml
    ).groups()
    dist = workdir / "site" / "acme_people-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-people\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{group}]\n{name} = {target}\n")
    monkeypatch.syspath_prepend(str(workdir / "site"))
    source = f"""\
kind: source
spec:
  name: people
  path: {name}
  registry: cloudquery
  version: v1.0.0
  tables: ["*"]
  destinations: [sqlite]
  spec:
    names: [ada, grace]
"""
    write("a.yml", config(source, sqlite_doc()))
    try:
        r = run_cli("sync", "a.yml")
    finally:
        sys.modules.pop("acme_people", None)  # loaded from this test's folder only
    assert r.code == 0, r.err
    rows = query(
        workdir / "db.sqlite", "select id, name, _cq_source_name from acme_people order by id"
    )
    assert rows == [(1, "ada", "people"), (2, "grace", "people")]


def test_a_built_in_name_is_the_built_in_whatever_else_registers_it(workdir, monkeypatch):
    """Built-in names resolve from syncline's own metadata, read first; another distribution
    that registers the same name (earlier on the path) does not replace the built-in."""
    from syncline.connectors.sqlite import PLUGIN as SQLITE
    from syncline.plugin.registry import find_plugin

    dist = workdir / "site" / "shadow-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shadow\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[syncline.destinations]\ncloudquery/sqlite = shadow_missing:PLUGIN\n"
        "acme/sqlite = syncline.connectors.sqlite:PLUGIN\n"
    )
    monkeypatch.syspath_prepend(str(workdir / "site"))
    assert find_plugin("destination", "cloudquery/sqlite") is SQLITE
    assert find_plugin("destination", "acme/sqlite") is SQLITE  # others: every distribution
