"""Issue 13.7: malformed credentials are a 400/401, never a 500 with a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.transports.harness import running

from .rawhttp import raw_status

ADMIN = {
    "admin": True,
    "admin_password": "admin-pass",
    "admin_secret": "admin-secret",
}


@pytest.mark.parametrize(
    "header",
    [b"X-API-Key: \xff", b"Authorization: apikey \xff\xfe", b"X-API-Key: \xc3\xa9"],
    ids=["x-api-key-ff", "authorization-fffe", "x-api-key-utf8"],
)
async def test_api_key_bytes(
    tmp_path: Path, header: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(tmp_path) as h:
        for path in (b"/api", b"/api/publish"):
            head = b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n" + header
            status, _ = await raw_status(h.port, head, b"{}")
            assert status == 401
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    "tok",
    [
        "{now}.\u00e9",
        "\u00b2.x",
        "{now}.\u00e9\u00e9",
        "\u0661\u0662.x",
        "{now}",
        "1" * 5000 + ".x",
    ],
    ids=["non-ascii-sig", "superscript-ts", "two-non-ascii", "arabic-digits", "no-sig", "huge-ts"],
)
async def test_admin_token_bytes(
    tmp_path: Path, tok: str, caplog: pytest.LogCaptureFixture
) -> None:
    value = tok.format(now=int(time.time())).encode()
    async with running(tmp_path, **ADMIN) as h:
        head = b"POST /admin/api HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        status, _ = await raw_status(h.port, head + b"Authorization: token " + value, b"{}")
        assert status == 401
    assert "Traceback" not in caplog.text


async def test_admin_password_bytes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with running(tmp_path, **ADMIN) as h:
        body = b"password=%FF%FE"
        head = (
            b"POST /admin/auth HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: " + str(len(body)).encode()
        )
        status, _ = await raw_status(h.port, head, body)
        assert status == 400
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("path", [b"/%00", b"/a%00b", b"/%ff", b"/..%2f..%2fetc%2fpasswd"])
async def test_admin_web_path_bad_names(
    tmp_path: Path, path: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<p>ui</p>")
    async with running(tmp_path, admin_web_path=str(web), **ADMIN) as h:
        status, _ = await raw_status(h.port, b"GET " + path + b" HTTP/1.1\r\nHost: x")
        assert status == 404
        status, body = await raw_status(h.port, b"GET /index.html HTTP/1.1\r\nHost: x")
        assert status == 200 and body == b"<p>ui</p>"
    assert "Traceback" not in caplog.text
