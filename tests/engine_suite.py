"""Engine-agnostic contract tests for ``Broker`` + ``PresenceManager`` (docs/protocol.md,
docs/server_api.md#methods, docs/redis.md#keys-and-scripts).  Every engine (memory, Redis) must
pass them unchanged.

Extension point: in a ``test_*.py`` module define ``class TestXxxEngine(EngineSuite)`` and
override ``make_engine`` (and ``close_engine`` when more than ``broker.close()`` is needed)::

    class TestRedisEngine(EngineSuite):
        async def make_engine(self) -> tuple[Broker, PresenceManager, RecordingHandler]:
            broker = RedisBroker(...)             # NOT started: the fixture starts it
            return broker, RedisPresenceManager(...), RecordingHandler()

The ``engine`` fixture calls ``make_engine``, then ``broker.start(handler, self.node_id)``,
and ``close_engine`` on teardown.  Tests are written for asynchronous delivery: each test
subscribes its channel before publishing and waits for events through
``RecordingHandler.wait_for`` (never sleeps), and every test uses fresh channel names so a
shared Redis database is fine.  ``EngineSuite`` itself is not collected (no ``Test`` prefix).
An engine without history or presence (the NATS broker) sets ``has_history`` /
``has_presence`` to False: the tests marked ``@needs_history`` / ``@needs_presence`` are
skipped and its own module tests what it answers instead.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import pytest

from service.core.broker_subs import BrokerSubscriptions
from service.core.engine import (
    Broker,
    ClientInfo,
    HistoryQuery,
    PresenceManager,
    Publication,
    PublishOptions,
    StreamPosition,
)
from service.core.timers import Timer, TimerWheel
from tests.publishing import publish_one

HISTORY = PublishOptions(history_size=10, history_ttl=300, history_meta_ttl=3600)

_Test = TypeVar("_Test", bound=Callable[..., Awaitable[None]])


def needs_history(test: _Test) -> _Test:
    """Skipped for an engine whose ``has_history`` is False (the NATS broker)."""

    @functools.wraps(test)
    async def run(self: EngineSuite, *args: Any, **kwargs: Any) -> None:
        if not self.has_history:
            pytest.skip(f"{type(self).__name__}: no history")
        await test(self, *args, **kwargs)

    return run  # type: ignore[return-value]


def needs_presence(test: _Test) -> _Test:
    """Skipped for an engine whose ``has_presence`` is False."""

    @functools.wraps(test)
    async def run(self: EngineSuite, *args: Any, **kwargs: Any) -> None:
        if not self.has_presence:
            pytest.skip(f"{type(self).__name__}: no presence")
        await test(self, *args, **kwargs)

    return run  # type: ignore[return-value]


NO_HISTORY = PublishOptions()


class _ManualWheel(TimerWheel):
    """A wheel whose timers run when the test says (``fire``), not on a clock."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduled: list[Timer] = []

    def schedule(self, delay: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(self, fn)
        self.scheduled.append(timer)
        return timer

    def fire(self) -> None:
        timers, self.scheduled = self.scheduled, []
        for timer in timers:
            fn, timer.fn = timer.fn, None
            if fn is not None:
                fn()


class RecordingHandler:
    """``BrokerEventHandler`` that records every event and lets tests await them."""

    def __init__(self) -> None:
        self.publications: list[tuple[str, Publication, StreamPosition | None]] = []
        self.joins: list[tuple[str, ClientInfo]] = []
        self.leaves: list[tuple[str, ClientInfo]] = []
        self.controls: list[bytes] = []
        self.batches: list[int] = []  # sizes of handle_publications calls
        self._changed = asyncio.Event()

    def handle_publication(
        self, channel: str, pub: Publication, position: StreamPosition | None
    ) -> None:
        self.publications.append((channel, pub, position))
        self._changed.set()

    def handle_publications(
        self,
        channel: str,
        pubs: Sequence[Publication],
        positions: Sequence[StreamPosition] | None,
    ) -> None:
        self.batches.append(len(pubs))
        for i, pub in enumerate(pubs):
            self.handle_publication(channel, pub, None if positions is None else positions[i])

    def handle_join(self, channel: str, info: ClientInfo) -> None:
        self.joins.append((channel, info))
        self._changed.set()

    def handle_leave(self, channel: str, info: ClientInfo) -> None:
        self.leaves.append((channel, info))
        self._changed.set()

    def handle_control(self, data: bytes) -> None:
        self.controls.append(data)
        self._changed.set()

    def publications_in(self, channel: str) -> list[tuple[Publication, StreamPosition | None]]:
        return [(pub, pos) for ch, pub, pos in self.publications if ch == channel]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Return once ``predicate()`` is true, re-checking after every recorded event."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def wait_publications(
        self, channel: str, count: int
    ) -> list[tuple[Publication, StreamPosition | None]]:
        """Wait until ``count`` publications of ``channel`` arrived; return all of them."""
        await self.wait_for(lambda: len(self.publications_in(channel)) >= count)
        return self.publications_in(channel)


@dataclass
class Engine:
    broker: Broker
    presence: PresenceManager
    handler: RecordingHandler


def _offsets(pubs: list[Publication]) -> list[int]:
    return [p.offset for p in pubs]


class EngineSuite:
    """Contract tests; subclass as ``Test…`` and override ``make_engine``."""

    node_id = "engine-suite-node"
    has_history = True  # False: the ``@needs_history`` tests are skipped
    has_presence = True  # False: the ``@needs_presence`` tests are skipped

    async def make_engine(self) -> tuple[Broker, PresenceManager, RecordingHandler]:
        """Return a fresh, not yet started broker, a presence manager and a handler."""
        raise NotImplementedError

    async def close_engine(self, engine: Engine) -> None:
        """Release the engine after a test (default: ``broker.close()``)."""
        await engine.broker.close()

    @pytest.fixture
    async def engine(self) -> AsyncIterator[Engine]:
        broker, presence, handler = await self.make_engine()
        await broker.start(handler, self.node_id)
        engine = Engine(broker, presence, handler)
        try:
            yield engine
        finally:
            await self.close_engine(engine)

    @pytest.fixture
    def channel(self) -> str:
        return f"suite-{uuid.uuid4().hex[:12]}"

    # -- helpers -------------------------------------------------------------------------

    async def publish_n(
        self, engine: Engine, channel: str, n: int, opts: PublishOptions = HISTORY
    ) -> list[StreamPosition | None]:
        """Subscribe, publish b"0".."n-1" and wait until all n were delivered."""
        await engine.broker.subscribe(channel)
        already = len(engine.handler.publications_in(channel))
        positions = [
            await publish_one(engine.broker, channel, Publication(data=str(i).encode()), opts)
            for i in range(n)
        ]
        await engine.handler.wait_publications(channel, already + n)
        return positions

    async def read(
        self,
        engine: Engine,
        channel: str,
        *,
        since: int | None = None,
        limit: int = -1,
        reverse: bool = False,
    ) -> list[int]:
        """Offsets returned by a history read (``since`` uses the current epoch)."""
        position = None
        if since is not None:
            top = await engine.broker.history(channel, HistoryQuery(limit=0))
            position = StreamPosition(since, top.position.epoch)
        result = await engine.broker.history(
            channel, HistoryQuery(since=position, limit=limit, reverse=reverse)
        )
        return _offsets(result.publications)

    # -- publish -------------------------------------------------------------------------

    async def test_healthy_after_start(self, engine: Engine) -> None:
        assert engine.broker.healthy()

    async def test_publish_without_history_delivers_none_position(
        self, engine: Engine, channel: str
    ) -> None:
        await engine.broker.subscribe(channel)
        pub = Publication(data=b'{"a":1}', tags={"k": "v"})
        assert await publish_one(engine.broker, channel, pub, NO_HISTORY) is None
        [(got, position)] = await engine.handler.wait_publications(channel, 1)
        assert position is None
        assert (got.data, got.offset, got.tags) == (b'{"a":1}', 0, {"k": "v"})

    @needs_history
    async def test_size_or_ttl_zero_means_no_history(self, engine: Engine, channel: str) -> None:
        await engine.broker.subscribe(channel)
        for opts in (
            PublishOptions(history_size=10, history_ttl=0),
            PublishOptions(history_size=0, history_ttl=60),
        ):
            assert await publish_one(engine.broker, channel, Publication(data=b"x"), opts) is None
        await engine.handler.wait_publications(channel, 2)
        result = await engine.broker.history(channel, HistoryQuery(limit=-1))
        assert result.publications == []
        assert result.position.offset == 0

    @needs_history
    async def test_publish_with_history_offsets_and_stable_epoch(
        self, engine: Engine, channel: str
    ) -> None:
        positions = await self.publish_n(engine, channel, 3)
        assert [p.offset for p in positions if p is not None] == [1, 2, 3]
        epochs = {p.epoch for p in positions if p is not None}
        assert len(epochs) == 1 and "" not in epochs
        delivered = engine.handler.publications_in(channel)
        assert [pub.offset for pub, _ in delivered] == [1, 2, 3]
        assert [pos for _, pos in delivered] == positions
        assert [pub.data for pub, _ in delivered] == [b"0", b"1", b"2"]

    @needs_history
    async def test_publish_does_not_mutate_publication(self, engine: Engine, channel: str) -> None:
        await engine.broker.subscribe(channel)
        info = ClientInfo(user="u", client="c")
        tags = {"k": "v"}
        pub = Publication(data=b"x", info=info, tags=tags)
        await publish_one(engine.broker, channel, pub, HISTORY)
        await publish_one(engine.broker, channel, pub, NO_HISTORY)
        await engine.handler.wait_publications(channel, 2)
        assert pub == Publication(data=b"x", info=ClientInfo(user="u", client="c"), tags=tags)
        assert pub.offset == 0 and pub.tags is tags
        tags["k"] = "changed"  # later changes by the caller do not reach the stored copy
        [stored] = (await engine.broker.history(channel, HistoryQuery(limit=-1))).publications
        assert stored.tags == {"k": "v"}

    async def test_publish_run_without_history(self, engine: Engine, channel: str) -> None:
        await engine.broker.subscribe(channel)
        pubs = [Publication(data=b"%d" % i) for i in range(5)]
        assert await engine.broker.publish(channel, pubs, NO_HISTORY) == [None] * 5
        delivered = await engine.handler.wait_publications(channel, 5)
        assert [(p.data, p.offset, pos) for p, pos in delivered] == [
            (b"%d" % i, 0, None) for i in range(5)
        ]

    @needs_history
    async def test_publish_run_with_history_same_as_consecutive_publishes(
        self, engine: Engine, channel: str
    ) -> None:
        """Offsets go on from the stream top, one per publication, in order; history and
        delivery are what five ``publish`` calls would leave."""
        first = await self.publish_n(engine, channel, 2)
        pubs = [Publication(data=b"m%d" % i) for i in range(5)]
        out = await engine.broker.publish(channel, pubs, HISTORY)
        assert all(isinstance(p, StreamPosition) for p in out)
        positions = [p for p in out if isinstance(p, StreamPosition)]
        assert [p.offset for p in positions] == [3, 4, 5, 6, 7]
        assert first[0] is not None and {p.epoch for p in positions} == {first[0].epoch}
        delivered = (await engine.handler.wait_publications(channel, 7))[2:]
        assert [(p.data, p.offset) for p, _ in delivered] == [(b"m%d" % i, 3 + i) for i in range(5)]
        assert [pos for _, pos in delivered] == positions
        stored = (await engine.broker.history(channel, HistoryQuery(limit=-1))).publications
        assert [(p.data, p.offset) for p in stored][2:] == [(b"m%d" % i, 3 + i) for i in range(5)]
        assert all(p.offset == 0 for p in pubs)  # the caller's publications are not modified

    async def test_publish_many_is_each_run_in_turn(self, engine: Engine, channel: str) -> None:
        """A broadcast's runs in one call: one outcome list per run, what one ``publish``
        per run would answer; a channel met twice goes on where its first run ended."""
        other = channel + "-other"
        await engine.broker.subscribe(channel)
        await engine.broker.subscribe(other)
        opts = HISTORY if self.has_history else NO_HISTORY
        keyed = replace(opts, idempotency_key="k")
        out = await engine.broker.publish_many(
            [
                (channel, [Publication(data=b"a1"), Publication(data=b"a2")], opts),
                (other, [Publication(data=b"b1")], NO_HISTORY),
                (channel, [Publication(data=b"a3")], keyed),
                (channel, [Publication(data=b"again")], keyed),  # the same key: not published
            ]
        )
        assert len(out) == 4 and all(isinstance(o, list) for o in out)
        lists = [o for o in out if isinstance(o, list)]
        assert [len(o) for o in lists] == [2, 1, 1, 1]
        assert lists[1] == [None]
        mine = await engine.handler.wait_publications(channel, 3)
        assert [p.data for p, _ in mine] == [b"a1", b"a2", b"a3"]
        assert [p.data for p, _ in await engine.handler.wait_publications(other, 1)] == [b"b1"]
        if self.has_history:
            got = [o for o in (lists[0] + lists[2] + lists[3]) if isinstance(o, StreamPosition)]
            assert [p.offset for p in got] == [1, 2, 3, 3]  # the repeated key: the first result
            assert [pos for _, pos in mine] == got[:3]
        else:
            assert lists[0] == [None, None] and lists[2] == lists[3] == [None]
        await publish_one(engine.broker, channel, Publication(data=b"marker"), opts)
        await engine.handler.wait_for(
            lambda: any(p.data == b"marker" for p, _ in engine.handler.publications_in(channel))
        )
        assert b"again" not in [p.data for p, _ in engine.handler.publications_in(channel)]

    # -- idempotent publish and the delta mark (docs/beyond_v4.md) ------------------------

    async def _idempotent_twice(
        self, engine: Engine, channel: str, opts: PublishOptions
    ) -> tuple[StreamPosition | None, StreamPosition | None]:
        """Publish with key "k" twice (other data the second time), then a marker without a
        key; return both results once the marker arrived (so a duplicate would be there)."""
        await engine.broker.subscribe(channel)
        keyed = replace(opts, idempotency_key="k")
        first = await publish_one(engine.broker, channel, Publication(data=b"first"), keyed)
        second = await publish_one(engine.broker, channel, Publication(data=b"second"), keyed)
        await publish_one(engine.broker, channel, Publication(data=b"marker"), opts)
        delivered = await engine.handler.wait_publications(channel, 2)
        await engine.handler.wait_for(
            lambda: any(p.data == b"marker" for p, _ in engine.handler.publications_in(channel))
        )
        assert [p.data for p, _ in engine.handler.publications_in(channel)] == [
            b"first",
            b"marker",
        ], delivered
        return first, second

    @needs_history
    async def test_idempotent_publish_with_history(self, engine: Engine, channel: str) -> None:
        first, second = await self._idempotent_twice(engine, channel, HISTORY)
        assert first is not None and first.offset == 1
        assert second == first  # the first result: same offset and epoch
        stored = (await engine.broker.history(channel, HistoryQuery(limit=-1))).publications
        assert [(p.data, p.offset) for p in stored] == [(b"first", 1), (b"marker", 2)]

    async def test_idempotent_publish_without_history(self, engine: Engine, channel: str) -> None:
        first, second = await self._idempotent_twice(engine, channel, NO_HISTORY)
        assert first is None and second is None

    @needs_history
    async def test_idempotency_key_is_per_channel(self, engine: Engine, channel: str) -> None:
        other = channel + "-other"
        await engine.broker.subscribe(channel)
        await engine.broker.subscribe(other)
        keyed = replace(HISTORY, idempotency_key="same")
        a = await publish_one(engine.broker, channel, Publication(data=b"a"), keyed)
        b = await publish_one(engine.broker, other, Publication(data=b"b"), keyed)
        assert a is not None and b is not None and (a.offset, b.offset) == (1, 1)
        await engine.handler.wait_publications(channel, 1)
        await engine.handler.wait_publications(other, 1)

    @needs_history
    async def test_concurrent_identical_publishes_publish_once(
        self, engine: Engine, channel: str
    ) -> None:
        await engine.broker.subscribe(channel)
        keyed = replace(HISTORY, idempotency_key="race")
        results = await asyncio.gather(
            *(publish_one(engine.broker, channel, Publication(data=b"x"), keyed) for _ in range(5))
        )
        assert len(set(results)) == 1 and results[0] is not None and results[0].offset == 1
        await publish_one(engine.broker, channel, Publication(data=b"marker"), HISTORY)
        await engine.handler.wait_for(
            lambda: any(p.data == b"marker" for p, _ in engine.handler.publications_in(channel))
        )
        assert [p.data for p, _ in engine.handler.publications_in(channel)] == [b"x", b"marker"]

    async def test_delta_mark_reaches_the_handler(self, engine: Engine, channel: str) -> None:
        await engine.broker.subscribe(channel)
        opts = HISTORY if self.has_history else NO_HISTORY
        await publish_one(engine.broker, channel, Publication(data=b'{"v":1}', delta=True), opts)
        await publish_one(engine.broker, channel, Publication(data=b'{"v":2}'), opts)
        info = ClientInfo(user="u", client="c")
        await publish_one(
            engine.broker,
            channel,
            Publication(data=b"x", info=info, tags={"a": "b"}, delta=True),
            opts,
        )
        delivered = await engine.handler.wait_publications(channel, 3)
        assert [p.delta for p, _ in delivered] == [True, False, True]
        assert delivered[2][0].tags == {"a": "b"} and delivered[2][0].info == info

    # -- history -------------------------------------------------------------------------

    @needs_history
    async def test_history_round_trips_fields(self, engine: Engine, channel: str) -> None:
        info = ClientInfo(user="42", client="c1", conn_info=b'{"n":1}', chan_info=b'{"m":2}')
        await engine.broker.subscribe(channel)
        pos = await publish_one(
            engine.broker,
            channel,
            Publication(data=b'{"x":1}', info=info, tags={"a": "b"}),
            HISTORY,
        )
        await engine.handler.wait_publications(channel, 1)
        result = await engine.broker.history(channel, HistoryQuery(limit=-1))
        assert result.publications == [
            Publication(data=b'{"x":1}', info=info, offset=1, tags={"a": "b"})
        ]
        assert result.position == pos

    @needs_history
    async def test_history_trimmed_to_size(self, engine: Engine, channel: str) -> None:
        opts = PublishOptions(history_size=3, history_ttl=300, history_meta_ttl=3600)
        await self.publish_n(engine, channel, 5, opts)
        result = await engine.broker.history(channel, HistoryQuery(limit=-1))
        assert _offsets(result.publications) == [3, 4, 5]
        assert [p.data for p in result.publications] == [b"2", b"3", b"4"]
        assert result.position.offset == 5

    @needs_history
    async def test_history_limit_zero_position_only(self, engine: Engine, channel: str) -> None:
        positions = await self.publish_n(engine, channel, 3)
        result = await engine.broker.history(channel, HistoryQuery(limit=0))
        assert result.publications == []
        assert result.position == positions[-1]

    @needs_history
    async def test_history_forward_without_since(self, engine: Engine, channel: str) -> None:
        await self.publish_n(engine, channel, 5)
        assert await self.read(engine, channel) == [1, 2, 3, 4, 5]
        assert await self.read(engine, channel, limit=2) == [1, 2]  # oldest first
        assert await self.read(engine, channel, limit=10) == [1, 2, 3, 4, 5]

    @needs_history
    async def test_history_reverse_without_since(self, engine: Engine, channel: str) -> None:
        await self.publish_n(engine, channel, 5)
        assert await self.read(engine, channel, reverse=True) == [5, 4, 3, 2, 1]
        assert await self.read(engine, channel, reverse=True, limit=2) == [5, 4]

    @needs_history
    async def test_history_since_forward(self, engine: Engine, channel: str) -> None:
        await self.publish_n(engine, channel, 5)
        assert await self.read(engine, channel, since=2) == [3, 4, 5]
        assert await self.read(engine, channel, since=2, limit=2) == [3, 4]
        assert await self.read(engine, channel, since=0) == [1, 2, 3, 4, 5]
        assert await self.read(engine, channel, since=4, limit=10) == [5]
        assert await self.read(engine, channel, since=5) == []  # already at top
        assert await self.read(engine, channel, since=9) == []  # ahead of top

    @needs_history
    async def test_history_since_reverse(self, engine: Engine, channel: str) -> None:
        await self.publish_n(engine, channel, 5)
        assert await self.read(engine, channel, since=4, reverse=True) == [3, 2, 1]
        assert await self.read(engine, channel, since=4, reverse=True, limit=2) == [3, 2]
        assert await self.read(engine, channel, since=6, reverse=True) == [5, 4, 3, 2, 1]
        assert await self.read(engine, channel, since=1, reverse=True) == []
        assert await self.read(engine, channel, since=0, reverse=True) == []

    @needs_history
    async def test_history_since_before_retained_window(self, engine: Engine, channel: str) -> None:
        opts = PublishOptions(history_size=3, history_ttl=300, history_meta_ttl=3600)
        await self.publish_n(engine, channel, 5, opts)
        # Offsets 1..2 were trimmed: the result starts at 3, the caller sees the gap.
        assert await self.read(engine, channel, since=0) == [3, 4, 5]
        assert await self.read(engine, channel, since=1, limit=2) == [3, 4]
        assert await self.read(engine, channel, since=3, reverse=True) == []

    @needs_history
    async def test_history_does_not_check_since_epoch(self, engine: Engine, channel: str) -> None:
        positions = await self.publish_n(engine, channel, 3)
        result = await engine.broker.history(
            channel, HistoryQuery(since=StreamPosition(1, "other-epoch"), limit=-1)
        )
        assert _offsets(result.publications) == [2, 3]
        assert result.position == positions[-1]  # the caller compares the epochs

    @needs_history
    async def test_history_of_unknown_channel_creates_epoch(
        self, engine: Engine, channel: str
    ) -> None:
        first = await engine.broker.history(channel, HistoryQuery(limit=-1))
        assert first.publications == []
        assert first.position.offset == 0 and first.position.epoch != ""
        again = await engine.broker.history(channel, HistoryQuery(limit=0))
        assert again.position == first.position
        [position] = await self.publish_n(engine, channel, 1)
        assert position == StreamPosition(1, first.position.epoch)

    @needs_history
    async def test_history_returns_copies(self, engine: Engine, channel: str) -> None:
        await self.publish_n(engine, channel, 1)
        [pub] = (await engine.broker.history(channel, HistoryQuery(limit=-1))).publications
        pub.offset = 99
        pub.data = b"changed"
        [again] = (await engine.broker.history(channel, HistoryQuery(limit=-1))).publications
        assert (again.offset, again.data) == (1, b"0")

    @needs_history
    async def test_channels_have_independent_streams(self, engine: Engine, channel: str) -> None:
        other = channel + "-other"
        await self.publish_n(engine, channel, 3)
        [position] = await self.publish_n(engine, other, 1)
        assert position is not None and position.offset == 1
        assert await self.read(engine, other) == [1]
        assert await self.read(engine, channel) == [1, 2, 3]

    @needs_history
    async def test_remove_history_keeps_position(self, engine: Engine, channel: str) -> None:
        positions = await self.publish_n(engine, channel, 3)
        await engine.broker.remove_history(channel)
        result = await engine.broker.history(channel, HistoryQuery(limit=-1))
        assert result.publications == []
        assert result.position == positions[-1]
        [position] = await self.publish_n(engine, channel, 1)
        assert position == StreamPosition(4, result.position.epoch)
        assert await self.read(engine, channel) == [4]

    @needs_history
    async def test_remove_history_of_unknown_channel(self, engine: Engine, channel: str) -> None:
        await engine.broker.remove_history(channel)
        result = await engine.broker.history(channel, HistoryQuery(limit=-1))
        assert result.publications == [] and result.position.offset == 0

    # -- the node's broker subscriptions ---------------------------------------------------

    async def test_subscriber_back_while_the_release_unsubscribes(
        self, engine: Engine, channel: str
    ) -> None:
        """The release check found nobody listening and started the broker unsubscribe; a
        subscriber came back before that unsubscribe ran.  The broker must see the unsubscribe
        first and end subscribed: publications keep coming."""
        listeners = 1
        wheel = _ManualWheel()
        tasks: list[asyncio.Task[Any]] = []
        subs = BrokerSubscriptions(
            engine.broker,
            subscribers=lambda _: listeners,
            timers=wheel,
            spawn=lambda coro: tasks.append(asyncio.ensure_future(coro)),
        )
        await subs.ensure(channel)
        listeners = 0
        subs.release(channel)
        wheel.fire()  # nobody listens: the unsubscribe is on its way
        listeners = 1
        await subs.ensure(channel)  # in the same loop turn, a subscriber is back
        await asyncio.gather(*tasks)
        await publish_one(engine.broker, channel, Publication(data=b"after"), NO_HISTORY)
        [(pub, _)] = await engine.handler.wait_publications(channel, 1)
        assert pub.data == b"after"
        assert subs.sizes()["broker_subscribed"] == 1

    # -- join / leave / control ----------------------------------------------------------

    async def test_join_and_leave_delivered(self, engine: Engine, channel: str) -> None:
        await engine.broker.subscribe(channel)
        info = ClientInfo(user="42", client="c1", conn_info=b"{}", chan_info=b'{"a":1}')
        await engine.broker.publish_join(channel, info)
        await engine.broker.publish_leave(channel, info)
        handler = engine.handler
        await handler.wait_for(lambda: bool(handler.joins) and bool(handler.leaves))
        assert handler.joins == [(channel, info)]
        assert handler.leaves == [(channel, info)]
        assert handler.publications_in(channel) == []

    async def test_control_delivered_to_all_and_own_node(self, engine: Engine) -> None:
        handler = engine.handler
        await engine.broker.publish_control(b"to-other", "some-other-node")
        await engine.broker.publish_control(b"to-all")
        await engine.broker.publish_control(b"to-me", self.node_id)
        await handler.wait_for(lambda: len(handler.controls) >= 2)
        assert sorted(handler.controls) == [b"to-all", b"to-me"]

    # -- presence ------------------------------------------------------------------------

    @needs_presence
    async def test_presence_add_and_remove(self, engine: Engine, channel: str) -> None:
        pm = engine.presence
        a = ClientInfo(user="1", client="a", conn_info=b'{"x":1}')
        b = ClientInfo(user="2", client="b")
        await pm.add_presence(channel, "a", a)
        await pm.add_presence(channel, "b", b)
        assert await pm.presence(channel) == {"a": a, "b": b}
        await pm.remove_presence(channel, "a")
        assert await pm.presence(channel) == {"b": b}
        await pm.remove_presence(channel, "b")
        assert await pm.presence(channel) == {}
        assert await pm.presence_stats(channel) == (0, 0)

    @needs_presence
    async def test_presence_add_replaces_info(self, engine: Engine, channel: str) -> None:
        pm = engine.presence
        await pm.add_presence(channel, "a", ClientInfo(user="1", client="a"))
        newer = ClientInfo(user="1", client="a", chan_info=b'{"v":2}')
        await pm.add_presence(channel, "a", newer)
        assert await pm.presence(channel) == {"a": newer}

    @needs_presence
    async def test_presence_stats_counts_distinct_users(self, engine: Engine, channel: str) -> None:
        pm = engine.presence
        for client_id, user in [("a", "1"), ("b", "1"), ("c", "2"), ("d", ""), ("e", "")]:
            await pm.add_presence(channel, client_id, ClientInfo(user=user, client=client_id))
        assert await pm.presence_stats(channel) == (5, 3)  # users "1", "2" and anonymous ""

    @needs_presence
    async def test_presence_of_unknown_channel(self, engine: Engine, channel: str) -> None:
        assert await engine.presence.presence(channel) == {}
        assert await engine.presence.presence_stats(channel) == (0, 0)
        await engine.presence.remove_presence(channel, "nobody")  # no error

    @needs_presence
    async def test_presence_channels_independent(self, engine: Engine, channel: str) -> None:
        pm = engine.presence
        info = ClientInfo(user="1", client="a")
        await pm.add_presence(channel, "a", info)
        assert await pm.presence(channel + "-other") == {}
        await pm.remove_presence(channel + "-other", "a")
        assert await pm.presence(channel) == {"a": info}
