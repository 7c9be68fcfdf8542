"""Expiring connection and subscription tokens: refresh keeps them alive, no refresh ends
them (3005 / unsubscribe 2501), API refresh extends a connection.  Delays are 1 s."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from centrifuge import ClientState, SubscriptionState

from .conftest import server_fixture
from .helpers import Api, Recorder, SubEvents, dec, sub_token, token, uid
from .server import base_config

CONFIG = base_config(
    # short pings: the SDK clients of these multi-second tests also answer several pings
    ping_interval="2s",
    pong_timeout="1s",
    namespaces=[{"name": "priv", "presence": True}, {"name": "srv"}],
)
server = server_fixture(CONFIG, "tokens")

TTL = 3  # seconds of validity of the short tokens


async def until(deadline: float) -> None:
    """Let time pass up to the wall-clock deadline (expiry is time-driven by definition)."""
    await asyncio.sleep(max(0.0, deadline - time.time()))


async def test_connection_refresh_keeps_client_connected(
    server: Any, clients: Any, proto: bool
) -> None:
    user, lazy_user = uid("fresh"), uid("lazy")
    calls = Recorder()

    async def get_token() -> str:
        calls.add("get_token", time.time())
        return token(user, ttl=TTL)

    started = time.time()
    fresh, ev_fresh = clients(server, user, token=token(user, ttl=TTL), get_token=get_token)
    # the same kind of token, but no get_token: the SDK cannot refresh
    lazy_exp = int(time.time() + TTL)
    lazy, ev_lazy = clients(server, lazy_user, token=token(lazy_user, ttl=TTL))
    await asyncio.gather(fresh.connect(), lazy.connect())
    await asyncio.gather(fresh.ready(), lazy.ready())

    # without refresh the server closes at exp + client_expired_close_delay (1 s)
    ctx = await ev_lazy.wait("connecting", lambda c: c.code >= 3000, timeout=TTL + 5)
    assert (ctx.code, ctx.reason) == (3005, "connection expired")
    # not before exp + client_expired_close_delay (1s); allow for whole-second clocks
    assert ev_lazy.at(ctx) >= lazy_exp + 1 - 0.5
    # the SDK comes back with the same, now expired token: 109 and nothing to refresh with
    await ev_lazy.wait("disconnected")
    assert lazy.state == ClientState.DISCONNECTED

    # refreshes that the server refuses, checked meanwhile
    await check_bad_refreshes(server, clients)

    # with refresh the client is still connected past the original expiry + grace
    await until(started + TTL + 2.5)
    assert calls.of("get_token"), "the SDK never asked for a new token"
    assert fresh.state == ClientState.CONNECTED
    assert [x.code for x in ev_fresh.of("connecting")] == [0]  # only connect() itself
    assert ev_fresh.of("disconnected") == []
    # the refresh reply re-armed the SDK's timer with the new ttl: it refreshes again
    await calls.wait("get_token", n=2, timeout=TTL + 2)
    assert fresh.state == ClientState.CONNECTED


async def check_bad_refreshes(server: Any, clients: Any) -> None:
    """Refresh tokens of another user (3500) and with other server-side channels (3010)."""
    intruder, switcher = uid("intruder"), uid("switcher")
    ch_a, ch_b = f"srv:{uid('a')}", f"srv:{uid('b')}"

    async def other_user_token() -> str:
        return token(uid("other"), ttl=600)

    async def new_channels_token() -> str:
        return token(switcher, ttl=600, channels=[ch_b])

    c1, ev1 = clients(server, intruder, token=token(intruder, ttl=1), get_token=other_user_token)
    c2, ev2 = clients(
        server,
        switcher,
        token=token(switcher, ttl=1, channels=[ch_a]),
        get_token=new_channels_token,
    )
    await asyncio.gather(c1.connect(), c2.connect())
    await ev2.wait("subscribed", lambda x: x.channel == ch_a)

    ctx = await ev1.wait("disconnected", timeout=5)
    assert (ctx.code, ctx.reason) == (3500, "invalid token")

    ctx = await ev2.wait("connecting", lambda x: x.code >= 3000, timeout=5)
    assert (ctx.code, ctx.reason) == (3010, "insufficient state")
    # the SDK reconnects with the refreshed token and gets the new channel set
    await ev2.wait("subscribed", lambda x: x.channel == ch_b)
    await ev2.wait("unsubscribed", lambda x: x.channel == ch_a)


async def test_server_side_subscription_expiry_3006(server: Any, clients: Any) -> None:
    user, ch = uid(), f"srv:{uid()}"
    c, ev = clients(server, user)
    await c.connect()
    await c.ready()
    api = Api(server.api_url)
    reply = await api.raw(
        "subscribe",
        {"user": user, "channel": ch, "expire_at": int(time.time()) + 1, "data": {"hi": 1}},
    )
    assert reply == {"result": {}}
    sub = await ev.wait("subscribed", lambda x: x.channel == ch)
    assert dec(sub.data) == {"hi": 1}
    ctx = await ev.wait("connecting", lambda x: x.code >= 3000, timeout=6)
    assert (ctx.code, ctx.reason) == (3006, "subscription expired")
    await ev.wait("connected", n=2)


async def test_subscription_refresh(server: Any, clients: Any, proto: bool) -> None:
    user = uid()
    ch_fresh, ch_lazy = f"$priv:{uid('f')}", f"$priv:{uid('l')}"
    calls: list[str] = []

    async def get_sub_token(channel: str) -> str:
        calls.append(channel)
        return sub_token(user, channel, ttl=TTL)

    c, ev_client = clients(server, user)
    await c.connect()
    await c.ready()
    started = time.time()
    ev_fresh, ev_lazy = SubEvents(), SubEvents()
    fresh = c.new_subscription(
        ch_fresh,
        events=ev_fresh,
        token=sub_token(user, ch_fresh, ttl=TTL),
        get_token=get_sub_token,
    )
    lazy = c.new_subscription(ch_lazy, events=ev_lazy, token=sub_token(user, ch_lazy, ttl=TTL))
    await asyncio.gather(fresh.subscribe(), lazy.subscribe())
    await asyncio.gather(fresh.ready(), lazy.ready())

    # no refresh: unsubscribe push 2501 after exp + client_expired_sub_close_delay; the SDK
    # resubscribes with its expired token, gets 109 and, without get_token, gives up
    ctx = await ev_lazy.wait("subscribing", lambda s: s.code == 2501, timeout=TTL + 5)
    assert ctx.reason == "subscription expired"
    # not before exp + client_expired_sub_close_delay (1s)
    assert ev_lazy.at(ctx) >= int(started + TTL) + 1 - 0.5
    await ev_lazy.wait("unsubscribed")
    assert lazy.state == SubscriptionState.UNSUBSCRIBED

    await until(started + TTL + 2.5)
    assert calls and set(calls) == {ch_fresh}
    assert fresh.state == SubscriptionState.SUBSCRIBED
    assert [s.code for s in ev_fresh.of("subscribing")] == [0]
    assert c.state == ClientState.CONNECTED and ev_client.of("disconnected") == []

    api = Api(server.api_url)
    await api("publish", ch_fresh, {"still": "here"})
    assert dec((await ev_fresh.publications(1))[0].pub.data) == {"still": "here"}


@pytest.mark.parametrize("proto", [False], ids=["json"])
async def test_api_refresh_extends_connection(server: Any, clients: Any) -> None:
    user = uid()
    started = time.time()
    c, ev = clients(server, user, token=token(user, ttl=2))
    await c.connect()
    await c.ready()
    api = Api(server.api_url)
    reply = await api.raw("refresh", {"user": user, "expire_at": int(time.time()) + 3600})
    assert reply == {"result": {}}
    await until(started + 2 + 1 + 1.5)
    assert c.state == ClientState.CONNECTED
    assert [x.code for x in ev.of("connecting")] == [0]


@pytest.mark.parametrize("claim", ["exp", "nbf"])
async def test_sub_token_expired_on_subscribe_109_gets_fresh(
    server: Any, clients: Any, claim: str
) -> None:
    user, ch = uid(), f"$priv:{uid()}"
    bad = (
        sub_token(user, ch, ttl=-5)
        if claim == "exp"
        else sub_token(user, ch, nbf=int(time.time()) + 600)
    )
    c, _ = clients(server, user)
    await c.connect()
    calls = 0

    async def get_sub_token(channel: str) -> str:
        nonlocal calls
        calls += 1
        return sub_token(user, channel)

    ev = SubEvents()
    sub = c.new_subscription(ch, events=ev, token=bad, get_token=get_sub_token)
    await sub.subscribe()
    await sub.ready(timeout=5)
    assert calls == 1
    assert any(getattr(e.error, "code", None) == 109 for e in ev.of("error"))


async def test_sub_token_for_other_user_is_3500(server: Any, clients: Any) -> None:
    user, ch = uid(), f"$priv:{uid()}"
    c, ev_client = clients(server, user)
    await c.connect()
    await c.ready()
    sub = c.new_subscription(ch, token=sub_token("someone-else", ch))
    await sub.subscribe()
    ctx = await ev_client.wait("disconnected")
    assert (ctx.code, ctx.reason) == (3500, "invalid token")


async def test_bad_sub_token_signature_is_103(server: Any, clients: Any) -> None:
    user, ch = uid(), f"$priv:{uid()}"
    c, _ = clients(server, user)
    await c.connect()
    ev = SubEvents()
    forged = token(user, channel=ch, secret="another-secret-0123456789abcdefghijklmnop")
    sub = c.new_subscription(ch, events=ev, token=forged)
    await sub.subscribe()
    assert (await ev.wait("unsubscribed")).code == 103
