"""A closed gRPC client stream leaves nothing behind (bidirectional and unidirectional).

As for the HTTP transports (tests/integration/transports/test_nothing_left_behind.py):
many clients with day-long connection tokens, each subscribed with a day-long expiry
(subscription token, or server API ``expire_at`` for the uni stream), each receiving a
publication, then ended by the client (call cancelled), by the server (server API
disconnect) or, on the bidirectional stream, by a protocol error.  Afterwards no session,
writer, timer or stream object is alive and every registry is back to its size before.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from centrifugal.centrifuge.protocol import client_pb2
from centrifugal.centrifugo.api import api_pb2
from centrifugal.centrifugo.unistream import unistream_pb2
from gyre_grpc_support import Gyre, StreamClient, UniClient, token, wait_until

from service.auth import generate_token
from tests.leakcheck import Census, settle

DAY = 86400
ROUNDS = 3
PER_ROUND = 12
_users = itertools.count()
_batches = itertools.count()


def sub_token(user: str, channel: str) -> str:
    from gyre_grpc_support import SECRET

    return generate_token(secret=SECRET, user=user, ttl=DAY, channel=channel)


class BidiClient:
    causes = ("client", "server", "error")

    def __init__(self, g: Gyre, channel: str) -> None:
        self.g = g
        self.channel = channel
        self.user = f"grpc-leak-{next(_users)}"
        self.s: StreamClient = g.stream()

    async def open(self) -> None:
        await self.s.connect(token(self.user, ttl=DAY))
        await self.s.subscribe(self.channel, token=sub_token(self.user, self.channel))

    async def wait_pub(self) -> None:
        await self.s.wait_push(lambda p: p.channel == self.channel and p.HasField("pub"))

    async def end(self, cause: str) -> None:
        if cause == "server":
            await self.g.api().Disconnect(api_pb2.DisconnectRequest(user=self.user))
            await self.s.wait_disconnect()
        elif cause == "error":  # a second connect breaks the protocol: 3501
            await self.s.send(
                client_pb2.Command(id=99, connect=client_pb2.ConnectRequest(token="x"))
            )
            d = await self.s.wait_disconnect()
            assert d.code == 3501
        await self.s.close()


class UniStreamClient:
    causes = ("client", "server")

    def __init__(self, g: Gyre, channel: str) -> None:
        self.g = g
        self.channel = channel
        self.user = f"grpc-uni-leak-{next(_users)}"
        self.u: UniClient | None = None

    async def open(self) -> None:
        u = self.u = self.g.uni(unistream_pb2.ConnectRequest(token=token(self.user, ttl=DAY)))
        session = (await u.wait(lambda p: p.HasField("connect"))).connect.session
        await self.g.api().Subscribe(
            api_pb2.SubscribeRequest(
                user=self.user,
                channel=self.channel,
                session=session,
                expire_at=int(time.time()) + DAY,
            )
        )
        await u.wait(lambda p: p.channel == self.channel and p.HasField("subscribe"))

    async def wait_pub(self) -> None:
        assert self.u is not None
        await self.u.wait(lambda p: p.channel == self.channel and p.HasField("pub"))

    async def end(self, cause: str) -> None:
        assert self.u is not None
        if cause == "server":
            await self.g.api().Disconnect(api_pb2.DisconnectRequest(user=self.user))
            await self.u.wait(lambda p: p.HasField("disconnect"))
            await self.u.inbox.wait_end()
        await self.u.close()


async def churn(g: Gyre, kind: Any, rounds: int, per_round: int) -> None:
    causes = itertools.cycle(kind.causes)
    api = g.api()
    for r in range(rounds):
        batch = next(_batches)  # channels of their own: channel-level leftovers show
        clients = [kind(g, f"leak-{batch}-{i % 3}") for i in range(per_round)]
        await asyncio.gather(*(c.open() for c in clients))
        for ch in {c.channel for c in clients}:
            await api.Publish(api_pb2.PublishRequest(channel=ch, data=json.dumps(r).encode()))
        await asyncio.gather(*(c.wait_pub() for c in clients))
        await asyncio.gather(*(c.end(next(causes)) for c in clients))


async def check(g: Gyre, kind: Any) -> None:
    # warm-up, one client per cause: lazily built caches, codecs and metric series exist
    await churn(g, kind, 1, len(kind.causes))
    await wait_until(lambda: not g.server.node.hub.conns)
    before = Census.take(g.server)
    await churn(g, kind, ROUNDS, PER_ROUND)
    assert await settle(g.server, before) == {}


async def test_bidirectional_streams_leave_nothing_behind(
    start: Callable[..., Awaitable[Gyre]],
) -> None:
    await check(await start(prometheus=True), BidiClient)


async def test_unidirectional_streams_leave_nothing_behind(
    start: Callable[..., Awaitable[Gyre]],
) -> None:
    await check(await start(prometheus=True), UniStreamClient)
