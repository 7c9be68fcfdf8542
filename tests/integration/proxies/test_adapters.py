"""The HTTP and gRPC proxy adapters against real backends on 127.0.0.1:0.

What a backend sees (body, JSON names, headers, metadata, credentials, TLS) and which answers
are proxy failures: a status other than 200, a body that is not a response, a timeout, a
closed port, a gRPC error status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from centrifugal.centrifugo.proxy import proxy_pb2
from msgspec import Raw

from service.config import ProxyConfig
from service.proxy import Connections, ProxyFailure
from service.proxy import messages as pm
from service.proxy.pool import key_of
from tests.proxy_backends import GrpcBackend, HttpBackend, Slow, Status, closed_port_url
from tests.proxy_backends import Raw as RawBody
from tests.tls_cert import self_signed_pem

PREFIX = {"client": "c1", "transport": "websocket", "protocol": "json", "encoding": "json"}


@pytest.fixture
async def http() -> AsyncIterator[HttpBackend]:
    b = await HttpBackend().start()
    yield b
    await b.stop()


@pytest.fixture
async def grpc_backend() -> AsyncIterator[GrpcBackend]:
    b = await GrpcBackend().start()
    yield b
    await b.stop()


@pytest.fixture
async def conns() -> AsyncIterator[Connections]:
    c = Connections()
    yield c
    await c.close()


def _proxy(endpoint: str, **kw: object) -> ProxyConfig:
    return ProxyConfig(name="p", endpoint=endpoint, **kw)  # type: ignore[arg-type]


# --- HTTP ---------------------------------------------------------------------------------


async def test_http_posts_json_with_proto_names(http: HttpBackend, conns: Connections) -> None:
    http.answer("rpc", {"result": {"data": {"answer": 42}}})
    t = conns.transport(_proxy(http.url("rpc")))
    req = pm.RPCRequest(**PREFIX, user="", method="sum", data=Raw(b'{"a":1}'))
    resp = await t.call(pm.RPC, req, {"cookie": "s=1"}, 1.0)
    assert resp.result is not None and bytes(resp.result.data) == b'{"answer": 42}'  # verbatim
    [call] = http.of("rpc")
    # raw JSON data, "user" present although empty, zero values left out
    assert call.body == {**PREFIX, "user": "", "method": "sum", "data": {"a": 1}}
    assert call.headers["content-type"] == "application/json"
    assert call.headers["cookie"] == "s=1"


@pytest.mark.parametrize(
    "answer",
    [Status(500), Status(204), RawBody(b"not json"), RawBody(b"[1,2]"), RawBody(b'{"result":7}')],
    ids=["500", "204", "not-json", "array", "wrong-type"],
)
async def test_http_invalid_answers_are_failures(
    http: HttpBackend, conns: Connections, answer: object
) -> None:
    http.answer("connect", answer)
    t = conns.transport(_proxy(http.url("connect")))
    with pytest.raises(ProxyFailure):
        await t.call(pm.CONNECT, pm.ConnectRequest(**PREFIX), {}, 1.0)


async def test_http_timeout_and_closed_port(http: HttpBackend, conns: Connections) -> None:
    http.answer("connect", Slow(1.0, {"result": {}}))
    t = conns.transport(_proxy(http.url("connect")))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ProxyFailure, match=r"no answer within 0\.2s"):
        await t.call(pm.CONNECT, pm.ConnectRequest(**PREFIX), {}, 0.2)
    assert loop.time() - started < 0.8
    closed = conns.transport(_proxy(closed_port_url()))
    with pytest.raises(ProxyFailure):
        await closed.call(pm.CONNECT, pm.ConnectRequest(**PREFIX), {}, 1.0)


async def test_http_keeps_connections_alive_and_bounded(
    http: HttpBackend, conns: Connections
) -> None:
    """Endpoints of one backend share one pool of at most ``pool_size`` (4) connections,
    reused call after call."""
    http.answer("a", Slow(0.05, {}))
    http.answer("b", Slow(0.05, {}))
    ta = conns.transport(_proxy(http.url("a")), 4)
    tb = conns.transport(_proxy(http.url("b")), 4)
    req = pm.RefreshRequest(**PREFIX, user="u")
    await asyncio.gather(*(t.call(pm.REFRESH, req, {}, 2.0) for t in [ta, tb] * 20))
    assert len(http.calls) == 40
    assert len(http.peers()) <= 4
    assert conns.http_sessions() == 1


async def test_pruned_session_closes_after_grace(http: HttpBackend, conns: Connections) -> None:
    p = _proxy(http.url("a"))
    t = conns.transport(p)
    http.answer("a", {})
    await t.call(pm.REFRESH, pm.RefreshRequest(**PREFIX, user="u"), {}, 1.0)
    conns.prune(keep=[], grace=0.05)
    assert conns.http_sessions() == 0
    await asyncio.sleep(0.2)
    assert t.session.closed  # type: ignore[attr-defined]
    conns.prune(keep=[key_of(p, 64)], grace=0)  # nothing left to prune


# --- gRPC ---------------------------------------------------------------------------------


async def test_grpc_call_with_metadata_and_credentials(
    grpc_backend: GrpcBackend, conns: Connections
) -> None:
    grpc_backend.answer(
        "Connect",
        proxy_pb2.ConnectResponse(
            result=proxy_pb2.ConnectResult(user="42", info=b'{"n":1}', channels=["news"])
        ),
    )
    t = conns.transport(
        _proxy(
            grpc_backend.endpoint, grpc_credentials_key="X-Token", grpc_credentials_value="secret"
        )
    )
    req = pm.ConnectRequest(**PREFIX, data=Raw(b'{"x":1}'), name="py", channels=["a", "b"])
    resp = await t.call(pm.CONNECT, req, {"authorization": "Bearer t"}, 1.0)
    assert resp.result is not None
    assert resp.result.user == "42" and bytes(resp.result.info) == b'{"n":1}'
    assert resp.result.channels == ["news"]
    [call] = grpc_backend.of("Connect")
    assert call.body.client == "c1" and call.body.data == b'{"x":1}'
    assert list(call.body.channels) == ["a", "b"]
    assert call.headers["authorization"] == "Bearer t"
    assert call.headers["x-token"] == "secret"


async def test_grpc_result_present_but_empty(grpc_backend: GrpcBackend, conns: Connections) -> None:
    t = conns.transport(_proxy(grpc_backend.endpoint))
    grpc_backend.answer("RPC", proxy_pb2.RPCResponse(result=proxy_pb2.RPCResult()))
    resp = await t.call(pm.RPC, pm.RPCRequest(**PREFIX, user=""), {}, 1.0)
    assert resp.result == pm.RPCResult()
    grpc_backend.answer("RPC", proxy_pb2.RPCResponse())
    resp = await t.call(pm.RPC, pm.RPCRequest(**PREFIX, user=""), {}, 1.0)
    assert resp.result is None and resp.error is None


async def test_grpc_failures(grpc_backend: GrpcBackend, conns: Connections) -> None:
    t = conns.transport(_proxy(grpc_backend.endpoint))
    req = pm.SubRefreshRequest(**PREFIX, user="u", channel="c")
    grpc_backend.answer("SubRefresh", grpc.StatusCode.PERMISSION_DENIED)
    with pytest.raises(ProxyFailure, match="PERMISSION_DENIED"):
        await t.call(pm.SUB_REFRESH, req, {}, 1.0)
    grpc_backend.answer("SubRefresh", Slow(1.0, None))
    with pytest.raises(ProxyFailure, match="DEADLINE_EXCEEDED"):
        await t.call(pm.SUB_REFRESH, req, {}, 0.2)
    closed = conns.transport(_proxy(closed_port_url().replace("http://", "grpc://")[:-8]))
    with pytest.raises(ProxyFailure, match="UNAVAILABLE"):
        await closed.call(pm.SUB_REFRESH, req, {}, 1.0)


async def test_grpc_tls_with_cert_file(tmp_path: Path, conns: Connections) -> None:
    cert_pem, key_pem = self_signed_pem()
    (tmp_path / "ca.pem").write_bytes(cert_pem)
    backend = await GrpcBackend().start(tls=(cert_pem, key_pem))
    try:
        backend.answer(
            "Refresh", proxy_pb2.RefreshResponse(result=proxy_pb2.RefreshResult(expire_at=5))
        )
        endpoint = f"localhost:{backend.port}"
        t = conns.transport(_proxy(endpoint, grpc_cert_file=str(tmp_path / "ca.pem")))
        resp = await t.call(pm.REFRESH, pm.RefreshRequest(**PREFIX, user="u"), {}, 2.0)
        assert resp.result is not None and resp.result.expire_at == 5
        plain = Connections()
        try:  # the same server without TLS on our side: no valid answer
            t2 = plain.transport(_proxy(endpoint))
            with pytest.raises(ProxyFailure):
                await t2.call(pm.REFRESH, pm.RefreshRequest(**PREFIX, user="u"), {}, 1.0)
        finally:
            await plain.close()
    finally:
        await backend.stop()


def test_unreadable_cert_file_is_an_error(tmp_path: Path) -> None:
    conns = Connections()
    with pytest.raises(OSError):
        conns.transport(_proxy("grpc://127.0.0.1:1", grpc_cert_file=str(tmp_path / "missing")))
