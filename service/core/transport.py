"""The Transport interface: what the core needs from WebSocket, HTTP-streaming, SSE, gRPC...

Transports are adapters.  They decode nothing: they hand incoming bytes to
``ClientSession.handle_data`` and write the frames the session's writer gives them.
"""

from __future__ import annotations

from typing import Protocol

from ..protocol import Codec
from ..protocol.codes import DisconnectCode


class Transport(Protocol):
    """A live client connection.

    * ``name``: transport name for metrics/proxies (``websocket``, ``http_stream``, ...).
    * ``codec``: wire encoding of this connection.
    * ``unidirectional``: messages are bare Pushes, no commands after connect, no pong.
    * ``emulation``: http_stream/sse; ConnectResult carries ``session`` and ``node``.
    * ``disconnect_push``: a disconnect is sent as a ``disconnect`` push before closing
      (everything but WebSocket, which uses a close frame).
    * ``app_ping``: the server sends app-level pings (all but uni_grpc).
    * optional ``write_timeout`` (seconds, 0 = none): unsent bytes that make no progress
      for this long disconnect the client with 3009 (``websocket_write_timeout``).
    * optional ``chunk_framing`` (``protocol.chunk``; 0 = none): ``write`` takes a ``Chunk``
      of that framing among its messages, so a burst of one channel reaches this connection
      as one pre-framed element.
    """

    name: str
    codec: Codec
    unidirectional: bool
    emulation: bool
    disconnect_push: bool
    app_ping: bool

    def write(self, messages: list[bytes]) -> None:
        """Frame ``messages`` (encoded Replies, or Pushes if unidirectional) and write them.

        Must not block; must not raise for a dead peer (it will be closed separately); must
        not keep a reference to ``messages`` (the writer reuses the list).
        """
        ...

    def buffered(self) -> int:
        """Bytes accepted by ``write`` but not yet sent to the peer."""
        ...

    def close(self, disconnect: DisconnectCode | None) -> None:
        """End the connection; WebSocket sends ``disconnect`` as its close frame.

        ``None`` or code 3000 means: no close frame, just end.
        """
        ...
