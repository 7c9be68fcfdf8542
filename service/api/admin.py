"""Admin endpoints (Centrifugo v4's, kept compatible, docs/server_api.md#admin):
``POST /admin/auth``, ``POST /admin/api``, the web UI at ``/``; beyond v4, ``POST
/admin/stream`` (``admin_stream.py``).

``/admin/auth`` takes the form field ``password`` (= ``admin_password``) and returns
``{"token": ...}``: an opaque token ``<unix time>.<HMAC-SHA256(admin_secret, time)>``, valid
for ``TOKEN_TTL``; a wrong password gets 400.  ``/admin/api`` accepts the same bodies as
``POST /api`` (v4 shape) with ``Authorization: token <token>`` or ``?token=``; no valid token
gets 401.  ``admin_insecure`` skips both checks (token ``"insecure"``).  Without
``admin_password`` and ``admin_secret`` nobody can log in.  The UI (``admin_web.py``) is
described in docs/admin_ui.md.
Login attempts are throttled per client address (429) and their bodies need a
``Content-Length`` of at most ``AUTH_BODY_LIMIT`` bytes (411/413), checked before anything
is read.  Browser requests from a page of another origin get 403 on every admin endpoint
(``cross_site.py``): with ``admin_insecure`` any web site could otherwise act through an
operator's browser.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from aiohttp import web

from .admin_stream import AdminStreamHandler
from .admin_web import AdminWeb, Handler
from .credentials import secret_equal
from .cross_site import cross_site, forbidden
from .http import ApiHandler
from .throttle import KeyedRateLimit

log = logging.getLogger("gyre.admin")

TOKEN_TTL = 7 * 24 * 3600
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
AUTH_BODY_LIMIT = 4096
"""``/admin/auth`` bodies (a password form) larger than this are refused (413) unread."""
AUTH_RATE = 1 / 6
AUTH_BURST = 10
"""Login attempts per client address: 10 at once, then one every 6 s (429 beyond)."""


class AdminHandler:
    """aiohttp handlers of the admin endpoints; ``routes(prefix)`` lists them."""

    def __init__(
        self,
        api: ApiHandler,
        *,
        password: str,
        secret: str,
        insecure: bool,
        web_path: str = "",
        web_proxy_address: str = "",
    ) -> None:
        self.api = api  # an ApiHandler whose own key check is off (admin tokens gate it)
        self.password = password
        self.secret = secret
        self.insecure = insecure
        self.web = AdminWeb(web_path=web_path, proxy_address=web_proxy_address, insecure=insecure)
        executor = api.executor
        self.stream = AdminStreamHandler(executor.node, executor.policy, authorized=self.authorized)
        self.attempts = KeyedRateLimit(rate=AUTH_RATE, burst=AUTH_BURST)

    def routes(self, prefix: str) -> list[tuple[str, str, Handler]]:
        """``(method, path, handler)`` under ``admin_handler_prefix``; register them after
        the app's other routes (a custom UI adds a catch-all)."""
        base = prefix.rstrip("/")
        return [
            ("*", f"{base}/admin/auth", self.handle_auth),
            ("*", f"{base}/admin/api", self.handle_api),
            ("*", f"{base}/admin/stream", self.stream.handle),
            *self.web.routes(base),
        ]

    def issue_token(self, now: float | None = None) -> str:
        ts = str(int(time.time() if now is None else now))
        sig = hmac.new(self.secret.encode(), ts.encode(), hashlib.sha256).hexdigest()
        return f"{ts}.{sig}"

    def valid_token(self, token: str) -> bool:
        if self.insecure:
            return True
        if not self.secret or "." not in token:
            return False
        ts, _, sig = token.partition(".")
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses; and few of
        # them: int() refuses more than 4300 digits (a unix time has 10)
        if not (ts.isascii() and ts.isdigit() and len(ts) <= 20):
            return False
        if time.time() - int(ts) > TOKEN_TTL:
            return False
        want = hmac.new(self.secret.encode(), ts.encode(), hashlib.sha256).hexdigest()
        return secret_equal(sig, want)

    def authorized(self, request: web.Request, *, query: bool = False) -> bool:
        """A valid token in ``Authorization: token <t>`` (or ``?token=`` when ``query``)."""
        token = ""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "token":
            token = value.strip()
        if not token and query:
            token = request.query.get("token", "")
        return self.valid_token(token)

    async def handle_auth(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return web.Response(status=405)
        if cross_site(request):
            return forbidden()
        if self.insecure:
            return web.json_response({"token": "insecure"}, headers=_NO_STORE)
        # before anything is read or compared: a throttled, size-limited body
        if not self.attempts.allow(request.remote or ""):
            return web.Response(status=429, text="Too Many Requests", headers=_NO_STORE)
        if request.content_length is None:
            return web.Response(status=411, text="Length Required", headers=_NO_STORE)
        if request.content_length > AUTH_BODY_LIMIT:
            return web.Response(status=413, text="Payload Too Large", headers=_NO_STORE)
        form = await request.post()  # reads Content-Length bytes, no more
        given = str(form.get("password", ""))
        if not self.password or not self.secret:
            log.error("admin login refused: admin_password and admin_secret must be set")
            return web.Response(status=400, text="Bad Request", headers=_NO_STORE)
        if not given or not secret_equal(given, self.password):
            log.warning("admin login failed from %s: wrong password", request.remote)
            return web.Response(status=400, text="Bad Request", headers=_NO_STORE)
        return web.json_response({"token": self.issue_token()}, headers=_NO_STORE)

    async def handle_api(self, request: web.Request) -> web.StreamResponse:
        if not self.authorized(request, query=True):
            return web.Response(status=401)
        return await self.api.handle_v4(request)
