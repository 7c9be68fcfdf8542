"""Memory engine: the shared engine suite plus expiry and lifecycle tests on a fake clock."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from service.core.engine import (
    Broker,
    ClientInfo,
    EngineError,
    HistoryQuery,
    PresenceManager,
    Publication,
    PublishOptions,
    StreamPosition,
)
from service.engines.memory import MemoryBroker, MemoryPresenceManager
from tests.engine_suite import EngineSuite, RecordingHandler
from tests.publishing import publish_one


class FakeClock:
    """Monotonic seconds that only move when a test calls ``advance``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TestMemoryEngine(EngineSuite):
    async def make_engine(self) -> tuple[Broker, PresenceManager, RecordingHandler]:
        clock = FakeClock()
        return (
            MemoryBroker(clock=clock),
            MemoryPresenceManager(clock=clock),
            RecordingHandler(),
        )


def test_protocol_conformance() -> None:
    broker: Broker = MemoryBroker()  # checked by mypy
    presence: PresenceManager = MemoryPresenceManager()
    assert broker.healthy() and presence is not None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def broker(clock: FakeClock) -> MemoryBroker:
    b = MemoryBroker(clock=clock, sweep_interval=0)
    await b.start(RecordingHandler(), "n1")
    return b


def opts(size: int = 10, ttl: float = 60, meta_ttl: float = 600) -> PublishOptions:
    return PublishOptions(history_size=size, history_ttl=ttl, history_meta_ttl=meta_ttl)


async def offsets(broker: MemoryBroker, channel: str = "ch") -> list[int]:
    result = await broker.history(channel, HistoryQuery(limit=-1))
    return [p.offset for p in result.publications]


async def position(broker: MemoryBroker, channel: str = "ch") -> StreamPosition:
    return (await broker.history(channel, HistoryQuery(limit=0))).position


# -- idempotent publish ------------------------------------------------------------------


async def test_idempotency_window(broker: MemoryBroker, clock: FakeClock) -> None:
    keyed = PublishOptions(
        history_size=10, history_ttl=60, idempotency_key="k", idempotent_result_ttl=30
    )
    first = await publish_one(broker, "ch", Publication(b"1"), keyed)
    clock.advance(29.9)
    assert await publish_one(broker, "ch", Publication(b"2"), keyed) == first
    clock.advance(0.1)  # ttl after the first publish: forgotten
    later = await publish_one(broker, "ch", Publication(b"3"), keyed)
    assert first is not None and later is not None and later.offset == first.offset + 1
    assert await offsets(broker) == [1, 2]


async def test_idempotency_entries_are_swept(broker: MemoryBroker, clock: FakeClock) -> None:
    for i in range(3000):
        await publish_one(broker, "ch", Publication(b"x"), PublishOptions(idempotency_key=str(i)))
        clock.advance(0.01)
    # entries live 300 s; each sweep (every 1024 new keys) keeps only live ones
    assert len(broker._results) == 3000
    clock.advance(301)
    for i in range(1024):
        await publish_one(broker, "ch", Publication(b"x"), PublishOptions(idempotency_key=f"n{i}"))
    assert len(broker._results) <= 1024


# -- history_ttl ------------------------------------------------------------------------


async def test_history_ttl_expires_publications_keeps_meta(
    broker: MemoryBroker, clock: FakeClock
) -> None:
    await publish_one(broker, "ch", Publication(data=b"1"), opts(ttl=60))
    top = await publish_one(broker, "ch", Publication(data=b"2"), opts(ttl=60))
    clock.advance(59.9)
    assert await offsets(broker) == [1, 2]
    clock.advance(0.1)  # exactly ttl after the last publish: gone
    assert await offsets(broker) == []
    assert await position(broker) == top
    assert await publish_one(broker, "ch", Publication(data=b"3"), opts(ttl=60)) == StreamPosition(
        3, top.epoch if top else ""
    )
    assert await offsets(broker) == [3]


async def test_history_ttl_counts_from_last_publish(broker: MemoryBroker, clock: FakeClock) -> None:
    await publish_one(broker, "ch", Publication(data=b"1"), opts(ttl=60))
    clock.advance(50)
    await publish_one(broker, "ch", Publication(data=b"2"), opts(ttl=60))
    clock.advance(50)  # 100 s after the first publish, 50 s after the last
    assert await offsets(broker) == [1, 2]
    clock.advance(10)
    assert await offsets(broker) == []


# -- history_meta_ttl -------------------------------------------------------------------


async def test_meta_ttl_expiry_gives_new_epoch(broker: MemoryBroker, clock: FakeClock) -> None:
    first = await publish_one(broker, "ch", Publication(data=b"1"), opts(ttl=60, meta_ttl=600))
    await publish_one(broker, "ch", Publication(data=b"2"), opts(ttl=60, meta_ttl=600))
    assert first is not None
    clock.advance(600)
    fresh = await position(broker)
    assert fresh.offset == 0 and fresh.epoch != first.epoch
    again = await publish_one(broker, "ch", Publication(data=b"3"), opts(ttl=60, meta_ttl=600))
    assert again == StreamPosition(1, fresh.epoch)


async def test_meta_ttl_refreshed_by_publish_and_read(
    broker: MemoryBroker, clock: FakeClock
) -> None:
    top = await publish_one(broker, "ch", Publication(data=b"1"), opts(meta_ttl=600))
    clock.advance(500)
    assert (await broker.history("ch", HistoryQuery(meta_ttl=600))).position == top
    clock.advance(500)  # 1000 s after publish, 500 s after the read
    assert await position(broker) == top
    clock.advance(600)  # reads with meta_ttl 0 do not refresh
    assert (await position(broker)).epoch != (top.epoch if top else "")


async def test_meta_ttl_zero_never_expires(broker: MemoryBroker, clock: FakeClock) -> None:
    top = await publish_one(broker, "ch", Publication(data=b"1"), opts(ttl=60, meta_ttl=0))
    clock.advance(10**9)
    assert await position(broker) == top
    assert await offsets(broker) == []


async def test_meta_expiry_drops_publications(broker: MemoryBroker, clock: FakeClock) -> None:
    # Misconfiguration (meta_ttl < history_ttl): old-epoch publications must not survive.
    await publish_one(broker, "ch", Publication(data=b"1"), opts(ttl=600, meta_ttl=60))
    clock.advance(60)
    assert await offsets(broker) == []
    assert (await position(broker)).offset == 0


async def test_epoch_factory_is_used() -> None:
    epochs = iter(["e1", "e2"])
    clock = FakeClock()
    broker = MemoryBroker(clock=clock, epoch_factory=lambda: next(epochs), sweep_interval=0)
    await broker.start(RecordingHandler(), "n1")
    assert await publish_one(broker, "ch", Publication(data=b"x"), opts(meta_ttl=10)) == (
        StreamPosition(1, "e1")
    )
    clock.advance(10)
    assert await position(broker) == StreamPosition(0, "e2")


async def test_default_epoch_is_random_hex(broker: MemoryBroker) -> None:
    epochs = {(await position(broker, f"ch{i}")).epoch for i in range(20)}
    assert len(epochs) == 20
    assert all(re.fullmatch("[0-9a-f]{8}", e) for e in epochs)


# -- history size, forward slices, copies -----------------------------------------------


async def test_history_size_change_retrims(broker: MemoryBroker) -> None:
    for i in range(5):
        await publish_one(broker, "ch", Publication(data=b"%d" % i), opts(size=5))
    await publish_one(broker, "ch", Publication(data=b"5"), opts(size=2))
    assert await offsets(broker) == [5, 6]
    for _ in range(3):
        await publish_one(broker, "ch", Publication(data=b"x"), opts(size=4))
    assert await offsets(broker) == [6, 7, 8, 9]


async def test_forward_slices_from_both_ends(broker: MemoryBroker) -> None:
    for i in range(100):
        await publish_one(broker, "ch", Publication(data=b"%d" % i), opts(size=100))
    epoch = (await position(broker)).epoch
    for since, limit in [(0, 3), (10, 5), (49, 2), (50, 2), (90, -1), (97, 10), (99, 1)]:
        result = await broker.history(
            "ch", HistoryQuery(since=StreamPosition(since, epoch), limit=limit)
        )
        expected = list(range(since + 1, 101))
        expected = expected if limit < 0 else expected[:limit]
        assert [p.offset for p in result.publications] == expected
        assert [p.data for p in result.publications] == [b"%d" % (o - 1) for o in expected]


# -- sweep ------------------------------------------------------------------------------


async def test_sweep_expired_reclaims(broker: MemoryBroker, clock: FakeClock) -> None:
    await publish_one(broker, "a", Publication(data=b"1"), opts(ttl=60, meta_ttl=600))
    await publish_one(broker, "b", Publication(data=b"1"), opts(ttl=60, meta_ttl=0))
    await publish_one(broker, "c", Publication(data=b"1"), opts(ttl=1000, meta_ttl=0))
    assert broker.sweep_expired() == 0
    clock.advance(60)
    assert broker.sweep_expired() == 2  # streams of a and b
    clock.advance(600)
    assert broker.sweep_expired() == 1  # meta of a
    assert broker.sweep_expired() == 0
    assert await offsets(broker, "c") == [1]


async def test_sweep_task_runs_and_is_cancelled_on_close() -> None:
    swept = asyncio.Event()
    fake = FakeClock()

    def clock() -> float:
        swept.set()
        return fake()

    broker = MemoryBroker(clock=clock, sweep_interval=0.001)
    await broker.start(RecordingHandler(), "n1")
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    assert len(tasks) == 1
    [task] = tasks
    await publish_one(broker, "ch", Publication(data=b"1"), opts(ttl=60, meta_ttl=60))
    fake.advance(60)
    swept.clear()
    await asyncio.wait_for(swept.wait(), 5)  # the sweep task read the clock, then swept
    assert broker.sweep_expired() == 0  # nothing left: the task already dropped the meta
    await broker.close()
    assert task.cancelled()
    assert asyncio.all_tasks() == {asyncio.current_task()}


# -- delivery and lifecycle -------------------------------------------------------------


async def test_delivers_without_subscribe_and_tracks_channels(clock: FakeClock) -> None:
    handler = RecordingHandler()
    broker = MemoryBroker(clock=clock, sweep_interval=0)
    await broker.start(handler, "n1")
    await publish_one(broker, "x", Publication(data=b"1"), PublishOptions())
    assert len(handler.publications) == 1  # synchronous, subscription not needed
    await broker.subscribe("a")
    await broker.subscribe("b")
    await broker.unsubscribe("a")
    await broker.unsubscribe("never")
    assert broker.channels == frozenset({"b"})


async def test_delivered_publication_is_the_stored_copy(clock: FakeClock) -> None:
    handler = RecordingHandler()
    broker = MemoryBroker(clock=clock, sweep_interval=0)
    await broker.start(handler, "n1")
    pub = Publication(data=b"1")
    await publish_one(broker, "ch", pub, opts())
    [(_, delivered, pos)] = handler.publications
    assert delivered is not pub and delivered.offset == 1
    assert pos is not None and pos.offset == 1


async def test_publish_before_start_or_after_close_raises(clock: FakeClock) -> None:
    broker = MemoryBroker(clock=clock)
    info = ClientInfo(user="u", client="c")
    with pytest.raises(EngineError):
        await publish_one(broker, "ch", Publication(data=b"1"), opts())
    await broker.start(RecordingHandler(), "n1")
    await broker.close()
    for call in (
        publish_one(broker, "ch", Publication(data=b"1"), PublishOptions()),
        broker.publish_many([("ch", [Publication(data=b"1")], PublishOptions())]),
        broker.publish_join("ch", info),
        broker.publish_leave("ch", info),
        broker.publish_control(b"x"),
    ):
        with pytest.raises(EngineError):
            await call
    # History is readable without a handler.
    assert (await broker.history("ch", HistoryQuery(limit=0))).position.offset == 0


class FailingHandler(RecordingHandler):
    def handle_publication(
        self, channel: str, pub: Publication, position: StreamPosition | None
    ) -> None:
        raise RuntimeError("boom")


async def test_handler_error_is_logged_not_raised(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    broker = MemoryBroker(clock=clock, sweep_interval=0)
    await broker.start(FailingHandler(), "n1")
    with caplog.at_level(logging.ERROR):
        position = await publish_one(broker, "ch", Publication(data=b"1"), opts())
    assert position is not None and position.offset == 1
    assert await offsets(broker) == [1]
    assert "handle_publications failed" in caplog.text


async def test_publish_run_handler_error_is_logged_not_raised(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    broker = MemoryBroker(clock=clock, sweep_interval=0)
    await broker.start(FailingHandler(), "n1")
    pubs = [Publication(data=b"1"), Publication(data=b"2")]
    with caplog.at_level(logging.ERROR):
        positions = await broker.publish("ch", pubs, opts())
    assert [p.offset for p in positions if isinstance(p, StreamPosition)] == [1, 2]
    assert await offsets(broker) == [1, 2]
    assert "handle_publications failed" in caplog.text


async def test_publish_run_delivers_in_one_handler_call(clock: FakeClock) -> None:
    """The memory broker hands a run to the node at once (one hub pass for all of it)."""
    broker = MemoryBroker(clock=clock, sweep_interval=0)
    handler = RecordingHandler()
    await broker.start(handler, "n1")
    await broker.publish("ch", [Publication(data=b"%d" % i) for i in range(4)], opts())
    await broker.publish("ch", [Publication(data=b"x")], PublishOptions())
    assert handler.batches == [4, 1]
    assert [p.offset for _, p, _ in handler.publications] == [1, 2, 3, 4, 0]


async def test_publish_before_start_raises(clock: FakeClock) -> None:
    broker = MemoryBroker(clock=clock, sweep_interval=0)
    with pytest.raises(EngineError):
        await broker.publish("ch", [Publication(data=b"1")], opts())


# -- presence ttl -----------------------------------------------------------------------


async def test_presence_expires_after_ttl(clock: FakeClock) -> None:
    pm = MemoryPresenceManager(presence_ttl=60, clock=clock)
    await pm.add_presence("ch", "a", ClientInfo(user="1", client="a"))
    clock.advance(30)
    await pm.add_presence("ch", "b", ClientInfo(user="2", client="b"))
    clock.advance(29.9)
    assert await pm.presence_stats("ch") == (2, 2)
    clock.advance(0.1)  # a: exactly 60 s old
    assert set(await pm.presence("ch")) == {"b"}
    clock.advance(30)
    assert await pm.presence("ch") == {}
    assert await pm.presence_stats("ch") == (0, 0)


async def test_add_presence_refreshes_ttl(clock: FakeClock) -> None:
    pm = MemoryPresenceManager(presence_ttl=60, clock=clock)
    info = ClientInfo(user="1", client="a")
    for _ in range(5):
        await pm.add_presence("ch", "a", info)
        clock.advance(50)
    assert await pm.presence("ch") == {"a": info}
    clock.advance(10)
    assert await pm.presence("ch") == {}


async def test_presence_purge(clock: FakeClock) -> None:
    pm = MemoryPresenceManager(presence_ttl=60, clock=clock)
    await pm.add_presence("a", "1", ClientInfo(user="1", client="1"))
    await pm.add_presence("a", "2", ClientInfo(user="2", client="2"))
    clock.advance(60)
    assert pm.purge_expired() == 2
    await pm.add_presence("b", "1", ClientInfo(user="1", client="1"))
    clock.advance(60)
    await pm.add_presence("c", "1", ClientInfo(user="1", client="1"))  # amortised purge of b
    assert pm.purge_expired() == 0
    assert await pm.presence_stats("c") == (1, 1)


@pytest.mark.parametrize("ttl", [0, -1.0])
def test_presence_ttl_must_be_positive(ttl: float) -> None:
    with pytest.raises(ValueError):
        MemoryPresenceManager(presence_ttl=ttl)
