"""Unidirectional gRPC client transport ``uni_grpc`` (docs/transports.md).

``/centrifugal.centrifugo.unistream.CentrifugoUniStream/Consume(ConnectRequest) returns
(stream Push)``.  The request is decoded with the client-protocol ``ConnectRequest`` (the
unistream copy has the same field numbers); the stream carries the pre-encoded
client-protocol Push bytes the hub built once per publication (``response_serializer=None``).

First message: a ``connect`` push with ``ping`` 0 (no app-level pings: ``app_ping`` is False;
gRPC keepalive replaces them).  On disconnect: a ``disconnect`` push, then the RPC returns with
status OK.  Connect failures become disconnects (3005/3013/3507/3004,
docs/transports.md#unidirectional-transports).  The metadata key ``x-cf-protocol-version``
accepts ``v2`` (or nothing); any other value fails the RPC with "unknown protocol version".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc
from centrifugal.centrifuge.protocol import client_pb2
from google.protobuf.message import DecodeError

from ..core.client import ClientSession
from ..core.node import Node
from ..protocol import protobuf_codec
from ..protocol.messages import ConnectRequest
from ..protocol.pb_convert import pb_to_struct
from .grpc_stream import GrpcStreamWriter, metadata_headers
from .limits import ConnectionLimiter

log = logging.getLogger("gyre.grpc_uni")

SERVICE_NAME = "centrifugal.centrifugo.unistream.CentrifugoUniStream"
METHOD_NAME = "Consume"
PROTOCOL_VERSION_KEY = "x-cf-protocol-version"


class GrpcUniTransport(GrpcStreamWriter):
    """``Transport`` of one ``Consume`` call: bare protobuf Pushes, one per gRPC message."""

    __slots__ = ()

    name = "uni_grpc"
    codec = protobuf_codec()  # encode_push: one unframed Push
    unidirectional = True
    emulation = False
    disconnect_push = True
    app_ping = False


def decode_connect_request(data: bytes) -> ConnectRequest:
    """Parse the ``Consume`` request bytes (raises ``DecodeError``)."""
    msg = client_pb2.ConnectRequest.FromString(data)
    req: ConnectRequest = pb_to_struct(msg, ConnectRequest)
    return req


class GrpcUniHandler:
    """``Consume`` handler: connect from the request, then stream pushes until disconnect."""

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
        return grpc.unary_stream_rpc_method_handler(
            self.consume, request_deserializer=None, response_serializer=None
        )

    def generic_handler(self) -> Any:
        return grpc.method_handlers_generic_handler(
            SERVICE_NAME, {METHOD_NAME: self.rpc_method_handler()}
        )

    async def consume(self, request: bytes, context: Any) -> None:
        headers = metadata_headers(context)
        if headers.get(PROTOCOL_VERSION_KEY, "v2") not in ("", "v2"):
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "unknown protocol version")
        if self.is_shutting_down():
            await context.abort(grpc.StatusCode.UNAVAILABLE, "shutting down")
        if self.limiter is not None and not self.limiter.allow():
            await context.abort(grpc.StatusCode.UNAVAILABLE, "connection limit")
        try:
            req = decode_connect_request(request)
        except DecodeError:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "malformed connect request")
            return
        transport = GrpcUniTransport(context)
        client = ClientSession(self.node, transport, headers=headers)
        try:
            await client.connect_unidirectional(req)
            await transport.run()
        finally:
            client.on_transport_closed()
