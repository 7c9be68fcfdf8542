"""Chunks: several encoded messages framed once for every connection that streams them alike.

When one channel gets several publications at once, the hub hands each subscriber ONE
``Chunk`` holding all of them, built once per wire variant and framing (docs/performance.md,
"Bursts").  A transport finds a ``Chunk`` among the messages its ``write`` gets and copies it
as is, where it would otherwise frame each message itself.  The framings:

* ``LINES``: JSON messages joined with ``\\n`` (bidirectional WebSocket, HTTP-streaming,
  SockJS, WebTransport, uni_http_stream): a Chunk is a valid element of a ``\\n`` join, so
  these transports need no change.
* ``VARINT``: Protobuf messages, each prefixed with its varint length (``frame_delimited``).
* ``SSE``: one ``data: <json>\\n\\n`` event per message (bidirectional SSE).

A transport without a framing here (0: uni_websocket writes one WebSocket frame per push,
uni_sse tracks positions per push, gRPC writes one stream message per reply) gets
publications one by one.
"""

from __future__ import annotations

NONE, LINES, VARINT, SSE = range(4)


class Chunk(bytes):
    """Messages already framed together for one framing (see the module docstring)."""

    __slots__ = ()


def stream_framing(binary: bool) -> int:
    """The framing of a stream of Replies (or Pushes) in one codec: VARINT or LINES."""
    return VARINT if binary else LINES


def sse_event(message: bytes) -> bytes:
    """One SSE event (JSON never contains a raw newline, docs/protocol.md)."""
    return b"data: " + message + b"\n\n"
