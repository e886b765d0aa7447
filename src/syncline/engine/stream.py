"""One source's message stream into its destinations: each message routed, aged batches
flushed, cursors committed as the rows before them become durable."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

from syncline.engine.commits import CursorCommits
from syncline.engine.outputs import Output
from syncline.engine.pump import TIMEOUT, Pump
from syncline.engine.settings import Progress, StopRequest, SyncInterrupted
from syncline.engine.summary import SourceResult
from syncline.engine.written import WrittenRows
from syncline.messages import (
    Checkpoint,
    DeleteRecord,
    Insert,
    MigrateTable,
    SyncError,
    SyncMessage,
    TableDone,
)
from syncline.plugin.errors import SynclineError
from syncline.schema.table import Table

_TICK_S = 0.5


class SourceStream:
    def __init__(
        self,
        source: str,
        outputs: Mapping[str, Output],
        commits: CursorCommits,
        result: SourceResult,
        progress: Progress,
        *,
        migrate: bool,
    ) -> None:
        self.source = source
        self.outputs = outputs
        self.commits = commits
        self.result = result
        self.progress = progress
        self.migrate = migrate
        self.tables: dict[str, Table] = {}  # as the source sent them, parents first
        self._done_ok: dict[str, bool] = {}
        self._written = WrittenRows()  # rows on their way to durable, for progress

    def run(self, messages: Iterator[SyncMessage], stop: StopRequest | None) -> None:
        """Until the source ends; raises SyncInterrupted once ``stop`` is set."""
        pump = Pump(messages)
        try:
            while True:
                if stop is not None and stop.is_set():
                    # Take the checkpoints already waiting (their rows are in), no new rows.
                    while isinstance(msg := pump.get(0.05), Checkpoint):
                        self.handle(msg)
                    raise SyncInterrupted(stop.signum)
                msg = pump.get(_TICK_S)
                if msg is None:
                    break
                if msg is not TIMEOUT:
                    self.handle(msg)
                for output in self.outputs.values():
                    output.writer.flush_expired()
                self.settle()
        finally:
            pump.stop()

    def settle(self) -> None:
        """Report the rows now durable on every destination, then commit the cursors they
        cover."""
        self.commits.note_durable()
        for table, n in self._written.durable(self.commits.ledger.watermark):
            self.result.table(table).finished = time.monotonic()
            self.progress.rows_written(table, n)
        self.commits.commit_ready()

    def failed_tables(self) -> set[str]:
        """Tables that reported an error or did not finish cleanly."""
        return {
            name
            for name in self.tables
            if self.result.table(name).errors or not self._done_ok.get(name, True)
        }

    def handle(self, msg: SyncMessage) -> None:
        if isinstance(msg, Insert):
            self._insert(msg)
        elif isinstance(msg, Checkpoint):
            self.commits.checkpoint(msg.key, msg.value)
        elif isinstance(msg, MigrateTable):
            self.tables[msg.table.name] = msg.table
            self.result.table(msg.table.name).started = time.monotonic()
            for output in self.outputs.values():
                output.migrate(msg.table, migrate=self.migrate)
            self.progress.table_started(msg.table.name)
        elif isinstance(msg, SyncError):
            self.result.table(msg.table_name).errors += 1
            self.progress.table_error(msg.table_name, msg.error)
        elif isinstance(msg, TableDone):
            self._done_ok[msg.table_name] = msg.ok
            self.result.table(msg.table_name).finished = time.monotonic()
            self.progress.table_finished(msg.table_name)
        elif isinstance(msg, DeleteRecord):
            for output in self.outputs.values():
                output.delete_record(msg.table_name, msg.where)
        else:
            raise SynclineError(f"source {self.source} sent an unknown message {msg!r}")

    def _insert(self, msg: Insert) -> None:
        if msg.table_name not in self.tables:
            raise SynclineError(
                f"source {self.source} sent rows for table {msg.table_name} before its schema"
            )
        seq = self.commits.next_seq()
        for output in self.outputs.values():
            output.insert(msg.table_name, msg.record, seq)
        self.commits.note_durable()
        n = msg.record.num_rows
        stats = self.result.table(msg.table_name)
        if not stats.rows:
            stats.started = time.monotonic()  # a table's duration: first row to durable write
        stats.rows += n
        self._written.inserted(seq, msg.table_name, n)
        self.progress.rows(msg.table_name, n)
