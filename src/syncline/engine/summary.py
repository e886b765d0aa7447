"""What a sync did, per source and destination, and the JSON-lines summary file."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from syncline import __version__


@dataclass
class TableStats:
    rows: int = 0
    errors: int = 0
    started: float = 0.0
    finished: float = 0.0


@dataclass
class SourceResult:
    source_name: str  # as configured (without shard suffix)
    source_path: str
    destinations: list[tuple[str, str]]  # (name, path)
    sync_id: str
    sync_time: datetime
    shard: tuple[int, int] | None = None
    sync_group_ids: dict[str, str] = field(default_factory=dict)
    tables: dict[str, TableStats] = field(default_factory=dict)
    duration_s: float = 0.0
    cursors: dict[str, str | None] = field(default_factory=dict)  # last committed, per key
    warnings: int = 0
    failed: str | None = None

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    @property
    def errors(self) -> int:
        return sum(t.errors for t in self.tables.values())

    def table(self, name: str) -> TableStats:
        return self.tables.setdefault(name, TableStats())

    def summaries(self) -> list[dict[str, object]]:
        out = []
        for name, path in self.destinations:
            s: dict[str, object] = {
                "cli_version": __version__,
                "destination_errors": 1 if self.failed else 0,
                "destination_name": name,
                "destination_path": path,
                "destination_version": __version__,
                "destination_warnings": 0,
                "resources": self.rows,
                "source_errors": self.errors,
                "source_name": self.source_name,
                "source_path": self.source_path,
                "source_version": __version__,
                "source_warnings": self.warnings,
                "source_tables": sorted(self.tables),
                "sync_id": self.sync_id,
                "sync_time": self.sync_time.isoformat().replace("+00:00", "Z"),
                "sync_duration_ms": int(self.duration_s * 1000),
                "resources_per_table": {k: v.rows for k, v in sorted(self.tables.items())},
                "errors_per_table": {k: v.errors for k, v in sorted(self.tables.items())},
                "durations_per_table_ms": {
                    k: int(max(v.finished - v.started, 0) * 1000)
                    for k, v in sorted(self.tables.items())
                },
            }
            if self.sync_group_ids.get(name):
                s["sync_group_id"] = self.sync_group_ids[name]
            if self.shard:
                s["shard_num"], s["shard_total"] = self.shard
            out.append(s)
        return out


def append_summaries(path: str, results: list[SourceResult]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as f:
        for r in results:
            for s in r.summaries():
                f.write(json.dumps(s, sort_keys=True) + "\n")


_METRICS_HEADER = (
    "TABLE",
    "CLIENT ID",
    "START TIME",
    "END TIME",
    "DURATION",
    "RESOURCES",
    "ERRORS",
    "PANICS",
)


def _go_duration(seconds: float) -> str:
    """A duration as Go prints one (``350ms``, ``1.5s``, ``2m3.5s``), as CloudQuery's table."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


def write_tables_metrics(path: str, results: list[SourceResult]) -> None:
    """Per-table metrics as a text table with CloudQuery's columns (``--tables-metrics-location``).

    Times are wall-clock UTC; syncline has no per-client split, so the client id column
    holds the source name.
    """
    wall_offset = time.time() - time.monotonic()  # table times are monotonic readings
    rows = []
    for r in results:
        for name, t in sorted(r.tables.items()):
            start = datetime.fromtimestamp(t.started + wall_offset, UTC) if t.started else None
            end = datetime.fromtimestamp(t.finished + wall_offset, UTC) if t.finished else None
            rows.append(
                (
                    name,
                    r.source_name,
                    start.strftime("%Y-%m-%dT%H:%M:%SZ") if start else "",
                    end.strftime("%Y-%m-%dT%H:%M:%SZ") if end else "",
                    _go_duration(max(t.finished - t.started, 0)) if start and end else "",
                    str(t.rows),
                    str(t.errors),
                    "0",
                )
            )
    widths = [max(len(str(c)) for c in col) for col in zip(_METRICS_HEADER, *rows, strict=False)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: tuple[str, ...]) -> str:
        return "|" + "|".join(f" {c:<{w}} " for c, w in zip(cells, widths, strict=True)) + "|"

    text = [rule, line(_METRICS_HEADER), rule, *(line(r) for r in rows), rule]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(text) + "\n", encoding="utf-8")
