"""Helpers of ``test_redis_cluster.py``: several server processes on one Redis, a Redis that
survives SIGKILL (AOF), a round-robin loopback HTTP proxy and a raw HTTP-streaming client.

Never imports ``service.protocol.pb_codec`` or ``centrifugal.*`` (see ``server.py``).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from tests.redis_fixtures import HOST, RedisProcess, _binary, _pings, wait_until

from .server import ServerProcess, base_config

T = TypeVar("T")

# Namespaces shared by every node of a test cluster (same on all nodes, as in production).
HISTORY = {"history_size": 1000, "history_ttl": "300s"}
NAMESPACES: list[dict[str, Any]] = [
    {
        "name": "chat",
        "allow_subscribe_for_client": True,
        "allow_publish_for_client": True,
        "allow_presence_for_client": True,
        "allow_history_for_client": True,
        "presence": True,
        "join_leave": True,
        "force_push_join_leave": True,
        "force_recovery": True,
        **HISTORY,
    },
    {"name": "plain", "allow_subscribe_for_client": True},
    {"name": "srv", "presence": True, "force_recovery": True, **HISTORY},
]


def redis_node_config(name: str, **engine: Any) -> dict[str, Any]:
    """A node of a Redis-engine cluster: ``engine`` holds the ``redis_*`` options."""
    return base_config(
        name=name,
        engine="redis",
        redis_prefix="gyre-e2e",
        http_stream=True,
        namespaces=NAMESPACES,
        **engine,
    )


def start_servers(configs: Sequence[tuple[str, dict[str, Any]]], root: Path) -> list[ServerProcess]:
    """Start one server process per ``(name, config)`` in parallel; all or none."""
    servers = [ServerProcess(cfg, root / name, name=name) for name, cfg in configs]
    with ThreadPoolExecutor(len(servers)) as pool:
        futures = [pool.submit(s.start) for s in servers]
        errors = [f.exception() for f in futures]
    if any(errors):
        for s in servers:
            s.stop()
        raise next(e for e in errors if e is not None)
    return servers


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
) -> T:
    """Call ``probe`` until ``accept`` holds for its result (AssertionError after ``timeout``);
    exceptions of ``probe`` count as "not yet"."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = await probe()
            if accept(last):
                return last
        except Exception as e:
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        await asyncio.sleep(interval)


async def until(pred: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Wait (polling every 20 ms) until ``pred()`` holds; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


# -- a Redis that keeps its data across SIGKILL ---------------------------------------------------
class PersistentRedis(RedisProcess):
    """``redis-server`` with ``appendonly yes`` + ``appendfsync always``: every write is in the
    AOF before Redis replies to it, so an acknowledged publish (its stream entry and the meta
    hash with offset and epoch) survives SIGKILL and a restart on the same port and dir."""

    def start(self, timeout: float = 10.0) -> RedisProcess:
        argv = [_binary("redis-server"), *self.args]
        argv += ["--port", str(self.port), "--bind", HOST, "--dir", str(self.workdir)]
        argv += ["--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        argv += ["--daemonize", "no"]
        self.proc = subprocess.Popen(
            argv, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(lambda: self._alive_or_raise() and _pings(self.port), timeout, f"{argv}")
        return self


# -- round-robin loopback proxy -------------------------------------------------------------------
class RoundRobinProxy:
    """An aiohttp server on 127.0.0.1:0 forwarding request *i* to ``targets[i % len]``
    (method, path, query, body, Content-Type); records which target served each request."""

    def __init__(self, targets: Sequence[str]) -> None:
        self.targets = list(targets)
        self.served: list[tuple[str, str, int]] = []  # (target, path, status)
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> RoundRobinProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        target = self.targets[self._next % len(self.targets)]
        self._next += 1
        headers = {}
        if "Content-Type" in request.headers:
            headers["Content-Type"] = request.headers["Content-Type"]
        body = await request.read()
        async with self._session.request(
            request.method, target + request.path_qs, data=body, headers=headers
        ) as r:
            out = await r.read()
            self.served.append((target, request.path, r.status))
            return web.Response(status=r.status, body=out)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()


# -- raw HTTP-streaming client (JSON) -------------------------------------------------------------
class HttpStreamClient:
    """``POST /connection/http_stream`` with a JSON connect command; replies are read from the
    ``\\n``-terminated stream in the background (server pings answered through ``emulation``)."""

    def __init__(self, session: aiohttp.ClientSession, resp: aiohttp.ClientResponse) -> None:
        self.session = session
        self.resp = resp
        self.replies: list[dict[str, Any]] = []
        self.emulation_url = ""
        self.node = ""
        self.session_id = ""
        self.next_id = 1
        self._changed = asyncio.Event()
        self._pongs: set[asyncio.Future[int]] = set()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, url: str, token: str) -> HttpStreamClient:
        session = aiohttp.ClientSession()
        body = json.dumps({"id": 1, "connect": {"token": token}})
        try:
            resp = await session.post(url, data=body, headers={"Content-Type": "application/json"})
        except BaseException:
            await session.close()
            raise
        return cls(session, resp)

    async def _read(self) -> None:
        while True:
            line = await self.resp.content.readline()
            if not line:
                return
            line = line.strip()
            if not line:
                continue
            reply = json.loads(line)
            if not reply and self.emulation_url:  # ping -> pong through /emulation
                pong = asyncio.ensure_future(self.emulate("{}"))
                self._pongs.add(pong)
                pong.add_done_callback(self._pongs.discard)
                continue
            self.replies.append(reply)
            self._changed.set()

    async def wait(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> Any:
        async def run() -> Any:
            while True:
                for r in self.replies:
                    if pred(r):
                        return r
                if self._reader.done():
                    raise AssertionError(f"stream ended; replies: {self.replies!r}")
                self._changed.clear()
                waiter = asyncio.ensure_future(self._changed.wait())
                await asyncio.wait({waiter, self._reader}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()

        try:
            return await asyncio.wait_for(run(), timeout)
        except TimeoutError:
            raise AssertionError(f"no matching reply in {timeout}s: {self.replies!r}") from None

    async def emulate(self, data: str) -> int:
        """POST one EmulationRequest (``data`` = command JSON text) to ``emulation_url``."""
        body = json.dumps({"session": self.session_id, "node": self.node, "data": data})
        async with self.session.post(
            self.emulation_url, data=body, headers={"Content-Type": "application/json"}
        ) as r:
            return r.status

    async def command(self, **cmd: Any) -> tuple[int, int]:
        """Send one command through ``/emulation``; returns (command id, HTTP status)."""
        self.next_id += 1
        status = await self.emulate(json.dumps({"id": self.next_id, **cmd}))
        return self.next_id, status

    async def close(self) -> None:
        self._reader.cancel()
        self.resp.close()
        await self.session.close()
