"""The one interface a proxy transport (HTTP or gRPC) implements, and its failure.

A transport carries one request Struct of ``service.proxy.messages`` to the backend and
returns the response Struct, or raises :class:`ProxyFailure` for anything that is not a
valid answer: network error, timeout, HTTP status other than 200, a gRPC status other than
OK, or a body that does not decode as the response message.  What a failure means for the
client is decided per proxy type (docs/proxy.md#5-what-each-answer-does), never by the transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from .messages import Kind, ReqT, RespT


class ProxyFailure(Exception):
    """The backend gave no valid answer; the message says why (for logs)."""


class ProxyTransport(Protocol):
    """Sends proxy requests to one endpoint.

    ``protocol`` is ``http`` or ``grpc`` (the metrics label).  ``headers`` are the client
    headers (or gRPC metadata) chosen for forwarding, keys in lower case; the HTTP adapter
    sends them as request headers, the gRPC adapter as metadata.  ``timeout`` bounds the
    whole call, in seconds.
    """

    protocol: str

    async def call(
        self,
        kind: Kind[ReqT, RespT],
        request: ReqT,
        headers: Mapping[str, str],
        timeout: float,
    ) -> RespT: ...
