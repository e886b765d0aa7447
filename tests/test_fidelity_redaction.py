"""Configured secrets never reach the terminal or the log, whichever part echoes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import config, source_doc

from syncline.cli.main import main

PASSWORD = "se%cret99"  # a '%' that is not percent-encoding: libpq quotes it back


def _pg_destination(connection: str, extra: str = "") -> str:
    return f"""\
kind: destination
spec:
  name: pg
  path: cloudquery/postgresql
{extra}  spec:
    connection_string: "{connection}"
"""


def _run(workdir: Path, capsys, *args: str) -> str:
    code = main([*args[:1], "--log-file-name", "run.log", *args[1:]])
    out = capsys.readouterr()
    assert code == 1
    return out.out + out.err + (workdir / "run.log").read_text()


@pytest.mark.parametrize("command", ["sync", "test-connection"])
def test_a_password_in_a_connection_string_is_never_echoed(workdir, capsys, command):
    url = f"postgresql://bob:{PASSWORD}@127.0.0.1:1/db"
    (workdir / "a.yml").write_text(config(source_doc(destinations=("pg",)), _pg_destination(url)))
    text = _run(workdir, capsys, command, "a.yml")
    assert "invalid percent-encoded token" in text  # the cause is kept...
    assert "cret99" not in text  # ...without the password
    assert "***" in text


def test_a_password_from_the_environment_is_never_echoed(workdir, capsys, monkeypatch):
    monkeypatch.setenv("PG_SECRET", "Tr0ub4dor-and-3")
    url = "postgresql://bob:${PG_SECRET}@127.0.0.1:1/db?connect_timeout=5"
    (workdir / "a.yml").write_text(config(source_doc(destinations=("pg",)), _pg_destination(url)))
    text = _run(workdir, capsys, "test-connection", "a.yml")
    assert "Failure" in text
    assert "Tr0ub4dor" not in text


def test_an_expanded_value_in_a_config_error_is_masked(workdir, capsys, monkeypatch):
    monkeypatch.setenv("MODE", "token-5f3a9c-not-a-mode")
    (workdir / "a.yml").write_text(
        config(
            source_doc(destinations=("pg",)),
            _pg_destination("postgresql://u@h/db", extra="  write_mode: ${MODE}\n"),
        )
    )
    text = _run(workdir, capsys, "sync", "a.yml")
    assert "spec.write_mode: invalid write mode: ***" in text
    assert "5f3a9c" not in text
