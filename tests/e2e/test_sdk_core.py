"""Core client features through the official centrifuge-python SDK (JSON and Protobuf) and
the ``cent`` 4.1.0 server API client, against the real server process."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest
from cent import ResponseError
from centrifuge import ClientState, ReplyError, StreamPosition, SubscriptionState

from .conftest import server_fixture
from .helpers import Api, SubEvents, dec, enc, pub_data, sub_token, token, uid
from .server import base_config

HISTORY = {"history_size": 100, "history_ttl": "300s"}
CONFIG = base_config(
    client_channel_limit=10,
    channel_max_length=64,
    user_subscribe_to_personal=True,
    user_personal_channel_namespace="personal",
    namespaces=[
        {
            "name": "chat",
            "allow_subscribe_for_client": True,
            "allow_publish_for_client": True,
            "allow_presence_for_client": True,
            "allow_history_for_client": True,
            "presence": True,
            "join_leave": True,
            "force_push_join_leave": True,
            "force_recovery": True,
            **HISTORY,
        },
        {
            "name": "rec",
            "allow_subscribe_for_client": True,
            "allow_recovery": True,
            **HISTORY,
        },
        {
            "name": "jl",
            "allow_subscribe_for_client": True,
            "allow_presence_for_client": True,
            "presence": True,
            "join_leave": True,
        },
        {
            "name": "plain",
            "allow_subscribe_for_client": True,
            "allow_presence_for_client": True,
            "allow_history_for_client": True,
        },
        {"name": "locked"},
        {"name": "priv"},
        {"name": "personal"},
        {"name": "srv", "force_recovery": True, "presence": True, **HISTORY},
        {"name": "room", "presence": True, "join_leave": True, "force_push_join_leave": True},
    ],
)

server = server_fixture(CONFIG, "core")


@pytest.fixture
def api(server: Any) -> Api:
    return Api(server.api_url)


async def connected(make: Any, server: Any, user: str | None = None, **kw: Any) -> Any:
    client, events = make(server, user if user is not None else uid(), **kw)
    await client.connect()
    await client.ready(timeout=5)
    return client, events


async def subscribed(client: Any, channel: str, **kw: Any) -> tuple[Any, Any]:
    events = SubEvents()
    sub = client.new_subscription(channel, events=events, **kw)
    await sub.subscribe()
    await sub.ready(timeout=5)
    return sub, events


# -- connect / subscribe / publish ----------------------------------------------------------------
async def test_connect_with_jwt(server: Any, clients: Any) -> None:
    user = uid()
    client, events = await connected(clients, server, user)
    ctx = await events.wait("connected")
    assert client.state == ClientState.CONNECTED
    assert ctx.client and ctx.version


async def test_client_publish_reaches_subscribers(server: Any, clients: Any, proto: bool) -> None:
    ch = f"chat:{uid('room')}"
    alice, bob = uid("alice"), uid("bob")
    a, _ = await connected(clients, server, alice)
    b, _ = await connected(clients, server, bob)
    sub_a, ev_a = await subscribed(a, ch)
    _, ev_b = await subscribed(b, ch)

    await sub_a.publish(enc({"text": "hello"}, proto))

    pub = (await ev_b.publications(1))[0].pub
    assert dec(pub.data) == {"text": "hello"}
    assert pub.info is not None and pub.info.user == alice
    assert pub.offset == 1
    # the publisher is a subscriber too
    assert dec((await ev_a.publications(1))[0].pub.data) == {"text": "hello"}


async def test_api_publish_reaches_subscriber(server: Any, clients: Any, api: Api) -> None:
    ch = f"chat:{uid('news')}"
    c, _ = await connected(clients, server)
    _, ev = await subscribed(c, ch)

    res = await api("publish", ch, {"headline": "gyre"})
    assert res["offset"] == 1 and res["epoch"]

    pub = (await ev.publications(1))[0].pub
    assert dec(pub.data) == {"headline": "gyre"}
    assert pub.offset == 1
    assert pub.info is None  # API publications carry no publisher info


async def test_publish_without_permission_is_103(server: Any, clients: Any, proto: bool) -> None:
    c, _ = await connected(clients, server)
    with pytest.raises(ReplyError) as e:
        await c.publish(f"locked:{uid()}", enc({"x": 1}, proto))
    assert e.value.code == 103


# -- presence / join-leave ------------------------------------------------------------------------
async def test_presence_and_stats(server: Any, clients: Any, api: Api) -> None:
    ch = f"chat:{uid('p')}"
    u1, u2 = uid("p1"), uid("p2")
    c1, _ = await connected(clients, server, u1, token=token(u1, info={"name": "one"}))
    c2, _ = await connected(clients, server, u2)
    s1, _ = await subscribed(c1, ch)
    await subscribed(c2, ch)

    presence = await s1.presence()
    assert {i.user for i in presence.clients.values()} == {u1, u2}
    assert set(presence.clients) == {c1.client_id, c2.client_id}
    assert dec(presence.clients[c1.client_id].conn_info) == {"name": "one"}
    assert presence.clients[c2.client_id].conn_info is None
    stats = await s1.presence_stats()
    assert (stats.num_clients, stats.num_users) == (2, 2)

    api_presence = await api("presence", ch)
    assert {v["user"] for v in api_presence.values()} == {u1, u2}
    assert await api("presence_stats", ch) == {"num_clients": 2, "num_users": 2}

    # a second connection of the same user counts as a client, not as a user
    c3, _ = await connected(clients, server, u2)
    await subscribed(c3, ch)
    stats = await s1.presence_stats()
    assert (stats.num_clients, stats.num_users) == (3, 2)


async def test_join_leave_forced(server: Any, clients: Any) -> None:
    ch = f"chat:{uid('jl')}"
    u1, u2 = uid("j1"), uid("j2")
    c1, _ = await connected(clients, server, u1)
    _, ev1 = await subscribed(c1, ch)
    own = await ev1.wait("join")  # the subscriber receives its own join too
    assert own.info.user == u1 and own.info.client == c1.client_id

    c2, _ = await connected(clients, server, u2)
    await subscribed(c2, ch)
    joined = await ev1.wait("join", lambda j: j.info.user == u2)
    assert joined.info.client == c2.client_id

    await c2.disconnect()
    left = await ev1.wait("leave")
    assert left.info.user == u2 and left.info.client == joined.info.client


async def test_join_leave_on_client_request(server: Any, clients: Any, api: Api) -> None:
    ch = f"jl:{uid()}"
    watcher, _ = await connected(clients, server)
    _, ev_w = await subscribed(watcher, ch, join_leave=True)
    plain, _ = await connected(clients, server)
    _, ev_p = await subscribed(plain, ch)  # did not ask for join/leave

    u = uid("joiner")
    joiner, _ = await connected(clients, server, u)
    sub_j, _ = await subscribed(joiner, ch)
    await ev_w.wait("join", lambda j: j.info.user == u)
    await sub_j.unsubscribe()
    await ev_w.wait("leave", lambda j: j.info.user == u)

    # the publication comes after the join/leave on every connection: by the time the
    # non-requesting subscriber has it, it would have had the join/leave too
    await api("publish", ch, {"after": True})
    await ev_p.publications(1)
    assert ev_p.of("join") == [] and ev_p.of("leave") == []


# -- history ----------------------------------------------------------------------------------
async def test_history_limit_since_reverse(server: Any, clients: Any, api: Api) -> None:
    ch = f"chat:{uid('h')}"
    for i in range(1, 6):
        await api("publish", ch, {"n": i})
    c, _ = await connected(clients, server)
    sub, _ = await subscribed(c, ch)

    def ns(res: Any) -> list[int]:
        return [dec(p.data)["n"] for p in res.publications]

    full = await sub.history(limit=-1)
    assert ns(full) == [1, 2, 3, 4, 5]
    assert [p.offset for p in full.publications] == [1, 2, 3, 4, 5]
    assert full.offset == 5 and full.epoch

    assert ns(await sub.history(limit=2)) == [1, 2]
    assert ns(await sub.history(limit=2, reverse=True)) == [5, 4]
    pos = StreamPosition(offset=2, epoch=full.epoch)
    assert ns(await sub.history(limit=10, since=pos)) == [3, 4, 5]
    assert ns(await sub.history(limit=2, since=pos)) == [3, 4]
    assert ns(await sub.history(limit=10, since=StreamPosition(4, full.epoch), reverse=True)) == [
        3,
        2,
        1,
    ]
    top = await sub.history()  # limit 0: position only
    assert top.publications == [] and top.offset == 5 and top.epoch == full.epoch

    with pytest.raises(ReplyError) as e:
        await sub.history(limit=10, since=StreamPosition(offset=1, epoch="not-the-epoch"))
    assert e.value.code == 112

    # the same through cent
    res = await api("history", ch, limit=-1)
    assert [dec(p["data"])["n"] for p in res["publications"]] == [1, 2, 3, 4, 5]
    assert res["offset"] == 5 and res["epoch"] == full.epoch
    res = await api("history", ch, limit=2, reverse=True)
    assert [p["data"]["n"] for p in res["publications"]] == [5, 4]
    res = await api("history", ch, limit=10, since={"offset": 3, "epoch": full.epoch})
    assert [p["data"]["n"] for p in res["publications"]] == [4, 5]
    assert [p["offset"] for p in res["publications"]] == [4, 5]
    with pytest.raises(ResponseError) as ce:
        await api("history", ch, limit=10, since={"offset": 3, "epoch": "wrong"})
    assert ce.value.args[0]["code"] == 112


# -- recovery ---------------------------------------------------------------------------------
@pytest.mark.parametrize("namespace", ["chat", "rec"])
async def test_recovery_after_reconnect(
    server: Any, clients: Any, api: Api, namespace: str
) -> None:
    ch = f"{namespace}:{uid('r')}"
    c, _ = await connected(clients, server)
    _, ev = await subscribed(c, ch, recoverable=(namespace == "rec"))
    first = await ev.wait("subscribed")
    assert first.recoverable and first.stream_position is not None
    await api("publish", ch, {"n": 0})
    await ev.publications(1)

    await c.disconnect()
    for i in range(1, 6):
        await api("publish", ch, {"n": i})
    await c.connect()

    ctx = await ev.wait("subscribed", n=2)
    assert ctx.was_recovering and ctx.recovered
    pubs = await ev.publications(6)
    assert [dec(p.pub.data)["n"] for p in pubs] == [0, 1, 2, 3, 4, 5]
    assert [p.pub.offset for p in pubs] == [1, 2, 3, 4, 5, 6]

    # live delivery continues after the recovered ones, without duplicates
    await api("publish", ch, {"n": 6})
    pubs = await ev.publications(7)
    assert [p.pub.offset for p in pubs] == [1, 2, 3, 4, 5, 6, 7]
    await asyncio.sleep(0)  # nothing else queued
    assert len(ev.of("publication")) == 7


async def test_server_side_recovery_after_reconnect(server: Any, clients: Any, api: Api) -> None:
    user, ch = uid(), f"srv:{uid()}"
    c, ev = await connected(clients, server, user, token=token(user, channels=[ch]))
    await ev.wait("subscribed", lambda s: s.channel == ch)
    await api("publish", ch, {"n": 0})
    await ev.wait("publication", lambda p: p.channel == ch)

    await c.disconnect()
    for i in range(1, 4):
        await api("publish", ch, {"n": i})
    await c.connect()

    ctx = await ev.wait("subscribed", lambda s: s.channel == ch, n=2)
    assert ctx.was_recovering and ctx.recovered
    await ev.wait("publication", lambda p: p.channel == ch, n=4)
    assert pub_data(ev, ch) == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]


# -- server-side subscriptions --------------------------------------------------------------------
async def test_server_side_subscriptions_from_token_and_personal(
    server: Any, clients: Any, api: Api
) -> None:
    u1, u2 = uid("ss1"), uid("ss2")
    ch_a, ch_b = f"srv:{uid('a')}", f"srv:{uid('b')}"
    _c1, ev1 = await connected(clients, server, u1, token=token(u1, channels=[ch_a]))
    _c2, ev2 = await connected(
        clients,
        server,
        u2,
        token=token(u2, subs={ch_b: {"data": {"welcome": u2}}}, channels=[ch_a]),
    )
    personal1, personal2 = f"personal:#{u1}", f"personal:#{u2}"
    await ev1.wait("subscribed", lambda s: s.channel == ch_a)
    await ev1.wait("subscribed", lambda s: s.channel == personal1)
    sb = await ev2.wait("subscribed", lambda s: s.channel == ch_b)
    assert dec(sb.data) == {"welcome": u2}
    await ev2.wait("subscribed", lambda s: s.channel == personal2)
    # `subs` wins over `channels`
    assert ch_a not in {s.channel for s in ev2.of("subscribed")}

    await api("publish", ch_a, {"to": "a"})
    await api("publish", ch_b, {"to": "b"})
    await api("publish", personal1, {"to": "p1"})
    await api("publish", personal2, {"to": "p2"})
    await ev1.wait("publication", n=2)
    await ev2.wait("publication", n=2)
    assert sorted(map(str, pub_data(ev1))) == sorted(map(str, [{"to": "a"}, {"to": "p1"}]))
    assert pub_data(ev2, ch_b) == [{"to": "b"}]
    assert pub_data(ev2, personal2) == [{"to": "p2"}]


async def test_api_subscribe_connected_user(server: Any, clients: Any, api: Api) -> None:
    user, ch = uid(), f"srv:{uid('dyn')}"
    _c, ev = await connected(clients, server, user)
    await api("subscribe", user, ch)
    ctx = await ev.wait("subscribed", lambda s: s.channel == ch)
    assert ctx.recoverable  # srv namespace forces recovery

    await api("publish", ch, {"pushed": 1})
    await ev.wait("publication", lambda p: p.channel == ch)
    assert pub_data(ev, ch) == [{"pushed": 1}]
    assert (await api("presence_stats", ch))["num_clients"] == 1

    await api("unsubscribe", user, ch)
    await ev.wait("unsubscribed", lambda s: s.channel == ch)


async def test_api_unsubscribe_client_side_sub(server: Any, clients: Any, api: Api) -> None:
    user, ch = uid(), f"chat:{uid('u')}"
    c, _ = await connected(clients, server, user)
    sub, ev = await subscribed(c, ch)
    await api("unsubscribe", user, ch)
    ctx = await ev.wait("unsubscribed")
    assert (ctx.code, ctx.reason) == (2000, "server unsubscribe")
    assert sub.state == SubscriptionState.UNSUBSCRIBED
    assert c.state == ClientState.CONNECTED


async def test_api_disconnect_default(server: Any, clients: Any, api: Api) -> None:
    user = uid()
    c, ev = await connected(clients, server, user)
    other, ev_other = await connected(clients, server)
    await api("disconnect", user)
    ctx = await ev.wait("disconnected")
    assert (ctx.code, ctx.reason) == (3503, "force disconnect")
    assert c.state == ClientState.DISCONNECTED
    assert other.state == ClientState.CONNECTED and ev_other.of("disconnected") == []


async def test_api_disconnect_custom_code(server: Any, clients: Any, api: Api) -> None:
    user = uid()
    _c, ev = await connected(clients, server, user)
    reply = await api.raw(
        "disconnect", {"user": user, "disconnect": {"code": 4501, "reason": "go away"}}
    )
    assert reply == {"result": {}}
    ctx = await ev.wait("disconnected")
    assert (ctx.code, ctx.reason) == (4501, "go away")

    # a reconnect code makes the SDK come back
    user2 = uid()
    _c2, ev2 = await connected(clients, server, user2)
    await api.raw("disconnect", {"user": user2, "disconnect": {"code": 4001, "reason": "again"}})
    ctx = await ev2.wait("connecting", lambda x: x.code == 4001)
    assert ctx.reason == "again"
    await ev2.wait("connected", n=2)


async def test_api_refresh_expired_disconnects_3005(server: Any, clients: Any, api: Api) -> None:
    user = uid()
    _c, ev = await connected(clients, server, user)
    assert await api.raw("refresh", {"user": user, "expired": True}) == {"result": {}}
    ctx = await ev.wait("connecting", lambda x: x.code == 3005)
    assert ctx.reason == "connection expired"
    # its token is still valid: the SDK reconnects
    await ev.wait("connected", n=2)


# -- errors the SDK reports --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("channel", "code"),
    [
        ("nope:x", 102),
        ("locked:x", 103),
        ("$chat:secret", 103),
        ("chat:" + "x" * 80, 107),
    ],
    ids=["102-unknown-namespace", "103-no-permission", "103-private-no-token", "107-too-long"],
)
async def test_subscribe_errors(server: Any, clients: Any, channel: str, code: int) -> None:
    c, ev_client = await connected(clients, server)
    ev = SubEvents()
    sub = c.new_subscription(channel, events=ev)
    await sub.subscribe()
    ctx = await ev.wait("unsubscribed")
    assert ctx.code == code
    assert sub.state == SubscriptionState.UNSUBSCRIBED
    assert c.state == ClientState.CONNECTED and ev_client.of("disconnected") == []


async def test_channel_limit_106(server: Any, clients: Any) -> None:
    c, _ = await connected(clients, server)  # personal channel is 1 of the 10
    for i in range(9):
        await subscribed(c, f"chat:lim{i}-{uid()}")
    ev = SubEvents()
    sub = c.new_subscription(f"chat:one-too-many-{uid()}", events=ev)
    await sub.subscribe()
    assert (await ev.wait("unsubscribed")).code == 106


async def test_presence_and_history_not_available_108(server: Any, clients: Any) -> None:
    c, _ = await connected(clients, server)
    sub, _ = await subscribed(c, f"plain:{uid()}")
    with pytest.raises(ReplyError) as e:
        await sub.presence()
    assert e.value.code == 108
    with pytest.raises(ReplyError) as e:
        await sub.presence_stats()
    assert e.value.code == 108
    with pytest.raises(ReplyError) as e:
        await sub.history(limit=10)
    assert e.value.code == 108


async def test_private_channel_with_subscription_token(server: Any, clients: Any, api: Api) -> None:
    user, ch = uid(), f"$priv:{uid()}"
    c, _ = await connected(clients, server, user)
    _, ev = await subscribed(c, ch, token=sub_token(user, ch, data={"hello": 1}))
    assert dec((await ev.wait("subscribed")).data) == {"hello": 1}
    await api("publish", ch, {"secret": True})
    assert dec((await ev.publications(1))[0].pub.data) == {"secret": True}


async def test_invalid_token_3500(server: Any, clients: Any) -> None:
    user = uid()
    c, ev = clients(
        server, user, token=token(user, secret="not-the-secret-0123456789abcdefghijklmnop")
    )
    await c.connect()
    ctx = await ev.wait("disconnected")
    assert (ctx.code, ctx.reason) == (3500, "invalid token")
    assert c.state == ClientState.DISCONNECTED


async def test_expired_token_109_triggers_get_token(server: Any, clients: Any) -> None:
    user = uid()
    calls = 0

    async def get_token() -> str:
        nonlocal calls
        calls += 1
        return token(user)

    c, ev = clients(server, user, token=token(user, ttl=-10), get_token=get_token)
    await c.connect()
    await c.ready(timeout=5)
    assert calls == 1
    err = [e for e in ev.of("error") if getattr(e.error, "code", None) == 109]
    assert err, ev.events
    assert ev.of("disconnected") == []


async def test_connect_token_for_unknown_namespace_channel_102(server: Any, clients: Any) -> None:
    user = uid()
    c, ev = clients(server, user, token=token(user, channels=["nope:x"]))
    await c.connect()
    ctx = await ev.wait("disconnected")
    assert ctx.code == 102


async def test_server_side_join_leave(server: Any, clients: Any) -> None:
    ch = f"room:{uid()}"
    u1, u2 = uid("r1"), uid("r2")
    _c1, ev1 = await connected(clients, server, u1, token=token(u1, channels=[ch]))
    await ev1.wait("subscribed", lambda s: s.channel == ch)
    c2, _ = await connected(clients, server, u2, token=token(u2, channels=[ch]))
    joined = await ev1.wait("join", lambda j: j.channel == ch and j.info.user == u2)
    assert joined.info.client == c2.client_id
    await c2.disconnect()
    left = await ev1.wait("leave", lambda j: j.channel == ch)
    assert left.info.user == u2


async def test_client_unsubscribe_publishes_leave(server: Any, clients: Any) -> None:
    ch = f"chat:{uid()}"
    u2 = uid("leaver")
    c1, _ = await connected(clients, server)
    _, ev1 = await subscribed(c1, ch)
    c2, _ = await connected(clients, server, u2)
    sub2, _ = await subscribed(c2, ch)
    await ev1.wait("join", lambda j: j.info.user == u2)
    await sub2.unsubscribe()
    assert (await ev1.wait("leave")).info.user == u2
    # the server really dropped it: presence shows one client
    stats = await c1.presence_stats(ch)
    assert (stats.num_clients, stats.num_users) == (1, 1)
    assert c2.state == ClientState.CONNECTED


async def test_no_credentials_3501(server: Any, clients: Any) -> None:
    c, ev = clients(server, None)
    await c.connect()
    ctx = await ev.wait("disconnected")
    assert (ctx.code, ctx.reason) == (3501, "bad request")


async def test_expire_at_in_the_past_110(server: Any, clients: Any) -> None:
    user = uid()
    c, ev = clients(server, user, token=token(user, expire_at=int(time.time()) - 10))
    await c.connect()
    ctx = await ev.wait("disconnected")
    assert (ctx.code, ctx.reason) == (110, "expired")


async def test_rpc_without_handler_108(server: Any, clients: Any, proto: bool) -> None:
    c, _ = await connected(clients, server)
    with pytest.raises(ReplyError) as e:
        await c.rpc("anything", enc({"q": 1}, proto))
    assert e.value.code == 108
    assert c.state == ClientState.CONNECTED


async def test_binary_data_and_tags(server: Any, clients: Any, api: Api, proto: bool) -> None:
    ch = f"chat:{uid()}"
    c, ev_client = await connected(clients, server)
    _, ev = await subscribed(c, ch)
    await api.raw("publish", {"channel": ch, "data": {"a": 1}, "tags": {"k": "v"}})
    first = (await ev.publications(1))[0].pub
    assert dec(first.data) == {"a": 1} and first.tags == {"k": "v"}

    binary = bytes([0xFF, 0x00, 0x01, 0x80])
    await api.raw("publish", {"channel": ch, "b64data": base64.b64encode(binary).decode()})
    if proto:
        assert (await ev.publications(2))[1].pub.data == binary
        assert c.state == ClientState.CONNECTED
    else:  # binary data cannot travel in JSON
        ctx = await ev_client.wait("disconnected")
        assert (ctx.code, ctx.reason) == (3506, "inappropriate protocol")
