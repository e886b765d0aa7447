"""Global flags work before and after the subcommand, for every command, as CloudQuery's do."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import config, source_doc, sqlite_doc

from syncline.cli.main import build_parser, main

INVOCATION = "3f2d8c1e-5b6a-4c7d-8e9f-0a1b2c3d4e5f"

COMMANDS = [
    ["sync", "a.yml"],
    ["migrate", "a.yml"],
    ["tables", "a.yml"],
    ["validate-config", "a.yml"],
    ["test-connection", "a.yml"],
    ["state", "show", "a.yml"],
    ["state", "reset", "a.yml"],
    ["plugin", "serve", "test"],
]

GIVEN = [
    "--log-level", "debug", "--log-format", "json", "--log-file-name", "x.log",
    "--log-file-overwrite", "--no-log-file", "--log-console", "--invocation-id", INVOCATION,
    "--cq-dir", "cqd", "--telemetry-level", "none",
]  # fmt: skip
PARSED = {
    "log_level": "debug",
    "log_format": "json",
    "log_file_name": "x.log",
    "log_file_overwrite": True,
    "no_log_file": True,
    "log_console": True,
    "invocation_id": INVOCATION,
    "cq_dir": "cqd",
    "telemetry_level": "none",
}


def placed(position: str, flags: list[str], command: list[str]) -> list[str]:
    return [*flags, *command] if position == "before" else [*command, *flags]


@pytest.mark.parametrize("position", ["before", "after"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_global_flag_parses_in_either_position(command, position):
    args = build_parser().parse_args(placed(position, GIVEN, command))
    assert {k: getattr(args, k) for k in PARSED} == PARSED


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_defaults_survive_a_subcommand_and_values_before_it(command):
    args = build_parser().parse_args(command)
    assert (args.log_level, args.log_format, args.no_log_file, args.log_console) == (
        "info",
        "text",
        False,
        False,
    )
    args = build_parser().parse_args(["--log-level", "warn", *command, "--log-format", "json"])
    assert (args.log_level, args.log_format) == ("warn", "json")


@pytest.mark.parametrize("position", ["before", "after"])
@pytest.mark.parametrize(
    "flags",
    [["--log-level", "loud"], ["--telemetry-level", "some"], ["--log-format", "xml"]],
    ids=lambda f: f[0],
)
def test_bad_flag_values_are_refused_in_either_position(flags, position, capsys):
    for command in (["sync", "a.yml"], ["plugin", "serve", "test"]):
        with pytest.raises(SystemExit) as e:
            build_parser().parse_args(placed(position, flags, command))
        assert e.value.code == 2
        assert flags[0] in capsys.readouterr().err


def _sync(workdir, position, flags, capsys, extra_source=""):
    (workdir / "a.yml").write_text(
        config(
            source_doc(tables='["test_some_table"]', spec="num_rows: 2", extra=extra_source),
            sqlite_doc(),
        )
    )
    code = main(placed(position, flags, ["sync", "a.yml"]))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Resources: 2, Errors: 0" in out
    return err


@pytest.mark.parametrize("position", ["before", "after"])
def test_log_file_flags_take_effect(workdir, position, capsys):
    _sync(workdir, position, ["--no-log-file", "--log-format", "json"], capsys)
    assert not list(workdir.glob("*.log"))

    flags = ["--log-file-name", "x.log", "--log-format", "json", "--invocation-id", INVOCATION]
    _sync(workdir, position, flags, capsys)
    records = [json.loads(line) for line in (workdir / "x.log").read_text().splitlines()]
    assert any(r["message"].startswith("Starting sync for: test") for r in records)
    assert {r["invocation_id"] for r in records} == {INVOCATION}
    assert not (workdir / "syncline.log").exists()

    _sync(workdir, position, ["--log-file-name", "x.log", "--log-file-overwrite"], capsys)
    text = (workdir / "x.log").read_text()
    assert "Starting sync for: test" in text and INVOCATION not in text  # truncated, then text

    _sync(workdir, position, ["--log-file-name", "y.log", "--log-level", "error"], capsys)
    assert (workdir / "y.log").read_text() == ""  # an info line would be there at info level


@pytest.mark.parametrize("position", ["before", "after"])
def test_log_console_logs_to_stderr(workdir, position, capsys):
    err = _sync(
        workdir, position, ["--no-log-file", "--log-console", "--log-format", "json"], capsys
    )
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(r["message"].startswith("Starting sync for: test") for r in lines)
    assert not list(workdir.glob("*.log"))


@pytest.mark.parametrize("position", ["before", "after"])
def test_cq_dir_holds_the_sync_lock(workdir, position, capsys):
    backend = (
        'backend_options:\n  table_name: cq_state\n  connection: "@@plugins.sqlite.connection"'
    )
    _sync(workdir, position, ["--no-log-file", "--cq-dir", "cqd"], capsys, extra_source=backend)
    assert len(list((workdir / "cqd" / "locks").glob("*.lock"))) == 1


@pytest.mark.parametrize("position", ["before", "after"])
def test_accepted_flags_without_effect(workdir, position, capsys):
    flags = ["--no-log-file", "--telemetry-level", "none"]
    _sync(workdir, position, flags, capsys)
    code = main(["--no-log-file", "sync", "a.yml", "--license", "lic.txt", "--cq-columns-not-null"])
    assert code == 0, capsys.readouterr().err


def test_plugin_serve_takes_global_flags_in_either_position(workdir):
    """A served plugin logs to stdout, in the format and with the invocation id asked for."""
    from syncline.testing.postgres import free_port

    for before in (True, False):
        flags = ["--log-format", "json", "--invocation-id", INVOCATION, "--log-level", "debug"]
        serve = ["plugin", "serve", "test", "--address", f"127.0.0.1:{free_port()}"]
        argv = [*flags, *serve] if before else [*serve, *flags]
        proc = subprocess.Popen(
            [sys.executable, "-m", "syncline", *argv],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            first = json.loads(proc.stdout.readline())
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        assert first["level"] == "info" and first["invocation_id"] == INVOCATION
        assert first["message"].startswith("serving source plugin cloudquery/test")
    assert not list(workdir.glob("*.log"))  # a served plugin writes a file only when asked
