"""Operations end to end, on real server processes (``python -m service -c cfg.json``).

* Prometheus: metric names, types and label sets after a scripted SDK session;
* health: ``/health`` and gRPC health follow the Redis engine (SIGSTOP/SIGCONT, SIGKILL and a
  restart on the same port) and go down at SIGTERM;
* graceful shutdown: ``shutdown_termination_delay`` (health down and new connections refused at
  once, clients disconnected with 3001 only after the delay), exit code 0 within
  ``shutdown_timeout`` (also with a client that stopped reading), and centrifuge-python clients
  that reconnect through a failover TCP proxy to a second process;
* SIGHUP: a namespace added and token keys swapped without dropping the connection; an invalid
  config refused with a log line, the old one kept;
* ``internal_port`` / ``api_external`` split; TLS (``tls``, ``tls_external``) for WebSocket,
  HTTP and the gRPC API / bidirectional stream with a self-signed certificate made here;
* logging: ``log_file``, ``log_level: none``, one line per server disconnect.

gRPC calls use grpcio's generic (raw bytes) API and ``grpc_health.v1``: this module must not
import ``centrifugal.*`` or ``service.protocol.pb_codec`` (see ``server.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import centrifuge
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from tests.redis_fixtures import RedisFactory, free_port
from tests.tls_cert import write_self_signed

from .helpers import TIMEOUT, ClientEvents, SubEvents, next_frame, token, uid
from .server import API_KEY, REPO, SECRET, ServerProcess, base_config

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

CHAT = {
    "name": "chat",
    "allow_subscribe_for_client": True,
    "allow_publish_for_client": True,
}

_SERVING_LINE = re.compile(r"serving on (\S+):(\d+)")


# -- server processes -----------------------------------------------------------------------------
class OpsServer(ServerProcess):
    """A :class:`ServerProcess` that also copes with ``log_file`` (the port line is there),
    ``log_level: none`` (no port line: the config names the port), a health endpoint on the
    internal port and TLS listeners; plus signals and exit waits."""

    def __init__(self, config: dict[str, Any], workdir: Path, name: str) -> None:
        super().__init__(config, workdir, name=name)
        self.port = int(config.get("port") or 0)
        self.internal_port = int(config.get("internal_port") or 0) or self.port
        self.ssl: ssl.SSLContext | None = None  # client context when the listeners use TLS
        self.signalled_at = 0.0

    @property
    def scheme(self) -> str:
        return "https" if self.ssl is not None else "http"

    @property
    def http(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        ws = "wss" if self.ssl is not None else "ws"
        return f"{ws}://127.0.0.1:{self.port}/connection/websocket"

    def internal(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.internal_port or self.port}"

    def all_logs(self) -> str:
        text = self.log()
        log_file = self.config.get("log_file")
        if log_file and os.path.exists(log_file):
            text += Path(log_file).read_text(errors="replace")
        return text

    def start(self, timeout: float = 20.0, health_url: str | None = None) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config, indent=2))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRIFUGO_")}
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "service", "-c", str(self.config_path)],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while not self.port:
            self._check_alive(deadline)
            m = _SERVING_LINE.search(self.all_logs())
            if m:
                self.port = int(m.group(2))
                self.internal_port = self.internal_port or self.port
            time.sleep(0.02)
        url = health_url or f"{self.internal(self.scheme)}/health"
        while True:
            self._check_alive(deadline)
            try:
                with urllib.request.urlopen(url, timeout=1, context=self.ssl) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)

    def _check_alive(self, deadline: float) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.proc.returncode}:\n{self.all_logs()}"
            )
        if time.monotonic() > deadline:
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{self.all_logs()}")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.signalled_at = time.monotonic()
        os.kill(self.proc.pid, sig)

    async def exited(self, timeout: float) -> tuple[int, float]:
        """Wait for the process to exit: (exit code, seconds since the last ``signal``)."""
        assert self.proc is not None
        proc = self.proc
        try:
            rc = await asyncio.to_thread(proc.wait, timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout}s") from None
        return rc, time.monotonic() - self.signalled_at

    async def wait_log(self, pattern: str, timeout: float = TIMEOUT, after: int = 0) -> str:
        """The first line matching ``pattern`` in the log text past offset ``after``."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.all_logs()[after:].splitlines():
                if rx.search(line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line /{pattern}/ in {timeout}s:\n{self.all_logs()}")
            await asyncio.sleep(0.02)

    def grpc_port(self, name: str) -> int:
        m = re.search(rf"gRPC {name} listening on \S+?:(\d+)", self.all_logs())
        assert m, f"no gRPC {name} listener in the log:\n{self.all_logs()}"
        return int(m.group(1))


Start = Callable[..., Awaitable[OpsServer]]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    """``await start(name, **config_overrides)`` -> a healthy :class:`OpsServer`; every
    process is stopped at teardown and its log printed (shown when the test failed)."""
    started: list[OpsServer] = []

    async def _start(
        name: str,
        *,
        client_ssl: ssl.SSLContext | None = None,
        health_url: str = "",
        **overrides: Any,
    ) -> OpsServer:
        srv = OpsServer(base_config(**overrides), tmp_path / name, name=name)
        srv.ssl = client_ssl
        started.append(srv)
        await asyncio.to_thread(srv.start, 20.0, health_url or None)
        return srv

    yield _start
    for srv in started:
        await asyncio.to_thread(srv.stop)
        print(f"--- {srv.name} (exit {srv.proc and srv.proc.poll()}) ---\n{srv.all_logs()[-8000:]}")


@pytest.fixture
def redis() -> Iterator[RedisFactory]:
    factory = RedisFactory()
    try:
        yield factory
    finally:
        factory.close()


# -- small clients --------------------------------------------------------------------------------
async def http(
    method: str, url: str, *, ssl_ctx: ssl.SSLContext | bool | None = None, **kwargs: Any
) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, url, ssl=ssl_ctx if ssl_ctx is not None else True, **kwargs) as r,
    ):
        return r.status, await r.read()


async def api_call(base: str, method: str, params: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """v4 ``POST /api`` with the API key; the whole reply object."""
    status, body = await http(
        "POST",
        f"{base}/api",
        data=json.dumps({"method": method, "params": params}),
        headers={"Authorization": f"apikey {API_KEY}"},
        **kw,
    )
    assert status == 200, (status, body)
    return json.loads(body)  # type: ignore[no-any-return]


async def eventually(
    probe: Callable[[], Awaitable[Any]], expected: Any, *, timeout: float, what: str
) -> float:
    """Poll ``probe`` every 20 ms until it returns ``expected``; returns the seconds it took.
    Exceptions of ``probe`` count as "not yet"."""
    began = time.monotonic()
    last: Any = None
    while True:
        try:
            last = await probe()
        except Exception as e:
            last = e
        if last == expected:
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise AssertionError(f"{what}: not {expected!r} within {timeout}s (last {last!r})")
        await asyncio.sleep(0.02)


def health(
    url: str, path: str = "/health", ssl_ctx: ssl.SSLContext | None = None
) -> Callable[[], Awaitable[int]]:
    async def probe() -> int:
        return (await http("GET", f"{url}{path}", ssl_ctx=ssl_ctx))[0]

    return probe


def grpc_health(port: int, creds: Any = None) -> Callable[[], Awaitable[int]]:
    async def probe() -> int:
        target = f"127.0.0.1:{port}"
        options = [("grpc.ssl_target_name_override", "localhost")] if creds else []
        async with (
            grpc.aio.secure_channel(target, creds, options=options)
            if creds
            else grpc.aio.insecure_channel(target)
        ) as ch:
            resp = await health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(), timeout=2
            )
            return int(resp.status)

    return probe


def sdk(url: str, user: str, *, proto: bool = False, **kwargs: Any) -> tuple[Any, Any]:
    events = ClientEvents()
    kwargs.setdefault("max_reconnect_delay", 0.5)
    client = centrifuge.Client(
        url, events=events, token=token(user), use_protobuf=proto, proxy=None, **kwargs
    )
    return client, events


@contextlib.asynccontextmanager
async def disconnecting(*clients: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                await c.disconnect()


async def raw_ws(url: str, user: str, **kwargs: Any) -> tuple[aiohttp.ClientSession, Any, str]:
    """A JSON WebSocket connected as ``user``: (session, ws, client id)."""
    session = aiohttp.ClientSession()
    try:
        ws = await session.ws_connect(url, **kwargs)
    except BaseException:
        await session.close()
        raise
    await ws.send_str(json.dumps({"id": 1, "connect": {"token": token(user)}}))
    reply = json.loads((await ws.receive(timeout=TIMEOUT)).data.split("\n")[0])
    assert "connect" in reply, reply
    return session, ws, reply["connect"]["client"]


# -- protobuf by hand (generic gRPC calls carry raw bytes) ----------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field(num: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return _varint(num << 3) + _varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return _varint(num << 3 | 2) + _varint(len(raw)) + raw


def pb_fields(data: bytes) -> dict[int, list[Any]]:
    """Top-level fields of a message: number -> values (int or bytes)."""
    out: dict[int, list[Any]] = {}
    i = 0

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    while i < len(data):
        key = varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            out.setdefault(num, []).append(varint())
        elif wire == 2:
            n = varint()
            out.setdefault(num, []).append(data[i : i + n])
            i += n
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


API = "/centrifugal.centrifugo.api.CentrifugoApi/"
STREAM = "/centrifugal.centrifugo.stream.CentrifugoStream/Communicate"


# -- metrics --------------------------------------------------------------------------------------
def parse_exposition(
    text: str,
) -> tuple[dict[str, str], dict[str, list[tuple[dict[str, str], float]]]]:
    """(family -> TYPE, sample name -> [(labels, value)]) exactly as exposed."""
    types: dict[str, str] = {}
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    line_rx = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
    label_rx = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = line_rx.match(line)
        assert m, f"bad exposition line {line!r}"
        labels = dict(label_rx.findall(m.group(2) or ""))
        samples.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return types, samples


def value(
    samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float:
    for got, v in samples.get(name, []):
        if got == labels:
            return v
    raise AssertionError(f"no sample {name}{labels}; have {samples.get(name)}")


async def test_metrics_after_scripted_session(start: Start) -> None:
    """connect, subscribe, publish, a reply error and a server disconnect, then one scrape:
    Centrifugo v4 names, Go-style counter names and types, and the exact label sets."""
    srv = await start("metrics", prometheus=True, namespaces=[CHAT])
    user = uid("m")
    client, ev = sdk(srv.ws_url, user)
    async with disconnecting(client):
        await client.connect()
        await client.ready()
        sev = SubEvents()
        sub = client.new_subscription("chat:room", events=sev)
        await sub.subscribe()
        await sev.wait("subscribed")
        await sub.publish({"n": 1})
        await sev.wait("publication")
        bad_ev = SubEvents()
        bad = client.new_subscription("nowhere:x", events=bad_ev)
        await bad.subscribe()
        assert (await bad_ev.wait("unsubscribed")).code == 102

        _, body = await http("GET", f"{srv.http}/metrics")
        _, live = parse_exposition(body.decode())
        assert value(live, "centrifugo_node_num_clients") == 1
        assert value(live, "centrifugo_node_num_users") == 1
        assert value(live, "centrifugo_node_num_subscriptions") == 1
        assert value(live, "centrifugo_node_num_channels") == 1

        reply = await api_call(
            srv.http, "disconnect", {"user": user, "disconnect": {"code": 4501, "reason": "ops"}}
        )
        assert "error" not in reply, reply
        assert (await ev.wait("disconnected")).code == 4501

    status, body = await http("GET", f"{srv.http}/metrics")
    assert status == 200
    text = body.decode()
    assert list(text_string_to_metric_families(text))  # the official parser accepts it
    types, s = parse_exposition(text)

    counters = {
        "centrifugo_node_messages_sent_count": {"type"},
        "centrifugo_node_messages_received_count": {"type"},
        "centrifugo_node_action_count": {"action"},
        "centrifugo_client_num_reply_errors": {"method", "code"},
        "centrifugo_client_num_server_disconnects": {"code"},
        "centrifugo_transport_connect_count": {"transport"},
        "centrifugo_transport_messages_sent": {"transport"},
        "centrifugo_node_client_connection_limit": set(),
    }
    gauges = {
        "centrifugo_node_num_clients": set(),
        "centrifugo_node_num_users": set(),
        "centrifugo_node_num_subscriptions": set(),
        "centrifugo_node_num_channels": set(),
        "centrifugo_node_num_nodes": set(),
        "centrifugo_node_build": {"version"},
    }
    summaries = {
        "centrifugo_client_command_duration_seconds": {"method"},
        "centrifugo_api_command_duration_seconds": {"protocol", "method"},
    }
    for name, labels in counters.items():
        assert types.get(name) == "counter", (name, types.get(name))
        assert f"{name}_total" not in s, name  # Go client names: no _total suffix
        assert s[name] and all(set(lb) == labels for lb, _ in s[name]), (name, s[name])
    for name, labels in gauges.items():
        assert types.get(name) == "gauge", (name, types.get(name))
        assert s[name] and all(set(lb) == labels for lb, _ in s[name]), (name, s[name])
    for name, labels in summaries.items():
        assert types.get(name) == "summary", (name, types.get(name))
        for suffix in ("_count", "_sum"):
            assert all(set(lb) == labels for lb, _ in s[name + suffix]), (name, suffix)
    hist = "centrifugo_api_command_duration_seconds_histogram"
    assert types.get(hist) == "histogram"
    assert all(set(lb) == {"protocol", "method", "le"} for lb, _ in s[hist + "_bucket"])

    # the session, counted
    assert value(s, "centrifugo_node_num_clients") == 0
    assert value(s, "centrifugo_node_num_subscriptions") == 0
    assert value(s, "centrifugo_node_num_nodes") == 1
    assert value(s, "centrifugo_transport_connect_count", transport="websocket") == 1
    cmd = "centrifugo_client_command_duration_seconds_count"
    assert value(s, cmd, method="connect") == 1
    assert value(s, cmd, method="subscribe") == 2
    assert value(s, cmd, method="publish") == 1
    assert s["centrifugo_client_num_reply_errors"] == [({"method": "subscribe", "code": "102"}, 1)]
    assert s["centrifugo_client_num_server_disconnects"] == [({"code": "4501"}, 1)]
    assert value(s, "centrifugo_node_messages_sent_count", type="publication") == 1
    assert value(s, "centrifugo_transport_messages_sent", transport="websocket") >= 3
    api = "centrifugo_api_command_duration_seconds"
    assert value(s, api + "_count", protocol="http", method="disconnect") == 1
    assert value(s, hist + "_bucket", protocol="http", method="disconnect", le="+Inf") == 1
    assert value(s, "centrifugo_node_action_count", action="add_client") == 1
    assert value(s, "centrifugo_node_action_count", action="remove_client") == 1


# -- health ---------------------------------------------------------------------------------------
async def test_health_follows_redis(redis: RedisFactory, start: Start) -> None:
    """``/health``: 503 while Redis is frozen (SIGSTOP: PUB/SUB pings time out) or dead
    (SIGKILL), 200 again once it answers (SIGCONT; restarted on the same port)."""
    r = redis.server()
    srv = await start(
        "redis-health",
        engine="redis",
        redis_address=r.address,
        redis_io_timeout="1s",
        redis_connect_timeout="1s",
    )
    http_ok = health(srv.http)
    assert await http_ok() == 200
    live = health(srv.http, "/health/live")

    r.pause()
    try:
        await eventually(http_ok, 503, timeout=8, what="health with Redis frozen")
    finally:
        r.resume()
    await eventually(http_ok, 200, timeout=8, what="health after SIGCONT")

    r.stop()
    await eventually(http_ok, 503, timeout=5, what="health with Redis dead")
    # Liveness is the process only: a Redis outage must not restart every pod.
    assert await live() == 200
    await asyncio.to_thread(r.start)  # same port
    await eventually(http_ok, 200, timeout=8, what="health after Redis restart")
    # and the engine works again end to end
    reply = await api_call(srv.http, "publish", {"channel": "after", "data": {}})
    assert "error" not in reply, reply
    assert srv.alive()


async def test_health_down_while_redis_refuses_writes(redis: RedisFactory, start: Start) -> None:
    r = redis.server()
    srv = await start(
        "redis-writes", engine="redis", redis_address=r.address, redis_io_timeout="1s"
    )
    r.command("CLIENT", "PAUSE", "4000", "WRITE")  # PING and PUB/SUB fine, PUBLISH blocked
    reply = await api_call(srv.http, "publish", {"channel": "paused", "data": {}})
    assert reply["error"]["code"] == 100  # the engine cannot publish...
    assert await health(srv.http)() == 503  # ...so the node is not healthy


async def test_grpc_health_follows_redis(redis: RedisFactory, start: Start) -> None:
    r = redis.server()
    srv = await start(
        "redis-grpc-health",
        engine="redis",
        redis_address=r.address,
        redis_connect_timeout="1s",
        grpc_api=True,
        grpc_api_address="127.0.0.1",
        grpc_api_port=0,
    )
    grpc_ok = grpc_health(srv.grpc_port("grpc_api"))
    assert await grpc_ok() == SERVING
    r.stop()
    await eventually(health(srv.http), 503, timeout=5, what="health with Redis dead")
    await eventually(grpc_ok, NOT_SERVING, timeout=2, what="gRPC health with Redis dead")


# -- graceful shutdown ----------------------------------------------------------------------------
async def test_sigterm_termination_delay(start: Start) -> None:
    """SIGTERM with ``shutdown_termination_delay``: health 503 / NOT_SERVING and new WebSocket
    connections refused at once; connected clients stay until the delay is over, then get
    3001; the process exits 0 within delay + ``shutdown_timeout``."""
    delay, timeout = 1.5, 2.0
    srv = await start(
        "delay",
        shutdown_termination_delay="1500ms",
        shutdown_timeout="2s",
        grpc_api=True,
        grpc_api_address="127.0.0.1",
        grpc_api_port=0,
    )
    grpc_ok = grpc_health(srv.grpc_port("grpc_api"))
    client, ev = sdk(srv.ws_url, uid("d"))
    async with disconnecting(client):
        await client.connect()
        await client.ready()
        srv.signal(signal.SIGTERM)
        took = await eventually(health(srv.http), 503, timeout=1, what="health at SIGTERM")
        assert took < 0.5
        assert await grpc_ok() == NOT_SERVING
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await raw_ws(srv.ws_url, "late")
        assert refused.value.status == 503
        assert len(ev.of("connecting")) == 1  # the initial connect only: still connected

        ctx = await ev.wait("connecting", lambda c: c.code == 3001, timeout=delay + 3)
        elapsed = time.monotonic() - srv.signalled_at
        assert ctx.reason == "shutdown"
        assert elapsed >= delay - 0.1, f"clients disconnected {elapsed:.2f}s after SIGTERM"
        rc, total = await srv.exited(timeout=delay + timeout + 3)
    assert rc == 0
    assert total < delay + timeout, f"exit {total:.2f}s after SIGTERM"
    assert "shutting down" in srv.all_logs()


async def test_exit_within_shutdown_timeout_with_stuck_client(start: Start) -> None:
    """A client that stopped reading (its socket buffers full) does not hold the process past
    ``shutdown_timeout``; the exit code is still 0."""
    srv = await start(
        "stuck", shutdown_timeout="2s", namespaces=[CHAT], websocket_write_timeout="10s"
    )
    user = uid("s")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
    sock.connect(("127.0.0.1", srv.port))
    try:
        sock.sendall(
            b"GET /connection/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        for cmd in (
            {"id": 1, "connect": {"token": token(user)}},
            {"id": 2, "subscribe": {"channel": "chat:stuck"}},
        ):
            payload = json.dumps(cmd).encode()
            assert len(payload) < 65536
            mask = os.urandom(4)
            masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            size = (
                bytes([0x80 | len(payload)])
                if len(payload) < 126
                else (bytes([0x80 | 126]) + len(payload).to_bytes(2, "big"))
            )
            sock.sendall(b"\x81" + size + mask + masked)

        async def channels() -> Any:
            return (await api_call(srv.http, "channels", {}))["result"]["channels"]

        await eventually(
            channels, {"chat:stuck": {"num_clients": 1}}, timeout=5, what="stuck client subscribed"
        )
        big = {"blob": "x" * 60000}
        for _ in range(40):  # ~2.4 MB towards a client that reads nothing
            await api_call(srv.http, "publish", {"channel": "chat:stuck", "data": big})
        srv.signal(signal.SIGTERM)
        rc, took = await srv.exited(timeout=10)
    finally:
        sock.close()
    assert rc == 0
    assert took < 2.0 + 0.5, f"exit {took:.2f}s after SIGTERM (shutdown_timeout 2s)"


async def test_exit_within_shutdown_timeout_with_redis_frozen(
    redis: RedisFactory, start: Start
) -> None:
    """SIGTERM while Redis does not answer: the cleanup of presence and leave messages cannot
    finish, yet the process exits 0 once ``shutdown_timeout`` is over."""
    r = redis.server()
    chat = dict(CHAT, presence=True, join_leave=True)
    srv = await start("frozen", engine="redis", redis_address=r.address, namespaces=[chat])
    made = [sdk(srv.ws_url, uid("f")) for _ in range(2)]
    async with disconnecting(*(c for c, _ in made)):
        subs = []
        for client, _ in made:
            sev = SubEvents()
            client.new_subscription("chat:frozen", events=sev)
            await client.connect()
            await client.get_subscription("chat:frozen").subscribe()
            subs.append(sev)
        for sev in subs:
            await sev.wait("subscribed")
        r.pause()
        try:
            srv.signal(signal.SIGTERM)
            for _, ev in made:
                assert (await ev.wait("connecting", lambda c: c.code == 3001)).reason == "shutdown"
            rc, took = await srv.exited(timeout=10)
        finally:
            r.resume()
    assert rc == 0
    assert took < 2.0 + 0.75, f"exit {took:.2f}s after SIGTERM (shutdown_timeout 2s)"


class FailoverProxy:
    """A TCP proxy on 127.0.0.1:0: each new connection goes to the first of ``ports`` that
    accepts it (how a Service sends new connections to pods that still listen)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.chosen: list[int] = []
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> FailoverProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connection/websocket"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        for port in self.ports:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            self.chosen.append(port)
            self._writers.add(up_writer)
            break
        else:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()
                up_writer.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.discard(writer)
        self._writers.discard(up_writer)

    async def close(self) -> None:
        for w in list(self._writers):
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def test_sigterm_clients_reconnect_to_second_server(start: Start) -> None:
    """SIGTERM on A: every centrifuge-python client (JSON and Protobuf) gets 3001, reconnects
    through the failover proxy to B and is subscribed there again; A exits 0."""
    a = await start("node-a", namespaces=[CHAT])
    b = await start("node-b", namespaces=[CHAT])
    proxy = await FailoverProxy([a.port, b.port]).start()
    made = [sdk(proxy.ws_url, uid(f"r{i}"), proto=bool(i % 2)) for i in range(3)]
    clients = [c for c, _ in made]
    subs = []
    try:
        async with disconnecting(*clients):
            for client, _ in made:
                sev = SubEvents()
                sub = client.new_subscription("chat:failover", events=sev)
                await client.connect()
                await sub.subscribe()
                subs.append(sev)
            for client, _ in made:
                await client.ready()
            for sev in subs:
                await sev.wait("subscribed")
            assert proxy.chosen == [a.port] * 3
            info_a = await api_call(a.http, "info", {})
            assert [n["num_clients"] for n in info_a["result"]["nodes"]] == [3]

            a.signal(signal.SIGTERM)
            for _, ev in made:
                ctx = await ev.wait("connecting", lambda c: c.code == 3001)
                assert ctx.reason == "shutdown"
            for _, ev in made:
                await ev.wait("connected", n=2, timeout=10)
            for sev in subs:
                await sev.wait("subscribed", n=2)
            rc, took = await a.exited(timeout=5)
            assert rc == 0 and took < 2.0

            info_b = await api_call(b.http, "info", {})
            assert [n["num_clients"] for n in info_b["result"]["nodes"]] == [3]
            assert proxy.chosen[-1] == b.port
            reply = await api_call(
                b.http, "publish", {"channel": "chat:failover", "data": {"b": 1}}
            )
            assert "error" not in reply, reply
            for sev in subs:
                pub = await sev.wait("publication")
                data = pub.pub.data
                assert (json.loads(data) if isinstance(data, bytes) else data) == {"b": 1}
    finally:
        await proxy.close()


# -- SIGHUP ---------------------------------------------------------------------------------------
def rewrite_config(srv: OpsServer, **changes: Any) -> None:
    cfg = dict(srv.config)
    cfg.update(changes)
    srv.config_path.write_text(json.dumps(cfg, indent=2))


async def test_sighup_adds_namespace_and_swaps_token_keys(start: Start) -> None:
    """A subscribe refused with 102 succeeds after SIGHUP added its namespace, on the same
    connection; the new HMAC key is used for new connections from then on."""
    srv = await start("reload", namespaces=[CHAT])
    client, ev = sdk(srv.ws_url, uid("h"))
    async with disconnecting(client):
        await client.connect()
        await client.ready()
        client_id = (await ev.wait("connected")).client
        sev = SubEvents()
        sub = client.new_subscription("news:1", events=sev)
        await sub.subscribe()
        assert (await sev.wait("unsubscribed")).code == 102

        new_secret = SECRET + "-rotated"
        news = {"name": "news", "allow_subscribe_for_client": True}
        rewrite_config(srv, namespaces=[CHAT, news], token_hmac_secret_key=new_secret)
        mark = len(srv.all_logs())
        srv.signal(signal.SIGHUP)
        await srv.wait_log("configuration reloaded", after=mark)

        await sub.subscribe()
        await sev.wait("subscribed")
        assert len(ev.of("connected")) == 1 and not ev.of("disconnected")
        assert [c.code for c in ev.of("connecting")] == [0]  # the initial connect only
        info = await api_call(srv.http, "info", {})
        assert info["result"]["nodes"][0]["num_clients"] == 1
        assert (await api_call(srv.http, "channels", {}))["result"]["channels"] == {
            "news:1": {"num_clients": 1}
        }
        assert client_id == (await ev.wait("connected")).client

    # token keys: the old secret is refused for new connections, the new one accepted
    session = aiohttp.ClientSession()
    try:
        ws = await session.ws_connect(srv.ws_url)
        await ws.send_str(json.dumps({"id": 1, "connect": {"token": token("old")}}))
        msg = await ws.receive(timeout=TIMEOUT)
        while msg.type == aiohttp.WSMsgType.TEXT:  # a disconnect push may come first
            msg = await ws.receive(timeout=TIMEOUT)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 3500, msg  # invalid token
        ws = await session.ws_connect(srv.ws_url)
        await ws.send_str(
            json.dumps({"id": 1, "connect": {"token": token("new", secret=new_secret)}})
        )
        reply = json.loads((await ws.receive(timeout=TIMEOUT)).data)
        assert "connect" in reply, reply
    finally:
        await session.close()


async def test_sighup_invalid_config_refused(start: Start) -> None:
    """An invalid config on SIGHUP is refused with an error line; the running config stays
    (its namespace still works, the one the bad file adds does not) and the process lives."""
    keep = {"name": "keep", "allow_subscribe_for_client": True}
    srv = await start("reload-bad", namespaces=[keep])
    client, ev = sdk(srv.ws_url, uid("b"))
    async with disconnecting(client):
        await client.connect()
        await client.ready()
        news = {"name": "news", "allow_subscribe_for_client": True}
        # "news" twice: refused by validation; and "keep" gone
        rewrite_config(srv, namespaces=[news, news])
        mark = len(srv.all_logs())
        srv.signal(signal.SIGHUP)
        line = await srv.wait_log("reload refused", after=mark)
        assert "ERROR" in line and "duplicate" in line, line
        # a file that does not even parse: refused too
        srv.config_path.write_text("{not json")
        mark = len(srv.all_logs())
        srv.signal(signal.SIGHUP)
        await srv.wait_log("reload refused", after=mark)

        ok_ev, bad_ev = SubEvents(), SubEvents()
        ok = client.new_subscription("keep:1", events=ok_ev)
        bad = client.new_subscription("news:1", events=bad_ev)
        await ok.subscribe()
        await bad.subscribe()
        await ok_ev.wait("subscribed")
        assert (await bad_ev.wait("unsubscribed")).code == 102
        assert len(ev.of("connected")) == 1 and not ev.of("disconnected")
    assert srv.alive()
    assert "configuration reloaded" not in srv.all_logs()


async def test_sighup_rotates_api_key_and_names_what_needs_a_restart(start: Start) -> None:
    """Issue 13.6: after SIGHUP the old api_key is refused and the new one accepted; a changed
    option that a reload does not apply is named in the log."""
    srv = await start("reload-keys")
    headers = {"X-API-Key": API_KEY}
    status, _ = await http("POST", f"{srv.http}/api/info", data=b"{}", headers=headers)
    assert status == 200
    rewrite_config(srv, api_key="rotated-key", client_channel_limit=3)
    mark = len(srv.all_logs())
    srv.signal(signal.SIGHUP)
    line = await srv.wait_log("need a restart", after=mark)
    assert "client_channel_limit" in line and "api_key" not in line, line
    status, _ = await http("POST", f"{srv.http}/api/info", data=b"{}", headers=headers)
    assert status == 401
    new = {"X-API-Key": "rotated-key"}
    status, _ = await http("POST", f"{srv.http}/api/info", data=b"{}", headers=new)
    assert status == 200


# -- internal port --------------------------------------------------------------------------------
async def test_internal_port_split_and_api_external(start: Start) -> None:
    """``internal_port``: the client port serves the WebSocket only; API, metrics and health
    are on the internal port.  ``api_external: true`` moves the API (only) to the client port."""
    internal = free_port()
    srv = await start("split", internal_port=internal, prometheus=True)
    ext, inn = srv.http, srv.internal()
    assert srv.port != internal

    for path in ("/api", "/api/info", "/metrics", "/health"):
        assert (await http("POST", ext + path))[0] == 404, path
    assert (await http("GET", inn + "/connection/websocket"))[0] == 404
    assert (await http("GET", inn + "/health"))[0] == 200
    status, body = await http("GET", inn + "/metrics")
    assert status == 200 and b"centrifugo_node_num_clients" in body
    assert "result" in await api_call(inn, "info", {})

    session, ws, _ = await raw_ws(srv.ws_url, "split")
    await ws.close()
    await session.close()

    internal2 = free_port()
    srv2 = await start("split-api-ext", internal_port=internal2, api_external=True)
    assert "result" in await api_call(srv2.http, "info", {})
    assert (await http("POST", srv2.internal() + "/api"))[0] == 404
    assert (await http("GET", srv2.http + "/health"))[0] == 404
    assert (await http("GET", srv2.internal() + "/health"))[0] == 200


# -- TLS ------------------------------------------------------------------------------------------
def self_signed(directory: Path) -> tuple[Path, Path, bytes]:
    """A self-signed certificate for localhost / 127.0.0.1: (cert file, key file, cert PEM)."""
    return write_self_signed(directory)


async def test_tls_websocket_http_and_grpc(start: Start, tmp_path: Path) -> None:
    """``tls``: wss with centrifuge-python (JSON and Protobuf), https API and health, the gRPC
    API and the bidirectional gRPC stream over TLS (the general certificate); plaintext is
    refused.  ``tls_external``: TLS on the client port only, the internal port stays plain."""
    cert, key, cert_pem = self_signed(tmp_path / "tls")
    ctx = ssl.create_default_context(cafile=str(cert))
    srv = await start(
        "tls",
        client_ssl=ctx,
        namespaces=[CHAT],
        tls=True,
        tls_cert=str(cert),
        tls_key=str(key),
        grpc_api=True,
        grpc_api_address="127.0.0.1",
        grpc_api_port=0,
        grpc_stream=True,
        grpc_stream_address="127.0.0.1",
        grpc_stream_port=0,
    )
    assert srv.http.startswith("https://")
    made = [sdk(srv.ws_url, uid("t"), proto=p, ssl_context=ctx) for p in (False, True)]
    async with disconnecting(*(c for c, _ in made)):
        subs = []
        for client, _ in made:
            sev = SubEvents()
            client.new_subscription("chat:tls", events=sev)
            await client.connect()
            await client.get_subscription("chat:tls").subscribe()
            subs.append(sev)
        for sev in subs:
            await sev.wait("subscribed")
        reply = await api_call(
            srv.http, "publish", {"channel": "chat:tls", "data": {"t": 1}}, ssl_ctx=ctx
        )
        assert "error" not in reply, reply
        for sev in subs:
            await sev.wait("publication")

    # plaintext on a TLS port fails
    with pytest.raises(aiohttp.ClientError):
        await http("GET", f"http://127.0.0.1:{srv.port}/health")

    creds = grpc.ssl_channel_credentials(root_certificates=cert_pem)
    options = [("grpc.ssl_target_name_override", "localhost")]
    api_port, stream_port = srv.grpc_port("grpc_api"), srv.grpc_port("grpc_stream")
    assert await grpc_health(api_port, creds)() == SERVING
    async with grpc.aio.secure_channel(f"127.0.0.1:{api_port}", creds, options=options) as ch:
        publish = ch.unary_unary(API + "Publish")
        raw = await publish(pb_field(1, "chat:tls") + pb_field(2, b'{"g":1}'), timeout=5)
        fields = pb_fields(raw)
        assert 1 not in fields and 2 in fields, fields  # no error, a result
        info = pb_fields(await ch.unary_unary(API + "Info")(b"", timeout=5))
        nodes = pb_fields(info[2][0])[1]
        assert len(nodes) == 1
    async with grpc.aio.secure_channel(f"127.0.0.1:{stream_port}", creds, options=options) as ch:
        call = ch.stream_stream(STREAM)()
        await call.write(pb_field(1, 1) + pb_field(4, pb_field(1, token("grpc-tls"))))
        got = pb_fields(await asyncio.wait_for(call.read(), TIMEOUT))
        assert got[1] == [1] and 5 in got and 2 not in got, got  # Reply: id 1, ConnectResult
        call.cancel()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{api_port}") as ch:
        with pytest.raises(grpc.aio.AioRpcError):
            await ch.unary_unary(API + "Info")(b"", timeout=2)

    # tls_external: the client port is TLS, the internal port is plain HTTP
    internal = free_port()
    srv2 = await start(
        "tls-external",
        client_ssl=ctx,
        health_url=f"http://127.0.0.1:{internal}/health",
        internal_port=internal,
        tls=True,
        tls_cert=str(cert),
        tls_key=str(key),
        tls_external=True,
    )
    session, ws, _ = await raw_ws(srv2.ws_url, "ext", ssl=ctx)
    await ws.close()
    await session.close()
    assert (await http("GET", srv2.internal() + "/health"))[0] == 200
    assert "result" in await api_call(srv2.internal(), "info", {})
    with pytest.raises(aiohttp.ClientError):
        await http("GET", srv2.internal("https") + "/health", ssl_ctx=ctx)


# -- logging --------------------------------------------------------------------------------------
async def test_log_file_and_disconnect_line(start: Start, tmp_path: Path) -> None:
    """``log_file``: lines go to the file, not to stdout/stderr; a server disconnect is one
    line naming the client, the user and the code."""
    log_file = tmp_path / "gyre.log"
    srv = await start("log-file", log_file=str(log_file))
    user = uid("l")
    session, ws, client_id = await raw_ws(srv.ws_url, user)
    try:
        reply = await api_call(
            srv.http, "disconnect", {"user": user, "disconnect": {"code": 4503, "reason": "log"}}
        )
        assert "error" not in reply, reply
        msg = await next_frame(ws)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4503, msg
    finally:
        await ws.close()
        await session.close()
    await srv.wait_log(client_id)
    lines = [ln for ln in log_file.read_text().splitlines() if client_id in ln]
    # one line for the connect, one for the disconnect (with its code)
    assert len(lines) == 2, lines
    assert user in lines[0] and "connected via websocket" in lines[0], lines[0]
    assert user in lines[1] and "4503" in lines[1], lines[1]
    srv.signal(signal.SIGTERM)
    assert (await srv.exited(timeout=5))[0] == 0
    text = log_file.read_text()
    assert "serving on" in text and "shutting down" in text
    assert srv.log() == ""  # nothing on stdout/stderr


async def test_connect_is_logged(start: Start) -> None:
    srv = await start("log-connect")
    user = uid("c")
    session, ws, client_id = await raw_ws(srv.ws_url, user)
    try:
        line = await srv.wait_log(client_id, timeout=1)
        assert user in line and "connected" in line
    finally:
        await ws.close()
        await session.close()


async def test_log_level_none_is_silent(start: Start) -> None:
    port = free_port()
    srv = await start("log-none", port=port, log_level="none")
    user = uid("n")
    session, ws, _ = await raw_ws(srv.ws_url, user)
    try:
        await api_call(srv.http, "disconnect", {"user": user})
        await ws.receive(timeout=TIMEOUT)
    finally:
        await ws.close()
        await session.close()
    srv.config_path.write_text("{bad")
    srv.signal(signal.SIGHUP)  # a refused reload is an error: still silent
    srv.signal(signal.SIGTERM)  # (Linux delivers the lower-numbered SIGHUP first)
    assert (await srv.exited(timeout=5))[0] == 0
    assert srv.log() == ""


def run_to_exit(config: dict[str, Any], workdir: Path, timeout: float = 15) -> tuple[int, str]:
    """Run the server with ``config`` until it exits on its own: (exit code, stdout+stderr)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRIFUGO_")}
    r = subprocess.run(
        [sys.executable, "-m", "service", "-c", str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return r.returncode, r.stdout + r.stderr


def test_unwritable_log_file_is_one_error_line(tmp_path: Path) -> None:
    """Regression: a log_file that cannot be opened ended the process with a traceback."""
    missing = tmp_path / "no-such-dir" / "gyre.log"
    rc, out = run_to_exit(base_config(log_file=str(missing)), tmp_path / "bad-log-file")
    assert rc == 1
    assert "Traceback" not in out, out
    assert out.startswith("error: cannot open log file") and str(missing) in out, out


def test_unreachable_redis_at_start_is_one_error_line(tmp_path: Path) -> None:
    """Regression: an engine that could not start (Redis refusing connections) ended the
    process with an EngineError traceback instead of a ``cannot start`` log line."""
    cfg = base_config(engine="redis", redis_address=f"127.0.0.1:{free_port()}")
    rc, out = run_to_exit(cfg, tmp_path / "no-redis")
    assert rc == 1
    assert "Traceback" not in out, out
    last = out.strip().splitlines()[-1]
    assert "ERROR" in last and "cannot start" in last and "refused" in last, out


@pytest.mark.parametrize("option", ["token_rsa_public_key", "token_ecdsa_public_key"])
def test_unusable_public_key_is_one_error_line(tmp_path: Path, option: str) -> None:
    """Regression: a token public key that is no PEM key ended the process with a traceback;
    as Centrifugo v4, it is one line naming the option."""
    rc, out = run_to_exit(base_config(**{option: "not a key"}), tmp_path / option)
    assert rc == 1
    assert "Traceback" not in out, out
    last = out.strip().splitlines()[-1]
    assert "ERROR" in last and "cannot start" in last and f"{option}: invalid" in last, out


@pytest.mark.parametrize("missing", ["tls_cert", "tls_client_ca"])
def test_missing_tls_file_is_named(tmp_path: Path, missing: str) -> None:
    """Regression: a TLS file that cannot be read stopped start-up with "[Errno 2] No such
    file or directory" and no file name."""
    cert, key, _ = self_signed(tmp_path)
    files = {"tls_cert": str(cert), "tls_key": str(key), "tls_client_ca": str(cert)}
    files[missing] = str(tmp_path / "nowhere.pem")
    rc, out = run_to_exit(base_config(tls=True, **files), tmp_path / missing)
    assert rc == 1
    last = out.strip().splitlines()[-1]
    assert "cannot start" in last and "nowhere.pem" in last, out


async def test_pid_file(start: Start, tmp_path: Path) -> None:
    """Regression: ``pid_file`` (v4 option and ``--pid_file`` flag) was accepted and ignored.
    The file holds the process id while the server runs and is removed at a graceful exit."""
    pid_file = tmp_path / "gyre.pid"
    srv = await start("pid", pid_file=str(pid_file))
    assert srv.proc is not None
    assert pid_file.read_text() == f"{srv.proc.pid}\n"
    srv.signal(signal.SIGTERM)
    assert (await srv.exited(timeout=5))[0] == 0
    assert not pid_file.exists()


async def test_admin_endpoints_on_internal_port(start: Start) -> None:
    internal = free_port()
    srv = await start(
        "admin",
        admin=True,
        admin_password="pw",
        admin_secret="s3cret",
        prometheus=True,
        internal_port=internal,
        internal_address="127.0.0.1",
    )
    base = f"http://127.0.0.1:{internal}"
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{srv.http}/admin/auth", data={"password": "pw"}) as r:
            assert r.status == 404  # not on the client port without admin_external
        async with s.post(f"{base}/admin/auth", data={"password": "wrong"}) as r:
            assert r.status == 400
        async with s.post(f"{base}/admin/auth", data={"password": "pw"}) as r:
            assert r.status == 200
            token = (await r.json())["token"]
        body = '{"method":"info","params":{}}'
        async with s.post(f"{base}/admin/api", data=body) as r:
            assert r.status == 401
        async with s.post(
            f"{base}/admin/api", data=body, headers={"Authorization": "token x.y"}
        ) as r:
            assert r.status == 401
        async with s.post(
            f"{base}/admin/api", data=body, headers={"Authorization": f"token {token}"}
        ) as r:
            assert r.status == 200
            assert len((await r.json())["result"]["nodes"]) == 1
        async with s.get(f"{base}/") as r:
            assert r.status == 200 and "Gyre admin" in await r.text()
        async with s.get(f"{base}/metrics") as r:  # not shadowed by the admin UI
            assert r.status == 200 and "centrifugo_node_num_clients" in await r.text()


async def test_admin_external_and_insecure(start: Start) -> None:
    srv = await start("admin-ext", admin=True, admin_insecure=True, admin_external=True)
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{srv.http}/admin/auth", data={}) as r:
            assert (await r.json()) == {"token": "insecure"}
        async with s.post(f"{srv.http}/admin/api", data='{"method":"channels","params":{}}') as r:
            assert r.status == 200 and "channels" in (await r.json())["result"]
