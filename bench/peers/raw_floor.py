#!/usr/bin/env python3
"""Raw floor peer for ``bench/fanout.py`` (docs/performance.md#method).

A bare aiohttp + uvloop server speaking just enough of the Centrifugo v4 JSON client protocol
for the load generator: ``/connection/websocket`` answers ``connect`` and ``subscribe``
commands with canned replies (the connection is held by the ordinary aiohttp
``async for msg in ws`` loop, so it doubles as the "bare aiohttp WS server" of the idle-memory
scenario), and ``POST /api`` accepts the same v4 body as gyre (one or more newline-delimited
``{"method":"publish","params":{...}}`` or ``{"method":"broadcast","params":{"channels":
[...],"data":D}}`` documents, ``Authorization: apikey KEY``).

Floor definition: for every publication the push
``{"push":{"channel":C,"pub":{"data":D}}}`` is encoded once, framed once (unmasked text frame
header + payload) and written with one ``transport.write(frame)`` per subscriber.  Consecutive
publications of one body into the same channel are **coalesced**: their pushes are joined with
``\n`` into one frame, written once per subscriber (what gyre's writer does for a burst);
``--no-coalesce`` writes every publication as its own frame instead (one write per
(publication, subscriber)).  A ``broadcast`` is one publication per channel.

``--hmac-secret``: every ``connect`` command's token is verified with gyre's own
``TokenVerifier`` (HS256), as a connect storm's floor (``bench/limits_bench.py storm``); a
token that does not verify gets error 109 instead of the canned reply.

``--ping-interval S``: the idle-CPU floor of ``bench/limits_bench.py scale``.  Every
connection gets the v4 ping (an empty ``{}`` text frame) every ``S`` seconds and answers it with
``{}`` through the same ``async for msg in ws`` loop; the connect reply announces ``ping`` S
and ``pong`` true.  The cheapest schedule: connections sit in ``S / 0.25`` slots by connect
order and one task writes the pre-built frame to the next slot every 0.25 s (no timer per
connection, no pong deadline).

    .venv/bin/python bench/peers/raw_floor.py --port 8001 --api-key KEY [--hmac-secret S]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hmac
import itertools
import os
import resource
import signal
import struct
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import orjson
from aiohttp import WSMsgType, web


def text_frame(payload: bytes) -> bytes:
    """Unmasked final text frame (server → client)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def run_now(coro: Coroutine[Any, Any, Any]) -> Any:
    """The result of a coroutine that never suspends (HS256 ``verify_connect``), without a
    loop round trip: the floor's synchronous reply path stays synchronous."""
    try:
        coro.send(None)
    except StopIteration as e:
        return e.value
    coro.close()
    raise RuntimeError("the verifier suspended")


class Floor:
    PING_STEP = 0.25

    def __init__(
        self,
        api_key: str,
        *,
        coalesce: bool = True,
        hmac_secret: str = "",
        ping_interval: float = 0.0,
    ) -> None:
        self.api_key = api_key.encode()
        self.coalesce = coalesce
        self.ping_interval = ping_interval
        nslots = max(1, round(ping_interval / self.PING_STEP))
        self.ping_slots: list[dict[int, asyncio.Transport]] = [{} for _ in range(nslots)]
        self.channels: dict[str, dict[int, asyncio.Transport]] = {}
        self._ids = itertools.count(1)
        self.verifier: Any = None
        if hmac_secret:  # gyre's own verifier, imported from this checkout
            sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
            from service.auth import TokenKeys, TokenVerifier

            self.verifier = TokenVerifier(TokenKeys(hmac_secret_key=hmac_secret))

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, compress=False, max_msg_size=65536)
        await ws.prepare(request)
        transport = request.transport
        assert transport is not None
        key = id(ws)
        joined: list[str] = []
        slot = self.ping_slots[next(self._ids) % len(self.ping_slots)]
        if self.ping_interval > 0:
            slot[key] = transport
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    data = msg.data.encode()
                elif msg.type == WSMsgType.BINARY:
                    data = msg.data
                else:
                    break
                out = self.replies(data, key, transport, joined)
                if out:
                    transport.write(text_frame(b"\n".join(out)))
        finally:
            slot.pop(key, None)
            for channel in joined:
                subs = self.channels.get(channel)
                if subs is not None:
                    subs.pop(key, None)
        return ws

    def replies(
        self, data: bytes, key: int, transport: asyncio.Transport, joined: list[str]
    ) -> list[bytes]:
        """Canned replies to newline-delimited connect/subscribe commands (subscribes
        register ``transport`` under ``key``)."""
        out: list[bytes] = []
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            cmd = orjson.loads(line)
            cid = cmd.get("id", 0)
            if "connect" in cmd:
                if self.verifier is not None:
                    try:
                        run_now(self.verifier.verify_connect(cmd["connect"].get("token", "")))
                    except Exception:
                        out.append(
                            b'{"id":%d,"error":{"code":109,"message":"token expired"}}' % cid
                        )
                        continue
                client = f"floor-{next(self._ids)}"
                out.append(
                    orjson.dumps(
                        {
                            "id": cid,
                            "connect": {
                                "client": client,
                                "version": "floor",
                                "ping": int(self.ping_interval) or 300,
                                "pong": True,
                            },
                        }
                    )
                )
            elif "subscribe" in cmd:
                channel = cmd["subscribe"]["channel"]
                self.channels.setdefault(channel, {})[key] = transport
                joined.append(channel)
                out.append(b'{"id":%d,"subscribe":{}}' % cid)
            elif cid:
                out.append(b'{"id":%d}' % cid)
        return out

    async def ping_forever(self) -> None:
        """Write ``{}`` to one slot of connections every ``PING_STEP`` seconds."""
        frame = text_frame(b"{}")
        for i in itertools.cycle(range(len(self.ping_slots))):
            await asyncio.sleep(self.PING_STEP)
            for transport in list(self.ping_slots[i].values()):
                if not transport.is_closing():
                    transport.write(frame)

    def frame(self, push: bytes) -> bytes:
        """The bytes written to every subscriber for one encoded push (or several joined
        with ``\\n``)."""
        return text_frame(push)

    def send(self, channel: str, pushes: list[bytes]) -> None:
        """Write ``pushes`` of ``channel`` to each subscriber: one frame (coalesced) or one
        frame per push."""
        subs = self.channels.get(channel)
        if not subs or not pushes:
            return
        frames = (
            [self.frame(b"\n".join(pushes))] if self.coalesce else list(map(self.frame, pushes))
        )
        for frame in frames:
            for transport in subs.values():
                transport.write(frame)

    async def api(self, request: web.Request) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").partition(" ")[2].strip().encode()
        if not hmac.compare_digest(given, self.api_key):
            return web.Response(status=401)
        body = await request.read()
        replies: list[bytes] = []
        run_channel = ""
        run: list[bytes] = []  # pushes of consecutive publications into run_channel
        for line in body.split(b"\n"):
            if not line.strip():
                continue
            cmd = orjson.loads(line)
            method = cmd.get("method")
            params = cmd.get("params", {})
            if method == "broadcast":
                self.send(run_channel, run)
                run = []
                data = orjson.dumps(params["data"])
                for channel in params["channels"]:
                    self.send(channel, [push_json(channel, data)])
                replies.append(b'{"result":{}}')
                continue
            if method != "publish":
                replies.append(b'{"error":{"code":104,"message":"method not found"}}')
                continue
            channel = params["channel"]
            if channel != run_channel:
                self.send(run_channel, run)
                run_channel, run = channel, []
            run.append(push_json(channel, orjson.dumps(params["data"])))
            replies.append(b'{"result":{}}')
        self.send(run_channel, run)
        return web.Response(body=b"\n".join(replies), content_type="application/json")


def push_json(channel: str, data: bytes) -> bytes:
    """``{"push":{"channel":C,"pub":{"data":D}}}`` (``data`` already JSON)."""
    return b'{"push":{"channel":' + orjson.dumps(channel) + b',"pub":{"data":' + data + b"}}}"


async def serve(app: web.Application, host: str, port: int, ssl_context: Any = None) -> None:
    """Run ``app`` until SIGTERM/SIGINT, then exit at once."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(
        runner, host, port, backlog=4096, reuse_address=True, ssl_context=ssl_context
    )
    await site.start()
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    os._exit(0)  # no graceful drain of thousands of sockets


async def main(args: argparse.Namespace) -> None:
    floor = Floor(
        args.api_key,
        coalesce=not args.no_coalesce,
        hmac_secret=args.hmac_secret,
        ping_interval=args.ping_interval,
    )
    app = web.Application()
    if args.ping_interval > 0:

        async def pinger(_app: web.Application) -> Any:
            task = asyncio.get_running_loop().create_task(floor.ping_forever())
            yield
            task.cancel()

        app.cleanup_ctx.append(pinger)
    app.router.add_get("/connection/websocket", floor.websocket)
    app.router.add_post("/api", floor.api)
    await serve(app, args.host, args.port)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--no-coalesce", action="store_true", help="one frame per publication")
    ap.add_argument("--hmac-secret", default="", help="verify connect tokens (HS256)")
    ap.add_argument("--ping-interval", type=float, default=0.0, help="v4 pings every S seconds")
    args = ap.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    import uvloop

    uvloop.install()
    asyncio.run(main(args))
