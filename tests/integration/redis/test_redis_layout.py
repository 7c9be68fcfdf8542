"""Key names, PUB/SUB channel names and payload bytes against docs/redis.md, checked with a raw
Redis client, so a Centrifugo v4 node can share the Redis with us."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import hiredis
import pytest
from centrifugal.centrifuge.protocol import client_pb2

from service.core.engine import (
    ClientInfo,
    HistoryQuery,
    Publication,
    PublishOptions,
    StreamPosition,
)
from service.engines.redis import (
    RedisBroker,
    RedisPresenceManager,
    RedisShardConfig,
    build_redis_engine,
)
from service.engines.redis.hashing import fnv1a64, jump_hash, key_slot
from tests.engine_suite import RecordingHandler
from tests.publishing import publish_one
from tests.redis_fixtures import HOST, RedisProcess

HISTORY = PublishOptions(history_size=5, history_ttl=300, history_meta_ttl=3600)
NODE = "layout-node"


class RawSubscriber:
    """A blocking socket subscribed to some Redis channels; reads messages with a timeout."""

    def __init__(self, port: int, *channels: str) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=5)
        self.reader = hiredis.Reader()
        self.sock.sendall(hiredis.pack_command(("SUBSCRIBE", *channels)))
        for _ in channels:
            assert self.read()[0] == b"subscribe"

    def read(self) -> Any:
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return reply
            data = self.sock.recv(65536)
            assert data, "connection closed"
            self.reader.feed(data)

    def message(self) -> tuple[bytes, bytes]:
        kind, channel, payload = self.read()
        assert kind == b"message"
        return channel, payload

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def channel() -> str:
    return f"layout:{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def engine(
    redis_server: RedisProcess,
) -> AsyncIterator[tuple[RedisBroker, RedisPresenceManager, RecordingHandler]]:
    broker, presence = build_redis_engine(shards=[RedisShardConfig(address=redis_server.address)])
    handler = RecordingHandler()
    await broker.start(handler, NODE)
    try:
        yield broker, presence, handler
    finally:
        await broker.close()


@pytest.fixture
def raw(redis_server: RedisProcess) -> RedisProcess:
    return redis_server


def pb_publication(data: bytes, info: ClientInfo | None = None, **tags: str) -> bytes:
    pb = client_pb2.Publication(data=data, tags=tags)
    if info is not None:
        pb.info.CopyFrom(pb_info(info))
    out: bytes = pb.SerializeToString()
    return out


def pb_info(info: ClientInfo) -> Any:
    return client_pb2.ClientInfo(
        user=info.user, client=info.client, conn_info=info.conn_info, chan_info=info.chan_info
    )


async def test_publish_with_history_keys_and_payload(engine: Any, raw: RedisProcess, channel: str):
    broker, _, _ = engine
    sub = RawSubscriber(raw.port, f"centrifugo.client.{channel}")
    info = ClientInfo(user="42", client="c1", conn_info=b'{"a":1}')
    before = int(time.time())
    pos = await publish_one(
        broker, channel, Publication(b'{"x":1}', info, tags={"t": "1"}), HISTORY
    )
    assert pos is not None and pos.offset == 1
    assert before <= int(pos.epoch) <= int(time.time())  # epoch = unix seconds of meta creation
    expected = pb_publication(b'{"x":1}', info, t="1")

    stream, meta = f"centrifugo.stream.{channel}", f"centrifugo.stream.meta.{channel}"
    assert raw.command("TYPE", stream) == b"stream"
    assert raw.command("XRANGE", stream, "-", "+") == [[b"1-0", [b"d", expected]]]
    assert raw.command("HGETALL", meta) == [b"e", pos.epoch.encode(), b"s", b"1"]
    assert 0 < raw.command("TTL", stream) <= 300
    assert 3000 < raw.command("TTL", meta) <= 3600

    assert sub.message() == (
        f"centrifugo.client.{channel}".encode(),
        f"__p1:1:{pos.epoch}__".encode() + expected,
    )
    sub.close()


async def test_idempotency_result_keys(engine: Any, raw: RedisProcess, channel: str) -> None:
    """``P.result.<ch>.<key>`` holds the first result (s, e) for idempotent_result_ttl; a
    repeat is answered from it inside the Lua call and never PUBLISHed."""
    broker, _, _ = engine
    sub = RawSubscriber(raw.port, f"centrifugo.client.{channel}")
    keyed = PublishOptions(
        history_size=5,
        history_ttl=300,
        history_meta_ttl=3600,
        idempotency_key="req-1",
        idempotent_result_ttl=120,
    )
    pos = await publish_one(broker, channel, Publication(b"1"), keyed)
    again = await publish_one(broker, channel, Publication(b"2"), keyed)
    assert pos is not None and again == pos
    key = f"centrifugo.result.{channel}.req-1"
    assert raw.command("HGETALL", key) == [b"s", b"1", b"e", pos.epoch.encode()]
    assert 100 < raw.command("TTL", key) <= 120
    assert raw.command("XLEN", f"centrifugo.stream.{channel}") == 1
    await publish_one(broker, channel, Publication(b"3"), HISTORY)
    assert sub.message()[1].endswith(b"1")
    assert sub.message()[1].endswith(b"3")  # the repeat was never published
    nohist = PublishOptions(idempotency_key="req-2", idempotent_result_ttl=60)
    assert await publish_one(broker, channel, Publication(b"4"), nohist) is None
    assert await publish_one(broker, channel, Publication(b"5"), nohist) is None
    assert raw.command("HGETALL", f"centrifugo.result.{channel}.req-2") == [b"s", b"0", b"e", b""]
    await publish_one(broker, channel, Publication(b"6"), PublishOptions())
    assert sub.message()[1] == pb_publication(b"4")
    assert sub.message()[1] == pb_publication(b"6")
    sub.close()


async def test_idempotency_window_expires(engine: Any, raw: RedisProcess, channel: str) -> None:
    broker, _, _ = engine
    keyed = PublishOptions(
        history_size=5, history_ttl=300, idempotency_key="k", idempotent_result_ttl=1
    )
    first = await publish_one(broker, channel, Publication(b"1"), keyed)
    await asyncio.sleep(1.1)  # Redis EXPIRE resolution is one second
    later = await publish_one(broker, channel, Publication(b"2"), keyed)
    assert first is not None and later is not None and later.offset == first.offset + 1


async def test_delta_mark_is_field_8_of_the_payload(
    engine: Any, raw: RedisProcess, channel: str
) -> None:
    broker, _, _ = engine
    pos = await publish_one(broker, channel, Publication(b'{"v":1}', delta=True), HISTORY)
    assert pos is not None
    [[_, [_, stored]]] = raw.command("XRANGE", f"centrifugo.stream.{channel}", "-", "+")
    assert stored == client_pb2.Publication(data=b'{"v":1}', delta=True).SerializeToString()
    assert stored.endswith(b"\x40\x01")


async def test_stream_trimmed_exactly_and_offsets_continue(
    engine: Any, raw: RedisProcess, channel: str
):
    broker, _, _ = engine
    for i in range(7):
        await publish_one(broker, channel, Publication(b"%d" % i), HISTORY)
    ids = [entry[0] for entry in raw.command("XRANGE", f"centrifugo.stream.{channel}", "-", "+")]
    assert ids == [b"3-0", b"4-0", b"5-0", b"6-0", b"7-0"]
    await broker.remove_history(channel)
    assert raw.command("EXISTS", f"centrifugo.stream.{channel}") == 0
    assert raw.command("HGET", f"centrifugo.stream.meta.{channel}", "s") == b"7"


async def test_plain_join_leave_and_control_payloads(
    engine: Any, raw: RedisProcess, channel: str
) -> None:
    broker, _, _ = engine
    client_ch = f"centrifugo.client.{channel}"
    sub = RawSubscriber(raw.port, client_ch, "centrifugo.control", "centrifugo.node.other")
    info = ClientInfo(user="u", client="c", chan_info=b"{}")
    assert await publish_one(broker, channel, Publication(b"plain"), PublishOptions()) is None
    await broker.publish_join(channel, info)
    await broker.publish_leave(channel, info)
    await broker.publish_control(b"\x00ctl-all")
    await broker.publish_control(b"ctl-one", "other")
    assert sub.message() == (client_ch.encode(), pb_publication(b"plain"))
    encoded_info = pb_info(info).SerializeToString()
    assert sub.message() == (client_ch.encode(), b"__j__" + encoded_info)
    assert sub.message() == (client_ch.encode(), b"__l__" + encoded_info)
    assert sub.message() == (b"centrifugo.control", b"\x00ctl-all")
    assert sub.message() == (b"centrifugo.node.other", b"ctl-one")
    assert raw.command("EXISTS", f"centrifugo.stream.{channel}") == 0
    sub.close()


async def test_node_subscribes_control_node_and_shard_channels(
    engine: Any, raw: RedisProcess, channel: str
) -> None:
    broker, _, _ = engine
    await broker.subscribe(channel)
    channels = set(raw.command("PUBSUB", "CHANNELS", "centrifugo.*"))
    assert {
        b"centrifugo.control",
        f"centrifugo.node.{NODE}".encode(),
        b"centrifugo.shard.0",
        f"centrifugo.client.{channel}".encode(),
    } <= channels
    await broker.unsubscribe(channel)
    await broker.history(channel, HistoryQuery())  # a round trip after UNSUBSCRIBE
    channels = set(raw.command("PUBSUB", "CHANNELS", "centrifugo.*"))
    assert f"centrifugo.client.{channel}".encode() not in channels


async def test_messages_from_a_centrifugo_node_are_understood(
    engine: Any, raw: RedisProcess, channel: str
) -> None:
    broker, _, handler = engine
    await broker.subscribe(channel)
    client_ch = f"centrifugo.client.{channel}"
    info = ClientInfo(user="7", client="x")
    raw.command("PUBLISH", client_ch, b"__p1:18:1687600000__" + pb_publication(b"a", info))
    raw.command("PUBLISH", client_ch, b"__19__" + pb_publication(b"b"))  # legacy prefix
    raw.command("PUBLISH", client_ch, pb_publication(b"c", k="v"))
    raw.command("PUBLISH", client_ch, b"__j__" + pb_info(info).SerializeToString())
    raw.command("PUBLISH", client_ch, b"__l__" + pb_info(info).SerializeToString())
    raw.command("PUBLISH", client_ch, b"__p1:garbage")  # logged and dropped
    raw.command("PUBLISH", "centrifugo.control", b"ctl")
    raw.command("PUBLISH", f"centrifugo.node.{NODE}", b"mine")
    await handler.wait_for(lambda: len(handler.controls) == 2 and len(handler.leaves) == 1)
    pubs = handler.publications_in(channel)
    assert [(p.data, p.offset, pos) for p, pos in pubs] == [
        (b"a", 18, StreamPosition(18, "1687600000")),
        (b"b", 19, StreamPosition(19, "")),
        (b"c", 0, None),
    ]
    assert pubs[0][0].info == info and pubs[2][0].tags == {"k": "v"}
    assert handler.joins == [(channel, info)] and handler.leaves == [(channel, info)]
    assert handler.controls == [b"ctl", b"mine"]


async def test_history_written_by_centrifugo_is_readable(
    engine: Any, raw: RedisProcess, channel: str
) -> None:
    broker, _, _ = engine
    raw.command("HSET", f"centrifugo.stream.meta.{channel}", "s", "3", "e", "1687600000")
    for offset in (2, 3):
        raw.command(
            "XADD", f"centrifugo.stream.{channel}", offset, "d", pb_publication(b"%d" % offset)
        )
    result = await broker.history(channel, HistoryQuery(limit=-1))
    assert [(p.offset, p.data) for p in result.publications] == [(2, b"2"), (3, b"3")]
    assert result.position == StreamPosition(3, "1687600000")
    pos = await publish_one(broker, channel, Publication(b"4"), HISTORY)
    assert pos == StreamPosition(4, "1687600000")


async def test_presence_keys(engine: Any, raw: RedisProcess, channel: str) -> None:
    _, presence, _ = engine
    info = ClientInfo(user="42", client="c1", conn_info=b'{"n":1}')
    now = int(time.time())
    await presence.add_presence(channel, "c1", info)
    data, expire = f"centrifugo.presence.data.{channel}", f"centrifugo.presence.expire.{channel}"
    assert raw.command("HGETALL", data) == [b"c1", pb_info(info).SerializeToString()]
    [member, score] = raw.command("ZRANGE", expire, 0, -1, "WITHSCORES")
    assert member == b"c1" and now + 60 <= int(score) <= int(time.time()) + 60
    assert 0 < raw.command("TTL", data) <= 60 and 0 < raw.command("TTL", expire) <= 60
    # An entry whose expiry passed is dropped by the next read (as Centrifugo does).
    raw.command("ZADD", expire, now - 1, "stale")
    raw.command("HSET", data, "stale", pb_info(ClientInfo("0", "stale")).SerializeToString())
    assert await presence.presence(channel) == {"c1": info}
    assert raw.command("HEXISTS", data, "stale") == 0
    await presence.remove_presence(channel, "c1")
    assert raw.command("EXISTS", data) == 0 and raw.command("EXISTS", expire) == 0


async def test_presence_add_drops_expired_entries(
    engine: Any, raw: RedisProcess, channel: str
) -> None:
    """A client whose removal failed (Redis was down when it left) is not kept forever by
    the others' refreshes, which push the keys' own EXPIRE back: the next add drops it."""
    _, presence, _ = engine
    data, expire = f"centrifugo.presence.data.{channel}", f"centrifugo.presence.expire.{channel}"
    raw.command("ZADD", expire, int(time.time()) - 1, "gone")
    raw.command("HSET", data, "gone", pb_info(ClientInfo("0", "gone")).SerializeToString())
    await presence.add_presence(channel, "c1", ClientInfo(user="42", client="c1"))
    assert raw.command("HKEYS", data) == [b"c1"]
    assert raw.command("ZRANGE", expire, 0, -1) == [b"c1"]


async def test_cluster_keys_use_hash_tags(redis_cluster: list[RedisProcess], channel: str) -> None:
    broker, presence = build_redis_engine(
        shards=[RedisShardConfig(cluster_addresses=(redis_cluster[0].address,))]
    )
    handler = RecordingHandler()
    await broker.start(handler, NODE)
    try:
        await broker.subscribe(channel)
        keyed = PublishOptions(
            history_size=5, history_ttl=300, history_meta_ttl=3600, idempotency_key="k1"
        )
        pos = await publish_one(broker, channel, Publication(b"x"), keyed)
        await presence.add_presence(channel, "c1", ClientInfo(user="u", client="c1"))
        await handler.wait_publications(channel, 1)
        slot = key_slot(channel.encode())
        owners = [n for n in redis_cluster if n.command("CLUSTER", "COUNTKEYSINSLOT", slot) > 0]
        assert len(owners) == 1
        [owner] = owners
        # other tests share the cluster: a key of theirs may hash to the same slot
        in_slot = owner.command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
        assert sorted(k for k in in_slot if channel.encode() in k) == [
            f"centrifugo.presence.data.{{{channel}}}".encode(),
            f"centrifugo.presence.expire.{{{channel}}}".encode(),
            f"centrifugo.result.{{{channel}}}.k1".encode(),
            f"centrifugo.stream.meta.{{{channel}}}".encode(),
            f"centrifugo.stream.{{{channel}}}".encode(),
        ]
        # and no key of the channel lives anywhere else
        assert sum(len(n.command("KEYS", f"*{channel}*")) for n in redis_cluster) == 5
        assert (
            pos is not None
            and owner.command("HGET", f"centrifugo.stream.meta.{{{channel}}}", "e")
            == pos.epoch.encode()
        )
    finally:
        await broker.close()


async def test_sharding_places_channels_by_jump_fnv(
    redis_pair: tuple[RedisProcess, RedisProcess],
) -> None:
    broker, _ = build_redis_engine(
        shards=[RedisShardConfig(address=p.address) for p in redis_pair], prefix="shardtest"
    )
    handler = RecordingHandler()
    await broker.start(handler, NODE)
    try:
        channels = [f"sh-{uuid.uuid4().hex[:8]}-{i}" for i in range(20)]
        for ch in channels:
            await publish_one(broker, ch, Publication(b"x"), HISTORY)
        placed = {0: 0, 1: 0}
        for ch in channels:
            index = jump_hash(fnv1a64(ch.encode()), 2)
            placed[index] += 1
            key = f"shardtest.stream.{ch}"
            assert redis_pair[index].command("EXISTS", key) == 1
            assert redis_pair[1 - index].command("EXISTS", key) == 0
        assert placed[0] and placed[1]
        # Control messages reach this node from both shards (round robin).
        for i in range(4):
            await broker.publish_control(b"c%d" % i)
        await handler.wait_for(lambda: len(handler.controls) == 4)
    finally:
        await broker.close()


async def test_evalsha_falls_back_to_eval_after_script_flush(
    engine: Any, raw: RedisProcess, channel: str
) -> None:
    broker, _, _ = engine
    await publish_one(broker, channel, Publication(b"1"), HISTORY)
    raw.command("SCRIPT", "FLUSH")
    assert await publish_one(broker, channel, Publication(b"2"), HISTORY) is not None
    result = await broker.history(channel, HistoryQuery(limit=-1))
    assert [p.offset for p in result.publications] == [1, 2]


async def test_commands_of_one_tick_are_pipelined(engine: Any, channel: str) -> None:
    broker, _, _ = engine
    await publish_one(broker, channel, Publication(b"warm-up"), HISTORY)
    conn = broker._shards[0]._client._conn
    writes = []
    original = conn._transport.write
    conn._transport.write = lambda data: (writes.append(len(data)), original(data))
    results = await asyncio.gather(
        *(publish_one(broker, channel, Publication(b"%d" % i), HISTORY) for i in range(200))
    )
    assert sorted(p.offset for p in results if p is not None) == list(range(2, 202))
    assert len(writes) == 1  # 200 EVALSHA commands in one write


async def test_lost_meta_starts_a_new_epoch_without_old_publications(
    engine: Any, raw: RedisProcess, channel: str
) -> None:
    broker, _, _ = engine
    first = await publish_one(broker, channel, Publication(b"1"), HISTORY)
    await publish_one(broker, channel, Publication(b"2"), HISTORY)
    meta = f"centrifugo.stream.meta.{channel}"
    raw.command("HSET", meta, "e", "1", "s", "0")  # meta present: it is authoritative
    assert (await broker.history(channel, HistoryQuery())).position == StreamPosition(0, "1")
    raw.command("DEL", meta)  # as if history_meta_ttl expired before history_ttl
    pos = await publish_one(broker, channel, Publication(b"3"), HISTORY)
    assert pos is not None and first is not None and pos.offset == 1
    result = await broker.history(channel, HistoryQuery(limit=-1))
    assert [(p.offset, p.data) for p in result.publications] == [(1, b"3")]
