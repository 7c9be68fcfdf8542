"""Admin live view of a channel: ``POST <admin prefix>/admin/stream`` (beyond v4).

Request: ``Authorization: token <admin token>`` and a JSON body ``{"channel": "..."}``.
Response: ``200`` with ``application/x-ndjson``, one JSON object per line, flushed as events
happen, until the client goes away or the server shuts down:

* ``{"type":"subscribed","channel":..}`` first, or ``{"type":"error","error":{"code","message"}}``
  (then the stream ends): 107 without a channel, 102 for an unknown namespace, 111 when too
  many live views are open on this node, 100 when the broker cannot deliver the channel;
* ``{"type":"publication","channel","offset","data"|"b64data","info","tags","time"}``,
  ``{"type":"join"|"leave","channel","info","time"}`` (``info``: ``user``, ``client``,
  ``conn_info``/``chan_info`` as JSON, or ``b64conn_info``/``b64chan_info`` when not JSON;
  ``time``: milliseconds since the epoch when this node got the event);
* ``{"type":"dropped","count":n}`` when a slow reader made this node drop ``n`` events;
* ``{"type":"ping"}`` every 15 s of silence (keeps proxies from closing the stream).

The node observes the channel server-side (``core/observers.py``): no client connection, no
subscription, no channel permission is involved, and nothing changes for clients.  Missing or
bad tokens get 401 (as ``/admin/api``), browser requests from another origin 403; a body that
is not ``{"channel": string}`` gets 400.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from ..core.engine import ClientInfo, EngineError, Publication, StreamPosition
from ..core.hooks import ApiPolicy
from ..core.node import Node
from ..protocol import codes as c
from ..protocol.json_codec import is_valid_json
from .cross_site import cross_site, forbidden

log = logging.getLogger("gyre.admin")

PING_INTERVAL = 15.0
CHECK_INTERVAL = 1.0  # how often a silent stream looks for a closed client or a shutdown
QUEUE_LIMIT = 1000  # events waiting for a slow reader; more are dropped and counted
MAX_STREAMS = 32  # live views open at once on one node
MAX_BODY = 64 * 1024


class StreamRequest(msgspec.Struct):
    channel: str = ""


_decoder = msgspec.json.Decoder(StreamRequest)
_encoder = msgspec.json.Encoder()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _put_json(out: dict[str, Any], key: str, value: bytes) -> None:
    """``out[key]`` = ``value`` as embedded JSON, or ``out["b64" + key]`` when it is not JSON."""
    if not value:
        return
    if is_valid_json(value):
        out[key] = msgspec.Raw(value)
    else:
        out["b64" + key] = base64.b64encode(value).decode()


def _info(info: ClientInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"user": info.user, "client": info.client}
    _put_json(out, "conn_info", info.conn_info)
    _put_json(out, "chan_info", info.chan_info)
    return out


def _line(obj: dict[str, Any]) -> bytes:
    return _encoder.encode(obj) + b"\n"


def _error_line(error: c.ErrorCode) -> bytes:
    return _line({"type": "error", "error": {"code": error.code, "message": error.message}})


class ChannelStream:
    """A ``ChannelObserver`` that turns events into NDJSON lines for one live view.

    Callbacks run in the broadcast path: they encode one line and append it to a bounded
    queue (never block); the request handler writes the queue out.
    """

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self.lines: deque[bytes] = deque()
        self.limit = limit
        self.dropped = 0
        self.closed = False
        self.ready = asyncio.Event()

    def on_close(self) -> None:
        self.closed = True
        self.ready.set()

    def _push(self, obj: dict[str, Any]) -> None:
        if len(self.lines) >= self.limit:
            self.dropped += 1
        else:
            self.lines.append(_line(obj))
        self.ready.set()

    def on_publication(
        self, channel: str, pub: Publication, position: StreamPosition | None
    ) -> None:
        out: dict[str, Any] = {"type": "publication", "channel": channel, "time": _now_ms()}
        if pub.offset:
            out["offset"] = pub.offset
        _put_json(out, "data", pub.data)
        if pub.info is not None:
            out["info"] = _info(pub.info)
        if pub.tags:
            out["tags"] = pub.tags
        self._push(out)

    def on_join(self, channel: str, info: ClientInfo) -> None:
        self._push({"type": "join", "channel": channel, "info": _info(info), "time": _now_ms()})

    def on_leave(self, channel: str, info: ClientInfo) -> None:
        self._push({"type": "leave", "channel": channel, "info": _info(info), "time": _now_ms()})

    def take(self) -> bytes:
        """Everything queued (plus a ``dropped`` line if events were lost), as one write."""
        out = b"".join(self.lines)
        self.lines.clear()
        if self.dropped:
            out += _line({"type": "dropped", "count": self.dropped})
            self.dropped = 0
        self.ready.clear()
        return out


class AdminStreamHandler:
    """``/admin/stream``; ``authorized(request)`` is the admin token check of ``/admin/api``."""

    def __init__(
        self, node: Node, policy: ApiPolicy, *, authorized: Callable[[web.Request], bool]
    ) -> None:
        self.node = node
        self.policy = policy
        self.authorized = authorized
        self.open = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return web.Response(status=405)
        if cross_site(request):
            return forbidden()
        if not self.authorized(request):
            return web.Response(status=401)
        if self.node.shutting_down:
            return web.Response(status=503)
        if (request.content_length or 0) > MAX_BODY:
            return web.Response(status=413)
        try:
            req = _decoder.decode(await request.read())
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return web.Response(status=400, text="Bad Request")
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/x-ndjson",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
            }
        )
        await response.prepare(request)
        try:
            self.policy.api_channel(req.channel)
        except c.ReplyError as e:
            await response.write(_error_line(e.error))
            return response
        if self.open >= MAX_STREAMS:
            await response.write(_error_line(c.ERROR_TOO_MANY_REQUESTS))
            return response
        self.open += 1
        try:
            await self._run(request, response, req.channel)
        finally:
            self.open -= 1
        return response

    async def _run(self, request: web.Request, response: web.StreamResponse, channel: str) -> None:
        stream = ChannelStream()
        try:
            await self.node.observe(channel, stream)
        except Exception as e:
            if isinstance(e, EngineError):
                log.warning("admin live view of %s: broker subscribe failed: %s", channel, e)
            else:
                log.exception("admin live view of %s failed", channel)
            await response.write(_error_line(c.ERROR_INTERNAL))
            return
        log.info("admin live view of %s opened", channel)
        try:
            await response.write(_line({"type": "subscribed", "channel": channel}))
            silent = 0.0
            while not stream.closed:
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                try:
                    await asyncio.wait_for(stream.ready.wait(), CHECK_INTERVAL)
                except TimeoutError:
                    silent += CHECK_INTERVAL
                    if silent < PING_INTERVAL:
                        continue
                    await response.write(_line({"type": "ping"}))
                    silent = 0.0
                    continue
                silent = 0.0
                data = stream.take()
                if data:
                    await response.write(data)
        except (ConnectionError, RuntimeError):  # the client went away mid-write
            pass
        finally:
            self.node.unobserve(channel, stream)
            log.info("admin live view of %s closed", channel)
