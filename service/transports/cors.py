"""CORS for the HTTP-based client endpoints (docs/transports.md#common-rules): http_stream, sse,
emulation, uni_sse, uni_http_stream.

When the request's ``Origin`` passes ``allowed_origins`` (glob patterns; requests without
``Origin`` always pass) the response gets ``Access-Control-Allow-Origin: <request origin>``,
``Access-Control-Allow-Credentials: true`` and ``Access-Control-Allow-Headers`` echoing
``Access-Control-Request-Headers`` (when present and not ``null``) - Centrifugo v4's
``middleware.CORS``.  A failed check does not refuse the request: it is served without CORS
headers (the browser then hides the answer).  ``OPTIONS`` is answered 200 with no body on the
endpoints that accept it (http_stream, emulation, uni_http_stream).

The headers are computed once per request and stored under ``request[CORS_KEY]`` so
streaming handlers can put them on their response before preparing it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .origin import OriginChecker

# aiohttp >= 3.12 wants typed request keys; older releases take a plain string.
CORS_KEY: Any = (
    web.RequestKey("gyre.cors_headers", dict) if hasattr(web, "RequestKey") else "gyre.cors_headers"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Cors:
    """Computes CORS response headers and wraps handlers with them."""

    __slots__ = ("origins",)

    def __init__(self, origins: OriginChecker) -> None:
        self.origins = origins

    def headers(self, request: web.Request) -> dict[str, str]:
        origin = request.headers.get("Origin")
        if not origin or not self.origins.allowed(origin):
            return {}
        out = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
        }
        requested = request.headers.get("Access-Control-Request-Headers")
        if requested and requested != "null":
            out["Access-Control-Allow-Headers"] = requested
        return out

    def wrap(self, handler: Handler, *, options_ok: bool) -> Handler:
        """``handler`` with CORS headers; ``options_ok`` answers ``OPTIONS`` with 200."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            extra = self.headers(request)
            request[CORS_KEY] = extra
            if options_ok and request.method == "OPTIONS":
                return web.Response(status=200, headers=extra)
            resp = await handler(request)
            if extra and not resp.prepared:
                for k, v in extra.items():
                    resp.headers.setdefault(k, v)
            return resp

        return wrapped
