"""One sync: every source to each of its destinations, with checkpoints committed only
after the rows before them are durable everywhere."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from syncline.config.models import SourceSpec
from syncline.config.reader import Config
from syncline.engine import events
from syncline.engine.backend import lock_backend, open_state, serve_backend
from syncline.engine.commits import CursorCommits
from syncline.engine.cursors import GuardTarget, prepare_cursors
from syncline.engine.outputs import Output, open_output
from syncline.engine.plugins import Plugins, selected_tables, start_external, start_source
from syncline.engine.settings import (
    NoProgress,
    Progress,
    StopRequest,
    SyncFailed,
    SyncInterrupted,
    SyncSettings,
)
from syncline.engine.stream import SourceStream
from syncline.engine.summary import SourceResult
from syncline.engine.write_modes import delete_stale_plan, kept_from_delete_stale
from syncline.plugin.contracts import BackendOptions, SyncOptions
from syncline.plugin.errors import SynclineError
from syncline.testing import crashpoints

__all__ = [
    "NoProgress",
    "Progress",
    "StopRequest",
    "SyncFailed",
    "SyncInterrupted",
    "SyncSettings",
    "run_sync",
]

log = logging.getLogger("syncline.engine")


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
        run = _SourceRun(src.spec, plugins, settings, progress)
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


class _SourceRun:
    """One source to its destinations: opens everything, streams, finishes, closes."""

    def __init__(
        self, spec: SourceSpec, plugins: Plugins, settings: SyncSettings, progress: Progress
    ) -> None:
        self.spec = spec
        self.plugins = plugins
        self.settings = settings
        self.progress = progress
        self.sync_time = datetime.now(UTC)  # microsecond precision, as stored
        shard = settings.shard
        self.source_name = f"{spec.name}_{shard[0]}_{shard[1]}" if shard else spec.name
        dests = {d: plugins.destinations[d] for d in spec.destinations}
        self.result = SourceResult(
            source_name=spec.name,
            source_path=spec.path,
            destinations=[(d, r.configured.spec.path) for d, r in dests.items()],
            sync_id=settings.invocation_id,
            sync_time=self.sync_time,
            shard=shard,
        )
        self.outputs: dict[str, Output] = {}
        self.backend: BackendOptions | None = None  # served to a source that wants one
        self._closers: list[Callable[[], None]] = []

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
        spec, settings, plugins = self.spec, self.settings, self.plugins
        resolved = plugins.sources[spec.name]
        self._closers.append(start_external(plugins.used_by(spec)))
        # The source first: a selection it cannot serve fails before any destination file or
        # state table is created.
        self.source = start_source(resolved, settings.invocation_id)
        self._closers.append(self.source.close)
        for name in spec.destinations:
            self.outputs[name] = output = open_output(
                name,
                plugins.destinations[name],
                plugins.transformers,
                source_name=self.source_name,
                sync_time=self.sync_time,
                invocation_id=settings.invocation_id,
                deterministic_cq_id=spec.deterministic_cq_id,
                closers=self._closers,
            )
            self.result.sync_group_ids[name] = output.transform.sync_group_id
        release = lock_backend(spec, plugins, self.source_name, settings.lock_dir)
        if release is not None:
            self._closers.append(release)
        state = open_state(spec, plugins, settings.invocation_id)
        if state is not None:
            self._closers.append(state.close)
        crashpoints.crash("after_state_read")
        refresh = None
        if state is not None:
            refresh = prepare_cursors(
                selected_tables(spec, self.source.tables()),
                state,
                [GuardTarget(o.name, o.writer, o.shape, o.forced) for o in self.outputs.values()],
                migrate=not settings.no_migrate,
                full_refresh=settings.full_refresh,
                guard=not settings.cursors_guarded,
            )
        writers = {name: o.writer for name, o in self.outputs.items()}
        self.commits = CursorCommits(writers, state, refresh, self._committed)
        self.stream = SourceStream(
            spec.name,
            self.outputs,
            self.commits,
            self.result,
            self.progress,
            migrate=not settings.no_migrate,
        )
        if resolved.info.state_backend and state is not None and spec.backend_options:
            table_name, reader = spec.backend_options.table_name, refresh or state
            hold = self.commits.hold
            self.backend = serve_backend(table_name, reader.items, hold, self._closers)

    def _close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception as e:  # closing must not hide the real outcome
                log.warning("error while closing a plugin: %s", e)

    def _stream(self) -> None:
        spec, names = self.spec, list(self.outputs)
        options = SyncOptions(
            tables=spec.tables,
            skip_tables=spec.skip_tables,
            skip_dependent_tables=spec.skip_dependent_tables,
            deterministic_cq_id=spec.deterministic_cq_id,
            shard=self.settings.shard,
            backend=self.backend,
        )
        log.info(
            "Starting sync for: %s -> [%s]",
            spec.name,
            ", ".join(names),
            extra={"source": spec.name, "destinations": names},
        )
        self.progress.source_started(spec.name, names)
        messages = iter(self.source.sync(options, self.commits.reader))
        self.stream.run(messages, self.settings.stop)

    def _drain(self) -> None:
        """Write what was received and commit the cursors it covers."""
        for output in self.outputs.values():
            output.writer.flush()
        self.stream.settle()

    def _finish(self) -> None:
        self._drain()
        self.commits.commit_held()  # every row of this sync is durable by now
        kept = kept_from_delete_stale(
            self.stream.tables.values(),
            keeps_state=self.commits.state is not None,
            refreshed=self.commits.refreshed,
        )
        plan = delete_stale_plan(self.stream.tables, kept, self.stream.failed_tables())
        for output in self.outputs.values():
            output.delete_stale(plan, self.source_name, self.sync_time)
        self.commits.release_refresh()  # the refresh is complete
        # A summary row for destinations with send_sync_summary (after delete-stale).
        self.result.duration_s = time.monotonic() - self.started
        by_name = {s["destination_name"]: s for s in self.result.summaries()}
        for name, output in self.outputs.items():
            if output.spec.send_sync_summary:
                seq = self.commits.next_seq()
                output.send_summary(by_name[name], seq, migrate=not self.settings.no_migrate)

    def _committed(self, old: Mapping[str, str | None], new: dict[str, str]) -> None:
        self.result.cursors.update(new)
        events.cursors_committed(self.spec.name, self.stream.tables, old, dict(new))
