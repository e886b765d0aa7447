"""Which checkpoints are safe to commit: the heart of the at-least-once promise.

Every insert gets a sequence number. A checkpoint attaches to the last number issued before
it. Each destination reports the highest number up to which everything is durable. A
checkpoint is committable once every destination has reached its number.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


class CheckpointLedger:
    def __init__(self, destinations: Iterable[str]) -> None:
        self._seq = 0
        self._durable = {d: 0 for d in destinations}
        self._pending: deque[tuple[int, str, str]] = deque()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def checkpoint(self, key: str, value: str) -> None:
        self._pending.append((self._seq, key, value))

    def durable(self, destination: str, seq: int) -> None:
        if seq < self._durable[destination]:
            raise ValueError(f"durable sequence of {destination} went backwards")
        self._durable[destination] = seq

    @property
    def watermark(self) -> int:
        return min(self._durable.values()) if self._durable else self._seq

    def committable(self) -> dict[str, str]:
        """Pop the checkpoints that are safe now; the latest value per key."""
        ready: dict[str, str] = {}
        mark = self.watermark
        while self._pending and self._pending[0][0] <= mark:
            _, key, value = self._pending.popleft()
            ready[key] = value
        return ready
