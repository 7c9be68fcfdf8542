"""Issue 13.8: /emulation vs unidirectional sessions, channel_max_length at connect,
/admin/auth limits, Redis URL passwords in errors."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from service.app import start_server
from service.config import ConfigError, load_config
from tests.integration.transports.harness import running, token

from .rawhttp import raw_status
from .wsclients import JsonWS

ADMIN = {"admin": True, "admin_password": "admin-pass", "admin_secret": "admin-secret"}


async def test_emulation_never_feeds_a_unidirectional_session(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        q = urlencode({"cf_connect": json.dumps({"token": token("victim")})})
        async with h.http.get(f"{h.base}/connection/uni_sse?{q}") as stream:
            line = b""
            while not line.startswith(b"data: {"):
                line = await stream.content.readline()
            connect = json.loads(line[6:])["connect"]
            assert connect["session"]  # sent to the client, so not a secret
            body = {
                "session": connect["session"],
                "node": h.node_id,
                "data": json.dumps({"id": 1, "subscribe": {"channel": "news:injected"}}),
            }
            async with h.http.post(f"{h.base}/emulation", data=json.dumps(body)) as r:
                assert r.status == 204  # an unknown session, as v4: dropped
            channels = (await h.api("channels"))["result"]["channels"]
            assert "news:injected" not in channels


async def test_channel_max_length_applies_to_connect_subs(tmp_path: Path) -> None:
    async with running(tmp_path, channel_max_length=20) as h:
        long_ch, short_ch = "news:" + "x" * 40, "news:ok"
        js = await JsonWS.open(h.http, h.base)
        reply = await js.command(
            connect={"token": token("alice"), "subs": {long_ch: {}, short_ch: {}}}
        )
        assert set(reply["connect"]["subs"]) == {short_ch}
        reply = await js.command(subscribe={"channel": long_ch})  # the same rule as subscribe
        assert reply["error"]["code"] == 107


async def test_admin_auth_body_limit(tmp_path: Path) -> None:
    async with running(tmp_path, **ADMIN) as h:
        big = b"password=" + b"x" * (1 << 20)
        head = b"POST /admin/auth HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(big)
        head += b"Content-Type: application/x-www-form-urlencoded"
        status, _ = await raw_status(h.port, head, big)
        assert status == 413
        head = b"POST /admin/auth HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
        status, _ = await raw_status(h.port, head, b"5\r\npassw\r\n0\r\n\r\n")
        assert status == 411
        async with h.http.post(f"{h.base}/admin/auth", data={"password": "admin-pass"}) as r:
            assert r.status == 200 and (await r.json())["token"]


async def test_admin_auth_rate_limited_per_address(tmp_path: Path) -> None:
    async with running(tmp_path, **ADMIN) as h:
        statuses = []
        for _ in range(12):
            async with h.http.post(f"{h.base}/admin/auth", data={"password": "guess"}) as r:
                statuses.append(r.status)
        assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429]
        # the right password is refused too while throttled: no oracle
        async with h.http.post(f"{h.base}/admin/auth", data={"password": "admin-pass"}) as r:
            assert r.status == 429


@pytest.mark.parametrize(
    "address",
    [
        "http://user:hunter2@127.0.0.1:6379",
        "redis://user:hunter2@127.0.0.1:notaport",
        "unix://user:hunter2@",
        "redis://user:hunter2@127.0.0.1:6379/notadb",
    ],
)
async def test_redis_address_errors_hide_the_password(tmp_path: Path, address: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"engine": "redis", "redis_address": [address], "port": 0}))
    cfg, _ = load_config(str(path), env={})
    with pytest.raises(ConfigError) as err:
        await start_server(cfg)
    assert "hunter2" not in str(err.value) and "***" in str(err.value)
