"""One sync: every source to each of its destinations, with checkpoints committed only
after the rows before them are durable everywhere."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import pyarrow as pa

from syncline.config.models import DestinationSpec, MigrateMode, SourceSpec
from syncline.config.reader import Config, backend_destination_name
from syncline.engine import events
from syncline.engine.cursors import GuardTarget, RefreshView, prepare_cursors
from syncline.engine.ledger import CheckpointLedger
from syncline.engine.locks import lock_state_table
from syncline.engine.plugins import Plugins, ResolvedPlugin, start_external, start_source
from syncline.engine.pump import TIMEOUT, Pump
from syncline.engine.summary import SourceResult
from syncline.engine.summary_table import SUMMARY, summary_record
from syncline.engine.transform import DestinationTransform, render_sync_group_id
from syncline.engine.write_modes import (
    delete_stale_plan,
    deletes_stale,
    kept_from_delete_stale,
    state_upserts,
)
from syncline.engine.written import WrittenRows
from syncline.messages import (
    Checkpoint,
    DeleteRecord,
    Insert,
    MigrateTable,
    SyncError,
    TableDone,
)
from syncline.plugin.contracts import (
    BackendOptions,
    DestinationInfo,
    NoState,
    PluginInfo,
    StateReader,
    SyncOptions,
)
from syncline.plugin.errors import StateError, SynclineError
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.selection import select_tables
from syncline.schema.table import Table, flatten
from syncline.state.client import CursorStore, StateClient
from syncline.testing import crashpoints
from syncline.transformers.chain import TransformerChain
from syncline.writers.batch import BatchWriter

log = logging.getLogger("syncline.engine")

_TICK_S = 0.5


class SyncFailed(SynclineError):
    def __init__(
        self, message: str, results: list[SourceResult], interrupted: int | None = None
    ) -> None:
        super().__init__(message)
        self.results = results
        # The signal number when a stop was requested (SIGINT, SIGTERM).
        self.interrupted = interrupted


class SyncInterrupted(SynclineError):
    def __init__(self, signum: int) -> None:
        # signum 0: a stop requested by a caller of the API rather than by a signal
        super().__init__(
            f"sync interrupted by signal {signum}" if signum else "sync interrupted on request"
        )
        self.signum = signum


class Progress(Protocol):
    def source_started(self, source: str, destinations: list[str]) -> None: ...
    def table_started(self, table: str) -> None: ...
    def rows(self, table: str, count: int) -> None: ...
    def rows_written(self, table: str, count: int) -> None: ...
    def table_error(self, table: str, message: str) -> None: ...
    def table_finished(self, table: str) -> None: ...
    def source_finished(self, result: SourceResult) -> None: ...


class NoProgress:
    def source_started(self, source: str, destinations: list[str]) -> None: ...
    def table_started(self, table: str) -> None: ...
    def rows(self, table: str, count: int) -> None: ...
    def rows_written(self, table: str, count: int) -> None: ...
    def table_error(self, table: str, message: str) -> None: ...
    def table_finished(self, table: str) -> None: ...
    def source_finished(self, result: SourceResult) -> None: ...


@dataclass(frozen=True)
class SyncSettings:
    no_migrate: bool = False
    shard: tuple[int, int] | None = None
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    lock_dir: str | None = None  # None: $SYNCLINE_LOCK_DIR or the temp folder
    # Set (to the signal number) to stop: rows already received are written and the cursors
    # covering them committed; no new rows are read and nothing is deleted as stale.
    stop: StopRequest | None = None
    # Tables whose cursors this run ignores (syncs in full, delete-stales, then commits the
    # new cursors at the end); an empty tuple: every incremental table; None: no refresh.
    full_refresh: tuple[str, ...] | None = None


class StopRequest:
    """A cooperative stop; ``event`` lets a caller (an orchestrator) share its own."""

    def __init__(self, event: threading.Event | None = None) -> None:
        self._event = event or threading.Event()
        self.signum = 0

    def request(self, signum: int) -> None:
        self.signum = signum
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


def run_sync(
    config: Config,
    plugins: Plugins,
    settings: SyncSettings | None = None,
    progress: Progress | None = None,
) -> list[SourceResult]:
    """Sync every source in config order; raises SyncFailed on the first failed source."""
    settings = settings or SyncSettings()
    progress = progress or NoProgress()
    results: list[SourceResult] = []
    for src in config.sources:
        run = _SourceRun(src.spec, config, plugins, settings, progress)
        result = run.result
        results.append(result)
        try:
            run.run()
        except SyncInterrupted as e:
            result.failed = str(e)
            raise SyncFailed(str(e), results, interrupted=e.signum) from e
        except SynclineError as e:
            result.failed = str(e)
            raise SyncFailed(str(e), results) from e
        except Exception as e:
            result.failed = f"{type(e).__name__}: {e}"
            raise SyncFailed(f"source {src.spec.name}: {result.failed}", results) from e
        finally:
            events.tables_finished(result)
            progress.source_finished(result)
    return results


def open_state(
    spec: SourceSpec, config: Config, plugins: Plugins, invocation_id: str = ""
) -> CursorStore | None:
    """The cursor store of a source's backend, loaded; None without backend options."""
    if not spec.has_backend or spec.backend_options is None:
        return None
    dest_name = backend_destination_name(spec)
    if dest_name is None:
        # A literal gRPC address: a plugin serving protocol v3 (e.g. a CloudQuery destination).
        from syncline.grpc.state_remote import RemoteState

        address, table = spec.backend_options.connection, spec.backend_options.table_name
        try:
            return RemoteState(address, table)
        except Exception as e:
            raise StateError(f"source {spec.name}: cannot use state backend {address}: {e}") from e
    resolved = plugins.destinations[dest_name]
    dspec: DestinationSpec = resolved.configured.spec
    plugin = resolved.create_destination(invocation_id)
    upsert = state_upserts(dspec.write_mode, resolved.info.write_modes)
    client = StateClient(plugin, spec.backend_options.table_name, upsert=upsert)
    try:
        client.load()
    except BaseException:
        plugin.close()
        raise
    return client


class _SourceRun:
    def __init__(
        self,
        spec: SourceSpec,
        config: Config,
        plugins: Plugins,
        settings: SyncSettings,
        progress: Progress,
    ) -> None:
        self.spec = spec
        self.config = config
        self.plugins = plugins
        self.settings = settings
        self.progress = progress
        self.sync_time = datetime.now(UTC)  # microsecond precision, as stored
        shard = settings.shard
        self.source_name = f"{spec.name}_{shard[0]}_{shard[1]}" if shard else spec.name
        self.dests: dict[str, ResolvedPlugin[DestinationInfo]] = {
            d: plugins.destinations[d] for d in spec.destinations
        }
        self.result = SourceResult(
            source_name=spec.name,
            source_path=spec.path,
            destinations=[(d, r.configured.spec.path) for d, r in self.dests.items()],
            sync_id=settings.invocation_id,
            sync_time=self.sync_time,
            shard=shard,
        )
        self.writers: dict[str, BatchWriter] = {}
        self.transforms: dict[str, DestinationTransform] = {}
        # Transformer plugins per destination, and the schema records have before them.
        self.chains: dict[str, TransformerChain] = {}
        self.staged: dict[tuple[str, str], pa.Schema] = {}
        self.tables: dict[str, Table] = {}
        self.out: dict[tuple[str, str], tuple[Table, pa.Schema]] = {}
        self.done_ok: dict[str, bool] = {}
        self.ledger = CheckpointLedger(self.dests)
        self.written = WrittenRows()
        self.state: CursorStore | None = None
        self.refresh: RefreshView | None = None
        self.held_state: dict[str, str] = {}
        self.backend: BackendOptions | None = None  # served to a source that wants one
        self._held_lock = threading.Lock()
        self._closers: list[Callable[[], None]] = []

    # -- lifecycle -------------------------------------------------------------------------

    def run(self) -> None:
        self.started = time.monotonic()
        try:
            self._open()
            try:
                self._stream()
            except SyncInterrupted:
                self._drain()
                raise
            self._finish()
        finally:
            self.result.duration_s = time.monotonic() - self.started
            self._close()

    def _open(self) -> None:
        used: list[ResolvedPlugin[PluginInfo]] = [
            *self.dests.values(),
            self.plugins.sources[self.spec.name],
        ]
        state_dest = backend_destination_name(self.spec) if self.spec.has_backend else None
        if state_dest is not None:
            used.append(self.plugins.destinations[state_dest])  # a second instance keeps state
        self._closers.append(start_external(used))
        # The source first: a selection it cannot serve fails before any destination file or
        # state table is created.
        source = start_source(self.plugins.sources[self.spec.name], self.settings.invocation_id)
        self._closers.append(source.close)
        self.source = source
        for name, resolved in self.dests.items():
            plugin = resolved.create_destination(self.settings.invocation_id)
            self._closers.append(plugin.close)
            dspec: DestinationSpec = resolved.configured.spec
            group = render_sync_group_id(
                dspec.sync_group_id, self.sync_time, self.settings.invocation_id
            )
            self.result.sync_group_ids[name] = group
            self.transforms[name] = DestinationTransform(
                sync_time=self.sync_time,
                source_name=self.source_name,
                write_mode=dspec.write_mode,
                pk_mode=dspec.pk_mode,
                sync_group_id=group,
                deterministic_cq_id=self.spec.deterministic_cq_id,
            )
            self.chains[name] = self._open_transformers(name, dspec)
            self.writers[name] = BatchWriter(name, plugin, plugin.limits)
            self._closers.append(self.writers[name].close)
        if self.spec.backend_options is not None and self.spec.has_backend:
            backend = self.spec.backend_options
            target = backend_destination_name(self.spec)
            if target:
                backend_dest = self.plugins.destinations[target]
                configured = backend_dest.configured.spec
                release = lock_state_table(
                    self.source_name,
                    configured.path,
                    backend_dest.spec,
                    configured.spec,
                    backend.table_name,
                    self.settings.lock_dir,
                )
            else:  # a gRPC address: the address is all we know of it
                release = lock_state_table(
                    self.source_name,
                    "grpc",
                    None,
                    backend.connection,
                    backend.table_name,
                    self.settings.lock_dir,
                )
            self._closers.append(release)
        self.state = open_state(self.spec, self.config, self.plugins, self.settings.invocation_id)
        if self.state is not None:
            self._closers.append(self.state.close)
        crashpoints.crash("after_state_read")
        if self.state is not None:
            self._prepare_cursors(self.state)
        if self.plugins.sources[self.spec.name].info.state_backend and self.state is not None:
            self.backend = self._serve_state()

    def _open_transformers(self, name: str, dspec: DestinationSpec) -> TransformerChain:
        opened = []
        for tname in dspec.transformers:
            transformer = self.plugins.transformers[tname].create_transformer(
                self.settings.invocation_id
            )
            self._closers.append(transformer.close)
            opened.append((tname, transformer))
        return TransformerChain(name, opened)

    def _prepare_cursors(self, state: CursorStore) -> None:
        spec = self.spec
        selected = flatten(
            select_tables(
                self.source.tables(), spec.tables, spec.skip_tables, spec.skip_dependent_tables
            )
        )
        targets = [
            GuardTarget(
                name,
                w,
                self._shape_for(name),
                self.dests[name].configured.spec.migrate_mode is MigrateMode.FORCED,
            )
            for name, w in self.writers.items()
        ]
        self.refresh = prepare_cursors(
            selected,
            state,
            targets,
            migrate=not self.settings.no_migrate,
            full_refresh=self.settings.full_refresh,
        )

    def _shape_for(self, name: str) -> Callable[[Table], Table]:
        """A source table as destination ``name`` stores it (internal columns, transformers)."""
        chain = self.chains[name]
        return lambda t: (
            chain.table(self.transforms[name].table(t))
            if chain
            else (self.transforms[name].table(t))
        )

    def _serve_state(self) -> BackendOptions:
        """Give an external source a gRPC state backend that the engine controls.

        Cursors sent in the sync stream (checkpoints) are ordered after their rows like any
        other. Cursors written to this backend arrive on another connection, so nothing
        orders them after the rows sent before them: they are held until every row of the
        sync is durable, then committed.
        """
        from syncline.grpc.state_proxy import StateProxy

        state = self.state
        assert state is not None and self.spec.backend_options is not None
        reader = self.refresh or state
        proxy = StateProxy(read=reader.items, on_write=self._hold_state)
        self._closers.append(proxy.stop)
        return BackendOptions(self.spec.backend_options.table_name, proxy.address)

    def _hold_state(self, values: dict[str, str]) -> None:
        with self._held_lock:
            self.held_state.update(values)

    def _close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception as e:  # closing must not hide the real outcome
                log.warning("error while closing a plugin: %s", e)

    def _stream(self) -> None:
        options = SyncOptions(
            tables=self.spec.tables,
            skip_tables=self.spec.skip_tables,
            skip_dependent_tables=self.spec.skip_dependent_tables,
            deterministic_cq_id=self.spec.deterministic_cq_id,
            shard=self.settings.shard,
            backend=self.backend,
        )
        state: StateReader = self.refresh or self.state or NoState()
        dest_list = ", ".join(self.dests)
        log.info(
            "Starting sync for: %s -> [%s]",
            self.spec.name,
            dest_list,
            extra={"source": self.spec.name, "destinations": list(self.dests)},
        )
        self.progress.source_started(self.spec.name, list(self.dests))
        pump = Pump(iter(self.source.sync(options, state)))
        try:
            while True:
                stop = self.settings.stop
                if stop is not None and stop.is_set():
                    # Take the checkpoints already waiting (their rows are in), no new rows.
                    while isinstance(msg := pump.get(0.05), Checkpoint):
                        self._handle(msg)
                    raise SyncInterrupted(stop.signum)
                msg = pump.get(_TICK_S)
                if msg is None:
                    break
                if msg is not TIMEOUT:
                    self._handle(msg)
                for w in self.writers.values():
                    w.flush_expired()
                self._commit_ready()
        finally:
            pump.stop()

    def _drain(self) -> None:
        """Write what was received and commit the cursors it covers."""
        for name, w in self.writers.items():
            w.flush()
            self.ledger.durable(name, w.durable_seq)
        self._commit_ready()

    def _finish(self) -> None:
        self._drain()
        with self._held_lock:
            held, self.held_state = self.held_state, {}
        if held and self.state is not None:
            self._commit_state(held)  # every row of this sync is durable by now
        self._delete_stale()
        if self.refresh is not None and self.state is not None:
            self.state.commit(self.refresh.release())  # the refresh is complete
            self.result.checkpoints_committed += 1
        self._send_summaries()

    def _send_summaries(self) -> None:
        """A summary row for destinations with send_sync_summary (after delete-stale)."""
        self.result.duration_s = time.monotonic() - self.started
        by_name = {s["destination_name"]: s for s in self.result.summaries()}
        for name, w in self.writers.items():
            dspec: DestinationSpec = self.dests[name].configured.spec
            if not dspec.send_sync_summary:
                continue
            out = self.transforms[name].table(SUMMARY)
            if not self.settings.no_migrate:
                w.migrate([out], dspec.migrate_mode is MigrateMode.FORCED)
            record = summary_record(by_name[name])
            seq = self.ledger.next_seq()
            w.insert(out, self.transforms[name].record(to_arrow_schema(out), record), seq)
            w.flush()

    # -- messages --------------------------------------------------------------------------

    def _handle(self, msg: Any) -> None:
        if isinstance(msg, Insert):
            self._insert(msg)
        elif isinstance(msg, Checkpoint):
            self.ledger.checkpoint(msg.key, msg.value)
        elif isinstance(msg, MigrateTable):
            self._migrate(msg.table)
            self.progress.table_started(msg.table.name)
        elif isinstance(msg, SyncError):
            self.result.table(msg.table_name).errors += 1
            self.progress.table_error(msg.table_name, msg.error)
        elif isinstance(msg, TableDone):
            self.done_ok[msg.table_name] = msg.ok
            self.result.table(msg.table_name).finished = time.monotonic()
            self.progress.table_finished(msg.table_name)
        elif isinstance(msg, DeleteRecord):
            for name, w in self.writers.items():
                w.delete_record(self.out[(name, msg.table_name)][0], msg.where)
        else:
            raise SynclineError(f"source {self.spec.name} sent an unknown message {msg!r}")

    def _migrate(self, table: Table) -> None:
        self.tables[table.name] = table
        stats = self.result.table(table.name)
        stats.started = time.monotonic()
        for name, w in self.writers.items():
            out = self.transforms[name].table(table)
            if self.chains[name]:
                self.staged[(name, table.name)] = to_arrow_schema(out)
                out = self.chains[name].table(out)
            self.out[(name, table.name)] = (out, to_arrow_schema(out))
            if not self.settings.no_migrate:
                dspec: DestinationSpec = self.dests[name].configured.spec
                w.migrate([out], dspec.migrate_mode is MigrateMode.FORCED)

    def _insert(self, msg: Insert) -> None:
        if msg.table_name not in self.tables:
            raise SynclineError(
                f"source {self.spec.name} sent rows for table {msg.table_name} before its schema"
            )
        seq = self.ledger.next_seq()
        n = msg.record.num_rows
        for name, w in self.writers.items():
            out, schema = self.out[(name, msg.table_name)]
            chain = self.chains[name]
            if chain:
                staged = self.staged[(name, msg.table_name)]
                record = chain.record(self.transforms[name].record(staged, msg.record), schema)
            else:
                record = self.transforms[name].record(schema, msg.record)
            w.insert(out, record, seq)
            self.ledger.durable(name, w.durable_seq)
        stats = self.result.table(msg.table_name)
        if not stats.rows:
            stats.started = time.monotonic()  # a table's duration: first row to durable write
        stats.rows += n
        self.written.inserted(seq, msg.table_name, n)
        self.progress.rows(msg.table_name, n)

    def _commit_ready(self) -> None:
        for name, w in self.writers.items():
            self.ledger.durable(name, w.durable_seq)
        for table, n in self.written.durable(self.ledger.watermark):
            self.result.table(table).finished = time.monotonic()
            self.progress.rows_written(table, n)
        ready = self.ledger.committable()
        if not ready:
            return
        if self.state is None:
            return  # no backend: cursors are not kept
        if self.refresh is not None:
            ready = self.refresh.hold(ready)
            if not ready:
                return
        crashpoints.crash("after_flush_before_state")
        self._commit_state(ready)

    def _commit_state(self, values: dict[str, str]) -> None:
        assert self.state is not None
        old = {k: self.state.get(k) for k in values}
        self.state.commit(values)
        self.result.checkpoints_committed += 1
        self.result.cursors.update(values)
        events.cursors_committed(self.spec.name, self.tables, old, dict(values))

    def _delete_stale(self) -> None:
        kept = kept_from_delete_stale(
            self.tables.values(),
            keeps_state=self.state is not None,
            refreshed=self.refresh.tables if self.refresh is not None else (),
        )
        failed = {
            name
            for name in self.tables
            if self.result.table(name).errors or not self.done_ok.get(name, True)
        }
        plan = delete_stale_plan(self.tables, kept, failed)
        for name, w in self.writers.items():
            dspec: DestinationSpec = self.dests[name].configured.spec
            if not deletes_stale(dspec.write_mode):
                continue
            for step in plan:
                if not step.delete:
                    log.warning(
                        "table %s had errors: keeping rows of earlier syncs (no delete-stale)",
                        step.table,
                    )
                    continue
                out = self.out[(name, step.table)][0]
                deleted = w.delete_stale(out, self.source_name, self.sync_time)
                events.stale_deleted(self.source_name, name, step.table, deleted)
