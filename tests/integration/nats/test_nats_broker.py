"""NatsBroker against a real nats-server: wire compatibility with Centrifugo v4 nodes, channels
NATS cannot carry, batching, two nodes, and failures (server killed, stopped, absent)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import nats
import pytest
from centrifugal.centrifuge.protocol import client_pb2

from service.core.engine import ClientInfo, EngineError, Publication, PublishOptions
from service.engines.nats import NatsBroker
from service.engines.nats.connection import DirectClient
from service.protocol import codes as c
from tests.engine_suite import RecordingHandler
from tests.nats_fixtures import NatsFactory, NatsProcess, free_port
from tests.publishing import publish_one

NO_HISTORY = PublishOptions()


async def until(pred: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``pred`` every 5 ms; seconds it took (AssertionError after ``timeout``)."""
    started = time.monotonic()
    while not pred():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.005)
    return time.monotonic() - started


Started = Callable[..., Awaitable[tuple[NatsBroker, RecordingHandler]]]


@pytest.fixture
async def started() -> AsyncIterator[Started]:
    """``await started(url, node_id, **kw) -> (broker, handler)``; all closed after."""
    made: list[NatsBroker] = []

    async def start(
        url: str, node_id: str = "n1", **kw: Any
    ) -> tuple[NatsBroker, RecordingHandler]:
        broker = NatsBroker(url=url, prefix="t", **kw)
        made.append(broker)
        handler = RecordingHandler()
        await broker.start(handler, node_id)
        return broker, handler

    yield start
    for broker in made:
        await broker.close()


# -- wire compatibility with Centrifugo v4 ------------------------------------------------------
async def test_reads_what_a_v4_node_publishes(nats_server: NatsProcess, started: Started) -> None:
    broker, handler = await started(nats_server.url)
    await broker.subscribe("news")
    raw = await nats.connect(nats_server.url)
    try:
        info = client_pb2.ClientInfo(user="u1", client="c1", conn_info=b'{"a":1}')
        pushes = [
            client_pb2.Push(channel="news", pub=client_pb2.Publication(data=b'{"n":1}')),
            client_pb2.Push(
                channel="news",
                pub=client_pb2.Publication(data=b'{"n":2}', info=info, tags={"k": "v"}),
            ),
            # v4's experimental position: offset + epoch tag
            client_pb2.Push(
                channel="news",
                pub=client_pb2.Publication(
                    data=b'{"n":3}', offset=7, tags={"__centrifugo_epoch": "ep"}
                ),
            ),
            client_pb2.Push(channel="news", join=client_pb2.Join(info=info)),
            client_pb2.Push(channel="news", leave=client_pb2.Leave(info=info)),
        ]
        await raw.publish("t.client.news", b"\x00garbage")  # logged and skipped
        for push in pushes:
            await raw.publish("t.client.news", push.SerializeToString())
        await raw.flush()
        await handler.wait_for(lambda: len(handler.leaves) == 1)
    finally:
        await raw.close()
    got = handler.publications_in("news")
    assert [(p.data, p.offset, p.tags, pos) for p, pos in got] == [
        (b'{"n":1}', 0, None, None),
        (b'{"n":2}', 0, {"k": "v"}, None),
        (b'{"n":3}', 7, None, (7, "ep")),
    ]
    assert got[1][0].info == ClientInfo("u1", "c1", b'{"a":1}')
    assert handler.joins == handler.leaves == [("news", ClientInfo("u1", "c1", b'{"a":1}'))]
    assert broker.healthy()


async def test_publishes_what_a_v4_node_reads(nats_server: NatsProcess, started: Started) -> None:
    broker, _ = await started(nats_server.url)
    raw = await nats.connect(nats_server.url)
    try:
        sub = await raw.subscribe("t.client.>")
        ctl = await raw.subscribe("t.control")
        # nats-py's flush() may PING ahead of queued SUBs: wait for our own probes instead
        await raw.publish("t.client.probe", b"")
        await raw.publish("t.control", b"")
        assert (await sub.next_msg(timeout=2)).subject == "t.client.probe"
        assert (await ctl.next_msg(timeout=2)).data == b""
        info = ClientInfo("u1", "c1", b"{}", b'{"c":1}')
        await publish_one(broker, "chat:1", Publication(b'{"x":1}'), NO_HISTORY)
        await publish_one(
            broker, "chat:1", Publication(b"y", info=info, tags={"t": "1"}), NO_HISTORY
        )
        await broker.publish_join("chat:1", info)
        await broker.publish_leave("chat:1", info)
        await broker.publish_control(b"control-bytes")
        msgs = [await sub.next_msg(timeout=2) for _ in range(4)]
        control = await ctl.next_msg(timeout=2)
    finally:
        await raw.close()
    assert {m.subject for m in msgs} == {"t.client.chat:1"}
    pushes = [client_pb2.Push.FromString(m.data) for m in msgs]
    assert all(p.channel == "chat:1" for p in pushes)
    assert pushes[0].pub.data == b'{"x":1}' and not pushes[0].pub.HasField("info")
    assert pushes[1].pub.info.chan_info == b'{"c":1}' and dict(pushes[1].pub.tags) == {"t": "1"}
    assert pushes[2].join.info.user == "u1" and pushes[3].leave.info.client == "c1"
    assert control.data == b"control-bytes"


# -- channels NATS cannot carry -------------------------------------------------------------------
@pytest.mark.parametrize("channel", ["news.*", "a>b", "*", "with space", "tab\there", "a..b", ".a"])
async def test_channels_nats_cannot_carry(
    nats_server: NatsProcess, started: Started, channel: str
) -> None:
    broker, handler = await started(nats_server.url)
    with pytest.raises(c.ReplyError) as bad:
        await broker.subscribe(channel)
    assert bad.value.error.code == 107  # v4: ErrorBadRequest
    with pytest.raises(EngineError):
        await publish_one(broker, channel, Publication(b"x"), NO_HISTORY)
    # the connection is untouched
    assert broker.healthy()
    await broker.subscribe("fine.channel")
    await publish_one(broker, "fine.channel", Publication(b"ok"), NO_HISTORY)
    await handler.wait_publications("fine.channel", 1)


# -- batching, two nodes -------------------------------------------------------------------------
async def test_subscribes_of_one_tick_share_one_round_trip(
    nats_server: NatsProcess,
    started: Started,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker, handler = await started(nats_server.url)
    pings = 0
    original = DirectClient.ping

    async def counting(self: DirectClient) -> asyncio.Future[object]:
        nonlocal pings
        pings += 1
        return await original(self)

    monkeypatch.setattr(DirectClient, "ping", counting)
    tasks_before = len(asyncio.all_tasks())
    channels = [f"batch-{i}" for i in range(300)]
    await asyncio.gather(*(broker.subscribe(ch) for ch in channels))
    assert pings == 1
    assert len(asyncio.all_tasks()) == tasks_before  # no task per subscription
    for ch in channels[::50]:
        await publish_one(broker, ch, Publication(ch.encode()), NO_HISTORY)
        await handler.wait_publications(ch, 1)
    await broker.unsubscribe(channels[0])
    await publish_one(broker, channels[0], Publication(b"late"), NO_HISTORY)
    await publish_one(broker, channels[50], Publication(b"after"), NO_HISTORY)
    await handler.wait_publications(channels[50], 2)
    assert len(handler.publications_in(channels[0])) == 1


async def test_two_nodes(nats_server: NatsProcess, started: Started) -> None:
    a, ha = await started(nats_server.url, "node-a")
    b, hb = await started(nats_server.url, "node-b")
    await b.subscribe("room")
    await publish_one(a, "room", Publication(b"from-a"), NO_HISTORY)
    [(pub, _)] = await hb.wait_publications("room", 1)
    assert pub.data == b"from-a"
    assert ha.publications_in("room") == []  # A has no subscriber
    await a.publish_control(b"for-b", "node-b")
    await a.publish_control(b"for-all")
    await hb.wait_for(lambda: len(hb.controls) == 2)
    await ha.wait_for(lambda: len(ha.controls) == 1)
    assert sorted(hb.controls) == [b"for-all", b"for-b"] and ha.controls == [b"for-all"]


# -- failures -------------------------------------------------------------------------------------
async def test_start_fails_fast_without_server() -> None:
    broker = NatsBroker(url=f"nats://127.0.0.1:{free_port()}", dial_timeout=1.0)
    started_at = time.monotonic()
    with pytest.raises(EngineError, match="cannot connect"):
        await broker.start(RecordingHandler(), "n1")
    assert time.monotonic() - started_at < 1.0
    assert not broker.healthy()
    await broker.close()


async def test_server_killed_and_restarted(nats_factory: NatsFactory, started: Started) -> None:
    server = nats_factory.server()
    broker, handler = await started(server.url, backoff_max=0.5)
    reconnects: list[float] = []
    broker.set_reconnect_callback(lambda: reconnects.append(time.monotonic()))
    await broker.subscribe("kept")

    server.kill()
    await until(lambda: not broker.healthy(), 2, "unhealthy after the kill")
    t0 = time.monotonic()
    with pytest.raises(EngineError):
        await publish_one(broker, "kept", Publication(b"lost"), NO_HISTORY)
    with pytest.raises(EngineError):
        await broker.subscribe("new-while-down")
    assert time.monotonic() - t0 < 0.1  # fails at once, nothing buffered

    attempts: list[float] = []
    choose = broker._next_server

    def counting(servers: list[object], info: dict[str, object]) -> tuple[object, float]:
        attempts.append(time.monotonic())
        return choose(servers, info)  # type: ignore[arg-type]

    broker._next_server = counting  # type: ignore[method-assign]
    nc = broker._nc
    assert nc is not None
    nc._reconnect_to_server_handler = counting
    await asyncio.sleep(1.5)  # down for a while: exponential backoff, no busy loop
    assert not broker.healthy() and reconnects == []
    assert 2 <= len(attempts) <= 15, attempts

    server.start()
    await until(broker.healthy, 5, "healthy after the restart")
    assert len(reconnects) == 1
    # the subscription made before the outage works again, from another node too
    other, _ = await started(server.url, "other")
    await publish_one(other, "kept", Publication(b"after"), NO_HISTORY)
    [(pub, _)] = await handler.wait_publications("kept", 1)
    assert pub.data == b"after"


async def test_stalled_server_is_dropped_and_rejoined(
    nats_factory: NatsFactory, started: Started
) -> None:
    """nats-server stopped (SIGSTOP): TCP stays up, nothing answers; after a keepalive window
    of ``write_timeout`` without any byte the broker turns unhealthy and reconnects; once the
    server runs again everything works."""
    server = nats_factory.server()
    broker, handler = await started(
        server.url, write_timeout=0.5, dial_timeout=0.5, ping_interval=0.2, backoff_max=0.3
    )
    await broker.subscribe("s")
    assert server.proc is not None
    server.proc.send_signal(signal.SIGSTOP)
    try:
        took = await until(lambda: not broker.healthy(), 3, "unhealthy while stopped")
        assert took < 2.0
    finally:
        server.proc.send_signal(signal.SIGCONT)
    await until(broker.healthy, 8, "healthy after SIGCONT")
    await publish_one(broker, "s", Publication(b"back"), NO_HISTORY)
    await handler.wait_publications("s", 1)
