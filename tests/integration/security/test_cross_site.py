"""A web page of another site cannot act on the server API or admin endpoints through its
visitor's browser (service/api/cross_site.py).

With ``api_insecure`` / ``admin_insecure`` nothing but the network guards these endpoints, and
any page can make a browser POST a JSON body to them (a ``text/plain`` form, a ``no-cors``
fetch).  The headers below are what Chromium sends for such a page at
``http://127.0.0.2:8080`` (checked with the real browser); a backend sends neither.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.transports.harness import API_KEY, Harness, running

INSECURE = {"api_insecure": True, "admin": True, "admin_insecure": True}
CHROME_CROSS_SITE = {"Origin": "http://127.0.0.2:8080", "Sec-Fetch-Site": "cross-site"}
CHROME_SAME_SITE = {"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-site"}
OLD_BROWSER = {"Origin": "http://127.0.0.2:8080"}
NULL_ORIGIN = {"Origin": "null"}


def publish_body(path: str, text: str) -> str:
    params = {"channel": "news:x", "data": {"text": text}}
    if path == "/api/publish":
        return json.dumps(params)
    return json.dumps({"method": "publish", "params": params})


async def history(h: Harness) -> list[Any]:
    body = await h.api("history", channel="news:x", limit=-1)
    return [p["data"]["text"] for p in body["result"].get("publications", [])]


@pytest.mark.parametrize(
    "headers",
    [CHROME_CROSS_SITE, CHROME_SAME_SITE, OLD_BROWSER, NULL_ORIGIN],
    ids=["cross-site", "same-site", "origin-only", "null-origin"],
)
async def test_cross_site_posts_are_refused(tmp_path: Path, headers: dict[str, str]) -> None:
    async with running(tmp_path, **INSECURE) as h:
        for path in ("/api", "/api/publish", "/admin/api"):
            async with h.http.post(
                h.base + path,
                data=publish_body(path, path),
                headers={**headers, "Content-Type": "text/plain"},
            ) as r:
                assert r.status == 403, path
        for path, body in (("/admin/auth", "password="), ("/admin/stream", '{"channel":"x"}')):
            async with h.http.post(h.base + path, data=body, headers=headers) as r:
                assert r.status == 403, path
        assert await history(h) == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "http://{host}"},
    ],
    ids=["backend", "same-origin", "typed-address", "old-browser-same-origin"],
)
async def test_backends_and_same_origin_pages_are_served(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    async with running(tmp_path, **INSECURE) as h:
        host = f"127.0.0.1:{h.port}"
        sent = {k: v.format(host=host) for k, v in headers.items()}
        for path in ("/api", "/api/publish", "/admin/api"):
            async with h.http.post(h.base + path, data=publish_body(path, path), headers=sent) as r:
                assert r.status == 200, path
        async with h.http.post(h.base + "/admin/auth", data="password=", headers=sent) as r:
            assert r.status == 200 and (await r.json())["token"] == "insecure"
        assert await history(h) == ["/api", "/api/publish", "/admin/api"]


async def test_api_calls_with_the_key_are_served_from_anywhere(tmp_path: Path) -> None:
    """A page cannot forge the API key, so with one the HTTP API keeps serving requests whatever
    their origin (e.g. relayed by a proxy that copies browser headers), as before."""
    async with running(tmp_path) as h:
        async with h.http.post(
            h.base + "/api/publish",
            data=publish_body("/api/publish", "keyed"),
            headers={**CHROME_CROSS_SITE, "X-API-Key": API_KEY},
        ) as r:
            assert r.status == 200
        assert await history(h) == ["keyed"]
