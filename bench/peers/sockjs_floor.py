#!/usr/bin/env python3
"""SockJS floor peer for ``bench/transports_bench.py``: raw aiohttp writes of a pre-encoded
SockJS frame.

Serves ``/connection/sockjs/<server>/<session>/websocket`` (the SockJS websocket transport:
``o`` open frame, client messages as JSON arrays of strings, server messages in ``a[...]``
frames) with the canned connect/subscribe replies of ``raw_floor.py``, and the same
``POST /api``.  Floor definition: per publication the push is encoded once, wrapped once
into ``a["<push as a JSON string>"]`` and framed once, then written with one
``transport.write`` per subscriber (publications of one body into one channel coalesced as in
``raw_floor.py``; ``bench/transports_bench.py`` sends one per body).

    .venv/bin/python bench/peers/sockjs_floor.py --port 8001 --api-key KEY
"""

from __future__ import annotations

import argparse
import asyncio
import resource

import orjson
from aiohttp import WSMsgType, web
from raw_floor import Floor, serve, text_frame


class SockJSFloor(Floor):
    def frame(self, push: bytes) -> bytes:
        return text_frame(b"a[" + orjson.dumps(push.decode()) + b"]")

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, compress=False, max_msg_size=65536)
        await ws.prepare(request)
        transport = request.transport
        assert transport is not None
        transport.write(text_frame(b"o"))
        key = id(ws)
        joined: list[str] = []
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                for message in orjson.loads(msg.data):
                    out = self.replies(message.encode(), key, transport, joined)
                    if out:
                        transport.write(self.frame(b"\n".join(out)))
        finally:
            for channel in joined:
                subs = self.channels.get(channel)
                if subs is not None:
                    subs.pop(key, None)
        return ws


async def main(host: str, port: int, api_key: str) -> None:
    floor = SockJSFloor(api_key)
    app = web.Application()
    app.router.add_get("/connection/sockjs/{server}/{session}/websocket", floor.websocket)
    app.router.add_post("/api", floor.api)
    await serve(app, host, port)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--api-key", required=True)
    args = ap.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    import uvloop

    uvloop.install()
    asyncio.run(main(args.host, args.port, args.api_key))
