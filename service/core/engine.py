"""Engine interfaces: the Broker and PresenceManager every engine implements.

The node talks to engines only through these Protocols; engines call back the node through
``BrokerEventHandler``.  The memory engine and the Redis engine pass the same test suite.

Conventions:
* ``StreamPosition.offset`` is the offset of the last publication in a channel stream
  (0 = empty stream); offsets start at 1 and grow by one per publication with history.
* A channel has history when ``PublishOptions.history_size > 0 and history_ttl > 0``.
* Engine failures raise ``EngineError`` (the caller maps it to error 100, temporary).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import msgspec


class EngineError(Exception):
    """A broker or presence operation failed (Redis down, timeout...)."""


@dataclass(slots=True)
class ClientInfo:
    """Who published / joined / left: user ID, client ID, connection and channel info."""

    user: str
    client: str
    conn_info: bytes = b""
    chan_info: bytes = b""


class Publication(msgspec.Struct, gc=False):
    """One message in a channel. ``offset`` is 0 when the channel keeps no history.

    A msgspec Struct rather than a dataclass: engines build one per received message, and
    its C ``__init__`` costs half of a dataclass's.

    ``json_ok`` caches whether ``data`` and ``info`` are valid JSON (None: not checked yet);
    ``core.wire.publication_json_ok`` fills it the first time a JSON connection needs it, so
    a publication is checked once, not once per subscriber or history read.  Engines that
    copy a publication keep it; engines that decode one from the wire leave it None.

    ``delta``: the publication is marked for delta delivery (API ``delta`` or namespace
    ``delta_publish``; docs/beyond_v4.md#delta-compression); engines carry the mark to every
    node.
    """

    data: bytes
    info: ClientInfo | None = None
    offset: int = 0
    tags: dict[str, str] | None = None
    json_ok: bool | None = None
    delta: bool = False


class StreamPosition(NamedTuple):
    """Top of a channel stream: last offset and the stream epoch.

    A NamedTuple (immutable, cheap to build): engines create one per received publication.
    """

    offset: int
    epoch: str


EMPTY_POSITION = StreamPosition(0, "")

PublishOutcome = StreamPosition | Exception | None
"""What one publication of ``Broker.publish`` became: its position, None (no history), or the
exception it failed with."""

PublishRun = tuple[str, Sequence[Publication], "PublishOptions"]
"""Publications of one channel published together, with their options (``Node.publish_many``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishOptions:
    """How a publication is stored; no history when size or ttl is zero.

    ``idempotency_key`` (one publication per call; docs/beyond_v4.md#idempotent-publish):
    when the engine remembers a result for (channel, key) younger than
    ``idempotent_result_ttl`` seconds, the publish is neither stored nor delivered and returns
    that result (the same position, or None without history); otherwise it publishes and
    remembers its result for that long.  Check and publish are atomic per channel, across nodes
    where the engine is shared (Redis).  ``delta_publish``: the node marks every publication
    for delta delivery (``Publication.delta``); engines ignore it.
    """

    history_size: int = 0
    history_ttl: float = 0.0
    history_meta_ttl: float = 0.0
    idempotency_key: str = ""
    idempotent_result_ttl: float = 300.0
    delta_publish: bool = False
    # derived once (read on every publish): size and ttl both > 0
    with_history: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "with_history", self.history_size > 0 and self.history_ttl > 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryQuery:
    """History read.

    ``since``: only publications after (``reverse``: before) ``since.offset``.  Engines do not
    check ``since.epoch``: the caller compares it with ``HistoryResult.position.epoch``.
    ``limit``: 0 = position only, < 0 = no limit.  ``meta_ttl`` > 0 refreshes the expiry of
    the stream meta (top offset and epoch) on this read; 0 leaves it unchanged.
    """

    since: StreamPosition | None = None
    limit: int = 0
    reverse: bool = False
    meta_ttl: float = 0.0


@dataclass(slots=True)
class HistoryResult:
    publications: list[Publication] = field(default_factory=list)
    position: StreamPosition = EMPTY_POSITION


class BrokerEventHandler(Protocol):
    """Implemented by the node; engines call it for every message received from PUB/SUB."""

    def handle_publication(
        self, channel: str, pub: Publication, position: StreamPosition | None
    ) -> None: ...

    def handle_publications(
        self,
        channel: str,
        pubs: Sequence[Publication],
        positions: Sequence[StreamPosition] | None,
    ) -> None:
        """``handle_publication`` for each of ``pubs`` in order (``positions[i]`` is the
        position of ``pubs[i]``; None: no history, every position None)."""
        ...

    def handle_join(self, channel: str, info: ClientInfo) -> None: ...

    def handle_leave(self, channel: str, info: ClientInfo) -> None: ...

    def handle_control(self, data: bytes) -> None: ...


class Broker(Protocol):
    """PUB/SUB, history streams and the node-to-node control channel."""

    async def start(self, handler: BrokerEventHandler, node_id: str) -> None:
        """Begin delivering events to ``handler``; ``node_id`` names this node's control channel."""
        ...

    async def close(self) -> None: ...

    async def subscribe(self, channel: str) -> None:
        """Start receiving publications of ``channel`` (first local subscriber).

        Raises ``EngineError`` when the broker is down, ``ReplyError`` (the client gets that
        error) for a channel this broker cannot carry (NATS: wildcards, v4's error 107).
        """
        ...

    async def unsubscribe(self, channel: str) -> None:
        """Stop receiving publications of ``channel`` (last local subscriber left)."""
        ...

    async def publish(
        self, channel: str, pubs: Sequence[Publication], opts: PublishOptions
    ) -> list[PublishOutcome]:
        """Store (when history is on) and broadcast each of ``pubs`` into ``channel``, in order
        (a single publish is the one-item case).  One entry per publication: its position
        (the new top: its own offset and the epoch; delivery to ``handler`` carries it too),
        None without history, or the exception that publication failed with (it may not have
        been published; the following ones are still tried).  Raises ``EngineError`` only when
        none could be tried (engine not started or closed)."""
        ...

    async def publish_many(
        self, runs: Sequence[PublishRun]
    ) -> list[list[PublishOutcome] | Exception]:
        """``publish`` of each run in turn, in order (a broadcast or a batch of the server API
        into many channels is one call): one outcome list per run, or the exception the run
        raised (the following runs are still tried).  Raises ``EngineError`` only when none
        could be tried, as ``publish``.  ``publish_each`` is the plain loop."""
        ...

    async def publish_join(self, channel: str, info: ClientInfo) -> None: ...

    async def publish_leave(self, channel: str, info: ClientInfo) -> None: ...

    async def publish_control(self, data: bytes, node_id: str = "") -> None:
        """Send a control message to every node (``node_id`` empty) or to one node."""
        ...

    async def history(self, channel: str, query: HistoryQuery) -> HistoryResult:
        """Read publications and the current stream top (creating the epoch if missing)."""
        ...

    async def remove_history(self, channel: str) -> None:
        """Drop stored publications but keep the stream top and epoch."""
        ...

    def healthy(self) -> bool:
        """False while the engine cannot deliver (e.g. Redis PUB/SUB is down)."""
        ...


async def publish_each(
    broker: Broker, runs: Sequence[PublishRun]
) -> list[list[PublishOutcome] | Exception]:
    """``Broker.publish_many`` as one awaited ``publish`` per run (for brokers that wait for
    the network on each publish anyway)."""
    out: list[list[PublishOutcome] | Exception] = []
    for channel, pubs, opts in runs:
        try:
            out.append(await broker.publish(channel, pubs, opts))
        except Exception as e:
            out.append(e)
    return out


class PresenceManager(Protocol):
    """Who is subscribed to a channel, with a TTL refreshed by the node."""

    async def presence(self, channel: str) -> dict[str, ClientInfo]: ...

    async def presence_stats(self, channel: str) -> tuple[int, int]:
        """Return (num_clients, num_users)."""
        ...

    async def add_presence(self, channel: str, client_id: str, info: ClientInfo) -> None: ...

    async def remove_presence(self, channel: str, client_id: str) -> None: ...
