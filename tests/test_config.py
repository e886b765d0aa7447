"""Config loading: the seed shapes load unchanged, and every error names file, document and key."""

from __future__ import annotations

import pytest
from conftest import config, source_doc, sqlite_doc

from syncline.config import ConfigErrors, WriteMode, read_config
from syncline.config.errors import ConfigError

SEED_SQLITE_STATE = """\
kind: source
spec:
  name: aws
  path: cloudquery/aws
  registry: cloudquery
  version: "VERSION_SOURCE_AWS"
  tables: ["aws_cloudtrail_events"]
  destinations: ["bigquery"]
  backend_options:
    table_name: "cq_state_aws"
    connection: "@@plugins.sqlite.connection"
  spec:
    # AWS integration specific configuration
    # ...
---
kind: destination
spec:
  name: bigquery
  path: cloudquery/bigquery
  registry: cloudquery
  version: "VERSION_DESTINATION_BIGQUERY"
  write_mode: "append"
  spec:
    project_id: ${PROJECT_ID}
    dataset_id: ${DATASET_ID}
---
kind: destination
spec:
  name: sqlite
  path: cloudquery/sqlite
  registry: cloudquery
  version: "VERSION_DESTINATION_SQLITE"
  spec:
    connection_string: ./db.sqlite
"""


def test_seed_config_loads_unchanged(write, monkeypatch):
    monkeypatch.setenv("PROJECT_ID", "my-project")
    monkeypatch.setenv("DATASET_ID", "my_dataset")
    cfg = read_config([str(write("seed.yml", SEED_SQLITE_STATE))])
    src = cfg.sources[0].spec
    assert src.name == "aws" and src.tables == ["aws_cloudtrail_events"]
    assert src.backend_options.table_name == "cq_state_aws"
    assert src.spec == {}  # a spec with only comments is empty
    bq, sqlite = (d.spec for d in cfg.destinations)
    assert bq.write_mode is WriteMode.APPEND and bq.spec == {
        "project_id": "my-project",
        "dataset_id": "my_dataset",
    }
    assert sqlite.write_mode is WriteMode.OVERWRITE_DELETE_STALE  # the default
    assert sqlite.migrate_mode.value == "safe" and sqlite.pk_mode.value == "default"
    assert src.skip_dependent_tables is True and src.registry.value == "cloudquery"


def test_defaults_and_directory_loading(write, workdir):
    (workdir / "conf").mkdir()
    (workdir / "conf" / "1-source.yml").write_text(source_doc())
    (workdir / "conf" / "2-dest.yaml").write_text(sqlite_doc())
    (workdir / "conf" / ".hidden.yml").write_text("not: [valid")
    (workdir / "conf" / "notes.txt").write_text("ignored")
    cfg = read_config([str(workdir / "conf")])
    assert [s.spec.name for s in cfg.sources] == ["test"]
    assert [d.spec.name for d in cfg.destinations] == ["sqlite"]


def test_env_and_file_placeholders(write, monkeypatch):
    monkeypatch.setenv("ROWS", "42")
    monkeypatch.setenv("DB", "data.sqlite")
    write("conn.txt", "from-file.sqlite")
    text = config(
        source_doc(spec="num_rows: ${ROWS}\n# a comment with ${NOT_SET} is ignored"),
        sqlite_doc(path='"${DB}"'),
        sqlite_doc(name="other", path="${file:conn.txt}"),
    )
    cfg = read_config([str(write("a.yml", text))])
    assert cfg.sources[0].spec.spec == {"num_rows": 42}  # unquoted: a number
    assert cfg.destinations[0].spec.spec["connection_string"] == "data.sqlite"
    assert cfg.destinations[1].spec.spec["connection_string"] == "from-file.sqlite"


FLOW = """\
kind: source
spec: {name: test, path: cloudquery/test, tables: ["${TABLE}"], destinations: [sqlite], spec: {num_rows: ${ROWS}, num_events: 0}}  # ${NOT_SET}
---
kind: destination
spec:
  name: sqlite
  path: cloudquery/sqlite
  spec: {connection_string: "${DB}", batch_size: ${ROWS}}
"""


def test_placeholders_in_flow_style_yaml(write, monkeypatch):
    monkeypatch.setenv("ROWS", "7")
    monkeypatch.setenv("TABLE", "test_some_table")
    monkeypatch.setenv("DB", "x.sqlite")
    cfg = read_config([str(write("a.yml", FLOW))])
    assert cfg.sources[0].spec.tables == ["test_some_table"]
    assert cfg.sources[0].spec.spec == {"num_rows": 7, "num_events": 0}
    assert cfg.destinations[0].spec.spec == {"connection_string": "x.sqlite", "batch_size": 7}
    monkeypatch.delenv("ROWS")
    assert "env variable ROWS not found" in _error(write, FLOW)


@pytest.mark.parametrize(
    ("placeholder", "expected"),
    [
        ("${time:2024-03-05T14:07:08Z}", "2024-03-05T14:07:08Z"),
        ("${time:2024-03-05T14:07:08Z|2006-01-02}", "2024-03-05"),
        ("${time:2024-03-05T14:07:08.123456Z|20060102T150405.000}", "20240305T140708.123"),
        ("${time:2024-03-05T14:07:08Z|Jan _2 03:04PM MST}", "Mar  5 02:07PM UTC"),
        ("${time:2024-03-05T14:07:08Z|2006-01-02T15:04:05.999-07:00}", "2024-03-05T14:07:08+00:00"),
        ("x-${time:2024-03-05|06/1/2}-y", "x-24/3/5-y"),
    ],
)
def test_time_placeholders_use_go_layouts(write, placeholder, expected):
    text = config(source_doc(), sqlite_doc(path=f'"{placeholder}"'))
    cfg = read_config([str(write("a.yml", text))])
    assert cfg.destinations[0].spec.spec["connection_string"] == expected


def _error(write, text: str, relaxed: bool = False) -> str:
    with pytest.raises((ConfigError, ConfigErrors)) as info:
        read_config([str(write("bad.yml", text))], relaxed=relaxed)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            config(source_doc(), sqlite_doc(extra="write_mod: append")),
            "bad.yml (document 2, line 16): spec.write_mod: unknown key",
        ),
        (
            config(source_doc(), sqlite_doc(extra="write_mode: sometimes")),
            "bad.yml (document 2, line 16): spec.write_mode: invalid write mode: sometimes",
        ),
        (
            config(source_doc(), sqlite_doc(extra="migrate_mode: maybe")),
            "spec.migrate_mode: invalid migrate mode: maybe",
        ),
        (config(source_doc(), sqlite_doc(extra="pk_mode: x")), "spec.pk_mode: invalid pk mode: x"),
        (
            config(source_doc().replace('  tables: ["*"]\n', ""), sqlite_doc()),
            "bad.yml (document 1, line 2): spec.tables: tables configuration is required",
        ),
        (
            config(source_doc().replace("  name: test\n", ""), sqlite_doc()),
            "(document 1, line 2): spec.name: name is required",
        ),
        (
            config(source_doc().replace("  path: cloudquery/test\n", ""), sqlite_doc()),
            "spec.path: path is required",
        ),
        (
            config(source_doc(destinations=("nowhere",)), sqlite_doc()),
            "bad.yml (document 1, line 8): spec.destinations.0: source test references unknown destination nowhere",
        ),
        (
            config(source_doc(), sqlite_doc(), sqlite_doc()),
            "bad.yml (document 3, line 21): spec.name: duplicate destination name sqlite",
        ),
        (
            config(source_doc(), source_doc(), sqlite_doc()),
            "(document 2, line 12): spec.name: duplicate source name test",
        ),
        (
            config(source_doc(), sqlite_doc(extra='sync_group_id: "{{YEAR}}"')),
            "spec.sync_group_id: destination sqlite: sync_group_id is not supported with write_mode: overwrite-delete-stale",
        ),
        (
            config(source_doc(), sqlite_doc(path="${SYNCLINE_UNSET_VAR}")),
            "bad.yml (document 2, line 17): spec.spec.connection_string: env variable SYNCLINE_UNSET_VAR not found",
        ),
        (
            config(source_doc(), sqlite_doc(path="${file:missing.txt}")),
            "spec.spec.connection_string: cannot read ${file:missing.txt}",
        ),
        (
            config(
                source_doc(),
                "kind: destination\nspec:\n  name: x\n  name: y\n  path: cloudquery/sqlite\n",
            ),
            "bad.yml (document 2, line 13): spec.name: duplicate key",
        ),
        (
            config(source_doc(), "kind: destination\nspec: [unclosed\n"),
            "bad.yml (document 2, line 12): invalid YAML",
        ),
        (
            config(source_doc(), "kind: sink\nspec: {}\n"),
            "(document 2, line 10): kind: unknown kind sink",
        ),
        (config(source_doc(), "spec: {name: x}\n"), "(document 2): kind: kind is required"),
        (
            config(source_doc(), sqlite_doc(), "kind: source\nspec: {}\nextra: 1\n"),
            "(document 3, line 21): extra: unknown key",
        ),
        (
            config(source_doc(tables='"test_*"'), sqlite_doc()),
            "spec.tables: input should be a valid list",
        ),
        (
            config(source_doc(extra="concurrency: 10"), sqlite_doc()),
            "spec.concurrency: unknown key",
        ),
        (
            config(source_doc().replace("registry: cloudquery", "registry: nowhere"), sqlite_doc()),
            "spec.registry: invalid registry: nowhere",
        ),
        (source_doc(), "expecting at least one destination"),
        (sqlite_doc(), "expecting at least one source"),
        ("", "expecting at least one source"),
    ],
)
def test_config_errors_name_file_document_and_key(write, text, expected):
    assert expected in _error(write, text)


def test_every_error_is_reported_at_once(write):
    text = config(source_doc(destinations=("a", "b")), sqlite_doc())
    message = _error(write, text)
    assert "unknown destination a" in message and "unknown destination b" in message


def test_missing_file(workdir):
    with pytest.raises(ConfigError, match=r"nope\.yml: file not found"):
        read_config(["nope.yml"])


def test_alias_bomb_is_refused(write):
    bomb = "kind: source\nspec:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        prev = chr(ord(level) - 1)
        bomb += f"  {level}: &{level} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    assert "document too large" in _error(write, bomb)


def test_cli_config_error_exits_1_before_connecting(write, run_cli, workdir):
    write("a.yml", config(source_doc(), sqlite_doc(extra="write_mod: append")))
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "a.yml (document 2, line 16): spec.write_mod: unknown key" in r.err
    assert not (workdir / "db.sqlite").exists()


def test_plugin_spec_errors_name_the_nested_key(write, run_cli, workdir):
    write("a.yml", config(source_doc(spec="num_rowz: 3"), sqlite_doc()))
    r = run_cli("validate-config", "a.yml")
    assert r.code == 1
    assert "a.yml (document 1, line 10): spec.spec.num_rowz: unknown key" in r.err
    write("a.yml", config(source_doc(), sqlite_doc(spec="batch_size: -1")))
    r = run_cli("validate-config", "a.yml")
    assert (
        "(document 2, line 18): spec.spec.batch_size: input should be greater than or equal to 1"
        in r.err
    )
    write(
        "a.yml", config(source_doc().replace("cloudquery/test", "cloudquery/nothing"), sqlite_doc())
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert (
        "(document 1, line 4): spec.path: unknown source plugin cloudquery/nothing (available: cloudquery/aws, cloudquery/postgresql, cloudquery/test)"
        in r.err
    )
    assert not (workdir / "db.sqlite").exists()


def test_validate_config_accepts_a_good_config(write, run_cli):
    write("a.yml", config(source_doc(), sqlite_doc()))
    r = run_cli("validate-config", "a.yml")
    assert r.code == 0 and "Config is valid." in r.out
