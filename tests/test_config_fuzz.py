"""Malformed configs, generated from a seed: each is a config error (exit 1) naming the file,
found before anything connects (no file created), with no traceback."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import config, run_subprocess, source_doc, sqlite_doc

from syncline.cli.main import main

SEED = 20261201
VALID = config(
    source_doc(
        spec="num_rows: 5\nnum_clients: 1\nbatch_size: 100",
        extra='backend_options:\n  table_name: cq_state\n  connection: "@@plugins.sqlite.connection"',
    ),
    sqlite_doc(spec="batch_size: 1000"),
)
TAGS = [
    "!foo 5",
    "!bar",
    "!!int 'abc'",
    "!!float 'x'",
    "!!bool 'maybe'",
    "!!timestamp 'yesterday'",
    "!!binary 'ø'",
    "!!python/object:os.system 'x'",
    "!!map 5",
    "!!seq 5",
    "!!set 5",
    "!<tag:example.com,2000:x> 1",
    "!!null 'not null'",
]
SCALAR_KEYS = ["num_rows", "num_clients", "batch_size", "name", "path", "version"]
NUMERIC_KEYS = ["num_rows", "num_clients", "batch_size"]
TOP_KEYS = ["name", "path", "tables", "destinations", "registry"]


def _replace_value(text: str, key: str, value: str, rng: random.Random) -> str:
    spots = [m for m in re.finditer(rf"^(\s*{key}): .*$", text, re.M)]
    m = rng.choice(spots)
    return text[: m.start()] + f"{m.group(1)}: {value}" + text[m.end() :]


def _tag(rng: random.Random) -> str:
    return _replace_value(VALID, rng.choice(SCALAR_KEYS), rng.choice(TAGS), rng)


def _deep(rng: random.Random) -> str:
    n = rng.randint(1_001, 50_000)
    if rng.random() < 0.5:
        return VALID.replace("num_rows: 5", "num_rows: " + "[" * n + "]" * n)
    return VALID.replace("num_rows: 5", "num_rows: " + "{a: " * n + "1" + "}" * n)


def _huge(rng: random.Random) -> str:
    value = str(10 ** rng.randint(19, 60))
    if rng.random() < 0.3:
        value = "-" + value
    return _replace_value(VALID, rng.choice(NUMERIC_KEYS), value, rng)


def _tables(rng: random.Random) -> str:
    choice = rng.choice(
        [
            "tables: []",
            f'tables: ["nope_{rng.randint(0, 999)}"]',
            f'tables: ["test_*", "missing_{rng.randint(0, 999)}"]',
            "tables: 5",
            "tables: {a: 1}",
            "tables: [[1]]",
        ]
    )
    return VALID.replace('tables: ["*"]', choice)


def _unknown_key(rng: random.Random) -> str:
    key = f"unknown_{rng.randint(0, 9999)}"
    spot = rng.choice(["spec:\n  name: test", "kind: destination", "  spec:\n    num_rows"])
    if spot == "kind: destination":
        return VALID.replace(spot, f"{spot}\n{key}: 1")
    head, tail = spot.split("\n")
    indent = re.match(r"\s*", tail).group(0)  # type: ignore[union-attr]
    return VALID.replace(spot, f"{head}\n{indent}{key}: 1\n{tail}", 1)


def _enum(rng: random.Random) -> str:
    key = rng.choice(["write_mode", "migrate_mode", "pk_mode"])
    value = rng.choice(["overwrite-all", "Append", "${HOME}", "42", "[a]", "''"])
    return VALID.replace(
        "  spec:\n    connection_string", f"  {key}: {value}\n  spec:\n    connection_string"
    )


def _missing(rng: random.Random) -> str:
    key = rng.choice(TOP_KEYS[:4])
    lines = VALID.split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(f"  {key}:"))
    return "\n".join(lines[:index] + lines[index + 1 :])


def _syntax(rng: random.Random) -> str:
    breakers = [
        ("name: test", 'name: "test'),
        ("name: test", "name: [test"),
        ("name: test", "name: test: : x"),
        ("  path: cloudquery/test", "\tpath: cloudquery/test"),
        ("spec:\n  name: test", "spec:\n name: test\n   path: x"),
        ("kind: source", "kind: source\nkind: source"),
        ("num_rows: 5", "num_rows: *undefined_alias"),
        ("num_rows: 5", "<<: {a: 1}\n    num_rows: 5"),
        ("kind: source", "- kind: source"),
        ("kind: source", "kind: transformer"),
        ("kind: source", f"kind: other_{rng.randint(0, 99)}"),
        ("spec:\n  name: test", "spec: [1, 2]\nx:\n  name: test"),
        ("kind: source", "%YAML 9.9\n---\nkind: source"),
    ]
    old, new = rng.choice(breakers)
    return VALID.replace(old, new, 1)


def _placeholder(rng: random.Random) -> str:
    value = rng.choice(
        [
            f"${{SYNCLINE_FUZZ_UNSET_{rng.randint(0, 9999)}}}",
            f"${{file:/nonexistent/{rng.randint(0, 9999)}}}",
            "${time:the day after tomorrow}",
        ]
    )
    return _replace_value(VALID, rng.choice(["num_rows", "name"]), value, rng)


def _backend(rng: random.Random) -> str:
    choice = rng.choice(
        [
            '"@@plugins.nowhere.connection"',
            '"@@plugin.sqlite.connection"',
            '""',
        ]
    )
    return VALID.replace('"@@plugins.sqlite.connection"', choice)


def _shared_state(rng: random.Random) -> str:
    second = source_doc(
        name=f"other_{rng.randint(0, 99)}",
        extra='backend_options:\n  table_name: cq_state\n  connection: "@@plugins.sqlite.connection"',
    )
    return config(VALID, second)


def _bytes(rng: random.Random) -> bytes:
    raw = bytearray(VALID.encode())
    for _ in range(rng.randint(1, 5)):
        raw.insert(rng.randrange(len(raw)), rng.choice([0xFF, 0xFE, 0xC3, 0x80]))
    return bytes(raw)


def _bomb(rng: random.Random) -> str:
    levels = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        levels.append(f"a{i}: &a{i} [{refs}]")
    bomb = "\n".join("    " + line for line in levels)
    return VALID.replace("    num_rows: 5", bomb)


GENERATORS: list[Callable[[random.Random], str | bytes]] = [
    _tag,
    _tag,
    _deep,
    _huge,
    _tables,
    _unknown_key,
    _enum,
    _missing,
    _syntax,
    _syntax,
    _placeholder,
    _backend,
    _shared_state,
    _bytes,
]


def generated(count: int) -> list[tuple[str, str | bytes]]:
    rng = random.Random(SEED)
    out = [("bomb", _bomb(rng))]
    for i in range(count - 1):
        gen = GENERATORS[i % len(GENERATORS)]
        out.append((f"{gen.__name__.strip('_')}_{i}", gen(rng)))
    return out


CASES = generated(120)


def test_the_unmutated_config_is_valid(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.yml").write_text(VALID)
    assert main(["validate-config", "--no-log-file", "ok.yml"]) == 0, capsys.readouterr()


@pytest.mark.parametrize("name,text", CASES, ids=[c[0] for c in CASES])
def test_malformed_config_is_a_clear_config_error(
    name: str, text: str | bytes, tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYNCLINE_LOCK_DIR", raising=False)
    path = tmp_path / f"fuzz_{name}.yml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    code = main(["sync", "--no-log-file", path.name])
    out = capsys.readouterr()
    message = out.out + out.err
    assert code == 1, message
    assert path.name in message, message
    assert "Traceback" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # nothing opened


@pytest.mark.parametrize(
    "value",
    ["!foo 5", "!!int 'abc'", "[" * 50_000 + "]" * 50_000, str(10**30)],
    ids=["custom-tag", "bad-int", "deep", "huge"],
)
def test_the_real_command_prints_no_traceback(value: str, tmp_path: Path):
    path = tmp_path / "bad.yml"
    path.write_text(VALID.replace("num_rows: 5", f"num_rows: {value}"))
    p = run_subprocess(["sync", "--no-log-file", "bad.yml"], cwd=tmp_path, timeout=120)
    assert p.returncode == 1
    assert "bad.yml (document 1, line" in p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    assert sorted(f.name for f in tmp_path.iterdir()) == ["bad.yml"]


def test_a_config_too_large_to_be_one_is_refused_before_parsing(tmp_path: Path):
    keys = "\n".join(f"    k{i}: {i}" for i in range(700_000))
    path = tmp_path / "big.yml"
    path.write_text(VALID.replace("    num_rows: 5", keys))
    assert path.stat().st_size > 10_000_000
    p = run_subprocess(["sync", "--no-log-file", "big.yml"], cwd=tmp_path, timeout=120)
    assert p.returncode == 1
    assert "big.yml: file is too large for a config" in p.stdout + p.stderr
    assert "Traceback" not in p.stderr


def test_two_sources_on_one_state_table_are_refused(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two.yml").write_text(_shared_state(random.Random(1)).replace("other_17", "b"))
    assert main(["sync", "--no-log-file", "two.yml"]) == 1
    out = capsys.readouterr()
    assert (
        "spec.backend_options.table_name: sources test and b use the same state table cq_state"
        in out.out + out.err
    )
