"""The registry is the one list of plugins: each entry point names the info of its kind, and
each ``syncline-plugin-*`` executable serves the plugin its name names."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import plugin_exe

from syncline.cli.serve import executables, plugin_executable
from syncline.plugin.contracts import DestinationInfo, SourceInfo, TransformerInfo
from syncline.plugin.registry import available, find_plugin

ROOT = Path(__file__).resolve().parent.parent


def test_every_entry_point_names_the_info_of_its_kind():
    classes = {"source": SourceInfo, "destination": DestinationInfo, "transformer": TransformerInfo}
    for kind, cls in classes.items():
        paths = available(kind)
        assert paths, kind
        for path in paths:
            info = find_plugin(kind, path)
            assert isinstance(info, cls) and info.path == path


def test_the_installed_executables_are_those_of_the_registry():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    plugin_scripts = {k: v for k, v in scripts.items() if k.startswith("syncline-plugin-")}
    assert sorted(plugin_scripts) == sorted(executables())
    # an executable finds its plugin in syncline's own metadata alone
    assert executables(built_in=True) == executables()
    assert set(plugin_scripts.values()) == {"syncline.cli.serve:plugin_executable"}


def test_a_name_of_two_kinds_names_the_destination_and_its_source_has_a_suffix():
    found = executables()
    assert found["syncline-plugin-postgresql"] == ("destination", "cloudquery/postgresql")
    assert found["syncline-plugin-postgresql-source"] == ("source", "cloudquery/postgresql")
    assert found["syncline-plugin-test"] == ("source", "cloudquery/test")
    assert found["syncline-plugin-sqlite"] == ("destination", "cloudquery/sqlite")
    assert found["syncline-plugin-basic"] == ("transformer", "cloudquery/basic")


def test_an_executable_under_another_name_says_what_to_run(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["/opt/bin/my-plugin", "serve"])
    assert plugin_executable(["serve"]) == 2
    err = capsys.readouterr().err
    assert "my-plugin: no plugin is served under this name" in err
    assert "syncline-plugin-sqlite" in err and "syncline plugin serve <name>" in err


def test_an_executable_answers_help_with_its_plugin():
    out = subprocess.run(
        [plugin_exe("syncline-plugin-postgresql-source"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "syncline-plugin-postgresql-source (cloudquery/postgresql)" in out.stdout
