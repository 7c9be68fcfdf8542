"""Bidirectional gRPC client transport ``centrifugal.centrifugo.stream.CentrifugoStream``.

A gyre extension (v4 has no bidirectional gRPC transport, docs/transports.md#grpc-streams)::

    rpc Communicate(stream centrifugal.centrifuge.protocol.Command)
        returns (stream centrifugal.centrifuge.protocol.Reply);

Each stream message is ONE protobuf Command (client → server) or ONE Reply (server → client),
without the varint framing used on WebSocket.  Session semantics are WebSocket's (connect
first, same commands and errors, pings are empty Replies, pongs are empty Commands), except
that a server-side disconnect is a Reply carrying ``push.disconnect`` (code, reason) after
which the call ends with status OK (like the emulation transports,
docs/protocol.md#how-a-disconnect-reaches-the-client).  Undecodable bytes disconnect with
3501.  A client half-close (end of its request stream) is treated as the client going away
(3000).

The handler is registered with ``request_deserializer=None`` / ``response_serializer=None``:
Replies leave as the pre-encoded bytes the hub built once per publication.

Writing bridges the synchronous ``Transport.write`` to grpc.aio: messages are appended to a
per-connection buffer and one writer coroutine per stream (the RPC handler itself) awaits
``context.write`` for each.  ``buffered()`` reports bytes not yet accepted by gRPC, so a client
that stops reading (gRPC flow control blocks the writes) is disconnected by the session's
writer as slow (3008) once they exceed ``client_queue_max_size``; other streams are unaffected.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import grpc

from ..core.client import ClientSession
from ..core.node import Node
from ..protocol import Codec, ProtocolError, pb_codec
from ..protocol.codes import DisconnectCode
from ..protocol.messages import Command
from .http_stream import joined_headers
from .limits import ConnectionLimiter

log = logging.getLogger("gyre.grpc_stream")

SERVICE_NAME = "centrifugal.centrifugo.stream.CentrifugoStream"
METHOD_NAME = "Communicate"


def _decode_one(data: bytes) -> list[Command]:
    """One unframed protobuf Command per stream message; zero bytes is a pong."""
    return [pb_codec.decode_command(data)]


def _decode_one_prefix(data: bytes) -> tuple[list[Command], ProtocolError | None]:
    try:
        return _decode_one(data), None
    except ProtocolError as e:
        return [], e


STREAM_CODEC = Codec(
    "protobuf",
    True,
    _decode_one,
    _decode_one_prefix,
    pb_codec.encode_reply,
    pb_codec.encode_push,
    pb_codec.join_frames,  # unused: the transport writes one gRPC message per Reply
)
"""Protobuf without varint framing: the gRPC message boundary delimits each message."""


def metadata_headers(context: Any) -> dict[str, str]:
    """Text invocation metadata as a header dict (forwarded to proxies like HTTP headers;
    a key sent several times keeps every value, :func:`joined_headers`)."""
    return joined_headers(
        (key, value) for key, value in context.invocation_metadata() or () if isinstance(value, str)
    )


class GrpcStreamWriter:
    """Buffer + writer coroutine bridging ``Transport.write`` to ``context.write``.

    ``write`` never blocks: it appends and wakes ``run``.  ``run`` (awaited by the RPC
    handler) writes every buffered message, one gRPC message each, and returns after
    ``close``: for a normal disconnect once the buffer (ending with the disconnect push) is
    drained, for 3000/3008 immediately after the write in flight.
    """

    __slots__ = ("_closing", "_context", "_inflight", "_pending", "_pending_bytes", "_waiter")

    def __init__(self, context: Any) -> None:
        self._context = context
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._inflight = 0
        self._closing = False
        self._waiter: asyncio.Future[None] | None = None

    def write(self, messages: list[bytes]) -> None:
        if self._closing:
            return
        self._pending.extend(messages)
        n = 0
        for msg in messages:
            n += len(msg)
        self._pending_bytes += n
        self._wake()

    def buffered(self) -> int:
        return self._pending_bytes

    def close(self, disconnect: DisconnectCode | None) -> None:
        if disconnect is None or disconnect.discards_queue:
            self._pending.clear()
            self._pending_bytes = 0
            self._inflight = 0
        self._closing = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run(self) -> None:
        """Write until closed and drained; returns early if the call breaks."""
        pending = self._pending
        write = self._context.write
        loop = asyncio.get_running_loop()
        try:
            while True:
                while pending:
                    msg = pending.popleft()
                    self._inflight = len(msg)
                    await write(msg)
                    self._pending_bytes -= self._inflight  # 0 if dropped meanwhile
                    self._inflight = 0
                if self._closing:
                    return
                self._waiter = loop.create_future()
                await self._waiter
                self._waiter = None
        except (grpc.RpcError, grpc.aio.AbortError, asyncio.InvalidStateError) as e:
            log.debug("grpc stream write failed: %r", e)
        except Exception:
            log.debug("grpc stream write failed", exc_info=True)


class GrpcStreamTransport(GrpcStreamWriter):
    """``Transport`` of one bidirectional ``Communicate`` call."""

    __slots__ = ()

    name = "grpc_stream"
    codec = STREAM_CODEC
    unidirectional = False
    emulation = False
    disconnect_push = True
    app_ping = True


class GrpcStreamHandler:
    """``Communicate`` handler: one ClientSession per call (reader task + writer coroutine)."""

    def __init__(
        self,
        node: Node,
        *,
        limiter: ConnectionLimiter | None = None,
        is_shutting_down: Callable[[], bool] | None = None,
    ) -> None:
        self.node = node
        self.limiter = limiter
        self.is_shutting_down = is_shutting_down or (lambda: node.shutting_down)

    def rpc_method_handler(self) -> Any:
        """The raw-bytes method handler (no per-message (de)serialization by grpcio)."""
        return grpc.stream_stream_rpc_method_handler(
            self.communicate, request_deserializer=None, response_serializer=None
        )

    def generic_handler(self) -> Any:
        return grpc.method_handlers_generic_handler(
            SERVICE_NAME, {METHOD_NAME: self.rpc_method_handler()}
        )

    async def communicate(self, request_iterator: Any, context: Any) -> None:
        if self.is_shutting_down():
            await context.abort(grpc.StatusCode.UNAVAILABLE, "shutting down")
        if self.limiter is not None and not self.limiter.allow():
            await context.abort(grpc.StatusCode.UNAVAILABLE, "connection limit")
        transport = GrpcStreamTransport(context)
        client = ClientSession(self.node, transport, headers=metadata_headers(context))
        reading = [False]
        reader = asyncio.get_running_loop().create_task(
            _read_loop(client, context, reading), name="gyre-grpc-stream-reader"
        )
        try:
            await transport.run()
        finally:
            client.on_transport_closed()
            if not reader.done():
                if reading[0]:
                    reader.cancel()  # blocked in context.read(): nothing half-done
                try:
                    await reader  # otherwise finishes its command, then sees CLOSED
                except asyncio.CancelledError:
                    if not reader.cancelled():
                        raise
                except Exception:
                    log.debug("grpc stream reader failed", exc_info=True)


async def _read_loop(client: ClientSession, context: Any, reading: list[bool]) -> None:
    """Feed each received message to the session; any end of input closes it (3000)."""
    try:
        while True:
            reading[0] = True
            try:
                data = await context.read()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # call cancelled / broken / message too large
                log.debug("grpc stream read ended: %r", e)
                return
            finally:
                reading[0] = False
            if data is grpc.aio.EOF:
                return
            try:
                if not await client.handle_data(data):
                    return
            except Exception:  # handle_data reports errors itself; this is a bug
                log.exception("grpc stream: handling client data failed")
                return
    finally:
        client.on_transport_closed()
