"""Client protocol v1 at the edge: version selection and a Transport wrapper.

``cf_protocol_version=v1|v2`` on the connection URL selects the protocol of WebSocket and
SockJS connections; without it ``use_client_protocol_v1_by_default`` decides.  Any other
value is answered HTTP 400, and so is ``v1`` when ``disable_client_protocol_v1`` is on (the
default then is always v2).  The core sees v2 only: :class:`V1Transport` translates each
outgoing v2 message (``service.protocol.v1``) and :func:`handle_v1_data` decodes incoming v1
frames into v2 commands, answering v1 ``ping`` commands itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..core.client import ClientSession
from ..core.transport import Transport
from ..protocol import JSON, ProtocolError, v1
from ..protocol.codes import DISCONNECT_BAD_REQUEST, DisconnectCode

log = logging.getLogger("gyre.v1")

V1, V2 = "v1", "v2"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolVersions:
    """``use_client_protocol_v1_by_default`` and ``disable_client_protocol_v1``."""

    v1_by_default: bool = False
    v1_disabled: bool = False

    def select(self, requested: str) -> str | None:
        """The protocol for a ``cf_protocol_version`` value ("" = absent); None = HTTP 400."""
        if not requested:
            return V1 if self.v1_by_default and not self.v1_disabled else V2
        if requested == V2:
            return V2
        if requested == V1 and not self.v1_disabled:
            return V1
        return None


# One-entry cache shared by all v1 connections: a broadcast hands the same v2 bytes to every
# subscriber, so a publication is translated once, not once per v1 subscriber.
# Measured: 1 push for 1000 v1 connections 50 us vs 1050 us uncached (bench/micro.py v1).
_push_src: list[bytes | None] = [None]
_push_out: list[bytes] = [b""]


class V1Transport:
    """Wraps a bidirectional JSON transport (WebSocket, SockJS) for a protocol v1 client.

    No application-level pings (v1 liveness is the transport's own: WebSocket ping frames or
    SockJS heartbeats); disconnects use the inner transport's close frame with the v1 JSON
    reason ``{"reason":...,"reconnect":...}``.
    """

    __slots__ = ("inner", "name", "translator", "write_timeout")

    codec = JSON
    unidirectional = False
    emulation = False
    disconnect_push = False
    app_ping = False

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.name = inner.name
        self.write_timeout: float = getattr(inner, "write_timeout", 0.0)
        self.translator = v1.Translator()

    def _one(self, data: bytes) -> bytes:
        if data is _push_src[0]:
            return _push_out[0]
        out = self.translator.translate(data)
        if data.startswith(b'{"push"'):
            _push_src[0] = data
            _push_out[0] = out
        return out

    def write(self, messages: list[bytes]) -> None:
        self.inner.write([self._one(d) for d in messages])

    def buffered(self) -> int:
        return self.inner.buffered()

    def close(self, disconnect: DisconnectCode | None) -> None:
        if disconnect is None or disconnect.peer_gone:
            self.inner.close(disconnect)
            return
        reason = v1.close_reason(disconnect.reason, disconnect.reconnect)
        self.inner.close(DisconnectCode(disconnect.code, reason))


async def handle_v1_data(client: ClientSession, data: bytes) -> bool:
    """``ClientSession.handle_data`` for a v1 frame; False once the connection is closed."""
    if client.closed:
        return False
    try:
        commands = v1.decode_commands(data)
    except ProtocolError as e:
        log.info("client %s: bad v1 frame: %s", client.id, e)
        client.disconnect(DISCONNECT_BAD_REQUEST)
        return False
    for cmd in commands:
        if cmd.ping is not None and cmd.id > 0 and client.connected:
            client.write_reply(v1.ping_reply(cmd.id))
            continue
        if not await client.handle_command(cmd):
            return False
    return True
