"""Channel permission options, anonymous clients, user-limited channels, token claims that
shape ClientInfo/options, API filters, abrupt disconnects and graceful shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from centrifuge import ClientState, ReplyError

from .conftest import server_fixture
from .helpers import Api, RawWS, SubEvents, dec, enc, sub_token, token, uid
from .server import ServerProcess, base_config

CONFIG = base_config(
    allow_anonymous_connect_without_token=True,
    namespaces=[
        {
            "name": "sub",  # capabilities for subscribers only
            "allow_subscribe_for_client": True,
            "allow_publish_for_subscriber": True,
            "allow_presence_for_subscriber": True,
            "allow_history_for_subscriber": True,
            "presence": True,
            "history_size": 10,
            "history_ttl": "60s",
        },
        {
            "name": "anon",
            "allow_subscribe_for_client": True,
            "allow_subscribe_for_anonymous": True,
            "allow_publish_for_client": True,
            "allow_publish_for_anonymous": True,
            "presence": True,
            "join_leave": True,
            "force_push_join_leave": True,
        },
        {"name": "dialog", "allow_user_limited_channels": True},
        {
            "name": "tiny",
            "allow_subscribe_for_client": True,
            "force_recovery": True,
            "history_size": 3,
            "history_ttl": "60s",
        },
        {
            "name": "room",
            "allow_subscribe_for_client": True,
            "presence": True,
            "join_leave": True,
            "force_push_join_leave": True,
            "history_size": 10,
            "history_ttl": "60s",
        },
    ],
)
server = server_fixture(CONFIG, "semantics")


@pytest.fixture
def api(server: Any) -> Api:
    return Api(server.api_url)


async def connected(make: Any, server: Any, user: str | None = None, **kw: Any) -> Any:
    client, events = make(server, user, **kw)
    await client.connect()
    await client.ready()
    return client, events


async def subscribed(client: Any, channel: str, **kw: Any) -> tuple[Any, SubEvents]:
    ev = SubEvents()
    sub = client.new_subscription(channel, events=ev, **kw)
    await sub.subscribe()
    await sub.ready()
    return sub, ev


async def test_subscriber_only_capabilities(server: Any, clients: Any, proto: bool) -> None:
    ch = f"sub:{uid()}"
    c, _ = await connected(clients, server, uid())
    for call in (
        c.publish(ch, enc({"x": 1}, proto)),
        c.presence(ch),
        c.presence_stats(ch),
        c.history(ch, limit=1),
    ):
        with pytest.raises(ReplyError) as e:
            await call
        assert e.value.code == 103
    sub, ev = await subscribed(c, ch)
    await sub.publish(enc({"x": 1}, proto))
    assert dec((await ev.publications(1))[0].pub.data) == {"x": 1}
    assert (await sub.presence_stats()).num_clients == 1
    assert len((await sub.history(limit=5)).publications) == 1


async def test_anonymous_client(server: Any, clients: Any, proto: bool) -> None:
    ch = f"anon:{uid()}"
    anon, _ = await connected(clients, server, None)  # no token at all
    sub, ev = await subscribed(anon, ch)
    await sub.publish(enc({"from": "nobody"}, proto))
    pub = (await ev.publications(1))[0].pub
    assert dec(pub.data) == {"from": "nobody"} and pub.info.user == ""
    assert (await ev.wait("join")).info.user == ""
    # anonymous is refused where the namespace does not allow it
    ev2 = SubEvents()
    sub2 = anon.new_subscription(f"room:{uid()}", events=ev2)
    await sub2.subscribe()
    assert (await ev2.wait("unsubscribed")).code == 103


async def test_user_limited_channel(server: Any, clients: Any, api: Api) -> None:
    u1, u2, u3 = uid("a"), uid("b"), uid("c")
    ch = f"dialog:chat#{u1},{u2}"
    c1, _ = await connected(clients, server, u1)
    _, ev1 = await subscribed(c1, ch)
    c3, _ = await connected(clients, server, u3)
    ev3 = SubEvents()
    sub3 = c3.new_subscription(ch, events=ev3)
    await sub3.subscribe()
    assert (await ev3.wait("unsubscribed")).code == 103
    await api("publish", ch, {"hi": u2})
    assert dec((await ev1.publications(1))[0].pub.data) == {"hi": u2}


async def test_connection_token_info_in_join_and_presence(server: Any, clients: Any) -> None:
    ch = f"room:{uid()}"
    u1, u2 = uid("w"), uid("i")
    c1, _ = await connected(clients, server, u1)
    _, ev1 = await subscribed(c1, ch)
    c2, _ = await connected(clients, server, u2, token=token(u2, info={"name": "Ivy"}))
    await subscribed(c2, ch)
    join = await ev1.wait("join", lambda j: j.info.user == u2)
    assert join.info.client == c2.client_id
    assert dec(join.info.conn_info) == {"name": "Ivy"} and join.info.chan_info is None
    api = Api(server.api_url)
    presence = await api("presence", ch)
    assert presence[c2.client_id]["conn_info"] == {"name": "Ivy"}
    assert "conn_info" not in presence[c1.client_id]


async def test_subscription_token_info_and_override(server: Any, clients: Any, api: Api) -> None:
    ch = f"$room:{uid()}"
    wu, user = uid("watch"), uid("ghost")
    watcher, _ = await connected(clients, server, wu)
    _, ev_w = await subscribed(watcher, ch, token=sub_token(wu, ch))
    c, _ = await connected(clients, server, user)
    tok = sub_token(user, ch, info={"seat": 7}, override={"presence": {"value": False}})
    await subscribed(c, ch, token=tok)
    join = await ev_w.wait("join", lambda j: j.info.user == user)
    assert dec(join.info.chan_info) == {"seat": 7}
    # presence switched off for this subscription only
    presence = await api("presence", ch)
    assert set(presence) == {watcher.client_id}


async def test_abrupt_close_publishes_leave_and_clears_presence(
    server: Any, clients: Any, api: Api
) -> None:
    ch = f"room:{uid()}"
    watcher, _ = await connected(clients, server, uid())
    _, ev = await subscribed(watcher, ch)
    user = uid("gone")
    raw = await RawWS.open(server.ws_url)
    await raw.connect(token(user))
    assert "subscribe" in await raw.command(subscribe={"channel": ch})
    await ev.wait("join", lambda j: j.info.user == user)
    assert (await api("presence_stats", ch))["num_clients"] == 2
    # drop TCP without a close handshake
    raw.ws._response.connection.transport.abort()  # type: ignore[union-attr]
    await raw.session.close()
    await ev.wait("leave", lambda j: j.info.user == user)
    assert (await api("presence_stats", ch)) == {"num_clients": 1, "num_users": 1}


async def test_api_filters_client_and_whitelist(server: Any, clients: Any, api: Api) -> None:
    user, ch = uid(), f"room:{uid()}"
    a, ev_a = await connected(clients, server, user)
    b, ev_b = await connected(clients, server, user)
    _, sev_a = await subscribed(a, ch)
    _, sev_b = await subscribed(b, ch)

    await api("unsubscribe", user, ch, client=a.client_id)
    assert (await sev_a.wait("unsubscribed")).code == 2000
    await api("publish", ch, {"after": "unsub"})
    assert dec((await sev_b.publications(1))[0].pub.data) == {"after": "unsub"}
    assert sev_a.of("publication") == []

    reply = await api.raw("disconnect", {"user": user, "whitelist": [b.client_id]})
    assert reply == {"result": {}}
    assert (await ev_a.wait("disconnected")).code == 3503
    await api("publish", ch, {"after": "disconnect"})
    await sev_b.publications(2)
    assert b.state == ClientState.CONNECTED and ev_b.of("disconnected") == []


async def test_skip_history(server: Any, api: Api) -> None:
    ch = f"room:{uid()}"
    first = await api("publish", ch, {"n": 1})
    await api("publish", ch, {"n": 2}, skip_history=True)
    hist = await api("history", ch, limit=10)
    assert [p["data"] for p in hist["publications"]] == [{"n": 1}]
    assert hist["offset"] == first["offset"]


async def test_graceful_shutdown_3001(clients: Any, tmp_path: Any) -> None:
    srv = ServerProcess(base_config(), tmp_path / "shutdown", name="shutdown")
    srv.start()
    try:
        c, ev = clients(srv, uid())
        await c.connect()
        await c.ready()
        await asyncio.to_thread(srv.stop)
        ctx = await ev.wait("connecting", lambda x: x.code >= 3000)
        assert (ctx.code, ctx.reason) == (3001, "shutdown")
        assert srv.proc is not None and srv.proc.returncode == 0
    finally:
        srv.stop()


async def test_connect_request_subs_become_server_side_subscriptions(server: Any) -> None:
    """Channels listed in ConnectRequest.subs (how uni clients subscribe) are subscribed when
    the client could subscribe to them itself; others are silently skipped."""
    room, anon_ch = f"room:{uid()}", f"anon:{uid()}"
    raw = await RawWS.open(server.ws_url)
    try:
        subs = {room: {}, anon_ch: {}, f"$room:{uid()}": {}, f"dialog:x#{uid()}": {}, "plain": {}}
        result = await raw.connect(token(uid()), subs=subs)
        assert set(result["subs"]) == {room, anon_ch}
    finally:
        await raw.close()
    raw = await RawWS.open(server.ws_url)
    try:
        await raw.send({"id": 1, "connect": {"token": token(uid()), "subs": {"nope:x": {}}}})
        assert (await raw.closed()).code == 3501
    finally:
        await raw.close()


async def test_recovery_impossible_when_stream_was_trimmed(
    server: Any, clients: Any, api: Api
) -> None:
    """More missed publications than history_size (3): recovered=False, nothing replayed,
    the SDK restarts from the current top and live delivery goes on."""
    ch = f"tiny:{uid()}"
    c, _ = await connected(clients, server, uid())
    _, ev = await subscribed(c, ch)
    await api("publish", ch, {"n": 0})
    await ev.publications(1)
    await c.disconnect()
    for i in range(1, 6):
        await api("publish", ch, {"n": i})
    await c.connect()
    ctx = await ev.wait("subscribed", n=2)
    assert ctx.was_recovering and not ctx.recovered
    assert ctx.stream_position is not None and ctx.stream_position.offset == 6
    await api("publish", ch, {"n": 6})
    pubs = await ev.publications(2)
    assert [(p.pub.offset, dec(p.pub.data)) for p in pubs] == [(1, {"n": 0}), (7, {"n": 6})]
