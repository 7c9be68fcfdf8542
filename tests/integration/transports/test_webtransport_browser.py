"""centrifuge-js 5.8 over WebTransport in headless Chromium (Debian ``chromium``).

The page (a ``file://`` page, which Chromium treats as a secure context) loads the SDK's
browser bundle from ``tests/e2e/js/node_modules`` and connects to the HTTP/3 listener with a
throwaway ECDSA certificate that Chromium accepts through
``--ignore-certificate-errors-spki-list``.  The page reports through ``console.log``, which
``--enable-logging=stderr`` prints; the test answers each step: after ``SUBSCRIBED`` it
publishes through the server API, after ``PUB`` it disconnects the user, and the page must
report the disconnect code.  JSON and Protobuf builds.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .browser import NODE_MODULES, SAY, chromium_path, run_page
from .harness import running, token
from .wt_client import self_signed

DIST = NODE_MODULES / "centrifuge" / "dist"

PAGE = (
    """<!doctype html><html><body><script src="{bundle}"></script><script>
"""
    + SAY.replace("{", "{{").replace("}", "}}")
    + """
const dec = (d) => (d instanceof Uint8Array) ? JSON.parse(new TextDecoder().decode(d)) : d;
const c = new Centrifuge([{{transport: 'webtransport', endpoint: '{endpoint}'}}],
                         {{token: '{token}', protocol: '{protocol}'}});
c.on('connected', (ctx) => {{
  say('CONNECTED', ctx);
  const sub = c.newSubscription('{channel}');
  sub.on('subscribed', () => say('SUBSCRIBED'));
  sub.on('publication', (p) => say('PUB', dec(p.data)));
  sub.subscribe();
}});
c.on('disconnected', (ctx) => say('DISCONNECTED', ctx));
c.on('connecting', (ctx) => say('CONNECTING', ctx));
c.on('error', (ctx) => say('ERROR', {{message: String(ctx.error && ctx.error.message)}}));
c.connect();
</script></body></html>"""
)


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_path()


def spki_hash(cert: Path) -> str:
    c = x509.load_pem_x509_certificate(cert.read_bytes())
    der = c.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.mark.parametrize("protocol", ["json", "protobuf"])
async def test_centrifuge_js_webtransport_in_chromium(
    chromium: str, tmp_path: Path, protocol: str
) -> None:
    cert, key = self_signed(tmp_path)
    cfg: dict[str, Any] = {
        "tls": True,
        "tls_cert": str(cert),
        "tls_key": str(key),
        "http3": True,
        "webtransport": True,
        "allowed_origins": ["*"],  # a file:// page sends Origin: null
    }
    async with running(tmp_path, **cfg) as h:
        bundle = DIST / ("centrifuge.protobuf.js" if protocol == "protobuf" else "centrifuge.js")
        page = tmp_path / "page.html"
        page.write_text(
            PAGE.format(
                bundle=bundle.as_uri(),
                endpoint=f"https://127.0.0.1:{h.port}/connection/webtransport",
                token=token("browser"),
                protocol=protocol,
                channel="news:browser",
            )
        )

        async def on_event(what: str, body: Any) -> None:
            if what == "SUBSCRIBED":
                await h.publish("news:browser", {"from": "api"})
            elif what == "PUB":
                await h.api("disconnect", user="browser")

        seen, tail = await run_page(
            chromium,
            page.as_uri(),
            tmp_path / "profile",
            on_event,
            lambda seen: "DISCONNECTED" in seen,
            flags=(
                f"--ignore-certificate-errors-spki-list={spki_hash(cert)}",
                f"--origin-to-force-quic-on=127.0.0.1:{h.port}",
            ),
        )
        assert "DISCONNECTED" in seen, f"{seen}\n" + "\n".join(tail)
        assert seen["CONNECTED"]["transport"] == "webtransport"
        assert seen["PUB"] == {"from": "api"}
        assert seen["DISCONNECTED"] == {"code": 3503, "reason": "force disconnect"}
