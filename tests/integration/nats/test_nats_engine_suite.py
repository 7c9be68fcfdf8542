"""The shared engine suite against the NATS broker (history and presence tests skipped: the
broker keeps neither) plus what it answers instead of them."""

from __future__ import annotations

import pytest

from service.core.engine import (
    Broker,
    ClientInfo,
    EngineError,
    HistoryQuery,
    PresenceManager,
    Publication,
)
from service.engines.nats import NatsBroker, NoPresenceManager
from tests.engine_suite import HISTORY, Engine, EngineSuite, RecordingHandler
from tests.nats_fixtures import NatsProcess
from tests.publishing import publish_one


class TestNatsBroker(EngineSuite):
    has_history = False
    has_presence = False

    @pytest.fixture(autouse=True)
    def _nats(self, nats_server: NatsProcess) -> None:
        self.nats = nats_server

    async def make_engine(self) -> tuple[Broker, PresenceManager, RecordingHandler]:
        return (
            NatsBroker(url=self.nats.url, prefix="suite"),
            NoPresenceManager(),
            RecordingHandler(),
        )

    async def test_history_is_not_available(self, engine: Engine, channel: str) -> None:
        with pytest.raises(EngineError, match="not available"):
            await engine.broker.history(channel, HistoryQuery(limit=-1))
        with pytest.raises(EngineError, match="not available"):
            await engine.broker.history(channel, HistoryQuery(limit=0))
        with pytest.raises(EngineError, match="not available"):
            await engine.broker.remove_history(channel)

    async def test_history_options_change_nothing(self, engine: Engine, channel: str) -> None:
        """A channel configured with history publishes as one without: no position, offset 0,
        the caller's publication untouched."""
        await engine.broker.subscribe(channel)
        info = ClientInfo(user="u", client="c", conn_info=b'{"a":1}')
        pub = Publication(data=b"x", info=info, tags={"k": "v"})
        assert await publish_one(engine.broker, channel, pub, HISTORY) is None
        assert await engine.broker.publish(channel, [Publication(b"y")], HISTORY) == [None]
        delivered = await engine.handler.wait_publications(channel, 2)
        assert delivered == [(pub, None), (Publication(b"y"), None)]
        assert pub == Publication(data=b"x", info=info, tags={"k": "v"}) and pub.offset == 0

    async def test_presence_reads_fail_and_writes_do_nothing(
        self, engine: Engine, channel: str
    ) -> None:
        pm = engine.presence
        await pm.add_presence(channel, "a", ClientInfo(user="1", client="a"))
        await pm.remove_presence(channel, "a")
        with pytest.raises(EngineError, match="not available"):
            await pm.presence(channel)
        with pytest.raises(EngineError, match="not available"):
            await pm.presence_stats(channel)
