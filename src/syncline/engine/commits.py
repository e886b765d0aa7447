"""A source's cursors on their way to its state backend: each is committed only once every
destination holds the rows sent before it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from syncline.engine.cursors import RefreshView
from syncline.engine.ledger import CheckpointLedger
from syncline.plugin.contracts import NoState, StateReader
from syncline.state.client import CursorStore
from syncline.testing import crashpoints
from syncline.writers.batch import BatchWriter

# Called with the values a key had and the values just committed.
OnCommit = Callable[[Mapping[str, str | None], dict[str, str]], None]


class CursorCommits:
    def __init__(
        self,
        writers: Mapping[str, BatchWriter],
        state: CursorStore | None,
        refresh: RefreshView | None,
        on_commit: OnCommit,
    ) -> None:
        self.ledger = CheckpointLedger(writers)
        self._writers = writers
        self.state = state
        self.refresh = refresh
        self._on_commit = on_commit
        # Cursors an external source wrote to the backend the engine serves it.
        self._held: dict[str, str] = {}
        self._held_lock = threading.Lock()

    @property
    def reader(self) -> StateReader:
        """What the source reads its cursors from."""
        return self.refresh or self.state or NoState()

    @property
    def refreshed(self) -> set[str]:
        return self.refresh.tables if self.refresh is not None else set()

    def next_seq(self) -> int:
        return self.ledger.next_seq()

    def checkpoint(self, key: str, value: str) -> None:
        self.ledger.checkpoint(key, value)

    def note_durable(self) -> None:
        for name, writer in self._writers.items():
            self.ledger.durable(name, writer.durable_seq)

    def commit_ready(self) -> None:
        """Commit the checkpoints whose rows are durable on every destination."""
        self.note_durable()
        ready = self.ledger.committable()
        if not ready or self.state is None:
            return  # without a backend cursors are not kept
        if self.refresh is not None:
            ready = self.refresh.hold(ready)
            if not ready:
                return
        crashpoints.crash("after_flush_before_state")
        self._commit(ready)

    def hold(self, values: Mapping[str, str]) -> None:
        """Cursors written to the served backend arrive on another connection, so nothing
        orders them after the rows sent before them: they wait for the end of the sync."""
        with self._held_lock:
            self._held.update(values)

    def commit_held(self) -> None:
        """At the end of the stream, once every row of the sync is durable."""
        with self._held_lock:
            held, self._held = self._held, {}
        if held and self.state is not None:
            self._commit(held)

    def release_refresh(self) -> None:
        """At the end of a clean run: the refreshed tables' new cursors (and resets)."""
        if self.refresh is not None and self.state is not None:
            self.state.commit(self.refresh.release())

    def _commit(self, values: dict[str, str]) -> None:
        assert self.state is not None
        old = {k: self.state.get(k) for k in values}
        self.state.commit(values)
        self._on_commit(old, values)
