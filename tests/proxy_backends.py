"""Real proxy backends for tests: an aiohttp application and a ``grpc.aio`` CentrifugoProxy
server, both on 127.0.0.1:0, each recording every call it gets.

Answers are set per path (HTTP) or per method (gRPC) with ``answer(...)``: a JSON-able dict
(HTTP) or a response message (gRPC), or a function of the call returning one; an HTTP answer
may also be ``Status(500)``, and any answer may be delayed with ``Slow(seconds, answer)``.

Only ``centrifugal.centrifugo.proxy`` stubs are imported (never the client protocol ones), so
the module also serves the end-to-end tests that run the official SDKs in the same process.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import grpc
from aiohttp import web
from centrifugal.centrifugo.proxy import proxy_pb2, proxy_pb2_grpc

TIMEOUT = 5.0


@dataclass(frozen=True)
class Status:
    """An HTTP answer with this status and a plain body."""

    code: int
    body: bytes = b"backend says no"


@dataclass(frozen=True)
class Raw:
    """An HTTP 200 answer with exactly these body bytes."""

    body: bytes


@dataclass(frozen=True)
class Slow:
    """``answer`` after ``seconds``."""

    seconds: float
    answer: Any


@dataclass
class Call:
    """One call the backend got: ``name`` is the HTTP path or the gRPC method."""

    name: str
    body: Any  # HTTP: the parsed JSON body; gRPC: the request message
    headers: dict[str, str]  # HTTP headers / gRPC metadata, keys in lower case
    peer: str = ""


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._answers: dict[str, Any] = {}
        self._changed = asyncio.Event()

    def answer(self, name: str, value: Any) -> None:
        self._answers[name] = value

    def of(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    async def wait(self, name: str, n: int = 1, timeout: float = TIMEOUT) -> list[Call]:
        """Wait until ``name`` was called ``n`` times; its calls."""

        async def loop() -> list[Call]:
            while len(self.of(name)) < n:
                self._changed.clear()
                await self._changed.wait()
            return self.of(name)

        return await asyncio.wait_for(loop(), timeout)

    async def _resolve(self, call: Call) -> Any:
        self.calls.append(call)
        self._changed.set()
        value = self._answers.get(call.name)
        if callable(value):
            value = value(call)
        while isinstance(value, Slow):
            await asyncio.sleep(value.seconds)
            value = value.answer
        return value


class HttpBackend(_Recorder):
    """The application's HTTP proxy endpoints; ``url(path)`` is what the config points to."""

    def __init__(self) -> None:
        super().__init__()
        self.port = 0
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    async def start(self) -> HttpBackend:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def peers(self) -> set[str]:
        """Distinct client sockets (``ip:port``) calls came from: the TCP connections used."""
        return {c.peer for c in self.calls}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        peer = request.transport.get_extra_info("peername") if request.transport else None
        call = Call(
            name=request.match_info["path"],
            body=body,
            headers={k.lower(): v for k, v in request.headers.items()},
            peer=f"{peer[0]}:{peer[1]}" if peer else "",
        )
        value = await self._resolve(call)
        if value is None:
            return web.Response(status=404, text="no answer configured")
        if isinstance(value, Status):
            return web.Response(status=value.code, body=value.body)
        if isinstance(value, Raw):
            return web.Response(body=value.body, content_type="application/json")
        return web.json_response(value)


class GrpcBackend(_Recorder, proxy_pb2_grpc.CentrifugoProxyServicer):
    """A ``CentrifugoProxy`` server; ``endpoint`` is what the config points to."""

    def __init__(self) -> None:
        _Recorder.__init__(self)
        self.port = 0
        self._server: grpc.aio.Server | None = None

    @property
    def endpoint(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    async def start(self, *, tls: tuple[bytes, bytes] | None = None) -> GrpcBackend:
        """Serve plaintext, or TLS with ``(cert_pem, key_pem)``."""
        self._server = grpc.aio.server()
        proxy_pb2_grpc.add_CentrifugoProxyServicer_to_server(self, self._server)
        if tls is None:
            self.port = self._server.add_insecure_port("127.0.0.1:0")
        else:
            creds = grpc.ssl_server_credentials([(tls[1], tls[0])])
            self.port = self._server.add_secure_port("127.0.0.1:0", creds)
        await self._server.start()
        return self

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(0)
            self._server = None

    async def _serve(self, method: str, request: Any, context: Any, empty: Any) -> Any:
        md = {k.lower(): v for k, v in (context.invocation_metadata() or ())}
        value = await self._resolve(Call(method, request, md, context.peer()))
        if isinstance(value, grpc.StatusCode):
            await context.abort(value, "backend says no")
        return empty if value is None else value

    async def Connect(self, request: Any, context: Any) -> Any:
        return await self._serve("Connect", request, context, proxy_pb2.ConnectResponse())

    async def Refresh(self, request: Any, context: Any) -> Any:
        return await self._serve("Refresh", request, context, proxy_pb2.RefreshResponse())

    async def Subscribe(self, request: Any, context: Any) -> Any:
        return await self._serve("Subscribe", request, context, proxy_pb2.SubscribeResponse())

    async def Publish(self, request: Any, context: Any) -> Any:
        return await self._serve("Publish", request, context, proxy_pb2.PublishResponse())

    async def RPC(self, request: Any, context: Any) -> Any:
        return await self._serve("RPC", request, context, proxy_pb2.RPCResponse())

    async def SubRefresh(self, request: Any, context: Any) -> Any:
        return await self._serve("SubRefresh", request, context, proxy_pb2.SubRefreshResponse())


def closed_port_url(path: str = "connect") -> str:
    """An HTTP URL on a loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path}"


class BackendThread:
    """An HTTP and a gRPC backend served by their own event loop in a thread, for tests whose
    fixtures outlive one test's loop (module-scoped servers).  ``answer`` and the recorded
    ``calls`` are plain objects shared with the thread; wait with :meth:`wait`."""

    def __init__(self) -> None:
        import threading

        self.http = HttpBackend()
        self.grpc = GrpcBackend()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._run(self.http.start())
        self._run(self.grpc.start())

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(TIMEOUT)

    def reset(self) -> None:
        """Forget every call and answer (between tests)."""
        for b in (self.http, self.grpc):
            b.calls.clear()
            b._answers.clear()

    def stop(self) -> None:
        self._run(self.http.stop())
        self._run(self.grpc.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)


async def wait_calls(
    backend: _Recorder, name: str, n: int = 1, timeout: float = TIMEOUT
) -> list[Call]:
    """From another thread's loop: wait until ``backend`` got ``n`` calls of ``name``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(backend.of(name)) < n:
        if loop.time() > deadline:
            raise AssertionError(f"{n} call(s) of {name} expected, got {backend.of(name)!r}")
        await asyncio.sleep(0.01)
    return backend.of(name)
