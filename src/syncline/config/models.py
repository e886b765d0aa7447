"""Validated specs for source, destination and transformer documents (CloudQuery's fields
and defaults)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from syncline.config.durations import Duration


class StrictModel(BaseModel):
    # Built on first use: a run validates a few of these models, and building one costs
    # milliseconds of start-up.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Registry(StrEnum):
    CLOUDQUERY = "cloudquery"
    LOCAL = "local"
    GRPC = "grpc"
    GITHUB = "github"
    DOCKER = "docker"


class WriteMode(StrEnum):
    OVERWRITE_DELETE_STALE = "overwrite-delete-stale"
    OVERWRITE = "overwrite"
    APPEND = "append"


class MigrateMode(StrEnum):
    SAFE = "safe"
    FORCED = "forced"


class PkMode(StrEnum):
    DEFAULT = "default"
    CQ_ID_ONLY = "cq-id-only"


class BackendOptions(StrictModel):
    table_name: str = ""
    connection: str = ""


class PluginSpec(StrictModel):
    name: str
    path: str
    registry: Registry = Registry.CLOUDQUERY
    # Accepted for compatibility; built-in plugins have the version of syncline itself.
    version: str = ""
    docker_registry_auth_token: str = ""
    spec: dict[str, Any] = Field(default_factory=dict)

    @field_validator("registry", mode="before")
    @classmethod
    def _empty_registry(cls, v: Any) -> Any:
        return "cloudquery" if v in ("", None) else v

    @field_validator("spec", mode="before")
    @classmethod
    def _null_spec(cls, v: Any) -> Any:
        return {} if v is None else v


class SourceSpec(PluginSpec):
    tables: list[str]
    skip_tables: list[str] = Field(default_factory=list)
    skip_dependent_tables: bool = True
    destinations: list[str] = Field(default_factory=list)
    backend_options: BackendOptions | None = None
    deterministic_cq_id: bool = False
    otel_endpoint: str = ""
    otel_endpoint_insecure: bool = False

    @property
    def has_backend(self) -> bool:
        return self.backend_options is not None and bool(self.backend_options.table_name)


class DestinationSpec(PluginSpec):
    write_mode: WriteMode = WriteMode.OVERWRITE_DELETE_STALE
    migrate_mode: MigrateMode = MigrateMode.SAFE
    pk_mode: PkMode = PkMode.DEFAULT
    sync_group_id: str = ""
    send_sync_summary: bool = False
    # Summary rows of this source older than this are deleted after each sync; 0 keeps all.
    sync_summary_retention: Duration = Field(0.0, ge=0)
    transformers: list[str] = Field(default_factory=list)


class TransformerSpec(PluginSpec):
    """A transformer document: metadata and the plugin's own ``spec`` only."""
