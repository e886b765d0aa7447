"""Spec fields shared by plugins: durations and destination batch settings."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from syncline.plugin.contracts import BatchLimits

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a Go-style duration string such as ``20s``, ``1m30s``, ``500ms``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 20s")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        pos, total = 0, 0.0
        for m in _DURATION.finditer(text):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _SCALE[m.group(2)]
            pos = m.end()
        if text and pos == len(text):
            return total
    raise ValueError(f"invalid duration {value!r}, expected e.g. 20s, 1m or 500ms")


Duration = Annotated[float, BeforeValidator(parse_duration)]


class TableOptions(BaseModel):
    """Per-table settings of a source, under its spec's ``table_options.<table>``."""

    model_config = ConfigDict(extra="forbid")

    lag: Duration = Field(
        0.0,
        ge=0,
        description="Incremental tables: start each sync this long before the cursor, to pick "
        "up rows that arrive late (e.g. 10m); rows seen again are not repeated by primary key.",
    )


class BatchSpec(BaseModel):
    """``batch_size`` (rows), ``batch_size_bytes`` and ``batch_timeout`` of a destination."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(10_000, ge=1, description="Rows per write transaction.")
    batch_size_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="Arrow bytes per write transaction."
    )
    batch_timeout: Duration = Field(20.0, gt=0, description="Flush buffered rows after this long.")

    def limits(self) -> BatchLimits:
        return BatchLimits(self.batch_size, self.batch_size_bytes, self.batch_timeout)
