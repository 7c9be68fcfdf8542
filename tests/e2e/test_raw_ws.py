"""Protocol edge cases over a hand-driven WebSocket (aiohttp client): bad requests, stale
and pong-less connections, oversize frames, slow readers, and isolation between clients."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import aiohttp
import pytest
from centrifuge import ClientState

from .conftest import server_fixture
from .helpers import API_KEY, Closed, RawWS, SubEvents, dec, enc, next_frame, token, uid
from .server import base_config

SIZE_LIMIT = 4096
# JSON nested deeper than Python's recursion limit (fits in SIZE_LIMIT)
DEEP = "[" * 1500 + "]" * 1500
CONFIG = base_config(
    ping_interval="2s",
    pong_timeout="1s",
    websocket_message_size_limit=SIZE_LIMIT,
    client_queue_max_size=65536,
    client_recovery_max_publication_limit=5,
    namespaces=[
        {
            "name": "chat",
            "allow_subscribe_for_client": True,
            "allow_publish_for_client": True,
        },
        {
            "name": "hist",
            "allow_subscribe_for_client": True,
            "allow_recovery": True,
            "allow_history_for_subscriber": True,
            "history_size": 20,
            "history_ttl": "60s",
        },
    ],
    client_history_max_publication_limit=3,
)
server = server_fixture(CONFIG, "raw")


@pytest.fixture
async def raw(server: Any) -> Any:
    opened: list[RawWS] = []

    async def open_(**kwargs: Any) -> RawWS:
        ws = await RawWS.open(server.ws_url, **kwargs)
        opened.append(ws)
        return ws

    yield open_
    for ws in opened:
        await ws.close()


async def api_publish_many(server: Any, channel: str, datas: list[Any]) -> list[dict[str, Any]]:
    """Several publish commands in one v4 ``POST /api`` body."""
    body = "\n".join(
        json.dumps({"method": "publish", "params": {"channel": channel, "data": d}}) for d in datas
    )
    async with (
        aiohttp.ClientSession() as s,
        s.post(server.api_url, data=body, headers={"Authorization": f"apikey {API_KEY}"}) as r,
    ):
        assert r.status == 200
        return [json.loads(line) for line in (await r.text()).split("\n") if line]


async def test_command_before_connect_3501(raw: Any) -> None:
    ws = await raw()
    await ws.send({"id": 1, "subscribe": {"channel": "chat:x"}})
    c = await ws.closed()
    assert (c.code, c.reason) == (3501, "bad request")


@pytest.mark.parametrize(
    "frame",
    ['{"id": 1, "connect": {', "not json at all", "[1, 2, 3]"],
    ids=["truncated", "garbage", "array"],
)
async def test_malformed_json_3501(raw: Any, frame: str) -> None:
    ws = await raw()
    await ws.send(frame)
    c = await ws.closed()
    assert (c.code, c.reason) == (3501, "bad request")


async def test_malformed_json_after_connect_3501(raw: Any) -> None:
    ws = await raw()
    await ws.connect(token(uid()))
    await ws.send('{"id": 2, "subscribe": {"channel": ')
    c = await ws.closed()
    assert (c.code, c.reason) == (3501, "bad request")


async def test_empty_frame_3501(raw: Any) -> None:
    ws = await raw()
    await ws.connect(token(uid()))
    await ws.send("")
    c = await ws.closed()
    assert (c.code, c.reason) == (3501, "bad request")


async def test_second_connect_3501(raw: Any) -> None:
    ws = await raw()
    await ws.connect(token(uid()))
    await ws.send({"id": 2, "connect": {"token": token(uid())}})
    c = await ws.closed()
    assert c.code == 3501


async def test_pong_without_ping_3501(raw: Any) -> None:
    ws = await raw()
    ws.auto_pong = False
    result = await ws.connect(token(uid()))
    assert result["pong"] is True and result["ping"] == 2
    while ws.pings == 0:  # the first ping comes within ping_interval
        await ws.recv()
    await ws.send("{}")  # the one allowed pong
    await ws.send("{}")  # one too many
    c = await ws.closed()
    assert (c.code, c.reason) == (3501, "bad request")


async def test_invalid_protobuf_3501(raw: Any) -> None:
    ws = await raw(protocols=("centrifuge-protobuf",))
    assert ws.ws.protocol == "centrifuge-protobuf"
    await ws.ws.send_bytes(b"\x04\xff\xff\xff\xff")
    c = await ws.closed()
    assert (c.code, c.reason) == (3501, "bad request")


async def test_stale_connection_3502(raw: Any) -> None:
    opened = time.monotonic()
    ws = await raw()
    c = await ws.closed(timeout=5)  # client_stale_close_delay is 1s
    assert (c.code, c.reason) == (3502, "stale")
    assert time.monotonic() - opened >= 0.9


async def test_connected_client_is_not_stale(raw: Any) -> None:
    ws = await raw()
    await ws.connect(token(uid()))
    while ws.pings < 1:  # ping within 2s; the stale delay (1s) is over by then
        await ws.recv(timeout=5)
    assert "subscribe" in await ws.command(subscribe={"channel": "chat:fresh"})


async def test_no_pong_3012(raw: Any) -> None:
    ws = await raw()
    ws.auto_pong = False
    await ws.connect(token(uid()))
    first_ping = 0.0
    try:
        while True:  # first ping within 2s, then 1s pong_timeout
            await ws.recv(timeout=6)
            if ws.pings and not first_ping:
                first_ping = time.monotonic()
    except Closed as c:
        assert (c.code, c.reason) == (3012, "no pong")
    assert ws.pings >= 1
    assert time.monotonic() - first_ping >= 0.9  # pong_timeout after the ping


async def test_answered_pings_keep_connection(raw: Any) -> None:
    ws = await raw()
    await ws.connect(token(uid()))
    while ws.pings < 2:
        await ws.recv(timeout=5)
    reply = await ws.command(subscribe={"channel": "chat:alive"})
    assert "subscribe" in reply


async def test_oversize_frame_1009(raw: Any) -> None:
    ws = await raw()
    await ws.connect(token(uid()))
    big = json.dumps({"id": 2, "publish": {"channel": "chat:x", "data": "x" * SIZE_LIMIT}})
    await ws.send(big)
    c = await ws.closed()
    assert c.code == 1009


async def test_oversize_publish_from_sdk(server: Any, clients: Any, proto: bool) -> None:
    c, ev = clients(server, uid())
    await c.connect()
    await c.ready()
    with pytest.raises(Exception):  # noqa: B017 - the SDK fails the command on a lost transport
        await c.publish("chat:big", enc({"blob": "y" * SIZE_LIMIT}, proto))
    ctx = await ev.wait("connecting", lambda x: x.code != 0)
    assert ctx.code == 3  # centrifuge-python: "message size limit", then it reconnects
    await ev.wait("connected", n=2)


async def test_already_subscribed_105(raw: Any) -> None:
    ws = await raw()
    await ws.connect(token(uid()))
    first = await ws.command(subscribe={"channel": "chat:twice"})
    assert "subscribe" in first and "error" not in first
    second = await ws.command(subscribe={"channel": "chat:twice"})
    assert second["error"] == {"code": 105, "message": "already subscribed"}
    # an error reply keeps the connection usable
    third = await ws.command(publish={"channel": "chat:twice", "data": {"ok": 1}})
    assert "error" not in third


async def test_slow_client_3008(server: Any, raw: Any, clients: Any) -> None:
    ch = f"chat:{uid('slow')}"
    slow = await raw()
    await slow.connect(token(uid()))
    assert "subscribe" in await slow.command(subscribe={"channel": ch})
    # a well-behaved subscriber of the same channel
    good, good_ev = clients(server, uid(), use_protobuf=False)
    await good.connect()
    sub_ev = SubEvents()
    sub = good.new_subscription(ch, events=sub_ev)
    await sub.subscribe()
    await sub.ready()

    # the slow client stops reading; ~8 MB of publications, one API call each (a pace a
    # reading client keeps up with), overflow the kernel buffers and then its queue
    n, blob = 250, "z" * 32768
    headers = {"Authorization": f"apikey {API_KEY}"}
    async with aiohttp.ClientSession() as s:
        for i in range(n):
            body = {"method": "publish", "params": {"channel": ch, "data": {"i": i, "blob": blob}}}
            async with s.post(server.api_url, json=body, headers=headers) as r:
                assert r.status == 200 and await r.json() == {"result": {}}

    got = await sub_ev.publications(n, timeout=20)
    assert [dec(p.pub.data)["i"] for p in got] == list(range(n))
    assert good.state == ClientState.CONNECTED and good_ev.of("disconnected") == []

    c = await slow.closed(timeout=20)
    assert (c.code, c.reason) == (3008, "slow")


async def test_misbehaving_clients_do_not_affect_others(
    server: Any, raw: Any, clients: Any, proto: bool
) -> None:
    ch = f"chat:{uid('calm')}"
    good, ev = clients(server, uid())
    await good.connect()
    sub_ev = SubEvents()
    sub = good.new_subscription(ch, events=sub_ev)
    await sub.subscribe()
    await sub.ready()

    async def abuse(frame: str | bytes, connect: bool = False, **kw: Any) -> int | None:
        ws = await raw(**kw)
        if connect:
            await ws.connect(token(uid()))
        if isinstance(frame, bytes):
            await ws.ws.send_bytes(frame)
        else:
            await ws.send(frame)
        return (await ws.closed()).code

    codes = [
        await abuse("{bad"),
        await abuse(""),
        await abuse('{"id":1,"publish":{"channel":"' + ch + '","data":{}}}'),
        await abuse(b"\xff\xfe\xfd"),
        await abuse("x" * (SIZE_LIMIT * 2), connect=True),
        await abuse(b"\x7f\x01", protocols=("centrifuge-protobuf",)),
        await abuse('{"id":2,"subscribe":{}}', connect=True),
        await abuse('{"id":1,"connect":{"data":' + DEEP + "}}"),
    ]
    assert codes == [3501, 3501, 3501, 3501, 1009, 3501, 3501, 3501]

    await api_publish_many(server, ch, [{"still": "fine"}])
    got = await sub_ev.publications(1)
    assert dec(got[0].pub.data) == {"still": "fine"}
    assert good.state == ClientState.CONNECTED
    assert [x.code for x in ev.of("connecting")] == [0] and ev.of("disconnected") == []


async def test_recovery_wire_semantics(server: Any, raw: Any) -> None:
    ch = f"hist:{uid()}"
    replies = await api_publish_many(server, ch, [{"n": i} for i in range(1, 4)])
    epoch = replies[0]["result"]["epoch"]
    assert [r["result"]["offset"] for r in replies] == [1, 2, 3]
    ws = await raw()
    await ws.connect(token(uid()))

    async def sub(**req: Any) -> dict[str, Any]:
        reply = await ws.command(subscribe={"channel": ch, "recoverable": True, **req})
        await ws.command(unsubscribe={"channel": ch})
        return reply["subscribe"]  # type: ignore[no-any-return]

    res = await sub()  # no recover: current top
    assert res["recoverable"] and res["positioned"]
    assert (res["offset"], res["epoch"]) == (3, epoch)
    assert "publications" not in res and not res.get("recovered")

    res = await sub(recover=True, offset=1, epoch=epoch)
    assert res["recovered"] and res["was_recovering"]
    assert [(p["offset"], p["data"]) for p in res["publications"]] == [(2, {"n": 2}), (3, {"n": 3})]
    assert (res["offset"], res["epoch"]) == (1, epoch)  # the request's position

    res = await sub(recover=True, offset=3, epoch=epoch)  # nothing missed
    assert res["recovered"] and not res.get("publications")

    res = await sub(recover=True, offset=3)  # no epoch in the request: none in the result
    assert res["recovered"] and "epoch" not in res

    res = await sub(recover=True, offset=0, epoch="_")  # SDK sentinel after 2502/3014
    assert not res.get("recovered") and res["was_recovering"]
    assert not res.get("publications")
    assert (res["offset"], res["epoch"]) == (3, epoch)

    # more missed than client_recovery_max_publication_limit (5): not recoverable
    await api_publish_many(server, ch, [{"n": i} for i in range(4, 10)])
    res = await sub(recover=True, offset=1, epoch=epoch)
    assert not res.get("recovered") and not res.get("publications")
    assert (res["offset"], res["epoch"]) == (9, epoch)
    res = await sub(recover=True, offset=4, epoch=epoch)  # exactly 5 missed
    assert res["recovered"] and [p["offset"] for p in res["publications"]] == [5, 6, 7, 8, 9]


async def test_publication_between_subscribe_and_reply_not_lost(server: Any, raw: Any) -> None:
    """Live publications right after a recovering subscribe are neither lost nor doubled."""
    ch = f"hist:{uid()}"
    replies = await api_publish_many(server, ch, [{"n": 1}])
    epoch = replies[0]["result"]["epoch"]
    ws = await raw()
    await ws.connect(token(uid()))
    await ws.send(
        {
            "id": 50,
            "subscribe": {
                "channel": ch,
                "recoverable": True,
                "recover": True,
                "offset": 0,
                "epoch": epoch,
            },
        }
    )
    await api_publish_many(server, ch, [{"n": i} for i in range(2, 6)])
    offsets: list[int] = []
    reply_seen = False
    while len(offsets) < 5:
        for r in await ws.recv():
            if r.get("id") == 50:
                assert r["subscribe"]["recovered"]
                offsets += [p["offset"] for p in r["subscribe"].get("publications", [])]
                reply_seen = True
            elif "push" in r:
                assert reply_seen, "a publication arrived before the subscribe reply"
                offsets.append(r["push"]["pub"]["offset"])
    assert offsets == [1, 2, 3, 4, 5]


async def test_connect_and_subscribe_in_one_frame(raw: Any) -> None:
    """centrifuge-js sends connect plus optimistic subscribes in one frame."""
    ws = await raw()
    frame = "\n".join(
        json.dumps(c)
        for c in (
            {"id": 1, "connect": {"token": token(uid()), "name": "js"}},
            {"id": 2, "subscribe": {"channel": "chat:one", "flag": 1}},
            {"id": 3, "subscribe": {"channel": "chat:two", "flag": 1}},
        )
    )
    await ws.send(frame)
    got: dict[int, dict[str, Any]] = {}
    while len(got) < 3:
        for r in await ws.recv():
            got[r["id"]] = r
    assert "connect" in got[1] and "subscribe" in got[2] and "subscribe" in got[3]


async def test_client_history_cap_and_reverse_rules(server: Any, raw: Any) -> None:
    ch = f"hist:{uid()}"
    replies = await api_publish_many(server, ch, [{"n": i} for i in range(1, 6)])
    epoch = replies[0]["result"]["epoch"]
    ws = await raw()
    await ws.connect(token(uid()))
    assert "subscribe" in await ws.command(subscribe={"channel": ch})

    res = (await ws.command(history={"channel": ch, "limit": -1}))["history"]
    assert [p["offset"] for p in res["publications"]] == [1, 2, 3]  # capped at 3
    res = (await ws.command(history={"channel": ch, "limit": 100, "reverse": True}))["history"]
    assert [p["offset"] for p in res["publications"]] == [5, 4, 3]
    reply = await ws.command(
        history={"channel": ch, "limit": 2, "reverse": True, "since": {"offset": 0, "epoch": epoch}}
    )
    assert reply["error"]["code"] == 107
    # the API has no cap
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{server.api_url}/history",
            json={"channel": ch, "limit": -1},
            headers={"X-API-Key": API_KEY},
        ) as r,
    ):
        assert len((await r.json())["result"]["publications"]) == 5


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ({"publish": {"channel": "chat:x"}}, 3501),
        ({"subscribe": {}}, 3501),
        ({"presence": {}}, 3501),
        ({"history": {}}, 3501),
        ({"unsubscribe": {}}, 3501),
        ({"refresh": {}}, 3501),
        ({"send": {"data": {"x": 1}}}, 3508),
    ],
    ids=[
        "publish-no-data",
        "subscribe-no-channel",
        "presence-no-channel",
        "history-no-channel",
        "unsubscribe-no-channel",
        "refresh-no-token",
        "send",
    ],
)
async def test_missing_arguments_disconnect(raw: Any, command: dict[str, Any], code: int) -> None:
    ws = await raw()
    await ws.connect(token(uid()))
    await ws.send({"id": 9, **command} if "send" not in command else command)
    c = await ws.closed()
    assert c.code == code


async def test_reply_errors_keep_connection(raw: Any) -> None:
    ws = await raw()
    await ws.connect(token(uid()))
    assert (await ws.command(unsubscribe={"channel": "chat:never"})) == {
        "id": 1 + 1,
        "unsubscribe": {},
    }
    reply = await ws.command(sub_refresh={"channel": "chat:never", "token": "x"})
    assert reply["error"]["code"] == 103
    reply = await ws.command(presence={"channel": "chat:x"})
    assert reply["error"]["code"] == 108
    reply = await ws.command(history={"channel": "hist:x", "limit": 1})
    assert reply["error"]["code"] == 103  # history only for subscribers
    reply = await ws.command(subscribe={"channel": "unknown:x"})
    assert reply["error"] == {"code": 102, "message": "unknown channel"}
    assert "subscribe" in await ws.command(subscribe={"channel": "chat:still-alive"})


async def test_deeply_nested_json_frame_3501(server: Any, raw: Any) -> None:
    """Regression: a frame nested deeper than the recursion limit crashed the connection's
    handler (no close frame, traceback logged) instead of a 3501 bad request."""
    ws = await raw()
    await ws.send('{"id":1,"connect":{"data":' + DEEP + "}}")
    assert (await ws.closed()).code == 3501
    ws = await raw()
    await ws.connect(token(uid()))
    await ws.send('{"id":2,"publish":{"channel":"chat:x","data":' + DEEP + "}}")
    assert (await ws.closed()).code == 3501
    assert "RecursionError" not in server.log()


async def test_deeply_nested_api_body_400(server: Any) -> None:
    """Regression: deeply nested JSON made the HTTP API answer 500 instead of 400."""
    headers = {"X-API-Key": API_KEY}
    async with aiohttp.ClientSession() as s:
        body = '{"method":"publish","params":{"channel":"chat:x","data":' + DEEP + "}}"
        async with s.post(server.api_url, data=body, headers=headers) as r:
            assert r.status == 400
        body = '{"channel":"chat:x","data":' + DEEP + "}"
        async with s.post(f"{server.api_url}/publish", data=body, headers=headers) as r:
            assert r.status == 400
        body = '{"commands":[{"publish":{"channel":"chat:x","data":' + DEEP + "}}]}"
        async with s.post(f"{server.api_url}/batch", data=body, headers=headers) as r:
            assert r.status == 400
    assert "RecursionError" not in server.log()


async def test_deeply_nested_binary_payload(server: Any, raw: Any) -> None:
    """Regression: a b64data payload that is JSON nested too deeply to validate made the
    whole broadcast fail, so no subscriber, protobuf ones included, received it."""
    ch = f"chat:{uid()}"
    js = await raw()
    await js.connect(token(uid()))
    assert "subscribe" in await js.command(subscribe={"channel": ch})
    pb = await raw(protocols=("centrifuge-protobuf",))
    # Command{id=1, connect=ConnectRequest{token}}, then Command{id=2, subscribe={channel}}
    await pb.ws.send_bytes(_pb_command(1, 4, _pb_field(1, token(uid()).encode())))
    await next_frame(pb.ws)  # connect reply
    await pb.ws.send_bytes(_pb_command(2, 5, _pb_field(1, ch.encode())))
    await next_frame(pb.ws)  # subscribe reply

    payload = DEEP.encode()
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{server.api_url}/publish",
            json={"channel": ch, "b64data": base64.b64encode(payload).decode()},
            headers={"X-API-Key": API_KEY},
        ) as r,
    ):
        assert r.status == 200
    msg = await next_frame(pb.ws)
    assert msg.type == aiohttp.WSMsgType.BINARY and payload in msg.data
    c = await js.closed()
    assert (c.code, c.reason) == (3506, "inappropriate protocol")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _pb_field(number: int, value: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _pb_command(cmd_id: int, request_field: int, request: bytes) -> bytes:
    """One varint-delimited Command{id, <request_field>=request} (client.proto numbers)."""
    body = _varint(1 << 3) + _varint(cmd_id) + _pb_field(request_field, request)
    return _varint(len(body)) + body


async def test_any_origin_refused_without_allowed_origins(server: Any) -> None:
    """With empty ``allowed_origins`` a request carrying Origin fails; without Origin passes."""
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as e:
            await s.ws_connect(server.ws_url, headers={"Origin": "http://localhost"})
        assert e.value.status == 403
