"""SockJS endpoint ``/connection/sockjs`` (option ``sockjs``; docs/transports.md, "SockJS").

Serves every transport sockjs-client 1.6 negotiates: websocket, xhr_streaming, xhr (polling),
eventsource, htmlfile and jsonp, plus ``/info`` and the ``iframe.html`` page of the iframe-*
variants (which then use the same endpoints from inside the iframe; the page loads the
client from ``sockjs_url``).  JSON only.  Each SockJS message from the client carries
newline-delimited commands; every flush of replies is one SockJS message joined with
``\\n``.  A disconnect is the close frame ``c[code,"reason"]``.  A broken SockJS frame
(not a JSON array of strings) disconnects with 3501; xhr_send also answers 500 as the
SockJS protocol requires.

The same rules as WebSocket apply: ``allowed_origins`` (403 on the websocket upgrade, no
CORS headers on the HTTP transports), connection limits (503), ``websocket_message_size_limit``
for incoming messages, ``client_queue_max_size`` (3008) and the ``cf_protocol_version`` /
``use_client_protocol_v1_by_default`` switches.  SockJS heartbeat frames (every
``sockjs_heartbeat_delay``) go to protocol v1 sessions only; v2 clients get app-level pings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import partial
from urllib.parse import parse_qs

from aiohttp import WSMsgType, web

from ..core.client import ClientSession
from ..core.node import Node
from ..protocol import ProtocolError, sockjs
from ..protocol.codes import DISCONNECT_BAD_REQUEST
from .cors import CORS_KEY
from .http_stream import StreamConnection, client_headers, read_body
from .limits import ConnectionLimiter
from .origin import OriginChecker
from .sockjs_session import (
    STILL_OPEN,
    Session,
    SockJSTransport,
    StreamReceiver,
    WebSocketReceiver,
)
from .v1 import V1, ProtocolVersions, V1Transport, handle_v1_data

log = logging.getLogger("gyre.sockjs")

# the key of the heartbeat timer in a session's timer group (never a channel name or a core key)
_HEARTBEAT = ("sockjs", "heartbeat")

NO_CACHE = "no-store, no-cache, no-transform, must-revalidate, max-age=0"
YEAR = 31536000
Route = tuple[str, str, Callable[..., object]]


@dataclass(slots=True, kw_only=True)
class SockJSOptions:
    """``sockjs_handler_prefix``, ``sockjs_url``, ``sockjs_heartbeat_delay`` and the
    WebSocket limits that SockJS shares."""

    prefix: str = "/connection/sockjs"
    url: str = "https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js"
    heartbeat_delay: float = 25.0
    message_size_limit: int = 65536
    write_timeout: float = 1.0
    versions: ProtocolVersions = field(default_factory=ProtocolVersions)


# receiving HTTP transports: content type, and whether one frame ends the response (polling)
_STREAMS: dict[str, tuple[str, bool]] = {
    "xhr_streaming": ("application/javascript; charset=UTF-8", False),
    "xhr": ("application/javascript; charset=UTF-8", True),
    "eventsource": ("text/event-stream; charset=UTF-8", False),
    "htmlfile": ("text/html; charset=UTF-8", False),
    "jsonp": ("application/javascript; charset=UTF-8", True),
}


def _newline(frame: bytes) -> bytes:
    return frame + b"\n"


class SockJSHandler:
    """All SockJS routes under one prefix; HTTP sessions are kept here by id."""

    def __init__(
        self,
        node: Node,
        *,
        origins: OriginChecker,
        limiter: ConnectionLimiter,
        options: SockJSOptions,
    ) -> None:
        self.node = node
        self.origins = origins
        self.limiter = limiter
        self.options = options
        self.sessions: dict[str, Session] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._iframe, self._etag = sockjs.iframe_page(options.url)

    async def close(self) -> None:
        """After the node's shutdown closed every client: forget the sessions kept for the
        close frame (their expiry timers died with the node's wheel)."""
        self.sessions.clear()
        self._locks.clear()

    def routes(self) -> list[Route]:
        p = self.options.prefix.rstrip("/")
        return [
            ("*", p or "/", self.greeting),
            ("*", p + "/", self.greeting),
            ("*", p + "/info", self.info),
            ("GET", p + r"/iframe{version:[^/]*}.html", self.iframe),
            ("*", p + "/{server:[^/.]+}/{session:[^/.]+}/{transport}", self.dispatch),
        ]

    # --- helpers --------------------------------------------------------------------------

    def _cors(self, request: web.Request) -> dict[str, str]:
        origin = request.headers.get("Origin")
        headers: dict[str, str] = {}
        if origin and origin != "null":
            if not self.origins.allowed(origin):
                return headers
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Allow-Credentials"] = "true"
        else:
            headers["Access-Control-Allow-Origin"] = "*"
        asked = request.headers.get("Access-Control-Request-Headers")
        if asked:
            headers["Access-Control-Allow-Headers"] = asked
        return headers

    def _preflight(self, request: web.Request, methods: str) -> web.Response:
        headers = self._cors(request)
        headers.update(
            {
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Max-Age": str(YEAR),
                "Cache-Control": f"public, max-age={YEAR}",
                "Expires": formatdate(time.time() + YEAR, usegmt=True),
            }
        )
        return web.Response(status=204, headers=headers)

    def _plain(self, request: web.Request, status: int, text: str = "") -> web.Response:
        headers = self._cors(request)
        headers["Cache-Control"] = NO_CACHE
        return web.Response(
            status=status, text=text, content_type="text/plain", charset="UTF-8", headers=headers
        )

    def _version(self, request: web.Request) -> str | None:
        return self.options.versions.select(request.query.get("cf_protocol_version", ""))

    def _handle(self, client: ClientSession, v1: bool) -> Callable[[bytes], Awaitable[bool]]:
        return partial(handle_v1_data, client) if v1 else client.handle_data

    def _heartbeats(self, transport: SockJSTransport, client: ClientSession) -> None:
        """``h`` frames every ``heartbeat_delay`` (protocol v1 sessions), on the session's own
        timers: its close cancels them (docs/lifecycle.md)."""
        delay = self.options.heartbeat_delay
        if delay <= 0:
            return

        def tick() -> None:
            transport.heartbeat()
            client.timers.set(_HEARTBEAT, delay, tick)

        client.timers.set(_HEARTBEAT, delay, tick)

    # --- static routes --------------------------------------------------------------------

    async def greeting(self, request: web.Request) -> web.Response:
        return web.Response(text="Welcome to SockJS!\n", content_type="text/plain")

    async def info(self, request: web.Request) -> web.Response:
        if request.method == "OPTIONS":
            return self._preflight(request, "OPTIONS, GET")
        if request.method != "GET":
            return self._plain(request, 405)
        headers = self._cors(request)
        headers["Cache-Control"] = NO_CACHE
        body = {
            "websocket": True,
            "cookie_needed": False,
            "origins": ["*:*"],
            "entropy": int.from_bytes(os.urandom(4), "big"),
        }
        return web.json_response(body, headers=headers)

    async def iframe(self, request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == self._etag:
            return web.Response(status=304)
        return web.Response(
            body=self._iframe,
            content_type="text/html",
            charset="UTF-8",
            headers={
                "ETag": self._etag,
                "Cache-Control": f"public, max-age={YEAR}",
                "Expires": formatdate(time.time() + YEAR, usegmt=True),
            },
        )

    # --- session transports ---------------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["transport"]
        if kind == "websocket":
            return await self.websocket(request)
        if kind in ("xhr_send", "jsonp_send"):
            return await self.send(request, kind)
        if kind in _STREAMS:
            return await self.receive(request, kind)
        return web.Response(status=404, text="404 Error: Page not found")

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if request.method != "GET":
            return web.Response(status=405, headers={"Allow": "GET"})
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=400, text='Can "Upgrade" only to "WebSocket".')
        if not self.origins.allowed(request.headers.get("Origin")):
            return web.Response(status=403, text="Forbidden")
        version = self._version(request)
        if version is None:
            return web.Response(status=400, text="unsupported protocol version")
        if self.node.shutting_down or not self.limiter.allow():
            return web.Response(status=503)
        ws = web.WebSocketResponse(
            max_msg_size=self.options.message_size_limit, autoping=True, compress=False, timeout=5.0
        )
        await ws.prepare(request)
        receiver = WebSocketReceiver(ws, request)
        transport = SockJSTransport(lambda: None, write_timeout=self.options.write_timeout)
        v1 = version == V1
        client = ClientSession(
            self.node, V1Transport(transport) if v1 else transport, headers=client_headers(request)
        )
        receiver.send(sockjs.OPEN)
        transport.attach(receiver)
        if v1:
            self._heartbeats(transport, client)
        handle = self._handle(client, v1)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                if not msg.data:
                    continue
                try:
                    messages = sockjs.decode_messages(msg.data.encode(), allow_single=True)
                except ProtocolError as e:
                    log.info("client %s: %s", client.id, e)
                    client.disconnect(DISCONNECT_BAD_REQUEST)
                    break
                if not await _feed(handle, messages):
                    break
        except Exception:
            log.exception("sockjs websocket handler failed")
        finally:
            client.on_transport_closed()
        if receiver.close_task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(receiver.close_task), timeout=6.0)
            except (TimeoutError, asyncio.CancelledError, ConnectionError):
                pass
        return ws

    def _new_session(self, request: web.Request, session_id: str, v1: bool) -> Session:
        # no write timeout: between two receiving requests the backlog makes no progress by
        # design (the session is gone after DISCONNECT_DELAY; a growing backlog is 3008)
        session = Session(
            self.node,
            session_id,
            headers=client_headers(request),
            on_gone=self._gone,
            wrap=V1Transport if v1 else None,
        )
        self.sessions[session_id] = session
        if v1:
            self._heartbeats(session.transport, session.client)
        return session

    def _gone(self, session: Session) -> None:
        if self.sessions.get(session.id) is session:
            del self.sessions[session.id]
            self._locks.pop(session.id, None)

    async def receive(self, request: web.Request, kind: str) -> web.StreamResponse:
        content_type, poll = _STREAMS[kind]
        if kind in ("xhr", "xhr_streaming"):
            if request.method == "OPTIONS":
                return self._preflight(request, "OPTIONS, POST")
            if request.method != "POST":
                return self._plain(request, 405)
        elif request.method != "GET":
            return self._plain(request, 405)
        wrap: Callable[[bytes], bytes] = _newline
        callback = ""
        if kind in ("htmlfile", "jsonp"):
            callback = request.query.get("c", "")
            if not callback or not sockjs.CALLBACK_RE.match(callback):
                return self._plain(request, 500, '"callback" parameter required')
            wrap = (
                sockjs.htmlfile_frame
                if kind == "htmlfile"
                else partial(sockjs.jsonp_frame, callback)
            )
        elif kind == "eventsource":
            wrap = sockjs.eventsource_frame
        sid = request.match_info["session"]
        session = self.sessions.get(sid)
        fresh = session is None
        if session is None:
            version = self._version(request)
            if version is None:
                return self._plain(request, 400, "unsupported protocol version")
            if self.node.shutting_down or not self.limiter.allow():
                return self._plain(request, 503)
            session = self._new_session(request, sid, version == V1)
        request[CORS_KEY] = self._cors(request)
        conn = StreamConnection(request)
        conn.response.headers["Cache-Control"] = NO_CACHE
        await conn.open(request, content_type)
        if kind == "xhr_streaming":
            conn.write(sockjs.XHR_STREAMING_PRELUDE)
        elif kind == "eventsource":
            conn.write(b"\r\n")
        elif kind == "htmlfile":
            conn.write(sockjs.htmlfile_prelude(callback))
        receiver = StreamReceiver(conn, wrap, poll=poll)
        transport = session.transport
        # a fresh session starts with the open frame (a poll is answered with it alone)
        if fresh and not receiver.send(sockjs.OPEN):
            pass
        elif transport.attach(receiver):
            conn.on_lost = partial(transport.detach, receiver)
        else:
            receiver.send(STILL_OPEN)
            conn.close()
        try:
            await conn.wait_closed()
        finally:
            transport.detach(receiver)
            if transport.receiver is None:
                session.touch()  # no receiver now: the session expires unless one comes
            await conn.finish()
        return conn.response

    async def send(self, request: web.Request, kind: str) -> web.StreamResponse:
        if request.method == "OPTIONS" and kind == "xhr_send":
            return self._preflight(request, "OPTIONS, POST")
        if request.method != "POST":
            return self._plain(request, 405)
        session = self.sessions.get(request.match_info["session"])
        if session is None:
            return self._plain(request, 404)
        body = await read_body(request, self.options.message_size_limit)
        if body is None:
            return self._plain(request, 413)
        if kind == "jsonp_send" and request.content_type == "application/x-www-form-urlencoded":
            body = parse_qs(body.decode(errors="replace")).get("d", [""])[0].encode()
        if not body:
            return self._plain(request, 500, "Payload expected.")
        client = session.client
        try:
            messages = sockjs.decode_messages(body)
        except ProtocolError as e:
            log.info("client %s: %s", client.id, e)
            client.disconnect(DISCONNECT_BAD_REQUEST)
            return self._plain(request, 500, "Broken JSON encoding.")
        lock = self._locks.setdefault(session.id, asyncio.Lock())
        async with lock:  # xhr_send requests may overlap; commands keep their order
            await _feed(self._handle(client, isinstance(client.transport, V1Transport)), messages)
        if kind == "jsonp_send":
            return self._plain(request, 200, "ok")
        return self._plain(request, 204)


async def _feed(handle: Callable[[bytes], Awaitable[bool]], messages: list[bytes]) -> bool:
    """Hand each SockJS message (newline-delimited commands) to the session."""
    for message in messages:
        if not await handle(message):
            return False
    return True


def sockjs_routes(
    node: Node, options: SockJSOptions, limiter: ConnectionLimiter, origins: OriginChecker
) -> tuple[SockJSHandler, list[Route]]:
    """The handler (for its sessions) and its routes."""
    handler = SockJSHandler(node, origins=origins, limiter=limiter, options=options)
    return handler, handler.routes()
