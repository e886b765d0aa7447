"""The BigQuery destination's spec: CloudQuery's keys and defaults."""

from __future__ import annotations

import json
from enum import StrEnum

from pydantic import Field, SecretStr, field_validator

from syncline.plugin.specs import BatchSpec, Duration


class TimePartitioning(StrEnum):
    NONE = "none"
    HOUR = "hour"
    DAY = "day"


class BigQuerySpec(BatchSpec):
    project_id: str = Field(min_length=1, description="Google Cloud project of the dataset.")
    dataset_id: str = Field(min_length=1, description="Dataset the tables are written to.")
    dataset_location: str = Field(
        "", description="Location of the dataset (used when syncline creates it, and for jobs)."
    )
    time_partitioning: TimePartitioning = Field(
        TimePartitioning.NONE,
        description="none, hour or day: new tables are partitioned by _cq_sync_time.",
    )
    service_account_key_json: SecretStr = Field(
        SecretStr(""),
        description="A service account key (JSON text); empty: Application Default Credentials.",
    )
    endpoint: str = Field(
        "",
        description="API endpoint, e.g. an emulator's http://host:port (anonymous credentials "
        "unless a key is given). BIGQUERY_EMULATOR_HOST=host:port does the same.",
    )
    batch_size: int = Field(10_000, ge=1, description="Rows per write.")
    batch_size_bytes: int = Field(5 * 1024 * 1024, ge=1, description="Arrow bytes per write.")
    batch_timeout: Duration = Field(10.0, gt=0, description="Flush buffered rows after this long.")

    @field_validator("service_account_key_json")
    @classmethod
    def _key_is_json(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        if text:
            try:
                json.loads(text)
            except ValueError:
                raise ValueError("invalid JSON (the key's text is not shown)") from None
        return value
