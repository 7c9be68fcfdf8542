"""uni_sse Last-Event-ID resume (beyond v4) and slow readers dropped with 3008."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from service.core.client import ClientSession
from service.protocol.codes import DisconnectCode
from service.transports import uni_sse
from service.transports.uni_sse import decode_event_id, encode_event_id

from .harness import TIMEOUT, RawResponse, raw_request, running, token, wait_for
from .test_http_stream import emulate, open_json_stream


def test_event_id_round_trip() -> None:
    pos = {"news:a": (12, "ep1"), "b": (0, "")}
    eid = encode_event_id(pos)
    assert b"=" not in eid and b"\n" not in eid
    assert decode_event_id(eid.decode()) == pos
    assert json.loads(__import__("base64").urlsafe_b64decode(eid + b"==")) == {
        "b": [0, ""],
        "news:a": [12, "ep1"],
    }
    for bad in ("", "!!!", "e30", "WzFd", "eyJhIjpbMV19"):  # "", junk, {}, [1], {"a":[1]}
        assert decode_event_id(bad) == {}


def test_push_parse_cache_is_bounded() -> None:
    """Pushes are parsed once per bytes object for the event ids; the memo stays bounded
    however many distinct pushes (channels, publications) go by."""
    for i in range(3 * uni_sse._CACHE_SIZE):
        msg = b'{"channel":"c%d","pub":{"data":{},"offset":%d}}' % (i % 97, i + 1)
        parsed = uni_sse._parse_channel_push(msg)
        assert parsed is not None and parsed.pub is not None and parsed.pub.offset == i + 1
        assert len(uni_sse._cache) <= uni_sse._CACHE_SIZE


async def read_event(r: RawResponse) -> dict[str, Any]:
    """Next non-ping event: {"id": <id or None>, "data": <json>}."""
    while True:
        ev = await r.sse_event()
        data = json.loads(ev["data"])
        if data != {}:
            return {"id": ev.get("id"), "data": data}


async def test_uni_sse_last_event_id_resume(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        tok = token("reader", channels=["news:feed"])
        q = urlencode({"cf_connect": json.dumps({"token": tok})})
        r = await raw_request(h.port, "GET", "/connection/uni_sse?" + q)
        await r.chunk()
        first = await read_event(r)
        sub = first["data"]["connect"]["subs"]["news:feed"]
        assert sub["recoverable"] is True
        assert decode_event_id(first["id"]) == {"news:feed": (0, sub["epoch"])}
        await h.publish("news:feed", {"n": 1})
        await h.publish("news:feed", {"n": 2})
        ev1, ev2 = await read_event(r), await read_event(r)
        assert ev2["data"]["pub"]["offset"] == 2
        assert decode_event_id(ev1["id"]) == {"news:feed": (1, sub["epoch"])}
        last_id = ev2["id"]
        r.close()
        await wait_for(lambda: not h.server.node.hub.conns)

        for n in (3, 4, 5):
            await h.publish("news:feed", {"n": n})

        # the browser's native reconnect: same URL, Last-Event-ID header
        r = await raw_request(
            h.port, "GET", "/connection/uni_sse?" + q, headers={"Last-Event-ID": last_id}
        )
        await r.chunk()
        ev = await read_event(r)
        res = ev["data"]["connect"]["subs"]["news:feed"]
        assert res["recovered"] is True and res["was_recovering"] is True
        assert [p["data"]["n"] for p in res["publications"]] == [3, 4, 5]
        assert [p["offset"] for p in res["publications"]] == [3, 4, 5]
        assert decode_event_id(ev["id"]) == {"news:feed": (5, sub["epoch"])}
        await h.publish("news:feed", {"n": 6})
        live = await read_event(r)
        assert live["data"]["pub"]["offset"] == 6
        last_id = live["id"]
        r.close()
        await wait_for(lambda: not h.server.node.hub.conns)

        # first connect of a polyfill: ?last_event_id= ; nothing missed -> recovered, empty
        r = await raw_request(
            h.port, "GET", "/connection/uni_sse?" + q + "&last_event_id=" + quote(last_id)
        )
        await r.chunk()
        ev = await read_event(r)
        res = ev["data"]["connect"]["subs"]["news:feed"]
        assert res["recovered"] is True and "publications" not in res
        # same position as before: the id is not repeated
        assert ev["id"] is None
        r.close()


async def test_uni_sse_resume_of_api_subscription(tmp_path: Path) -> None:
    """A channel subscribed through the server API comes back via Last-Event-ID (client
    subscribe allowed by the namespace) with its missed publications."""
    async with running(tmp_path) as h:
        q = urlencode({"cf_connect": json.dumps({"token": token("api-reader")})})
        r = await raw_request(h.port, "GET", "/connection/uni_sse?" + q)
        await r.chunk()
        connect = (await read_event(r))["data"]["connect"]
        await h.api("subscribe", user="api-reader", channel="news:api", session=connect["session"])
        sub_ev = await read_event(r)
        assert "subscribe" in sub_ev["data"] and sub_ev["id"]
        await h.publish("news:api", {"k": 1})
        last = (await read_event(r))["id"]
        await h.api("unsubscribe", user="api-reader", channel="news:api")
        gone = await read_event(r)
        assert "unsubscribe" in gone["data"] and gone["id"] == ""  # id reset
        await h.api("subscribe", user="api-reader", channel="news:api", session=connect["session"])
        await read_event(r)
        r.close()
        await wait_for(lambda: not h.server.node.hub.conns)
        await h.publish("news:api", {"k": 2})
        r = await raw_request(
            h.port, "GET", "/connection/uni_sse?" + q, headers={"Last-Event-ID": last}
        )
        await r.chunk()
        res = (await read_event(r))["data"]["connect"]["subs"]["news:api"]
        assert res["recovered"] is True
        assert [p["data"] for p in res["publications"]] == [{"k": 2}]
        r.close()
        # junk ids are ignored
        r = await raw_request(
            h.port, "GET", "/connection/uni_sse?" + q, headers={"Last-Event-ID": "%%%"}
        )
        await r.chunk()
        assert "subs" not in (await read_event(r))["data"]["connect"]
        r.close()


SLOW_CASES = {
    "http_stream": ("POST", "/connection/http_stream", True),
    "sse": ("GET", "/connection/sse", True),
    "uni_http_stream": ("POST", "/connection/uni_http_stream", False),
    "uni_sse": ("GET", "/connection/uni_sse", False),
}


@pytest.mark.parametrize("case", list(SLOW_CASES))
async def test_slow_reader_dropped_with_3008(tmp_path: Path, case: str) -> None:
    method, path, bidi = SLOW_CASES[case]
    async with running(tmp_path, client_queue_max_size=65536) as h:
        node = h.server.node
        codes: dict[str, int] = {}
        orig = node.on_client_closed

        def spy(client: ClientSession, d: DisconnectCode, was_connected: bool) -> None:
            codes[client.user] = d.code
            orig(client, d, was_connected)

        node.on_client_closed = spy  # type: ignore[method-assign]

        fast, res = await open_json_stream(h, "fast")
        sub = {"id": 2, "subscribe": {"channel": "plain:big"}}
        assert await emulate(h, res["session"], res["node"], sub) == 204
        await fast.json_line()

        # the slow client gets the channel from its token (server-side subscription)
        tok = token("slow", channels=["plain:big"])
        req = {"id": 1, "connect": {"token": tok}} if bidi else {"token": tok}
        text = json.dumps(req)
        if method == "GET":
            slow = await raw_request(
                h.port, "GET", f"{path}?{urlencode({'cf_connect': text})}", rcvbuf=4096
            )
        else:
            slow = await raw_request(h.port, "POST", path, body=text.encode(), rcvbuf=4096)
        assert slow.status == 200
        await wait_for(lambda: any(c.user == "slow" for c in node.hub.conns.values()))
        slow.writer.transport.pause_reading()  # type: ignore[attr-defined]

        received = 0
        sent = 0

        async def read_fast() -> None:
            nonlocal received
            while True:
                line = await fast.json_line()
                if "pub" in line.get("push", {}):
                    received += 1

        reader = asyncio.create_task(read_fast())
        try:
            blob = "x" * 32768
            while "slow" not in codes and sent < 600:
                await h.publish("plain:big", {"blob": blob, "i": sent})
                sent += 1
            assert codes.get("slow") == 3008, codes
            assert "fast" not in codes
            for i in range(5):  # the fast one goes on receiving
                await h.publish("plain:big", {"after": i})
                sent += 1
            await wait_for(lambda: received == sent, timeout=TIMEOUT * 2)
            assert "fast" not in codes
        finally:
            reader.cancel()
            slow.close()
            fast.close()
