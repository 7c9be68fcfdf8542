"""Shared e2e helpers: tokens, SDK event recorders, the ``cent`` client, raw WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import centrifuge
import jwt
from cent import Client as CentClient

from .server import API_KEY, SECRET

TIMEOUT = 5.0


# -- tokens -------------------------------------------------------------------------------------
def token(user: str, *, ttl: float | None = 3600, secret: str = SECRET, **claims: Any) -> str:
    """Connection JWT (HS256); ``ttl=None`` means no ``exp``."""
    body: dict[str, Any] = {"sub": user}
    if ttl is not None:
        body["exp"] = int(time.time() + ttl)
    body.update(claims)
    return jwt.encode(body, secret, algorithm="HS256")


def sub_token(user: str, channel: str, *, ttl: float | None = 3600, **claims: Any) -> str:
    return token(user, ttl=ttl, channel=channel, **claims)


def uid(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


# -- payload helpers per SDK mode ---------------------------------------------------------------
def enc(data: Any, proto: bool) -> Any:
    """What the SDK wants for ``publish``: bytes in protobuf mode, a JSON value otherwise."""
    return json.dumps(data).encode() if proto else data


def dec(data: Any) -> Any:
    """Publication data as a JSON value whatever the SDK mode."""
    if isinstance(data, bytes | bytearray):
        return json.loads(data)
    return data


# -- event recorders ----------------------------------------------------------------------------
class Recorder:
    """Collects (kind, ctx) events and lets tests wait for them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.times: dict[int, float] = {}  # id(ctx) -> wall-clock time it was recorded
        self._changed = asyncio.Event()

    def add(self, kind: str, ctx: Any) -> None:
        self.events.append((kind, ctx))
        self.times[id(ctx)] = time.time()
        self._changed.set()

    def at(self, ctx: Any) -> float:
        """When ``ctx`` was recorded (wall clock, like JWT times)."""
        return self.times[id(ctx)]

    def of(self, kind: str) -> list[Any]:
        return [c for k, c in self.events if k == kind]

    async def wait(
        self,
        kind: str,
        pred: Callable[[Any], bool] = lambda _: True,
        timeout: float = TIMEOUT,
        n: int = 1,
    ) -> Any:
        """The n-th event of ``kind`` matching ``pred`` (the last of the n)."""

        async def run() -> Any:
            while True:
                found = [c for c in self.of(kind) if pred(c)]
                if len(found) >= n:
                    return found[n - 1]
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(run(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"no {n}x {kind!r} event within {timeout}s; got {self.events!r}"
            ) from None

    async def publications(self, n: int, timeout: float = TIMEOUT) -> list[Any]:
        await self.wait("publication", n=n, timeout=timeout)
        return self.of("publication")[:n]


def _recorder_class(base: type, kinds: list[str]) -> type:
    def make(kind: str) -> Callable[..., Any]:
        async def handler(self: Recorder, ctx: Any) -> None:
            self.add(kind, ctx)

        return handler

    ns = {f"on_{k}": make(k) for k in kinds}
    return type(f"{base.__name__}Recorder", (Recorder, base), ns)


ClientEvents: type = _recorder_class(
    centrifuge.ClientEventHandler,
    [
        "connecting",
        "connected",
        "disconnected",
        "error",
        "subscribed",
        "subscribing",
        "unsubscribed",
        "publication",
        "join",
        "leave",
    ],
)
SubEvents: type = _recorder_class(
    centrifuge.SubscriptionEventHandler,
    ["subscribing", "subscribed", "unsubscribed", "publication", "join", "leave", "error"],
)


def pub_data(events: Recorder, channel: str | None = None) -> list[Any]:
    """Decoded data of the recorded publications (optionally of one server-side channel)."""
    out = []
    for ctx in events.of("publication"):
        if channel is not None and getattr(ctx, "channel", None) != channel:
            continue
        out.append(dec(ctx.pub.data))
    return out


# -- server API ---------------------------------------------------------------------------------
class Api:
    """``cent`` 4.1.0 (a blocking ``requests`` client) run in a thread."""

    def __init__(self, url: str, key: str = API_KEY) -> None:
        self.cent = CentClient(url, api_key=key, timeout=5)

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.cent, method), *args, **kwargs)

    async def raw(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """One v4 command with arbitrary params; returns the whole reply object."""

        def run() -> dict[str, Any]:
            c = CentClient(self.cent.address, api_key=self.cent.api_key, timeout=5)
            c.add(method, params)
            return c.send()[0]  # type: ignore[no-any-return]

        return await asyncio.to_thread(run)


# -- raw WebSocket ------------------------------------------------------------------------------
PINGS = ("{}", b"\x00")  # server ping frames: an empty Reply in JSON and in Protobuf


async def next_frame(
    ws: aiohttp.ClientWebSocketResponse, timeout: float = TIMEOUT
) -> aiohttp.WSMessage:
    """The next frame that is not a server ping (left unanswered): the first ping comes at a
    random moment within ping_interval, so it may come before any frame a test waits for."""
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY) or (
            msg.data not in PINGS
        ):
            return msg


class RawWS:
    """A hand-driven JSON WebSocket client (aiohttp) for protocol edge cases."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        self.session = session
        self.ws = ws
        self.next_id = 0
        self.auto_pong = True  # answer every server ping with exactly one pong
        self.pings = 0

    @classmethod
    async def open(cls, url: str, **kwargs: Any) -> RawWS:
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(url, autoping=True, max_msg_size=0, **kwargs)
        except BaseException:
            await session.close()
            raise
        return cls(session, ws)

    async def send(self, obj: Any) -> None:
        await self.ws.send_str(obj if isinstance(obj, str) else json.dumps(obj))

    async def command(self, **cmd: Any) -> dict[str, Any]:
        """Send one command with a fresh id and return its reply (pings are answered)."""
        self.next_id += 1
        cid = self.next_id
        await self.send({"id": cid, **cmd})
        while True:
            for reply in await self.recv():
                if reply.get("id") == cid:
                    return reply

    async def connect(self, tok: str, **extra: Any) -> dict[str, Any]:
        reply = await self.command(connect={"token": tok, **extra})
        assert "connect" in reply, reply
        return reply["connect"]  # type: ignore[no-any-return]

    async def recv(self, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Replies of the next text frame; raises ``Closed`` when the server closed."""
        msg = await asyncio.wait_for(self.ws.receive(), timeout)
        if msg.type == aiohttp.WSMsgType.TEXT:
            replies = [json.loads(line) for line in msg.data.split("\n") if line]
            out = []
            for r in replies:
                if not r:  # ping -> pong
                    self.pings += 1
                    if self.auto_pong:
                        await self._pong()
                    continue
                out.append(r)
            return out
        if msg.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.CLOSED,
        ):
            code = msg.data if msg.type == aiohttp.WSMsgType.CLOSE else self.ws.close_code
            raise Closed(code, str(msg.extra or ""))
        raise AssertionError(f"unexpected frame {msg!r}")

    async def _pong(self) -> None:
        """Answer one ping.  A ping that came while the test was not reading may be read only
        after the server closed the connection: its pong cannot be written then, and the
        close is what the next ``recv`` reports."""
        with contextlib.suppress(ConnectionResetError):  # aiohttp: "closing transport"
            await self.send("{}")

    async def closed(self, timeout: float = TIMEOUT) -> Closed:
        """Read (answering pings) until the server closes; return code and reason."""

        async def run() -> Closed:
            while True:
                try:
                    await self.recv(timeout=timeout)
                except Closed as c:
                    return c

        return await asyncio.wait_for(run(), timeout)

    async def close(self) -> None:
        try:
            await self.ws.close()
        finally:
            await self.session.close()


class Closed(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
