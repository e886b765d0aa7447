"""Spec fields shared by plugins: durations and destination batch settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from syncline.config.durations import Duration, parse_duration
from syncline.plugin.contracts import BatchLimits

__all__ = ["BatchSpec", "Duration", "TableOptions", "parse_duration"]


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

    # Built on first use, like each destination's spec that extends it: a run builds only the
    # specs of the plugins it uses.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    batch_size: int = Field(10_000, ge=1, description="Rows per write transaction.")
    batch_size_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="Arrow bytes per write transaction."
    )
    batch_timeout: Duration = Field(20.0, gt=0, description="Flush buffered rows after this long.")
    buffer_size_bytes: int = Field(
        128 * 1024 * 1024,
        ge=1,
        description="Arrow bytes buffered for all tables together; past it the oldest "
        "buffers are written first.",
    )

    def limits(self) -> BatchLimits:
        return BatchLimits(
            self.batch_size, self.batch_size_bytes, self.batch_timeout, self.buffer_size_bytes
        )
