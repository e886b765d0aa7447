"""The log file rotates by size, so months of syncs keep a bounded log."""

from __future__ import annotations

from conftest import config, source_doc, sqlite_doc

from syncline.cli.main import main

KB = 1024


def _sync(*flags: str) -> int:
    return main(["--log-level", "debug", "--log-file-name", "s.log", *flags, "sync", "a.yml"])


def test_the_log_rotates_at_its_size_keeping_the_given_backups(write, workdir, capsys):
    write("a.yml", config(source_doc(spec="num_rows: 20\nnum_sub_rows: 1"), sqlite_doc()))
    flags = ("--log-file-max-size", "0.004", "--log-file-max-backups", "2")  # 4 KiB
    for _ in range(6):
        assert _sync(*flags) == 0
    files = sorted(p.name for p in workdir.glob("s.log*"))
    assert files == ["s.log", "s.log.1", "s.log.2"]
    for name in files:
        # a file rotates before the record that would take it past the limit
        assert (workdir / name).stat().st_size <= 0.004 * 1024 * KB, name
    assert "Sync completed successfully." in (workdir / "s.log").read_text()
    capsys.readouterr()


def test_the_default_keeps_appending_below_100_mb_and_overwrite_starts_afresh(
    write, workdir, capsys
):
    write("a.yml", config(source_doc(spec="num_rows: 5"), sqlite_doc()))
    assert _sync() == 0
    assert _sync() == 0
    text = (workdir / "s.log").read_text()
    assert text.count("Sync completed successfully.") == 2
    assert not list(workdir.glob("s.log.*"))
    assert _sync("--log-file-overwrite", "--log-file-max-size", "1") == 0
    assert (workdir / "s.log").read_text().count("Sync completed successfully.") == 1
    capsys.readouterr()


def test_backups_must_be_at_least_one(write, capsys):
    write("a.yml", config(source_doc(spec="num_rows: 5"), sqlite_doc()))
    try:
        code = _sync("--log-file-max-backups", "0")
    except SystemExit as e:
        code = int(str(e.code))
    assert code == 2
    assert (
        "--log-file-max-backups: '0' is not a whole number of at least 1" in capsys.readouterr().err
    )
