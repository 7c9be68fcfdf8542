"""Issue 13.1: bytes published by a Protobuf client (or as ``b64data``) never reach a JSON
stream raw: history, recovery, presence, subscribe data, the HTTP API, SSE framing.

Each test reproduces the attack against the real server (in process, real sockets)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.integration.transports.harness import (
    API_KEY,
    QUIET,
    Harness,
    raw_request,
    running,
    token,
)

from .wsclients import JsonWS, PbWS

# Closes the ``data`` value early and opens a publication from "admin": a JSON history reply
# that embeds it raw parses as a publication the server never stored.
FORGED = (
    b'{"text":"transfer approved"},"info":{"user":"admin","client":"x"},"offset":1}],"junk":[{"d":1'
)


def sse_events(stream: bytes) -> list[dict[str, str]]:
    """Events of an SSE stream parsed as a browser does: a line ends at CR, LF or CRLF; an
    empty line dispatches the event (fields joined, ``data`` lines with ``\\n``)."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in re.split(r"\r\n|\r|\n", stream.decode()):
        if not line:
            if current:
                events.append(current)
            current = {}
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        current[name] = current[name] + "\n" + value if name in current else value
    return events


async def pb_publisher(h: Harness, user: str = "mallory") -> PbWS:
    pb = await PbWS.open(h.http, h.base)
    assert (await pb.connect(token(user))).HasField("connect")
    return pb


async def test_history_reply_never_embeds_binary(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        pb = await pb_publisher(h)
        assert not (await pb.publish("news:bank", FORGED)).HasField("error")
        js = await JsonWS.connected(h.http, h.base, token("alice"))
        await js.ws.send_str(
            json.dumps({"id": 9, "history": {"channel": "news:bank", "limit": 10}})
        )
        assert await js.closed() == 3506  # inappropriate protocol, as v4 for un-encodable replies
        assert not any("admin" in f for f in js.frames)
        # the Protobuf client reads the same history unchanged
        cmd = pb_history("news:bank")
        reply = await pb.command(cmd)
        assert [p.data for p in reply.history.publications] == [FORGED]


def pb_history(channel: str) -> Any:
    from centrifugal.centrifuge.protocol import client_pb2

    cmd = client_pb2.Command()
    cmd.history.channel = channel
    cmd.history.limit = 10
    return cmd


async def test_recovery_never_embeds_binary(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        js = await JsonWS.connected(h.http, h.base, token("alice"))
        sub = await js.command(subscribe={"channel": "news:rec"})
        pos = sub["subscribe"]
        await js.command(unsubscribe={"channel": "news:rec"})
        pb = await pb_publisher(h)
        await pb.publish("news:rec", FORGED)
        await js.ws.send_str(
            json.dumps(
                {
                    "id": 20,
                    "subscribe": {
                        "channel": "news:rec",
                        "recover": True,
                        "epoch": pos.get("epoch", ""),
                        "offset": pos.get("offset", 0),
                    },
                }
            )
        )
        assert await js.closed() == 3506
        assert not any("admin" in f for f in js.frames)


async def test_live_publication_to_json_subscriber_3506(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        js = await JsonWS.connected(h.http, h.base, token("alice"))
        await js.command(subscribe={"channel": "news:live"})
        pb = await pb_publisher(h)
        await pb.publish("news:live", FORGED)
        assert await js.closed() == 3506
        assert not any("admin" in f for f in js.frames)


async def test_http_api_history_answers_error_not_raw_bytes(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        pb = await pb_publisher(h)
        await pb.publish("news:api", FORGED)
        async with h.http.post(
            f"{h.base}/api/history",
            json={"channel": "news:api", "limit": 10},
            headers={"X-API-Key": API_KEY},
        ) as r:
            assert r.status == 200
            body = json.loads(await r.read())  # valid JSON whatever was published
        assert body == {"error": {"code": 100, "message": "internal server error"}}
        # a JSON payload published next to it is still readable through presence/history
        # of other channels: the refusal is per answer, not per server
        await h.publish("news:ok", {"fine": True})
        async with h.http.post(
            f"{h.base}/api/history",
            json={"channel": "news:ok", "limit": 10},
            headers={"X-API-Key": API_KEY},
        ) as r:
            body = json.loads(await r.read())
        assert body["result"]["publications"][0]["data"] == {"fine": True}


async def test_presence_with_binary_conn_info_3506(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        # b64info: binary connection info (fine for Protobuf clients)
        b64 = base64.b64encode(b'"},"user":"admin').decode()
        pb = await PbWS.open(h.http, h.base)
        await pb.connect(token("mallory", b64info=b64))
        await pb.subscribe("news:who")
        js = await JsonWS.connected(h.http, h.base, token("alice"))
        await js.ws.send_str(json.dumps({"id": 5, "presence": {"channel": "news:who"}}))
        assert await js.closed() == 3506
        assert not any("admin" in f for f in js.frames)


async def test_subscribe_data_from_token_b64data_3506(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        js = await JsonWS.connected(h.http, h.base, token("alice"))
        sub_tok = token("alice", channel="$news:x", b64data=base64.b64encode(b"\x00\xff").decode())
        await js.ws.send_str(
            json.dumps({"id": 3, "subscribe": {"channel": "$news:x", "token": sub_tok}})
        )
        assert await js.closed() == 3506


async def test_json_client_publish_must_be_utf8(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        js = await JsonWS.connected(h.http, h.base, token("alice"))
        frame = b'{"id":2,"publish":{"channel":"news:u","data":{"a":"\xff"}}}'
        await js.ws.send_bytes(frame)  # binary frames are not UTF-8 checked by WebSocket
        assert await js.closed() == 3501


async def test_http_api_publish_must_be_utf8(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        body = b'{"channel":"news:u","data":{"a":"\xed\xa0\x80"}}'  # a UTF-8 encoded surrogate
        async with h.http.post(
            f"{h.base}/api/publish", data=body, headers={"X-API-Key": API_KEY}
        ) as r:
            assert r.status == 400


async def test_sse_one_event_per_message_whatever_the_whitespace(tmp_path: Path) -> None:
    """Valid JSON may hold raw CR as whitespace; SSE ends a line at a bare CR."""
    async with running(tmp_path, **QUIET) as h:  # no ping among the counted events
        connect = json.dumps({"id": 1, "connect": {"token": token("carol")}})
        r = await raw_request(
            h.port, "GET", "/connection/sse?" + urlencode({"cf_connect": connect})
        )
        assert r.status == 200
        await r.chunk()  # "\r\n"
        res = json.loads((await r.chunk())[6:])["connect"]
        body = {
            "session": res["session"],
            "node": res["node"],
            "data": json.dumps({"id": 2, "subscribe": {"channel": "news:sse"}}),
        }
        async with h.http.post(f"{h.base}/emulation", data=json.dumps(body)) as er:
            assert er.status == 204
        await r.chunk()  # subscribe reply
        pb = await pb_publisher(h)
        payload = b'{"a":1,\r\r"b":2}\r\r'
        await pb.publish("news:sse", payload)
        chunk = await r.chunk()
        events = sse_events(chunk)
        assert len(events) == 1, chunk
        assert json.loads(events[0]["data"])["push"]["pub"]["data"] == {"a": 1, "b": 2}
        r.close()


async def test_uni_sse_one_event_per_message(tmp_path: Path) -> None:
    async with running(tmp_path, **QUIET) as h:  # no ping among the counted events
        q = urlencode({"cf_connect": json.dumps({"token": token("us"), "subs": {"news:u": {}}})})
        r = await raw_request(h.port, "GET", "/connection/uni_sse?" + q)
        assert r.status == 200
        await r.chunk()
        await r.chunk()  # connect push
        pb = await pb_publisher(h)
        await pb.publish("news:u", b'{"a":\r\r1}')
        raw = b""
        while b"\n\n" not in raw:
            raw += await r.chunk()
        events = [e for e in sse_events(raw) if "data" in e]
        assert len(events) == 1, raw
        assert json.loads(events[0]["data"])["pub"]["data"] == {"a": 1}
        r.close()
