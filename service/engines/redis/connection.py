"""One RESP2 connection: a raw ``asyncio.Protocol`` parsing with ``hiredis.Reader``.

Performance notes (docs/performance.md): commands are packed by
``hiredis.pack_command`` and every command issued in the same loop tick goes out in ONE
``transport.write`` (auto-pipelining); replies are matched to futures in FIFO order.  A
single timer per connection enforces ``io_timeout``: when the oldest unanswered command is
older than that, the connection is aborted and every pending command fails with
``EngineError`` (a stuck socket is never reused).

In push mode (``set_push_handler``, used for PUB/SUB) every reply is handed to the handler
instead; ``send`` writes a command without expecting a matched reply.  PUB/SUB ``message``
replies, the bulk of the traffic, can go straight to a separate ``on_message(channel,
payload)`` callback from the read loop (no intermediate dispatch call per message).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import hiredis

from service.core.engine import EngineError

from .options import Address, ConnectSettings

logger = logging.getLogger(__name__)

Arg = bytes | str | int | float
Command = tuple[Arg, ...]
_pack: Callable[[Command], bytes] = hiredis.pack_command  # type: ignore[assignment]
PushHandler = Callable[[Any], None]
MessageHandler = Callable[[bytes, bytes], None]
_MESSAGE = b"message"


class ReplyError(EngineError):
    """Redis answered with an error reply (``ERR …``, ``NOSCRIPT …``, ``MOVED …``)."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConnectionClosed(EngineError):
    """The connection was closed or lost before a reply arrived."""


class RespConnection(asyncio.Protocol):
    """A pipelined RESP2 client connection; create it with ``open_connection``."""

    def __init__(self, *, name: str, io_timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self.name = name
        self._io_timeout = io_timeout
        self._reader = hiredis.Reader()
        self._pending: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._wbuf: list[bytes] = []
        self._flush_handle: asyncio.Handle | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None
        self._push: PushHandler | None = None
        self._on_message: MessageHandler | None = None
        #: bytes read so far (liveness: a PUB/SUB reply may wait behind a long backlog)
        self.received = 0
        self._error = "connection closed"
        #: resolved (never failed) once the connection is closed for any reason
        self.closed: asyncio.Future[None] = self._loop.create_future()

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._teardown(f"connection lost: {exc}" if exc else "connection closed by server")

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        reader = self._reader
        reader.feed(data)
        push = self._push
        if push is not None and self._on_message is not None:
            if not self.closed.done():  # nothing is delivered after close()
                self._receive_pubsub(push, self._on_message)
            return
        pending = self._pending
        while True:
            try:
                reply = reader.gets()
            except hiredis.ProtocolError as e:
                self.abort(f"protocol error: {e}")
                return
            if reply is False:
                return
            if push is not None:
                try:
                    push(reply)
                except Exception:
                    logger.exception("redis %s: push handler failed", self.name)
                continue
            if not pending:
                self.abort("unexpected reply")
                return
            fut = pending.popleft()[0]
            if fut.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                fut.set_exception(ReplyError(reply.args[0] if reply.args else ""))
            else:
                fut.set_result(reply)

    def _receive_pubsub(self, push: PushHandler, on_message: MessageHandler) -> None:
        """The PUB/SUB read loop: ``message`` replies to ``on_message``, the rest to ``push``."""
        gets = self._reader.gets
        while True:
            try:
                reply = gets()
            except hiredis.ProtocolError as e:
                self.abort(f"protocol error: {e}")
                return
            if reply is False:
                return
            try:
                if type(reply) is list and len(reply) == 3 and reply[0] == _MESSAGE:
                    on_message(reply[1], reply[2])
                else:
                    push(reply)
            except Exception:
                logger.exception("redis %s: push handler failed", self.name)

    # -- commands --------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self.closed.done()

    def execute(self, args: Command) -> asyncio.Future[Any]:
        """Queue one command; the future gets its reply (error replies: ``ReplyError``).

        Raises ``ConnectionClosed`` at once when the connection is already closed.
        """
        if self.closed.done():
            raise ConnectionClosed(f"redis {self.name}: {self._error}")
        fut: asyncio.Future[Any] = self._loop.create_future()
        deadline = self._loop.time() + self._io_timeout
        self._pending.append((fut, deadline))
        self._write(_pack(args))
        if self._watchdog is None:
            self._watchdog = self._loop.call_at(deadline, self._check_timeout)
        return fut

    def send(self, args: Command) -> None:
        """Write a command whose replies go to the push handler (PUB/SUB mode)."""
        if self.closed.done():
            raise ConnectionClosed(f"redis {self.name}: {self._error}")
        self._write(_pack(args))

    def set_push_handler(
        self, handler: PushHandler, on_message: MessageHandler | None = None
    ) -> None:
        """Switch to push mode; call only when no command awaits its reply.

        With ``on_message``, ``["message", channel, payload]`` replies go to it as
        ``on_message(channel, payload)`` and every other reply to ``handler``.
        """
        if self._pending:
            raise RuntimeError("commands are still pending")
        self._push = handler
        self._on_message = on_message

    def close(self) -> None:
        """Close now; pending commands fail with ``ConnectionClosed``."""
        self._teardown("connection closed")
        if self._transport is not None:
            self._transport.close()

    def abort(self, reason: str) -> None:
        """Drop the connection (e.g. a reply timed out); pending commands fail."""
        logger.debug("redis %s: aborting connection: %s", self.name, reason)
        self._teardown(reason)
        if self._transport is not None:
            self._transport.abort()

    # -- internals -------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        self._wbuf.append(data)
        if self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        buf, self._wbuf = self._wbuf, []
        if self._transport is None or self.closed.done() or not buf:
            return
        self._transport.write(buf[0] if len(buf) == 1 else b"".join(buf))

    def _check_timeout(self) -> None:
        self._watchdog = None
        if not self._pending:
            return
        deadline = self._pending[0][1]
        if deadline <= self._loop.time():
            self.abort(f"no reply within io_timeout {self._io_timeout}s")
        else:
            self._watchdog = self._loop.call_at(deadline, self._check_timeout)

    def _teardown(self, reason: str) -> None:
        if self.closed.done():
            return
        self._error = reason
        self.closed.set_result(None)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._wbuf = []
        pending, self._pending = self._pending, deque()
        for fut, _ in pending:
            if not fut.done():
                fut.set_exception(ConnectionClosed(f"redis {self.name}: {reason}"))


async def open_connection(address: Address, settings: ConnectSettings) -> RespConnection:
    """Connect (TCP, TLS or unix socket) and authenticate within ``connect_timeout``.

    Sends ``AUTH [user] password``, ``SELECT db`` (db ≠ 0) and ``CLIENT SETNAME`` pipelined.
    Raises ``EngineError`` on any failure (refused, timeout, TLS, auth error).
    """
    settings = settings.for_address(address)
    loop = asyncio.get_running_loop()
    name = str(address)

    def factory() -> RespConnection:
        return RespConnection(name=name, io_timeout=settings.io_timeout)

    conn: RespConnection | None = None
    try:
        async with asyncio.timeout(settings.connect_timeout):
            if address.path:
                _, conn = await loop.create_unix_connection(factory, address.path)
            else:
                tls = settings.tls
                ctx = tls.context() if tls.enabled else None
                _, conn = await loop.create_connection(
                    factory,
                    address.host,
                    address.port,
                    ssl=ctx,
                    server_hostname=(tls.server_name or address.host) if ctx else None,
                )
            handshake = []
            if settings.password:
                if settings.user:
                    handshake.append(conn.execute(("AUTH", settings.user, settings.password)))
                else:
                    handshake.append(conn.execute(("AUTH", settings.password)))
            if settings.db:
                handshake.append(conn.execute(("SELECT", settings.db)))
            if settings.client_name:
                handshake.append(conn.execute(("CLIENT", "SETNAME", settings.client_name)))
            for fut in handshake:
                await fut
    except EngineError as e:
        if conn is not None:
            conn.close()
        raise EngineError(f"redis {name}: handshake failed: {e}") from e
    except (OSError, TimeoutError) as e:
        if conn is not None:
            conn.close()
        raise EngineError(f"redis {name}: cannot connect: {e!r}") from e
    return conn
