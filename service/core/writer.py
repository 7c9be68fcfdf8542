"""Per-connection outgoing buffer, flushed once per event-loop tick for all connections.

Writing never creates a Task, Future or Queue: ``Writer.write`` appends encoded bytes to a
list; the node's ``FlushLoop`` runs one ``call_soon`` callback per tick that hands every dirty
writer's messages to its transport as one frame (coalescing, spec/performance §5).
A connection whose unsent bytes exceed ``client_queue_max_size`` is disconnected as slow (3008).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .transport import Transport

log = logging.getLogger("gyre.writer")


class FlushLoop:
    """Schedules one flush callback per loop tick for every writer with pending data."""

    __slots__ = ("_dirty", "_loop", "_scheduled", "on_sent")

    def __init__(self, on_sent: Callable[[str, int], None] | None = None) -> None:
        self.on_sent = on_sent  # (transport name, messages written) once per name per tick
        self._dirty: list[Writer] = []
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def mark(self, writer: Writer) -> None:
        self._dirty.append(writer)
        if not self._scheduled:
            self._scheduled = True
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            loop.call_soon(self._flush_all)

    def _flush_all(self) -> None:
        self._scheduled = False
        dirty = self._dirty
        self._dirty = []
        counts: dict[str, int] = {}
        for w in dirty:
            try:
                n = w.flush()
            except Exception:  # a broken transport must not stop other writers
                log.exception("flush failed")
                continue
            if n:
                name = w.transport.name
                counts[name] = counts.get(name, 0) + n
        on_sent = self.on_sent
        if on_sent is not None:
            for name, n in counts.items():
                on_sent(name, n)


class Writer:
    """Outgoing messages of one connection.

    ``on_overflow`` is called (once) when the transport's unsent bytes exceed ``max_queue``.
    """

    __slots__ = ("_flush_loop", "closed", "max_queue", "on_overflow", "pending", "transport")

    def __init__(
        self,
        transport: Transport,
        flush_loop: FlushLoop,
        *,
        max_queue: int,
        on_overflow: Callable[[], None],
    ) -> None:
        self.transport = transport
        self.pending: list[bytes] = []
        self._flush_loop = flush_loop
        self.max_queue = max_queue
        self.on_overflow = on_overflow
        self.closed = False

    def write(self, message: bytes) -> None:
        """Queue one encoded message for the next flush."""
        if self.closed:
            return
        if not self.pending:
            self._flush_loop.mark(self)
        self.pending.append(message)

    def flush(self) -> int:
        """Write everything pending as one transport frame now; returns the message count."""
        if self.closed or not self.pending:
            self.pending = []
            return 0
        messages = self.pending
        self.pending = []
        self.transport.write(messages)
        if self.max_queue > 0 and self.transport.buffered() > self.max_queue:
            self.closed = True
            self.on_overflow()
        return len(messages)

    def discard(self) -> None:
        """Drop pending messages and stop accepting new ones."""
        self.closed = True
        self.pending = []
