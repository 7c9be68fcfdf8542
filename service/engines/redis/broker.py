"""RedisBroker: the ``Broker`` of the Redis engine, wire-compatible with Centrifugo v4
(docs/redis.md; key, channel and payload formats in ``codec``, Lua in ``scripts``).

* A channel lives on shard ``ShardRing.index(channel)`` (Jump hash over FNV-1a 64); history,
  PUB/SUB and presence of a channel all use that shard.
* Publish with history is ONE ``EVALSHA`` (meta + stream + ``PUBLISH`` inside Lua); without
  history it is a plain ``PUBLISH`` of the protobuf ``Publication``.
* Delivery is asynchronous: the node hears its own publications back through PUB/SUB, so
  it must ``subscribe`` a channel before publications of it are delivered.
* Control messages are opaque bytes: ``P.control`` (all nodes) or ``P.node.<id>`` (one node),
  published round-robin over the shards; every node listens on all shards.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from service.core.engine import (
    BrokerEventHandler,
    ClientInfo,
    EngineError,
    HistoryQuery,
    HistoryResult,
    Publication,
    PublishOptions,
    PublishOutcome,
    PublishRun,
    StreamPosition,
    publish_each,
)

from .codec import (
    JOIN,
    JOIN_PREFIX,
    LEAVE_PREFIX,
    PUBLICATION,
    Names,
    decode_message,
    decode_publication,
    encode_info,
    encode_publication,
)
from .hashing import ShardRing
from .pubsub import PubSub
from .scripts import HISTORY, PUBLISH_HISTORY, PUBLISH_IDEMPOTENT, Script
from .shard import Shard

logger = logging.getLogger(__name__)


def ttl_seconds(value: float) -> int:
    """Seconds for ``EXPIRE``: 0 stays 0 (no expiry), anything else rounds up to >= 1."""
    return 0 if value <= 0 else max(1, math.ceil(value))


def unix_epoch() -> str:
    """Epoch of a new stream meta: current unix time in seconds (as Centrifugo v4)."""
    return str(int(time.time()))


class RedisBroker:
    """``Broker`` over one or more ``Shard`` objects (built by ``build_redis_engine``).

    * ``io_timeout``: bound for PUB/SUB confirmations and pings (commands are bounded by
      their shard's own io_timeout).
    * ``start_timeout``: how long ``start`` waits for every shard's PUB/SUB connection
      before it gives up with ``EngineError``.
    * ``ping_interval``, ``backoff_min``, ``backoff_max``: PUB/SUB keepalive and reconnect
      backoff (seconds).
    * ``epoch_factory``: new epoch when stream meta is created (default unix seconds).

    The broker owns the shards: ``close`` closes them (the presence manager built on the
    same shards stops working too).  ``healthy()`` is False before ``start``, while any
    shard's PUB/SUB is down, and after ``close``.
    """

    def __init__(
        self,
        *,
        shards: Sequence[Shard],
        prefix: str = "centrifugo",
        io_timeout: float = 4.0,
        start_timeout: float = 5.0,
        ping_interval: float = 1.0,
        backoff_min: float = 0.05,
        backoff_max: float = 2.0,
        epoch_factory: Callable[[], str] = unix_epoch,
    ) -> None:
        if not shards:
            raise ValueError("RedisBroker needs at least one shard")
        self._shards = list(shards)
        self._ring = ShardRing(len(self._shards))
        self._names = [Names(prefix, shard.cluster) for shard in self._shards]
        self._client_prefix = Names(prefix).client_channel_prefix
        self._control = Names(prefix).control_channel
        self._node_channel = b""
        self._io_timeout = io_timeout
        self._start_timeout = start_timeout
        self._ping_interval = ping_interval
        self._backoff = (backoff_min, backoff_max)
        self._epoch = epoch_factory
        self._handler: BrokerEventHandler | None = None
        self._pubsubs: list[PubSub] = []
        self._reconnect_cb: Callable[[], None] | None = None
        self._control_rr = 0
        self._write_failed: set[int] = set()  # shards whose last write failed
        self._channel_names: dict[bytes, str] = {}  # P.client.<ch> -> <ch>, decoded once
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------

    def set_reconnect_callback(self, cb: Callable[[], None] | None) -> None:
        """``cb()`` runs after a shard's PUB/SUB reconnected and resubscribed every channel:
        publications may have been missed, positioned subscriptions should be re-checked."""
        self._reconnect_cb = cb

    async def start(self, handler: BrokerEventHandler, node_id: str) -> None:
        """Connect every shard's PUB/SUB (control channels included) and deliver to ``handler``.

        Raises ``EngineError`` when the first connection attempt of some shard fails or does
        not complete within ``start_timeout`` (Centrifugo also refuses to start then).
        Calling it again only replaces the handler.
        """
        if self._closed:
            raise EngineError("redis broker is closed")
        self._handler = handler
        if self._pubsubs:
            return
        self._node_channel = Names(self._names[0].prefix).node_channel(node_id)
        for index, (shard, names) in enumerate(zip(self._shards, self._names, strict=True)):
            fixed = [names.control_channel, names.node_channel(node_id), names.shard_channel(0)]
            pubsub = PubSub(
                shard=shard,
                fixed_channels=fixed,
                on_message=self._on_message,
                on_reconnect=self._on_reconnect,
                io_timeout=self._io_timeout,
                ping_interval=self._ping_interval,
                backoff_min=self._backoff[0],
                backoff_max=self._backoff[1],
            )
            self._pubsubs.append(pubsub)
            pubsub.start()
            logger.debug("redis broker: shard %d is %s", index, shard.name)
        try:
            async with asyncio.timeout(self._start_timeout):
                for pubsub in self._pubsubs:
                    await pubsub.wait_first_attempt()
        except (TimeoutError, EngineError) as e:
            for pubsub in self._pubsubs:
                await pubsub.close()
            self._pubsubs = []
            if isinstance(e, EngineError):
                raise
            raise EngineError(
                f"redis broker: PUB/SUB not connected within {self._start_timeout}s"
            ) from None

    async def close(self) -> None:
        """Stop PUB/SUB tasks and close every shard connection (idempotent)."""
        self._closed = True
        self._handler = None
        pubsubs, self._pubsubs = self._pubsubs, []
        for pubsub in pubsubs:
            await pubsub.close()
        for shard in self._shards:
            await shard.close()

    def healthy(self) -> bool:
        """PUB/SUB connected on every shard and the last write to each shard succeeded.

        Node info is published every few seconds (round-robin over shards), so a shard that
        stops accepting writes turns the node unhealthy even when no client publishes.
        """
        return (
            bool(self._pubsubs) and all(p.healthy for p in self._pubsubs) and not self._write_failed
        )

    async def _write(self, index: int, key: bytes | None, args: Any) -> Any:
        """A write command on shard ``index``; its outcome feeds ``healthy()``."""
        try:
            reply = await self._shards[index].call(key, args)
        except EngineError:
            self._write_failed.add(index)
            raise
        self._write_failed.discard(index)
        return reply

    def _on_reconnect(self) -> None:
        # Redis is reachable again; a write it still refuses marks the shard again
        self._write_failed.clear()
        cb = self._reconnect_cb
        if cb is not None:
            cb()

    # -- subscriptions ---------------------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        """Subscribe ``P.client.<ch>`` on the channel's shard; returns once Redis confirmed."""
        if not self._pubsubs:
            raise EngineError("redis broker is not started")
        index = self._ring.index(channel)
        await self._pubsubs[index].subscribe(self._names[index].client_channel(channel))

    async def unsubscribe(self, channel: str) -> None:
        """Unsubscribe ``P.client.<ch>`` (not awaited on the wire; unknown channels ignored)."""
        if self._pubsubs:
            index = self._ring.index(channel)
            self._pubsubs[index].unsubscribe(self._names[index].client_channel(channel))

    # -- publishing ------------------------------------------------------------------------

    async def publish_many(
        self, runs: Sequence[PublishRun]
    ) -> list[list[PublishOutcome] | Exception]:
        """One ``publish`` per run, in order (``publish_each``)."""
        return await publish_each(self, runs)

    async def publish(
        self, channel: str, pubs: Sequence[Publication], opts: PublishOptions
    ) -> list[PublishOutcome]:
        """Each of ``pubs`` in turn (each waits for Redis before the next goes): with history
        one Lua call that stores it and PUBLISHes it, without history a plain PUBLISH of the
        protobuf ``Publication``.  One entry per publication: its position (its offset and
        the epoch), None without history, or the exception it failed with (the rest still
        run).  ``pubs`` are not modified."""
        out: list[PublishOutcome] = []
        for pub in pubs:
            try:
                out.append(await self._publish_one(channel, pub, opts))
            except Exception as e:
                out.append(e)
        return out

    async def _publish_one(
        self, channel: str, pub: Publication, opts: PublishOptions
    ) -> StreamPosition | None:
        """One publication (see ``publish``); ``opts.idempotency_key`` is checked and
        remembered inside the same Lua call as the publish (``P.result.<ch>.<key>``), so every
        node sharing the Redis sees one publish per key and window."""
        index = self._ring.index(channel)
        names = self._names[index]
        payload = encode_publication(pub)
        stream = names.stream_key(channel)
        key = opts.idempotency_key
        if not opts.with_history:
            if not key:
                await self._write(
                    index, stream, ("PUBLISH", names.client_channel(channel), payload)
                )
                return None
            result_key = names.result_key(channel, key)
            await self._script(
                index,
                PUBLISH_IDEMPOTENT,
                (result_key,),
                (payload, names.client_channel(channel), ttl_seconds(opts.idempotent_result_ttl)),
            )
            return None
        meta = names.meta_key(channel)
        reply = await self._script(
            index,
            PUBLISH_HISTORY,
            (stream, meta, names.result_key(channel, key) if key else meta),
            (
                payload,
                opts.history_size,
                ttl_seconds(opts.history_ttl),
                names.client_channel(channel),
                ttl_seconds(opts.history_meta_ttl),
                self._epoch(),
                ttl_seconds(opts.idempotent_result_ttl) if key else "",
            ),
        )
        return StreamPosition(int(reply[0]), reply[1].decode())

    async def _script(self, index: int, script: Script, keys: Any, args: Any) -> Any:
        """A write script on shard ``index``; its outcome feeds ``healthy()``."""
        try:
            reply = await self._shards[index].script(script, keys, args)
        except EngineError:
            self._write_failed.add(index)
            raise
        self._write_failed.discard(index)
        return reply

    async def publish_join(self, channel: str, info: ClientInfo) -> None:
        """PUBLISH ``__j__`` + protobuf ClientInfo to ``P.client.<ch>``."""
        await self._publish_raw(channel, JOIN_PREFIX + encode_info(info))

    async def publish_leave(self, channel: str, info: ClientInfo) -> None:
        """PUBLISH ``__l__`` + protobuf ClientInfo to ``P.client.<ch>``."""
        await self._publish_raw(channel, LEAVE_PREFIX + encode_info(info))

    async def _publish_raw(self, channel: str, payload: bytes) -> None:
        index = self._ring.index(channel)
        names = self._names[index]
        await self._write(
            index, names.stream_key(channel), ("PUBLISH", names.client_channel(channel), payload)
        )

    async def publish_control(self, data: bytes, node_id: str = "") -> None:
        """PUBLISH ``data`` as-is to ``P.control`` or ``P.node.<node_id>`` (round-robin shard)."""
        if self._closed:
            raise EngineError("redis broker is closed")
        index = self._control_rr % len(self._shards)
        self._control_rr += 1
        names = self._names[index]
        target = names.node_channel(node_id) if node_id else names.control_channel
        await self._write(index, None, ("PUBLISH", target, data))

    # -- history ---------------------------------------------------------------------------

    async def history(self, channel: str, query: HistoryQuery) -> HistoryResult:
        """Read publications and the stream top in one Lua call (creates the epoch if missing).

        Forward: entries from ``since.offset + 1`` (or the oldest); reverse: from
        ``since.offset - 1`` (or the top) downwards, nothing when that is 0.
        ``limit`` 0 = position only, < 0 = no limit.  ``since.epoch`` is not checked.
        """
        index = self._ring.index(channel)
        shard, names = self._shards[index], self._names[index]
        since, limit = query.since, query.limit
        include = limit != 0
        if query.reverse:
            start = "+"
            if since is not None:
                start = str(since.offset - 1)
                include = include and since.offset - 1 > 0
        else:
            start = "-" if since is None else str(since.offset + 1)
        reply = await shard.script(
            HISTORY,
            (names.stream_key(channel), names.meta_key(channel)),
            (
                "1" if include else "0",
                start,
                max(limit, 0),
                "1" if query.reverse else "0",
                ttl_seconds(query.meta_ttl),
                self._epoch(),
            ),
        )
        position = StreamPosition(int(reply[0] or 0), reply[1].decode())
        publications = []
        if len(reply) > 2 and reply[2]:
            for entry_id, fields in reply[2]:
                offset = int(entry_id.partition(b"-")[0])
                publications.append(decode_publication(_field(fields, b"d"), offset))
        return HistoryResult(publications, position)

    async def remove_history(self, channel: str) -> None:
        """``DEL P.stream.<ch>``; the meta (top offset, epoch) is kept."""
        index = self._ring.index(channel)
        key = self._names[index].stream_key(channel)
        await self._shards[index].call(key, ("DEL", key))

    # -- PUB/SUB intake --------------------------------------------------------------------

    def _on_message(self, redis_channel: bytes, data: bytes) -> None:
        handler = self._handler
        if handler is None:
            return
        channel = self._channel_names.get(redis_channel)
        if channel is None and redis_channel.startswith(self._client_prefix):
            channel = redis_channel[len(self._client_prefix) :].decode()
            if len(self._channel_names) > 100_000:
                self._channel_names.clear()
            self._channel_names[redis_channel] = channel
        if channel is not None:
            try:
                kind, value, position = decode_message(data)
            except Exception as e:
                logger.warning("redis broker: bad payload on %r: %s", redis_channel, e)
                return
            if kind == PUBLICATION:
                handler.handle_publication(channel, value, position)
            elif kind == JOIN:
                handler.handle_join(channel, value)
            else:
                handler.handle_leave(channel, value)
        elif redis_channel == self._control or redis_channel == self._node_channel:
            handler.handle_control(data)


def _field(fields: list[bytes], name: bytes) -> bytes:
    """Value of ``name`` in a stream entry's flat field list (``[b"d", payload]``)."""
    for i in range(0, len(fields) - 1, 2):
        if fields[i] == name:
            return fields[i + 1]
    raise EngineError(f"redis broker: stream entry without field {name!r}")
