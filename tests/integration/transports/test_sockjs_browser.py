"""centrifuge-js 5.8 with sockjs-client 1.6 in headless Chromium, one SockJS transport at a
time, including the ones only a browser runs (eventsource, jsonp-polling and the iframe-*
variants, whose iframe page loads sockjs-client from ``sockjs_url``).

The page comes from a second local HTTP server (another origin, as an app's page would), so
the cross-origin rules are the real ones.  Steps: connect, subscribe, publish from the
client and receive it, then a server API disconnect whose code the SDK must report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from .browser import NODE_MODULES, SAY, chromium_path, run_page
from .harness import running, token

PAGE = (
    """<!doctype html><html><body>
<script src="/sockjs.min.js"></script><script src="/centrifuge.js"></script><script>
"""
    + SAY
    + """
const c = new Centrifuge([{transport: 'sockjs', endpoint: '%(endpoint)s'}], {
  token: '%(token)s', sockjs: SockJS, sockjsOptions: {transports: ['%(transport)s']},
});
c.on('connected', (ctx) => {
  say('CONNECTED', ctx);
  const sub = c.newSubscription('news:sockjs');
  sub.on('subscribed', () => { say('SUBSCRIBED'); sub.publish({from: 'client'}); });
  sub.on('publication', (p) => say('PUB', p.data));
  sub.subscribe();
});
c.on('disconnected', (ctx) => say('DISCONNECTED', ctx));
c.on('error', (ctx) => say('ERROR', {message: String(ctx.error && ctx.error.message)}));
c.connect();
</script></body></html>"""
)

TRANSPORTS = [
    "websocket",
    "xhr-streaming",
    "xhr-polling",
    "eventsource",
    "jsonp-polling",
    "iframe-eventsource",
    "iframe-htmlfile",
    "iframe-xhr-polling",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_path()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sockjs_transport_in_chromium(chromium: str, tmp_path: Path, transport: str) -> None:
    files = {
        "/sockjs.min.js": NODE_MODULES / "sockjs-client" / "dist" / "sockjs.min.js",
        "/centrifuge.js": NODE_MODULES / "centrifuge" / "dist" / "centrifuge.js",
    }
    page: dict[str, str] = {}

    async def static(request: web.Request) -> web.StreamResponse:
        if request.path == "/page.html":
            return web.Response(text=page["html"], content_type="text/html")
        return web.FileResponse(files[request.path])

    app = web.Application()
    app.router.add_get("/{name}", static)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    origin_port = runner.addresses[0][1]
    try:
        async with running(
            tmp_path,
            sockjs=True,
            sockjs_url=f"http://127.0.0.1:{origin_port}/sockjs.min.js",
            allowed_origins=[f"http://127.0.0.1:{origin_port}"],
        ) as h:
            page["html"] = PAGE % {
                "endpoint": f"{h.base}/connection/sockjs",
                "token": token("sj"),
                "transport": transport,
            }

            async def on_event(what: str, body: Any) -> None:
                if what == "PUB":
                    await h.api("disconnect", user="sj")

            seen, tail = await run_page(
                chromium,
                f"http://127.0.0.1:{origin_port}/page.html",
                tmp_path / "profile",
                on_event,
                lambda seen: "DISCONNECTED" in seen,
            )
    finally:
        await runner.cleanup()
    assert "DISCONNECTED" in seen, f"{seen}\n" + "\n".join(tail)
    assert seen["CONNECTED"]["transport"] == f"sockjs-{transport}"
    assert seen["PUB"] == {"from": "client"}
    assert seen["DISCONNECTED"] == {"code": 3503, "reason": "force disconnect"}
