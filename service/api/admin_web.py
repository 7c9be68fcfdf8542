"""The admin web UI's files, served at ``<admin prefix>/`` when ``admin`` is on.

Three sources, as in Centrifugo v4, the first configured one wins:

* ``admin_web_proxy_address``: every GET under the prefix is fetched from that address (a UI
  development server) and passed through;
* ``admin_web_path``: static files from that directory (``index.html`` at ``/``);
* otherwise the built-in UI shipped inside this package (``service/api/admin_web/``): the
  page at ``/``, its scripts, styles and icon at ``/static/<name>``.  See docs/admin_ui.md.

The built-in UI gets a strict Content-Security-Policy (only same-origin scripts, styles and
requests, no inline code, no framing); custom UIs get the anti-framing, ``nosniff`` and
referrer headers only, so that their own code keeps working.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiohttp
from aiohttp import web

log = logging.getLogger("gyre.admin")

BUILTIN_PACKAGE = "service.api"
BUILTIN_DIR = "admin_web"
INDEX = "index.html"

FRAMING_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
BUILTIN_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
BUILTIN_HEADERS = {
    **FRAMING_HEADERS,
    "Content-Security-Policy": BUILTIN_CSP,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
CUSTOM_HEADERS = {**FRAMING_HEADERS, "Content-Security-Policy": "frame-ancestors 'none'"}

CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
# The page tells the scripts whether admin_insecure is on (then they log in without a form).
INSECURE_MARK = (b'data-insecure="0"', b'data-insecure="1"')

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _asset(name: str, body: bytes) -> Asset:
    content_type = CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")
    return Asset(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def builtin_assets(*, insecure: bool = False) -> dict[str, Asset]:
    """The built-in UI's files by name (``index.html`` and the ``/static/`` names)."""
    root = resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_DIR)
    out: dict[str, Asset] = {}
    for entry in root.iterdir():
        if not entry.is_file() or Path(entry.name).suffix not in CONTENT_TYPES:
            continue
        body = entry.read_bytes()
        if entry.name == INDEX and insecure:
            body = body.replace(*INSECURE_MARK)
        out[entry.name] = _asset(entry.name, body)
    if INDEX not in out:
        raise RuntimeError(f"the built-in admin UI is missing its {INDEX}")
    return out


class AdminWeb:
    """GET handlers of the UI; ``routes(base)`` lists what to register."""

    def __init__(self, *, web_path: str = "", proxy_address: str = "", insecure: bool) -> None:
        self.proxy_address = proxy_address.rstrip("/")
        self.web_path = Path(web_path).resolve() if web_path and not proxy_address else None
        self.assets = (
            builtin_assets(insecure=insecure) if self.web_path is None and not proxy_address else {}
        )

    def routes(self, base: str) -> list[tuple[str, str, Handler]]:
        """``(method, path, handler)``; ``base`` is the prefix without a trailing slash.
        A catch-all (custom UI) must be registered after every other route of the app."""
        out: list[tuple[str, str, Handler]] = [("GET", f"{base}/", self.index)]
        if base:  # /ops -> /ops/: the page's relative URLs need the trailing slash
            out.append(("GET", base, self.to_index))
        if self.assets:
            out.append(("GET", f"{base}/static/{{name}}", self.static))
        else:
            out.append(("GET", f"{base}/{{path:.+}}", self.custom))
        return out

    async def to_index(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(request.path + "/", headers=FRAMING_HEADERS)

    async def index(self, request: web.Request) -> web.StreamResponse:
        if self.assets:
            return _serve(request, self.assets[INDEX], cache="no-store")
        return await self.custom(request)

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name", "")
        asset = self.assets.get(name) if name != INDEX else None
        if asset is None:
            return web.Response(status=404, headers=BUILTIN_HEADERS)
        return _serve(request, asset, cache="no-cache")

    async def custom(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("path", "")
        if self.proxy_address:
            return await self._proxy(request, name)
        assert self.web_path is not None
        target = find_file(self.web_path, name)
        if target is None:
            return web.Response(status=404, headers=CUSTOM_HEADERS)
        return web.FileResponse(target, headers=CUSTOM_HEADERS)

    async def _proxy(self, request: web.Request, name: str) -> web.StreamResponse:
        url = f"{self.proxy_address}/{name}"
        if request.query_string:
            url += "?" + request.query_string
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(url, allow_redirects=False) as upstream,
            ):
                body = await upstream.read()
                headers = dict(CUSTOM_HEADERS)
                for key in ("Content-Type", "Location", "Cache-Control", "ETag"):
                    if key in upstream.headers:
                        headers[key] = upstream.headers[key]
                return web.Response(status=upstream.status, body=body, headers=headers)
        except (aiohttp.ClientError, TimeoutError) as e:
            log.warning("admin_web_proxy_address %s: %s", url, e)
            return web.Response(status=502, headers=CUSTOM_HEADERS)


def find_file(root: Path, name: str) -> Path | None:
    """The file ``name`` (a URL path) names under the resolved directory ``root`` (its
    ``index.html`` for a directory), or None: outside ``root``, missing, or no possible
    file name (a NUL byte from ``/%00``, undecodable bytes), never an exception."""
    try:
        target = (root / name).resolve()
        if target.is_dir():
            target = target / INDEX
        if target.is_relative_to(root) and target.is_file():
            return target
    except (ValueError, OSError):
        pass
    return None


def _serve(request: web.Request, asset: Asset, *, cache: str) -> web.Response:
    headers = {**BUILTIN_HEADERS, "Cache-Control": cache, "ETag": asset.etag}
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=asset.body, content_type=asset.content_type, charset="utf-8", headers=headers
    )
