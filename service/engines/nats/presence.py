"""``NoPresenceManager``: presence with Centrifugo v4's memory engine + NATS broker.

v4 runs that combination without a presence manager: presence cannot be shared by the nodes,
so it is not kept at all.  Adding and removing presence succeed and do nothing (subscribing
with presence on still works); reading it fails, which the caller answers with error 100
(internal), as v4's client and server APIs do.  Channels without ``presence`` answer 108 (not
available) before any engine is asked, as always.
"""

from __future__ import annotations

from service.core.engine import ClientInfo, EngineError

NOT_AVAILABLE = "presence is not available with the memory engine and the NATS broker"


class NoPresenceManager:
    """``PresenceManager`` that keeps nothing (see module doc)."""

    async def presence(self, channel: str) -> dict[str, ClientInfo]:
        raise EngineError(NOT_AVAILABLE)

    async def presence_stats(self, channel: str) -> tuple[int, int]:
        raise EngineError(NOT_AVAILABLE)

    async def add_presence(self, channel: str, client_id: str, info: ClientInfo) -> None:
        return None

    async def remove_presence(self, channel: str, client_id: str) -> None:
        return None
