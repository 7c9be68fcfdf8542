"""The admin UI's files and headers: built-in, ``admin_web_path``, ``admin_web_proxy_address``,
``admin_handler_prefix``, ``admin_insecure``; in-process servers on 127.0.0.1:0."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from aiohttp import web

from service.api.admin_web import BUILTIN_CSP, builtin_assets
from service.app import Server
from tests.redis_fixtures import free_port

from .conftest import Start

STRICT = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": BUILTIN_CSP,
}


def url(server: Server, path: str, port: str = "external") -> str:
    return f"http://127.0.0.1:{server.ports[port]}{path}"


async def test_builtin_page_and_assets_with_strict_headers(start: Start) -> None:
    srv = await start(admin_external=True)
    async with aiohttp.ClientSession() as s:
        async with s.get(url(srv, "/")) as r:
            page = await r.text()
            assert r.status == 200 and r.content_type == "text/html"
            for key, value in STRICT.items():
                assert r.headers[key] == value, key
            assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]
            assert r.headers["Cache-Control"] == "no-store"
            assert 'data-insecure="0"' in page and "<script>" not in page and "style=" not in page
        names = sorted(builtin_assets())
        assert {"index.html", "main.js", "admin.css", "favicon.svg"} <= set(names)
        for name in names:
            if name == "index.html":
                continue
            async with s.get(url(srv, f"/static/{name}")) as r:
                assert r.status == 200, name
                assert r.headers["Content-Security-Policy"] == BUILTIN_CSP
                etag = r.headers["ETag"]
                expected = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
                assert r.content_type == expected[name.rsplit(".", 1)[1]]
            async with s.get(url(srv, f"/static/{name}"), headers={"If-None-Match": etag}) as r:
                assert r.status == 304
        for missing in ("/static/nope.js", "/static/index.html", "/static/..%2Fadmin.py"):
            async with s.get(url(srv, missing)) as r:
                assert r.status == 404, missing


async def test_every_static_reference_of_the_page_is_served(start: Start) -> None:
    """Scripts import each other by relative name: all of them must exist."""
    srv = await start(admin_external=True)
    assets = builtin_assets()
    refs = set(re.findall(r'(?:src|href)="static/([^"]+)"', assets["index.html"].body.decode()))
    for name, asset in assets.items():
        if name.endswith(".js"):
            refs |= set(re.findall(r'from "\./([^"]+)"', asset.body.decode()))
    assert refs and refs <= set(assets), refs - set(assets)
    async with aiohttp.ClientSession() as s:
        for name in refs:
            async with s.get(url(srv, f"/static/{name}")) as r:
                assert r.status == 200, name


async def test_ui_follows_internal_port_and_prefix(start: Start) -> None:
    internal = free_port()
    srv = await start(
        internal_port=internal, internal_address="127.0.0.1", admin_handler_prefix="/ops"
    )
    async with aiohttp.ClientSession() as s:
        async with s.get(url(srv, "/ops/")) as r:
            assert r.status == 404  # not on the client port without admin_external
        async with s.get(f"http://127.0.0.1:{internal}/ops/") as r:
            assert r.status == 200 and "Gyre admin" in await r.text()
        async with s.get(f"http://127.0.0.1:{internal}/ops", allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/ops/"
        async with s.get(f"http://127.0.0.1:{internal}/ops/static/main.js") as r:
            assert r.status == 200
        async with s.post(
            f"http://127.0.0.1:{internal}/ops/admin/auth", data={"password": "pw"}
        ) as r:
            assert r.status == 200 and r.headers["Cache-Control"] == "no-store"


async def test_insecure_page_logs_in_by_itself(start: Start) -> None:
    srv = await start(admin_external=True, admin_insecure=True)
    async with aiohttp.ClientSession() as s, s.get(url(srv, "/")) as r:
        assert 'data-insecure="1"' in await r.text()


async def test_custom_web_path_replaces_the_builtin_ui(start: Start, tmp_path: Path) -> None:
    web_dir = tmp_path / "ui"
    (web_dir / "sub").mkdir(parents=True)
    (web_dir / "index.html").write_text("<p>custom</p>")
    (web_dir / "app.js").write_text("console.log(1)")
    (web_dir / "sub" / "index.html").write_text("<p>sub</p>")
    (tmp_path / "secret.txt").write_text("no")
    srv = await start(admin_external=True, admin_web_path=str(web_dir))
    async with aiohttp.ClientSession() as s:
        async with s.get(url(srv, "/")) as r:
            assert await r.text() == "<p>custom</p>"
            assert r.headers["X-Frame-Options"] == "DENY"
            assert r.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
        async with s.get(url(srv, "/app.js")) as r:
            assert r.status == 200 and await r.text() == "console.log(1)"
        async with s.get(url(srv, "/sub/")) as r:
            assert await r.text() == "<p>sub</p>"
        async with s.get(url(srv, "/static/main.js")) as r:
            assert r.status == 404  # the built-in UI is not served
        async with s.get(url(srv, "/..%2Fsecret.txt")) as r:
            assert r.status == 404
        async with s.post(url(srv, "/admin/auth"), data={"password": "pw"}) as r:
            assert r.status == 200  # the catch-all does not shadow the endpoints


async def test_proxy_address_passes_the_ui_through(start: Start) -> None:
    seen: list[str] = []

    async def upstream(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        if request.path == "/missing":
            return web.Response(status=404)
        return web.Response(text=f"dev {request.path}", content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", upstream)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        srv = await start(admin_external=True, admin_web_proxy_address=f"http://127.0.0.1:{port}")
        async with aiohttp.ClientSession() as s:
            async with s.get(url(srv, "/")) as r:
                assert await r.text() == "dev /" and r.headers["X-Frame-Options"] == "DENY"
            async with s.get(url(srv, "/js/app.js?v=2")) as r:
                assert await r.text() == "dev /js/app.js"
            async with s.get(url(srv, "/missing")) as r:
                assert r.status == 404
        assert seen == ["/", "/js/app.js?v=2", "/missing"]
    finally:
        await runner.cleanup()
    async with aiohttp.ClientSession() as s, s.get(url(srv, "/")) as r:
        assert r.status == 502  # the development server is gone
