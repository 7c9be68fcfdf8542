"""Health service on every gRPC server (SERVING → NOT_SERVING at shutdown) and TLS."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from centrifugal.centrifugo.api import api_pb2, api_pb2_grpc
from centrifugal.centrifugo.unistream import unistream_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from gyre_grpc_support import Gyre, StreamClient, UniClient, token

from tests.tls_cert import self_signed_pem

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICES = {
    "grpc_api": "centrifugal.centrifugo.api.CentrifugoApi",
    "uni_grpc": "centrifugal.centrifugo.unistream.CentrifugoUniStream",
    "grpc_stream": "centrifugal.centrifugo.stream.CentrifugoStream",
}


async def _check(g: Gyre, name: str, service: str = "") -> Any:
    stub = health_pb2_grpc.HealthStub(g.channel(name))
    resp = await stub.Check(health_pb2.HealthCheckRequest(service=service))
    return resp.status


async def test_health_serving_then_not_serving_on_shutdown(
    start: Callable[..., Awaitable[Gyre]],
) -> None:
    g = await start()
    for name, service in SERVICES.items():
        assert await _check(g, name) == SERVING
        assert await _check(g, name, service) == SERVING
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await _check(g, "grpc_api", "no.such.Service")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND

    watch = health_pb2_grpc.HealthStub(g.channel("grpc_stream")).Watch(
        health_pb2.HealthCheckRequest(service="")
    )
    assert (await watch.read()).status == SERVING

    s = StreamClient(g.channel("grpc_stream"))
    await s.connect(token("h"))

    g.server.begin_shutdown()  # what the composition root does when SIGTERM arrives
    for name, service in SERVICES.items():
        assert await _check(g, name) == NOT_SERVING
        assert await _check(g, name, service) == NOT_SERVING
    assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING
    # existing streams still work until the node shuts down; then they get 3001
    assert s.inbox.ended is False
    await g.server.stop()
    d = await s.wait_disconnect()
    assert d.code == 3001
    watch.cancel()


async def test_stop_is_idempotent(start: Callable[..., Awaitable[Gyre]]) -> None:
    g = await start()
    g.grpc.set_not_serving()
    g.grpc.set_not_serving()
    assert await _check(g, "uni_grpc") == NOT_SERVING
    await g.grpc.stop(0)
    await g.grpc.stop(0)


# --- TLS ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes, bytes]:
    d = tmp_path_factory.mktemp("tls")
    cert_pem, key_pem = self_signed_pem()
    (d / "cert.pem").write_bytes(cert_pem)
    (d / "key.pem").write_bytes(key_pem)
    return d / "cert.pem", d / "key.pem", cert_pem, key_pem


async def test_tls_api_stream_and_uni(
    start: Callable[..., Awaitable[Gyre]], cert: tuple[Path, Path, bytes, bytes]
) -> None:
    cert_file, key_file, cert_pem, key_pem = cert
    g = await start(
        grpc_api_tls=True,
        grpc_api_tls_cert=str(cert_file),
        grpc_api_tls_key=str(key_file),
        grpc_stream_tls=True,
        grpc_stream_tls_cert=str(cert_file),
        grpc_stream_tls_key=str(key_file),
        uni_grpc_tls=True,
        uni_grpc_tls_cert_pem=cert_pem.decode(),
        uni_grpc_tls_key_pem=key_pem.decode(),
    )
    creds = grpc.ssl_channel_credentials(root_certificates=cert_pem)

    api = api_pb2_grpc.CentrifugoApiStub(g.channel("grpc_api", creds))
    resp = await api.Publish(api_pb2.PublishRequest(channel="t", data=b"1"))
    assert resp.result.offset == 1

    s = StreamClient(g.channel("grpc_stream", creds))
    res = await s.connect(token("tls"))
    assert res.client
    await s.subscribe("t")
    await api.Publish(api_pb2.PublishRequest(channel="t", data=b"2"))
    await s.wait_push(lambda p: p.HasField("pub"))
    await s.close()

    u = UniClient(
        g.channel("uni_grpc", creds), unistream_pb2.ConnectRequest(token=token("u", channels=["t"]))
    )
    assert (await u.wait(lambda p: True)).HasField("connect")
    await u.close()

    # plaintext clients cannot talk to the TLS listeners
    plain = api_pb2_grpc.CentrifugoApiStub(g.channel("grpc_api"))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await plain.Info(api_pb2.InfoRequest(), timeout=2)
    assert e.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    plain_stream = StreamClient(g.channel("grpc_stream"))
    await plain_stream.inbox.wait_end()
    assert plain_stream.status == grpc.StatusCode.UNAVAILABLE


async def test_general_tls_fallback_and_disable(
    start: Callable[..., Awaitable[Gyre]], cert: tuple[Path, Path, bytes, bytes]
) -> None:
    """``tls`` applies to gRPC listeners without their own TLS, unless ``*_tls_disable``."""
    cert_file, key_file, cert_pem, _ = cert
    g = await start(
        tls=True, tls_cert=str(cert_file), tls_key=str(key_file), grpc_api_tls_disable=True
    )
    creds = grpc.ssl_channel_credentials(root_certificates=cert_pem)
    api = api_pb2_grpc.CentrifugoApiStub(g.channel("grpc_api"))  # plaintext
    assert (await api.Info(api_pb2.InfoRequest())).result.nodes
    s = StreamClient(g.channel("grpc_stream", creds))
    assert (await s.connect(token("fb"))).client
    await s.close()
    health = health_pb2_grpc.HealthStub(g.channel("uni_grpc", creds))
    assert (await health.Check(health_pb2.HealthCheckRequest())).status == SERVING


async def test_mutual_tls(
    start: Callable[..., Awaitable[Gyre]], cert: tuple[Path, Path, bytes, bytes]
) -> None:
    cert_file, key_file, cert_pem, key_pem = cert
    g = await start(
        grpc_api_tls=True,
        grpc_api_tls_cert=str(cert_file),
        grpc_api_tls_key=str(key_file),
        grpc_api_tls_client_ca=str(cert_file),
    )
    anonymous = grpc.ssl_channel_credentials(root_certificates=cert_pem)
    api = api_pb2_grpc.CentrifugoApiStub(g.channel("grpc_api", anonymous))
    with pytest.raises(grpc.aio.AioRpcError):
        await api.Info(api_pb2.InfoRequest(), timeout=2)
    mutual = grpc.ssl_channel_credentials(
        root_certificates=cert_pem, private_key=key_pem, certificate_chain=cert_pem
    )
    api = api_pb2_grpc.CentrifugoApiStub(g.channel("grpc_api", mutual))
    assert (await api.Info(api_pb2.InfoRequest())).result.nodes
