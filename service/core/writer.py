"""Per-connection outgoing buffer, flushed once per event-loop tick for all connections.

Writing never creates a Task, Future or Queue: ``Writer.write`` appends encoded bytes to a
list; the node's ``FlushLoop`` runs one ``call_soon`` callback per tick that hands every dirty
writer's messages to its transport as one frame (coalescing, docs/performance.md).
A connection whose unsent bytes exceed ``client_queue_max_size`` is disconnected as slow (3008);
one whose unsent bytes make no progress for its transport's ``write_timeout`` gets 3009.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .transport import Transport

log = logging.getLogger("gyre.writer")


class FlushLoop:
    """Schedules one flush callback per loop tick for every writer with pending data."""

    __slots__ = ("_dirty", "_loop", "_scheduled", "_stalled", "_watching", "on_sent")

    WATCH_INTERVAL = 0.25

    def __init__(self, on_sent: Callable[[str, int], None] | None = None) -> None:
        self.on_sent = on_sent  # (transport name, messages written) once per name per tick
        self._dirty: list[Writer] = []
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stalled: set[Writer] = set()
        self._watching = False

    def sizes(self) -> dict[str, int]:
        """Writers waiting for this tick's flush and writers watched for a write timeout."""
        return {"flush.dirty": len(self._dirty), "flush.stalled": len(self._stalled)}

    def mark(self, writer: Writer) -> None:
        self._dirty.append(writer)
        if not self._scheduled:
            self._scheduled = True
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            loop.call_soon(self._flush_all)

    def watch(self, writer: Writer) -> None:
        """Watch a writer whose transport still holds unsent bytes (write timeout)."""
        self._stalled.add(writer)
        if not self._watching:
            self._watching = True
            loop = self._loop or asyncio.get_running_loop()
            loop.call_later(self.WATCH_INTERVAL, self._check_stalled)

    def _check_stalled(self) -> None:
        self._watching = False
        loop = self._loop or asyncio.get_running_loop()
        now = loop.time()
        for w in list(self._stalled):
            pending = 0 if w.closed else w.transport.buffered()
            if pending == 0:
                self._stalled.discard(w)
                w.stall_since = 0.0
            elif pending < w.stall_bytes:  # the peer is reading: progress
                w.stall_since = now
                w.stall_bytes = pending
            elif now - w.stall_since >= w.write_timeout:
                self._stalled.discard(w)
                w.closed = True
                try:
                    w.on_write_timeout()
                except Exception:
                    log.exception("write timeout handling failed")
            else:
                w.stall_bytes = pending
        if self._stalled:
            self._watching = True
            loop.call_later(self.WATCH_INTERVAL, self._check_stalled)

    def _flush_all(self) -> None:
        self._scheduled = False
        dirty = self._dirty
        self._dirty = []
        on_sent = self.on_sent
        if on_sent is None:
            for w in dirty:
                try:
                    w.flush()
                except Exception:  # a broken transport must not stop other writers
                    log.exception("flush failed")
            return
        counts: dict[str, int] = {}
        for w in dirty:
            try:
                n = w.flush()
            except Exception:
                log.exception("flush failed")
                continue
            if n:
                name = w.transport.name
                counts[name] = counts.get(name, 0) + n
        for name, n in counts.items():
            on_sent(name, n)


class Writer:
    """Outgoing messages of one connection.

    ``on_overflow`` is called (once) when the transport's unsent bytes exceed ``max_queue``.
    """

    __slots__ = (
        "_flush_loop",
        "closed",
        "extra",
        "max_queue",
        "on_overflow",
        "on_write_timeout",
        "pending",
        "stall_bytes",
        "stall_since",
        "transport",
        "write_timeout",
    )

    def __init__(
        self,
        transport: Transport,
        flush_loop: FlushLoop,
        *,
        max_queue: int,
        on_overflow: Callable[[], None],
        write_timeout: float = 0.0,
        on_write_timeout: Callable[[], None] | None = None,
    ) -> None:
        self.transport = transport
        self.pending: list[bytes] = []
        self._flush_loop = flush_loop
        self.max_queue = max_queue
        self.on_overflow = on_overflow
        self.write_timeout = write_timeout
        self.on_write_timeout = on_write_timeout or on_overflow
        self.stall_since = 0.0
        self.stall_bytes = 0
        self.closed = False
        self.extra = 0  # messages in pending chunks beyond one per chunk (metrics)

    def write(self, message: bytes) -> None:
        """Queue one encoded message for the next flush."""
        if self.closed:
            return
        if not self.pending:
            self._flush_loop.mark(self)
        self.pending.append(message)

    def write_chunk(self, chunk: bytes, count: int) -> None:
        """Queue a ``Chunk`` of ``count`` messages (``protocol.chunk``) for the next flush."""
        if self.closed:
            return
        if not self.pending:
            self._flush_loop.mark(self)
        self.pending.append(chunk)
        self.extra += count - 1

    def flush(self) -> int:
        """Write everything pending as one transport frame now; returns the message count."""
        messages = self.pending
        if self.closed or not messages:
            messages.clear()
            self.extra = 0
            return 0
        transport = self.transport
        transport.write(messages)
        n = len(messages) + self.extra
        self.extra = 0
        messages.clear()  # reused: transports never keep the list
        buffered = transport.buffered()
        if buffered:
            if self.max_queue > 0 and buffered > self.max_queue:
                self.closed = True
                self.on_overflow()
            elif self.write_timeout > 0 and not self.stall_since:
                self.stall_since = asyncio.get_running_loop().time()
                self.stall_bytes = buffered
                self._flush_loop.watch(self)
        return n

    def discard(self) -> None:
        """Drop pending messages and stop accepting new ones."""
        self.closed = True
        self.pending.clear()
        self.extra = 0
