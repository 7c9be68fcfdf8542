"""WebTransport over HTTP/3 with an aioquic client: JSON and Protobuf, close codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.protocol import messages as m
from service.protocol import pb_codec
from service.protocol.varint import frame_delimited

from .harness import running, token
from .wt_client import self_signed, wt_connect

WT = "/connection/webtransport"


def wt_config(tmp_path: Path) -> dict[str, Any]:
    cert, key = self_signed(tmp_path)
    return {
        "tls": True,
        "tls_cert": str(cert),
        "tls_key": str(key),
        "http3": True,
        "webtransport": True,
    }


async def test_json_session(tmp_path: Path) -> None:
    async with running(tmp_path, prometheus=True, **wt_config(tmp_path)) as h:
        async with wt_connect(h.port, WT, origin="https://app.example.com") as s:
            assert s.status == 200
            s.open_stream()
            connect = json.dumps({"id": 1, "connect": {"token": token("u1")}})
            sub = json.dumps({"id": 2, "subscribe": {"channel": "news:w"}})
            s.send(f"{connect}\n{sub}\n".encode())
            reply = json.loads(await s.read_line())
            assert reply["id"] == 1 and reply["connect"]["client"]
            assert reply["connect"]["ping"] > 0 and reply["connect"]["pong"] is True
            assert json.loads(await s.read_line())["id"] == 2
            await h.publish("news:w", {"n": 1})
            push = json.loads(await s.read_line())
            assert push["push"]["pub"]["data"] == {"n": 1}
            async with h.http.get(f"{h.base}/metrics") as r:
                metrics = await r.text()
            assert 'centrifugo_transport_connect_count{transport="webtransport"} 1.0' in metrics
            await h.api("disconnect", user="u1")
            assert json.loads(await s.read_line()) == {
                "push": {"disconnect": {"code": 3503, "reason": "force disconnect"}}
            }
            assert await s.close_code() == (3503, "force disconnect")


async def test_protobuf_session(tmp_path: Path) -> None:
    async with running(tmp_path, **wt_config(tmp_path)) as h:
        async with wt_connect(h.port, WT + "?cf_protocol=protobuf") as s:
            assert s.status == 200
            s.open_stream()
            cmds = [
                m.Command(id=1, connect=m.ConnectRequest(token=token("u2"))),
                m.Command(id=2, subscribe=m.SubscribeRequest(channel="news:p")),
            ]
            from centrifugal.centrifuge.protocol import client_pb2

            def pb(cmd: m.Command) -> bytes:
                msg = client_pb2.Command(id=cmd.id)
                if cmd.connect is not None:
                    msg.connect.token = cmd.connect.token
                if cmd.subscribe is not None:
                    msg.subscribe.channel = cmd.subscribe.channel
                return bytes(msg.SerializeToString())

            s.send(frame_delimited([pb(c) for c in cmds]))
            r1 = client_pb2.Reply.FromString(await s.read_varint_message())
            assert r1.id == 1 and r1.connect.client
            r2 = client_pb2.Reply.FromString(await s.read_varint_message())
            assert r2.id == 2 and r2.HasField("subscribe")
            await h.publish("news:p", {"n": 2})
            r3 = client_pb2.Reply.FromString(await s.read_varint_message())
            assert json.loads(r3.push.pub.data) == {"n": 2}
            await h.api("disconnect", user="u2")
            r4 = client_pb2.Reply.FromString(await s.read_varint_message())
            assert r4.push.disconnect.code == 3503
            assert await s.close_code() == (3503, "force disconnect")
            assert pb_codec  # the server side codec is importable alongside the stubs


@pytest.mark.parametrize("garbage", [b"not json\n", b"\n\n"])
async def test_garbage_on_stream(tmp_path: Path, garbage: bytes) -> None:
    async with running(tmp_path, **wt_config(tmp_path)) as h:
        async with wt_connect(h.port, WT) as other:
            other.open_stream()
            other.send(json.dumps({"id": 1, "connect": {"token": token("ok")}}).encode() + b"\n")
            assert json.loads(await other.read_line())["id"] == 1
            async with wt_connect(h.port, WT) as bad:
                bad.open_stream()
                bad.send(garbage)
                disconnect = json.loads(await bad.read_line())
                assert disconnect["push"]["disconnect"]["code"] == 3501
                assert await bad.close_code() == (3501, "bad request")
            presence = json.dumps({"id": 2, "presence_stats": {"channel": "news:w"}})
            other.send(presence.encode() + b"\n")
            assert json.loads(await other.read_line())["id"] == 2


async def test_protobuf_garbage_and_oversize(tmp_path: Path) -> None:
    cfg = wt_config(tmp_path)
    async with running(tmp_path, websocket_message_size_limit=1024, **cfg) as h:
        async with wt_connect(h.port, WT + "?cf_protocol=protobuf") as s:
            s.open_stream()
            s.send(b"\x05\xff\xff\xff\xff\xff")  # a message that is not a Command
            r = await s.read_varint_message()
            from centrifugal.centrifuge.protocol import client_pb2

            assert client_pb2.Reply.FromString(r).push.disconnect.code == 3501
        async with wt_connect(h.port, WT) as s:
            s.open_stream()
            s.send(b"x" * 2000)  # no newline, beyond the size limit
            assert json.loads(await s.read_line())["push"]["disconnect"]["code"] == 3501


async def test_refusals(tmp_path: Path) -> None:
    async with running(tmp_path, **wt_config(tmp_path)) as h:
        async with wt_connect(h.port, WT, origin="https://evil.org") as s:
            assert s.status == 403
        async with wt_connect(h.port, "/elsewhere") as s:
            assert s.status == 404
        async with wt_connect(h.port, WT + "?cf_protocol_version=v1") as s:
            assert s.status == 400


async def test_late_acknowledging_client_is_not_a_write_error(tmp_path: Path) -> None:
    """A client that reads but acknowledges late (here: its loop stalls for 2 s) keeps its
    session: only bytes that cannot be sent count against the write timeout (3009)."""
    import asyncio

    async with running(tmp_path, **wt_config(tmp_path)) as h:
        async with wt_connect(h.port, WT) as s:
            s.open_stream()
            connect = json.dumps({"id": 1, "connect": {"token": token("late")}})
            sub = json.dumps({"id": 2, "subscribe": {"channel": "news:late"}})
            s.send(f"{connect}\n{sub}\n".encode())
            assert json.loads(await s.read_line())["id"] == 1
            assert json.loads(await s.read_line())["id"] == 2
            held: list[tuple[Any, Any]] = []
            proto = s.proto
            receive = proto.datagram_received
            proto.datagram_received = lambda data, addr: held.append((data, addr))  # type: ignore[method-assign]
            await h.publish("news:late", {"n": 1})
            await asyncio.sleep(2.0)
            proto.datagram_received = receive  # type: ignore[method-assign]
            for data, addr in held:
                receive(data, addr)
            push = json.loads(await s.read_line())
            assert push["push"]["pub"]["data"] == {"n": 1}
            assert len(h.server.node.hub.conns) == 1


@pytest.mark.parametrize("how", ["fin", "reset-stream", "reset-session"])
async def test_client_that_ends_its_stream_is_gone(tmp_path: Path, how: str) -> None:
    """A client that ends (FIN) or resets its command stream, or resets the session, sends no
    more commands: it is gone at once (3000), as in Centrifugo v4, and leaves presence
    instead of lingering until its pong is overdue (ping interval + pong timeout)."""
    import asyncio

    async with running(tmp_path, **wt_config(tmp_path)) as h:
        channel = f"news:gone-{how}"
        async with wt_connect(h.port, WT) as s:
            s.open_stream()
            connect = json.dumps({"id": 1, "connect": {"token": token("gone")}})
            sub = json.dumps({"id": 2, "subscribe": {"channel": channel}})
            s.send(f"{connect}\n{sub}\n".encode())
            assert json.loads(await s.read_line())["id"] == 1
            assert json.loads(await s.read_line())["id"] == 2
            presence = await h.api("presence", channel=channel)
            assert len(presence["result"]["presence"]) == 1
            assert s.stream_id is not None
            quic = s.proto._quic
            if how == "fin":
                quic.send_stream_data(s.stream_id, b"", end_stream=True)
            elif how == "reset-stream":
                quic.reset_stream(s.stream_id, 0)
            else:
                quic.reset_stream(s.session_id, 0)
            s.proto.transmit()
            for _ in range(40):
                presence = await h.api("presence", channel=channel)
                if not presence["result"]["presence"]:
                    break
                await asyncio.sleep(0.05)
            assert presence["result"]["presence"] == {}
            assert len(h.server.node.hub.conns) == 0
