"""The ``test`` source: deterministic synthetic data, the same for the same spec every run."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from syncline.connectors.test_source import tables as t
from syncline.messages import Checkpoint, SyncMessage
from syncline.plugin.contracts import PluginContext, StateReader, SyncOptions
from syncline.scheduler import Resolver, sync_selected
from syncline.schema.table import Table
from syncline.state.cursors import advance
from syncline.state.keys import cursor_key as table_cursor_key


class TestSourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num_clients: int = Field(1, ge=1, description="Number of clients; each produces its own rows.")
    num_rows: int = Field(1, ge=0, description="Rows of test_some_table per client.")
    num_sub_rows: int = Field(10, ge=0, description="Rows of test_sub_table per parent row.")
    num_events: int = Field(100, ge=0, description="Events of test_incremental_table per client.")
    batch_size: int = Field(10_000, ge=1, description="Rows per record batch (and per checkpoint).")
    concurrency: int = Field(4, ge=1, description="Resolver threads.")
    # Fault injection, for testing pipelines built on this source.
    error_tables: list[str] = Field(
        default_factory=list,
        description="Tables whose resolver raises an error after yielding its rows.",
    )
    batch_delay_ms: int = Field(0, ge=0, description="Pause before each batch (slows a sync down).")


def cursor_key(client: int) -> str:
    return table_cursor_key(t.INCREMENTAL_TABLE, f"client_{client}")


class TestSource:
    def __init__(self, spec: TestSourceSpec, ctx: PluginContext) -> None:
        self.spec = spec
        self.ctx = ctx

    def tables(self) -> list[Table]:
        return list(t.TABLES)

    def test_connection(self) -> None:
        return None

    def close(self) -> None:
        return None

    def sync(self, options: SyncOptions, state: StateReader) -> Iterator[SyncMessage]:
        yield from sync_selected(
            self.tables(),
            options,
            self._resolvers(),
            clients=lambda: list(range(self.spec.num_clients)),
            state=state,
            concurrency=self.spec.concurrency,
            batch_rows=self.spec.batch_size,
            logger=self.ctx.logger,
        )

    def _resolvers(self) -> dict[str, Resolver]:
        spec = self.spec

        def pause() -> None:
            if spec.batch_delay_ms:
                time.sleep(spec.batch_delay_ms / 1000)

        def some_table(client: Any, parent: Any, state: StateReader) -> Iterable[pa.RecordBatch]:
            for start in range(1, spec.num_rows + 1, spec.batch_size):
                pause()
                yield t.some_table_batch(
                    client, start, min(start + spec.batch_size, spec.num_rows + 1)
                )

        def sub_table(client: Any, parent: Any, state: StateReader) -> Iterable[dict[str, object]]:
            return t.sub_rows(parent, spec.num_sub_rows)

        def incremental(
            client: Any, parent: Any, state: StateReader
        ) -> Iterable[pa.RecordBatch | Checkpoint]:
            key = cursor_key(client)
            last = int(state.get(key) or 0)  # the last event synced: the next read starts after
            for start in range(last + 1, spec.num_events + 1, spec.batch_size):
                stop = min(start + spec.batch_size, spec.num_events + 1)
                pause()
                yield t.events_batch(client, start, stop)
                last = advance(last, stop - 1)
                yield Checkpoint(key, str(last))

        resolvers: dict[str, Resolver] = {
            t.SOME_TABLE: some_table,
            t.SUB_TABLE: sub_table,
            t.INCREMENTAL_TABLE: incremental,
        }
        return {
            name: _failing(r) if name in spec.error_tables else r for name, r in resolvers.items()
        }


def _failing(resolver: Resolver) -> Resolver:
    def wrapped(client: Any, parent: Any, state: StateReader) -> Iterator[Any]:
        yield from resolver(client, parent, state)
        raise RuntimeError("injected error (error_tables)")

    return wrapped
