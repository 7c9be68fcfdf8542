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

import asyncio
import base64
import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .harness import running, token
from .wt_client import self_signed

REPO = Path(__file__).resolve().parents[3]
DIST = REPO / "tests" / "e2e" / "js" / "node_modules" / "centrifuge" / "dist"

PAGE = """<!doctype html><html><body><script src="{bundle}"></script><script>
const say = (what, obj) => console.log('GYRE ' + what + ' ' + JSON.stringify(obj || {{}}));
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


@pytest.fixture(scope="module")
def chromium() -> str:
    subprocess.run(["bash", str(REPO / "scripts" / "ensure_chromium.sh")], check=True)
    path = shutil.which("chromium")
    assert path, "chromium is not installed"
    assert (DIST / "centrifuge.js").is_file(), "npm packages are not installed"
    return path


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
        proc = await asyncio.create_subprocess_exec(
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--ignore-certificate-errors-spki-list={spki_hash(cert)}",
            f"--origin-to-force-quic-on=127.0.0.1:{h.port}",
            page.as_uri(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        seen: dict[str, Any] = {}
        tail: list[str] = []
        try:
            assert proc.stderr is not None
            deadline = time.monotonic() + 30
            while "DISCONNECTED" not in seen and time.monotonic() < deadline:
                try:
                    raw = await asyncio.wait_for(proc.stderr.readline(), 15)
                except TimeoutError:
                    break
                if not raw:
                    break
                line = raw.decode(errors="replace")
                if "dbus" not in line:
                    tail = [*tail[-30:], line.rstrip()]
                if '"GYRE ' not in line:
                    if "CONSOLE" in line:
                        tail.append(line)
                    continue
                msg = line.split('"GYRE ', 1)[1].rsplit('", source:', 1)[0]
                what, _, body = msg.partition(" ")
                seen[what] = json.loads(body.encode().decode("unicode_escape"))
                if what == "SUBSCRIBED":
                    await h.publish("news:browser", {"from": "api"})
                elif what == "PUB":
                    await h.api("disconnect", user="browser")
        finally:
            proc.kill()
            await proc.wait()
        assert "DISCONNECTED" in seen, f"{seen}\n" + "\n".join(tail)
        assert seen["CONNECTED"]["transport"] == "webtransport"
        assert seen["PUB"] == {"from": "api"}
        assert seen["DISCONNECTED"] == {"code": 3503, "reason": "force disconnect"}
