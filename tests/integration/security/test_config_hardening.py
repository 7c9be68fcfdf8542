"""Issue 13.3, 13.4, 13.6: mutual TLS, start-up warnings (ignored options, gRPC API without a
key), credential rotation on SIGHUP reload."""

from __future__ import annotations

import json
import logging
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from centrifugal.centrifugo.api import api_pb2, api_pb2_grpc

from service.config import ConfigError, load_config
from tests.integration.transports.harness import API_KEY, base_config, running

from .certs import Pki, make_pki


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    d = tmp_path / "pki"
    d.mkdir()
    return make_pki(d)


def client_ctx(pki: Pki, pair: Any = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if pair is not None:
        ctx.load_cert_chain(str(pair.cert), str(pair.key))
    return ctx


async def https_health(port: int, ctx: ssl.SSLContext) -> int:
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"https://127.0.0.1:{port}/health", ssl=ctx) as r,
    ):
        return r.status


# --- 13.4: tls_client_ca is acted on ----------------------------------------------------------


async def test_http_mutual_tls(tmp_path: Path, pki: Pki) -> None:
    tls = {
        "tls": True,
        "tls_cert": str(pki.server.cert),
        "tls_key": str(pki.server.key),
        "tls_client_ca": str(pki.ca),
        "health": True,
    }
    async with running(tmp_path, **tls) as h:
        assert await https_health(h.port, client_ctx(pki, pki.client)) == 200
        for pair in (None, pki.stranger):  # no certificate, or one the CA did not sign
            with pytest.raises(aiohttp.ClientError):
                await https_health(h.port, client_ctx(pki, pair))


async def test_http_mutual_tls_inline_pem(tmp_path: Path, pki: Pki) -> None:
    tls = {
        "tls": True,
        "tls_cert_pem": pki.server.cert.read_text(),
        "tls_key_pem": pki.server.key.read_text(),
        "tls_client_ca_pem": pki.ca.read_text(),
        "health": True,
    }
    async with running(tmp_path, **tls) as h:
        assert await https_health(h.port, client_ctx(pki, pki.client)) == 200
        with pytest.raises(aiohttp.ClientError):
            await https_health(h.port, client_ctx(pki))


async def test_grpc_listener_on_the_general_tls_requires_client_certs(
    tmp_path: Path, pki: Pki
) -> None:
    tls = {
        "tls": True,
        "tls_cert": str(pki.server.cert),
        "tls_key": str(pki.server.key),
        "tls_client_ca": str(pki.ca),
        "grpc_api": True,
        "grpc_api_port": 0,
        "grpc_api_key": "k",
    }
    async with running(tmp_path, **tls) as h:
        target = f"127.0.0.1:{h.server.ports['grpc_api']}"
        ca = pki.ca.read_bytes()
        meta = (("authorization", "apikey k"),)
        mutual = grpc.ssl_channel_credentials(
            root_certificates=ca,
            private_key=pki.client.key.read_bytes(),
            certificate_chain=pki.client.cert.read_bytes(),
        )
        async with grpc.aio.secure_channel(target, mutual) as ch:
            stub = api_pb2_grpc.CentrifugoApiStub(ch)
            assert (await stub.Info(api_pb2.InfoRequest(), metadata=meta, timeout=5)).result.nodes
        anonymous = grpc.ssl_channel_credentials(root_certificates=ca)
        async with grpc.aio.secure_channel(target, anonymous) as ch:
            stub = api_pb2_grpc.CentrifugoApiStub(ch)
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.Info(api_pb2.InfoRequest(), metadata=meta, timeout=2)


def test_tls_autocert_is_refused_not_ignored(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"tls_autocert": True, "tls_autocert_host_whitelist": "x.io"}))
    with pytest.raises(ConfigError, match="tls_autocert"):
        load_config(str(path), env={})


async def test_ignored_options_are_named_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gyre")
    async with running(tmp_path, client_concurrency=8, graphite=True, gomaxprocs=4):
        pass
    for option in ("client_concurrency", "graphite", "gomaxprocs"):
        assert any(
            r.levelno == logging.WARNING and r.getMessage().startswith(f"{option} is accepted")
            for r in caplog.records
        ), option


# --- 13.3: gRPC API without a key -------------------------------------------------------------


async def test_grpc_api_without_key_warns_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gyre")
    async with running(tmp_path, grpc_api=True, grpc_api_port=0):
        pass
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(line.startswith("INSECURE: grpc_api_key is empty") for line in lines), lines
    caplog.clear()
    async with running(tmp_path, grpc_api=True, grpc_api_port=0, grpc_api_key="set"):
        pass
    assert not any("grpc_api_key" in r.getMessage() for r in caplog.records)


# --- 13.6: SIGHUP rotates credentials ---------------------------------------------------------


async def api_status(h: Any, key: str) -> int:
    async with h.http.post(f"{h.base}/api/info", data=b"{}", headers={"X-API-Key": key}) as r:
        return int(r.status)


async def grpc_code(port: int, key: str) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = api_pb2_grpc.CentrifugoApiStub(ch)
        try:
            await stub.Info(api_pb2.InfoRequest(), metadata=(("authorization", f"apikey {key}"),))
        except grpc.aio.AioRpcError as e:
            return e.code()
        return grpc.StatusCode.OK


async def test_reload_rotates_credentials(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    creds = {
        "admin": True,
        "admin_password": "old-pass",
        "admin_secret": "old-secret",
        "grpc_api": True,
        "grpc_api_port": 0,
        "grpc_api_key": "old-grpc",
    }
    async with running(tmp_path, **creds) as h:
        gport = h.server.ports["grpc_api"]
        async with h.http.post(f"{h.base}/admin/auth", data={"password": "old-pass"}) as r:
            old_admin_token = (await r.json())["token"]
        assert await api_status(h, API_KEY) == 200
        assert await grpc_code(gport, "old-grpc") == grpc.StatusCode.OK

        path = tmp_path / "rotated.json"
        rotated = {
            **creds,
            "api_key": "new-api",
            "admin_password": "new-pass",
            "admin_secret": "new-secret",
            "grpc_api_key": "new-grpc",
            "client_channel_limit": 7,  # not reloadable: named as needing a restart
        }
        path.write_text(json.dumps(base_config(**rotated)))
        cfg, _ = load_config(str(path), env={})
        caplog.set_level(logging.INFO, logger="gyre")
        h.server.reload(cfg)

        assert await api_status(h, API_KEY) == 401
        assert await api_status(h, "new-api") == 200
        assert await grpc_code(gport, "old-grpc") == grpc.StatusCode.UNAUTHENTICATED
        assert await grpc_code(gport, "new-grpc") == grpc.StatusCode.OK
        for password, status in (("old-pass", 400), ("new-pass", 200)):
            async with h.http.post(f"{h.base}/admin/auth", data={"password": password}) as r:
                assert r.status == status
        async with h.http.post(
            f"{h.base}/admin/api",
            data=b'{"method":"info","params":{}}',
            headers={"Authorization": f"token {old_admin_token}"},
        ) as r:
            assert r.status == 401  # signed with the old admin_secret
        messages = [r.getMessage() for r in caplog.records]
        assert any(m.startswith("configuration reloaded") for m in messages)
        assert any(
            "need a restart" in m and "client_channel_limit" in m and "api_key" not in m
            for m in messages
        ), messages
        assert h.server.cfg.client_channel_limit == 128  # still the running value
        assert h.server.cfg.api_key == "new-api"
