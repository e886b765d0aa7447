"""Run a sync from Python: the config as dicts, per-table figures from the typed result.

Run it from any folder: it writes ./python_api.sqlite.
"""

from __future__ import annotations

import logging
import threading

import syncline


class PrintErrors(syncline.NoProgress):
    """Progress callbacks: only table errors are of interest here."""

    def table_error(self, table: str, message: str) -> None:
        print(f"table {table} failed: {message}")


def run(stop: threading.Event | None = None) -> syncline.SyncResult:
    source = {
        "kind": "source",
        "spec": {
            "name": "test",
            "path": "cloudquery/test",
            "tables": ["test_some_table"],
            "destinations": ["sqlite"],
            "spec": {"num_rows": 100},
        },
    }
    destination = {
        "kind": "destination",
        "spec": {
            "name": "sqlite",
            "path": "cloudquery/sqlite",
            "write_mode": "overwrite-delete-stale",
            "spec": {"connection_string": "python_api.sqlite"},
        },
    }
    return syncline.sync([source, destination], progress=PrintErrors(), stop=stop)


def main() -> int:
    # syncline logs to the "syncline" logger; the application decides where records go.
    logging.basicConfig(level=logging.WARNING)
    try:
        result = run()
    except syncline.SyncFailedError as e:
        print(f"sync failed: {e} ({e.result.rows} rows written before)")
        return 1
    for source in result.sources:
        for table in source.tables.values():
            print(f"{table.name}: {table.rows} rows, {table.errors} errors")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
