"""Values PostgreSQL holds that Arrow and most destinations do not, synced from the PostgreSQL
source into every built-in destination and read back: nothing mangled, nothing lost silently."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from conftest import config

pytestmark = pytest.mark.pg

SCHEMA = """
CREATE TABLE fidelity (
    id integer PRIMARY KEY,
    ts timestamp,
    tstz timestamptz,
    d date,
    amount numeric(10, 2),
    ints integer[],
    floats double precision[],
    grid integer[],
    "_cq_id" text,
    "_cq_sync_time" text,
    "__syncline_row" integer
);
INSERT INTO fidelity VALUES
 (1, 'infinity', '-infinity', 'infinity', 'NaN', '{1,NULL,3}', '{1.5,NaN,Infinity,-Infinity}',
  '{{1,2},{3,4}}', 'mine', 'then', 7),
 (2, '-infinity', 'infinity', '-infinity', 12.5, NULL, '{}', '{5}', 'theirs', NULL, 8),
 (3, '10000-01-01 00:00:00', '2024-05-06 07:08:09.123456+00', '12000-02-03', 1, '{}', NULL,
  NULL, NULL, NULL, NULL),
 (4, '2024-01-01 00:00:00', '2024-01-01 00:00:00+00', '2024-01-01', NULL, '{NULL}', '{2.5}',
  '{{7}}', 'x', 'y', 9);
"""

# id -> ts, tstz, d, amount, ints, floats, grid, _cq_id_source, _cq_sync_time_source, row
EXPECTED: dict[int, tuple[Any, ...]] = {
    1: (
        "infinity",
        "-infinity",
        "infinity",
        None,  # numeric NaN: a decimal cannot hold it -> NULL and a warning
        [1, None, 3],
        ["1.5", "nan", "inf", "-inf"],
        [[1, 2], [3, 4]],
        "mine",
        "then",
        7,
    ),
    2: ("-infinity", "infinity", "-infinity", "12.50", None, [], [5], "theirs", None, 8),
    3: (
        "10000-01-01 00:00:00",
        "2024-05-06 07:08:09.123456",
        "12000-02-03",
        "1.00",
        [],
        None,
        None,
        None,
        None,
        None,
    ),
    4: (
        "2024-01-01 00:00:00",
        "2024-01-01 00:00:00",
        "2024-01-01",
        None,
        [None],
        ["2.5"],
        [[7]],
        "x",
        "y",
        9,
    ),
}
COLUMNS = (
    "id, ts, tstz, d, amount, ints, floats, grid, _cq_id_source, _cq_sync_time_source, "
    "__syncline_row"
)


def _time(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).replace("T", " ").removesuffix("Z").removesuffix("+00:00").removesuffix("+00")
    return s.removesuffix(".000000")


def _floats(v: Any) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = json.loads(v)
    return [repr(float(x)) if not isinstance(x, str) else repr(float(_NAMED[x])) for x in v]


_NAMED = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _json(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def _amount(v: Any) -> str | None:
    return None if v is None or v == "" else f"{float(v):.2f}"


def _int(v: Any) -> int | None:
    return None if v is None or v == "" else int(v)


def _text(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)


def normalise(row: tuple[Any, ...]) -> tuple[int, tuple[Any, ...]]:
    (i, ts, tstz, d, amount, ints, floats, grid, cq, st, r) = row
    ints = _json(ints)
    return int(i), (
        _time(ts),
        _time(tstz),
        _time(d),
        _amount(amount),
        ints,
        _floats(floats),
        _json(grid),
        _text(cq),
        _text(st),
        _int(r),
    )


def expected() -> dict[int, tuple[Any, ...]]:
    out = {}
    for i, row in EXPECTED.items():
        v = list(row)
        v[3] = _amount(v[3])
        v[5] = None if v[5] is None else [repr(float(x)) for x in v[5]]
        out[i] = tuple(v)
    return out


@pytest.fixture
def pg_fidelity(pg_url: str) -> str:
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute(SCHEMA)
    return pg_url


def _source(url: str, dest: str) -> str:
    return f"""\
kind: source
spec:
  name: pg
  path: cloudquery/postgresql
  tables: [fidelity]
  destinations: [{dest}]
  spec:
    connection_string: "{url}"
"""


def _destination(kind: str, workdir: Path, target_url: str) -> str:
    if kind in ("sqlite", "duckdb"):
        spec = f"connection_string: {workdir / ('out.' + kind)}"
        path = f"cloudquery/{kind}"
        mode = ""
    elif kind == "postgresql":
        spec = f'connection_string: "{target_url}"'
        path = "cloudquery/postgresql"
        mode = ""
    else:
        spec = f"directory: {workdir / 'files'}\n    format: {kind}"
        path = "cloudquery/file"
        mode = "  write_mode: append\n"
    return f"""\
kind: destination
spec:
  name: {kind}
  path: {path}
{mode}  spec:
    {spec}
"""


def read_back(kind: str, workdir: Path, target_url: str) -> dict[int, tuple[Any, ...]]:
    if kind == "postgresql":
        with psycopg.connect(target_url) as c:
            rows = c.execute(
                "SELECT id, ts::text, tstz::text, d::text, amount::text, ints, "
                "array_to_json(floats)::text, grid::text, _cq_id_source, _cq_sync_time_source, "
                "__syncline_row FROM fidelity"
            ).fetchall()
    elif kind == "duckdb":
        with duckdb.connect(str(workdir / "out.duckdb")) as c:
            rows = c.sql(
                "SELECT id, ts::varchar, tstz::varchar, d::varchar, amount::varchar, ints, "
                "floats, grid, _cq_id_source, _cq_sync_time_source, __syncline_row FROM fidelity"
            ).fetchall()
    elif kind == "sqlite":
        with sqlite3.connect(workdir / "out.sqlite") as c:
            rows = c.execute(f"SELECT {COLUMNS} FROM fidelity").fetchall()
        for r in rows:  # every JSON text is valid, strict JSON
            for v in (r[5], r[6], r[7]):
                if v is not None:
                    json.loads(v, parse_constant=_refuse)
    elif kind == "parquet":
        # DuckDB reads the int64 extremes as its own infinities: the files keep the values.
        files = str(workdir / "files" / "fidelity" / "*.parquet")
        with duckdb.connect() as c:
            rows = c.sql(
                "SELECT id, ts::varchar, tstz::varchar, d::varchar, amount::varchar, ints, "
                "floats, grid::varchar, _cq_id_source, _cq_sync_time_source, __syncline_row "
                f"FROM read_parquet('{files}')"
            ).fetchall()
    elif kind == "csv":
        files = str(workdir / "files" / "fidelity" / "*.csv")
        with duckdb.connect() as c:
            rows = c.sql(f"SELECT {COLUMNS} FROM read_csv('{files}', all_varchar=true)").fetchall()
    else:
        rows = []
        for f in (workdir / "files" / "fidelity").glob("*.json"):
            for line in f.read_text().splitlines():
                r = json.loads(line, parse_constant=_refuse)
                rows.append(tuple(r[c.strip()] for c in COLUMNS.split(",")))
    return dict(normalise(r) for r in rows)


def _refuse(name: str) -> Any:
    raise AssertionError(f"not JSON: {name}")


DESTINATIONS = ["sqlite", "duckdb", "postgresql", "parquet", "csv", "json"]


@pytest.mark.parametrize("kind", DESTINATIONS)
def test_postgresql_values_survive_every_destination(
    kind, write, run_cli, workdir, pg_fidelity, pg_server
):
    target = pg_server.create_database(f"fidelity_target_{kind}_{workdir.name[-6:]}".lower())
    write("f.yml", config(_source(pg_fidelity, kind), _destination(kind, workdir, target)))
    r = run_cli("sync", "f.yml")
    assert r.code == 0, r.err + r.out
    assert "Resources: 4, Errors: 0" in r.out
    assert "numeric NaN/Infinity by NULL" in r.err  # the lost NaN is counted, not silent
    assert "column _cq_id is delivered as _cq_id_source" in r.err
    assert read_back(kind, workdir, target) == expected()
    if kind in ("sqlite", "duckdb", "postgresql"):  # a second sync upserts the same rows
        r = run_cli("sync", "f.yml")
        assert r.code == 0, r.err + r.out
        assert read_back(kind, workdir, target) == expected()


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_tables_differing_only_in_case_fail_before_any_row(
    kind, write, run_cli, workdir, pg_url, pg_server
):
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute('CREATE TABLE "CaseT" (id int PRIMARY KEY, v text)')
        c.execute("CREATE TABLE caset (id int PRIMARY KEY, v text)")
        c.execute("""INSERT INTO "CaseT" VALUES (1, 'upper'), (2, 'upper')""")
        c.execute("INSERT INTO caset VALUES (1, 'lower')")
    src = _source(pg_url, kind).replace("tables: [fidelity]", 'tables: ["*"]')
    write("f.yml", config(src, _destination(kind, workdir, "")))
    r = run_cli("sync", "f.yml")
    assert r.code == 1
    message = r.err + r.out
    assert "tables CaseT and caset differ only in case" in message
    if kind == "sqlite":
        with sqlite3.connect(workdir / "out.sqlite") as c:
            names = [n for (n,) in c.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            counts = [c.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names]
    else:
        with duckdb.connect(str(workdir / "out.duckdb")) as c:
            names = [
                n for (n,) in c.sql("SELECT table_name FROM information_schema.tables").fetchall()
            ]
            counts = [c.sql(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in names]
    assert sum(counts) == 0  # nothing written, nothing overwritten


def test_tables_differing_only_in_case_stay_apart_in_postgresql(
    write, run_cli, workdir, pg_url, pg_server
):
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute('CREATE TABLE "CaseT" (id int PRIMARY KEY, v text)')
        c.execute("CREATE TABLE caset (id int PRIMARY KEY, v text)")
        c.execute("""INSERT INTO "CaseT" VALUES (1, 'upper'), (2, 'upper')""")
        c.execute("INSERT INTO caset VALUES (1, 'lower')")
    target = pg_server.create_database(f"case_target_{workdir.name[-6:]}".lower())
    src = _source(pg_url, "postgresql").replace("tables: [fidelity]", 'tables: ["*"]')
    write("f.yml", config(src, _destination("postgresql", workdir, target)))
    r = run_cli("sync", "f.yml")
    assert r.code == 0, r.err
    with psycopg.connect(target) as c:
        assert c.execute('SELECT v FROM "CaseT" ORDER BY id').fetchall() == [("upper",)] * 2
        assert c.execute("SELECT v FROM caset").fetchall() == [("lower",)]
