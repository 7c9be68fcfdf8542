"""Failure behaviour: Redis killed / frozen / down at start, Sentinel failover, stale cluster
slot map.  Publishing never hangs past io_timeout; PUB/SUB reconnects, resubscribes and
tells the node through the reconnect callback."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest

from service.core.engine import (
    ClientInfo,
    EngineError,
    HistoryQuery,
    Publication,
    PublishOptions,
)
from service.engines.redis import (
    RedisBroker,
    RedisPresenceManager,
    RedisShardConfig,
    build_redis_engine,
)
from service.engines.redis.cluster import ClusterShard
from tests.engine_suite import RecordingHandler
from tests.publishing import publish_one
from tests.redis_fixtures import (
    MASTER_NAME,
    RedisFactory,
    RedisProcess,
    SentinelGroup,
    free_port,
)

HISTORY = PublishOptions(history_size=10, history_ttl=60, history_meta_ttl=600)
IO_TIMEOUT = 0.5


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll a state that has no event (``healthy()``) every 10 ms."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def fast_engine(config: RedisShardConfig) -> tuple[RedisBroker, RedisPresenceManager]:
    return build_redis_engine(shards=[config], ping_interval=0.05, backoff_max=0.1)


class Reconnects:
    def __init__(self) -> None:
        self.count = 0
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()


async def assert_fails_fast(coro: Awaitable[object], limit: float = IO_TIMEOUT + 0.5) -> None:
    started = time.monotonic()
    with pytest.raises(EngineError):
        await coro
    assert time.monotonic() - started < limit


async def test_kill_and_restart_resubscribes_everything(redis_factory: RedisFactory) -> None:
    server = redis_factory.server()
    broker, presence = build_redis_engine(
        shards=[RedisShardConfig(address=server.address, io_timeout=IO_TIMEOUT)],
        ping_interval=0.05,
        backoff_max=0.1,
    )
    handler, reconnects = RecordingHandler(), Reconnects()
    broker.set_reconnect_callback(reconnects)
    await broker.start(handler, "n1")
    try:
        channels = [f"k{i}-{uuid.uuid4().hex[:6]}" for i in range(600)]  # two SUBSCRIBE batches
        await asyncio.gather(*(broker.subscribe(ch) for ch in channels))
        await publish_one(broker, channels[0], Publication(b"before"), HISTORY)
        await handler.wait_publications(channels[0], 1)

        server.stop()
        await eventually(lambda: not broker.healthy())
        await assert_fails_fast(publish_one(broker, channels[0], Publication(b"x"), HISTORY))
        await assert_fails_fast(broker.history(channels[0], HistoryQuery(limit=-1)))
        await assert_fails_fast(presence.add_presence(channels[0], "c", ClientInfo("u", "c")))
        await assert_fails_fast(broker.subscribe("another"))
        # a run of publications answers one error per publication instead of raising
        run = [Publication(b"a"), Publication(b"b")]
        failed = await asyncio.wait_for(broker.publish(channels[0], run, HISTORY), 5)
        assert len(failed) == 2 and all(isinstance(e, EngineError) for e in failed)
        assert reconnects.count == 0

        server.start()
        await asyncio.wait_for(reconnects.event.wait(), 10)
        assert broker.healthy() and reconnects.count == 1
        subscribed = set(server.command("PUBSUB", "CHANNELS", "centrifugo.client.*"))
        assert subscribed == {f"centrifugo.client.{ch}".encode() for ch in channels}
        for ch in (channels[0], channels[511], channels[599]):
            await publish_one(broker, ch, Publication(b"after"), PublishOptions())
            [*_, (pub, _)] = await handler.wait_publications(ch, 2 if ch == channels[0] else 1)
            assert pub.data == b"after"
    finally:
        await broker.close()
    assert not broker.healthy()


async def test_frozen_redis_times_out_and_recovers(redis_factory: RedisFactory) -> None:
    server = redis_factory.server()
    broker, presence = fast_engine(RedisShardConfig(address=server.address, io_timeout=IO_TIMEOUT))
    handler, reconnects = RecordingHandler(), Reconnects()
    broker.set_reconnect_callback(reconnects)
    await broker.start(handler, "n1")
    channel = f"frozen-{uuid.uuid4().hex[:6]}"
    await broker.subscribe(channel)
    server.pause()
    try:
        await assert_fails_fast(publish_one(broker, channel, Publication(b"x"), PublishOptions()))
        await assert_fails_fast(presence.presence(channel))
        await eventually(lambda: not broker.healthy(), timeout=5)
    finally:
        server.resume()
    try:
        await asyncio.wait_for(reconnects.event.wait(), 10)
        await publish_one(broker, channel, Publication(b"y"), PublishOptions())
        [(pub, _)] = await handler.wait_publications(channel, 1)
        assert pub.data == b"y"
    finally:
        await broker.close()


async def test_start_fails_when_redis_is_down() -> None:
    config = RedisShardConfig(address=f"127.0.0.1:{free_port()}", connect_timeout=0.2)
    broker, presence = build_redis_engine(shards=[config], backoff_max=0.05)
    broker._start_timeout = 0.5
    started = time.monotonic()
    with pytest.raises(EngineError):
        await broker.start(RecordingHandler(), "n1")
    assert time.monotonic() - started < 2
    assert not broker.healthy()
    await assert_fails_fast(publish_one(broker, "ch", Publication(b"x"), PublishOptions()))
    await assert_fails_fast(presence.presence_stats("ch"))
    await broker.close()
    with pytest.raises(EngineError):
        await publish_one(broker, "ch", Publication(b"x"), PublishOptions())


async def test_sentinel_failover(fresh_sentinel: SentinelGroup) -> None:
    group = fresh_sentinel
    broker, _ = fast_engine(
        RedisShardConfig(
            sentinel_addresses=(group.sentinel.address,),
            sentinel_master_name=MASTER_NAME,
            io_timeout=IO_TIMEOUT,
        )
    )
    handler, reconnects = RecordingHandler(), Reconnects()
    broker.set_reconnect_callback(reconnects)
    await broker.start(handler, "n1")
    channel = f"failover-{uuid.uuid4().hex[:6]}"
    try:
        await broker.subscribe(channel)
        first = await publish_one(broker, channel, Publication(b"1"), HISTORY)
        assert first is not None
        # the master writes the reply and the PUB/SUB message separately: a SIGKILL right
        # after the reply can lose the message (PUB/SUB is at most once), so wait for it
        await handler.wait_publications(channel, 1)
        group.master.stop()
        async with asyncio.timeout(30):
            while True:
                try:
                    await publish_one(broker, channel, Publication(b"2"), PublishOptions())
                    break
                except EngineError:
                    await asyncio.sleep(0.05)
        assert group.master_port() == group.replica.port
        await asyncio.wait_for(reconnects.event.wait(), 10)
        await publish_one(broker, channel, Publication(b"3"), HISTORY)
        await handler.wait_for(lambda: handler.publications_in(channel)[-1][0].data == b"3")
        # "2" (no history) arrives only if PUB/SUB was back before it was published
        assert [p.data for p, _ in handler.publications_in(channel)] in (
            [b"1", b"3"],
            [b"1", b"2", b"3"],
        )
        await eventually(broker.healthy)
    finally:
        await broker.close()


async def test_cluster_stale_slot_map_follows_moved(redis_cluster: list[RedisProcess]) -> None:
    broker, presence = build_redis_engine(
        shards=[RedisShardConfig(cluster_addresses=(redis_cluster[0].address,))]
    )
    channel = f"moved-{uuid.uuid4().hex[:6]}"
    try:
        await broker.history(channel, HistoryQuery())  # loads the slot map
        shard = broker._shards[0]
        assert isinstance(shard, ClusterShard)
        assert shard._slots is not None
        nodes = sorted(set(shard._slots))
        # Point every slot at one node: two thirds of the channels now answer MOVED.
        shard._slots = [nodes[0]] * len(shard._slots)
        for i in range(10):
            pos = await publish_one(broker, f"{channel}-{i}", Publication(b"x"), HISTORY)
            assert pos is not None and pos.offset == 1
            await presence.add_presence(f"{channel}-{i}", "c", ClientInfo("u", "c"))
    finally:
        await broker.close()


class BusyHandler(RecordingHandler):
    """A node that needs 2 ms of CPU per publication (an overloaded process)."""

    def handle_publication(self, channel: str, pub: Publication, position: object) -> None:
        end = time.perf_counter() + 0.002
        while time.perf_counter() < end:
            pass
        super().handle_publication(channel, pub, position)  # type: ignore[arg-type]


async def busy_engine(
    redis_factory: RedisFactory, io_timeout: float
) -> tuple[RedisProcess, RedisBroker, BusyHandler, Reconnects]:
    """A Redis server and a started broker whose node needs 2 ms per publication."""
    server = redis_factory.server()
    broker, _ = build_redis_engine(
        shards=[RedisShardConfig(address=server.address, io_timeout=io_timeout)],
        ping_interval=0.05,
        backoff_max=0.1,
    )
    handler, reconnects = BusyHandler(), Reconnects()
    broker.set_reconnect_callback(reconnects)
    await broker.start(handler, "n1")
    return server, broker, handler, reconnects


async def flood(port: int, channel: str, n: int) -> asyncio.StreamWriter:
    """PUBLISH ``n`` 4 KB publications into ``channel``'s PUB/SUB channel from another
    connection and wait until Redis took them all (the subscriber then has them queued)."""
    import hiredis

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = b"\x22\xa0\x1f" + b"x" * 4000  # a Publication with 4000 bytes of data
    cmd = hiredis.pack_command((b"PUBLISH", f"centrifugo.client.{channel}", payload))
    writer.write(cmd * n)
    await writer.drain()
    replies, parser = 0, hiredis.Reader()
    while replies < n:
        parser.feed(await reader.read(65536))
        while parser.gets() is not False:
            replies += 1
    return writer


async def test_busy_node_keeps_pubsub_through_a_long_backlog(redis_factory: RedisFactory) -> None:
    """The PONG waits behind every queued message: a backlog that takes several io_timeouts
    to drain must not be taken for a dead connection (reconnecting would drop it all)."""
    server, broker, handler, reconnects = await busy_engine(redis_factory, 0.3)
    channel = f"busy-{uuid.uuid4().hex[:6]}"
    await broker.subscribe(channel)
    # 800 x 4 KB: 3 MB queued for the subscriber, >= 1.6 s of handling (5 io_timeouts),
    # while one socket read (256 KB, ~0.13 s of handling) stays below io_timeout
    n = 800
    writer = await flood(server.port, channel, n)
    try:
        try:
            await handler.wait_for(lambda: len(handler.publications_in(channel)) >= n, 30)
        except TimeoutError:
            pass
        assert len(handler.publications_in(channel)) == n
        assert reconnects.count == 0 and broker.healthy()
    finally:
        writer.close()
        await broker.close()


async def test_subscribe_confirmed_too_late_leaves_no_subscription(
    redis_factory: RedisFactory,
) -> None:
    """A SUBSCRIBE whose confirmation waits behind a backlog longer than io_timeout fails
    (the node disconnects the client with 3004); when Redis confirms it later, the channel
    must not stay subscribed with nobody listening."""
    server, broker, handler, reconnects = await busy_engine(redis_factory, 0.3)
    busy = f"busy-{uuid.uuid4().hex[:6]}"
    late = f"late-{uuid.uuid4().hex[:6]}"
    await broker.subscribe(busy)
    n = 600  # >= 1.2 s of handling queued ahead of the SUBSCRIBE confirmation
    writer = await flood(server.port, busy, n)
    try:
        with pytest.raises(EngineError):
            await broker.subscribe(late)
        await handler.wait_for(lambda: len(handler.publications_in(busy)) >= n, 30)
        assert reconnects.count == 0 and broker.healthy()
        await broker.subscribe(busy)  # answered after the late confirmation and the undo
        assert server.command("PUBSUB", "CHANNELS", f"centrifugo.client.{late}") == []
    finally:
        writer.close()
        await broker.close()
