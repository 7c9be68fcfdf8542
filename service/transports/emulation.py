"""Emulation endpoint ``/emulation`` (docs/transports.md#emulation): client commands
of http_stream/sse streams.

The body (at most ``emulation_max_request_body_size`` bytes, 413 beyond) is an
``EmulationRequest{node, session, data}``:

* ``Content-Type: application/octet-stream``: protobuf; ``data`` is the varint-delimited
  protobuf Command bytes;
* otherwise JSON ``{"node": ..., "session": ..., "data": "<JSON string>"}`` where ``data`` is a
  JSON *string* holding the command text (newline-delimited when several).

``Node.emulate`` hands the commands to the connection owning ``session`` - on this node, or
through the broker's node-to-node channel on another - and the answer is ``204`` once they were
processed.  ``400``: undecodable body; ``404``: ``node`` is not a live node (centrifuge-js then
reconnects); ``500``: anything else.  As in v4 an unknown session, or a ``data`` that is not a
JSON string, still gets 204 and the commands are dropped.
"""

from __future__ import annotations

import logging

import msgspec
from aiohttp import web

from ..core.node import Node
from ..protocol import ProtocolError
from ..protocol.messages import EmulationRequest
from .http_stream import PROTOBUF_CONTENT_TYPE, plain, read_body

log = logging.getLogger("gyre.emulation")

_json_request = msgspec.json.Decoder(EmulationRequest)
_json_string = msgspec.json.Decoder(str)


def decode_request(body: bytes, binary: bool) -> tuple[str, str, bytes | None]:
    """``(node, session, command bytes)``; the bytes are None when ``data`` must be dropped.

    Raises ProtocolError for a body that is not an EmulationRequest.
    """
    if binary:
        from ..protocol.pb_codec import decode_emulation_request

        req = decode_emulation_request(body)
        return req.node, req.session, bytes(req.data)
    try:
        req = _json_request.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        raise ProtocolError("malformed emulation request") from None
    raw = bytes(req.data)
    if not raw:
        return req.node, req.session, b""
    try:
        text = _json_string.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return req.node, req.session, None
    return req.node, req.session, text.encode()


class EmulationHandler:
    """aiohttp handler of ``/emulation`` (``OPTIONS`` 200 comes from the CORS wrapper)."""

    def __init__(self, node: Node, *, max_request_body_size: int = 65536) -> None:
        self.node = node
        self.max_request_body_size = max_request_body_size

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await read_body(request, self.max_request_body_size)
        if body is None:
            return plain(413, request)
        binary = request.headers.get("Content-Type", "").startswith(PROTOBUF_CONTENT_TYPE)
        try:
            node_id, session, data = decode_request(body, binary)
        except ProtocolError:
            return plain(400, request)
        try:
            if data is None:
                known = not node_id or self.node.cluster.is_live(node_id)
                return plain(204 if known else 404, request)
            if not await self.node.emulate(node_id, session, data):
                return plain(404, request)
        except Exception:
            log.exception("emulation failed")
            return plain(500, request)
        return plain(204, request)
