"""Admin endpoints (docs/server_api.md#admin): ``POST /admin/auth``, ``POST /admin/api``, the web
UI at ``/``.

``/admin/auth`` takes the form field ``password`` (= ``admin_password``) and returns
``{"token": ...}``: an opaque token ``<unix time>.<HMAC-SHA256(admin_secret, time)>``, valid
for ``TOKEN_TTL``.  ``/admin/api`` accepts the same bodies as ``POST /api`` (v4 shape) with
``Authorization: token <token>`` or ``?token=``.  ``admin_insecure`` skips both checks
(token ``"insecure"``).  Without ``admin_password`` and ``admin_secret`` nobody can log in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from pathlib import Path

from aiohttp import web

from .http import ApiHandler

log = logging.getLogger("gyre.admin")

TOKEN_TTL = 7 * 24 * 3600

_PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>Gyre admin</title></head>
<body><h1>Gyre admin</h1>
<form id="login"><input type="password" name="password" placeholder="admin password">
<button>log in</button></form>
<pre id="out"></pre>
<script>
let token = "";
const out = document.getElementById("out");
document.getElementById("login").onsubmit = async (e) => {
  e.preventDefault();
  const r = await fetch("admin/auth", {method: "POST", body: new FormData(e.target)});
  if (!r.ok) { out.textContent = "login failed: " + r.status; return; }
  token = (await r.json()).token;
  const info = await fetch("admin/api", {method: "POST",
    headers: {Authorization: "token " + token}, body: '{"method":"info","params":{}}'});
  out.textContent = JSON.stringify(await info.json(), null, 2);
};
</script></body></html>
"""


class AdminHandler:
    """aiohttp handlers of the admin endpoints."""

    def __init__(
        self,
        api: ApiHandler,
        *,
        password: str,
        secret: str,
        insecure: bool,
        web_path: str = "",
    ) -> None:
        self.api = api  # an ApiHandler whose own key check is off (admin tokens gate it)
        self.password = password
        self.secret = secret
        self.insecure = insecure
        self.web_path = Path(web_path) if web_path else None

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
        if not ts.isdigit() or time.time() - int(ts) > TOKEN_TTL:
            return False
        want = hmac.new(self.secret.encode(), ts.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(sig, want)

    async def handle_auth(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return web.Response(status=405)
        if self.insecure:
            return web.json_response({"token": "insecure"})
        form = await request.post()
        given = str(form.get("password", ""))
        if not self.password or not self.secret:
            log.error("admin login refused: admin_password and admin_secret must be set")
            return web.Response(status=400, text="Bad Request")
        if not given or not hmac.compare_digest(given.encode(), self.password.encode()):
            return web.Response(status=400, text="Bad Request")
        return web.json_response({"token": self.issue_token()})

    async def handle_api(self, request: web.Request) -> web.StreamResponse:
        token = ""
        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "token":
            token = value.strip()
        token = token or request.query.get("token", "")
        if not self.valid_token(token):
            return web.Response(status=401)
        return await self.api.handle_v4(request)

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self.web_path is not None:
            name = request.match_info.get("path", "") or "index.html"
            target = (self.web_path / name).resolve()
            if not target.is_relative_to(self.web_path.resolve()) or not target.is_file():
                return web.Response(status=404)
            return web.FileResponse(target)
        return web.Response(body=_PAGE, content_type="text/html")
