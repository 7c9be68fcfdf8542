"""HTTP server API (docs/server_api.md): ``POST /api`` (v4 shape) and ``POST /api/<method>`` (v5).

Auth unless ``api_insecure``: ``Authorization: apikey KEY`` (scheme case-insensitive),
``?api_key=KEY`` or ``X-API-Key: KEY``; compared in constant time.  Wrong or missing key, or
no key configured → 401 with an empty body.  Without a key check (``api_insecure``, and the
admin's own handler), a browser request from a page of another origin → 403
(``cross_site.py``).  Domain errors travel inside a 200 response.
``GET /api/openapi.json`` (same key) serves the OpenAPI 3.1 document of these routes.
A body that is not UTF-8, or does not decode, is a 400.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from ..protocol import codes as c
from . import messages as a
from .credentials import secret_equal
from .cross_site import cross_site, forbidden
from .executor import BATCH_SLICE, METHOD_NUMBERS, PRO_METHODS, Executor, batch_turn
from .openapi import openapi_json
from .publishing import NO_POSITION

log = logging.getLogger("gyre.api")

_encoder = msgspec.json.Encoder()
_ERR_NOT_FOUND = a.Error(
    code=c.ERROR_METHOD_NOT_FOUND.code, message=c.ERROR_METHOD_NOT_FOUND.message
)
_ERR_BAD_REQUEST = a.Error(code=c.ERROR_BAD_REQUEST.code, message=c.ERROR_BAD_REQUEST.message)


class V4Command(msgspec.Struct):
    method: str | int = ""
    params: msgspec.Raw = msgspec.Raw(b"{}")
    id: int = 0


class V4Reply(msgspec.Struct, omit_defaults=True):
    id: int = 0
    error: a.Error | None = None
    result: msgspec.Raw | None = None


_NO_POSITION_REPLY = b'{"result":{}}'
"""The v4 reply to a publish without history and without an ``id``."""

# RecursionError: JSON nested deeper than the interpreter's recursion limit (→ 400, not 500)
_UNDECODABLE = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


class ApiHandler:
    """aiohttp handlers bound to one executor; ``key`` may be swapped on reload."""

    def __init__(
        self,
        executor: Executor,
        *,
        api_key: str,
        insecure: bool,
        is_shutting_down: Callable[[], bool],
    ) -> None:
        self.executor = executor
        self.api_key = api_key
        self.insecure = insecure
        self.is_shutting_down = is_shutting_down

    def authorized(self, request: web.Request) -> bool:
        if self.insecure:
            return True
        key = self.api_key
        if not key:
            return False
        given = ""
        auth = request.headers.get("Authorization", "")
        if auth:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() == "apikey":
                given = value.strip()
        if not given:
            given = request.headers.get("X-API-Key", "") or request.query.get("api_key", "")
        return bool(given) and secret_equal(given, key)

    async def _run(self, method: str, params: bytes | msgspec.Raw) -> msgspec.Struct | a.Error:
        m = self.executor.methods.get(method)
        if m is None:
            return _ERR_NOT_FOUND
        req = decode_body(params, m.request)
        if req is None:
            return _ERR_BAD_REQUEST
        return await self.executor.call(method, req, "http")

    async def _run_all(
        self, commands: Sequence[tuple[str, bytes | msgspec.Raw]]
    ) -> list[msgspec.Struct | a.Error]:
        """``_run`` of each (method, params) in order, letting other work run every
        ``BATCH_SLICE`` commands (``batch_turn``).  Consecutive ``publish`` commands go to
        ``Executor.publish`` as one call, which answers exactly what single publishes would;
        a burst into one channel then makes one hub pass, and reaches each subscriber as one
        chunk (docs/performance.md "Bursts")."""
        out: list[msgspec.Struct | a.Error] = []
        run: list[a.PublishRequest] = []
        for i, (method, params) in enumerate(commands):
            if run and not i % BATCH_SLICE:
                out.extend(await self.executor.publish(run, "http"))
                run = []
            await batch_turn(i)
            if method == "publish":
                req = decode_body(params, a.PublishRequest)
                if req is not None:
                    run.append(req)
                    continue
            if run:
                out.extend(await self.executor.publish(run, "http"))
                run = []
            out.append(await self._run(method, params))
        if run:
            out.extend(await self.executor.publish(run, "http"))
        return out

    def _precheck(self, request: web.Request) -> web.Response | None:
        if request.method != "POST":
            return web.Response(status=405)
        if self.is_shutting_down():
            return web.Response(status=503)
        if self.insecure and cross_site(request):  # with a key, a page cannot forge it
            return forbidden()
        if not self.authorized(request):
            return web.Response(status=401)
        return None

    def openapi_handler(
        self, prefix: str
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """``GET <prefix>/openapi.json``: the OpenAPI 3.1 document of these routes.

        It needs the API key like every route under the prefix (a deliberate choice: a server
        on a public port does not tell who it is to anyone; the same document is public in the
        repository as docs/openapi.json). Generated once, here.
        """
        body = openapi_json(prefix)

        async def handle(request: web.Request) -> web.StreamResponse:
            if not self.authorized(request):
                return web.Response(status=401)
            return web.Response(body=body, content_type="application/json")

        return handle

    async def handle_v4(self, request: web.Request) -> web.StreamResponse:
        """``POST /api``: one or more ``{"method","params"}`` JSON documents."""
        early = self._precheck(request)
        if early is not None:
            return early
        body = await _read_json_body(request)
        if body is None:
            return web.Response(status=400, text="Bad Request")
        decoded = decode_v4_body(body)
        if decoded is None:
            return web.Response(status=400, text="Bad Request")
        names = [_method_name(cmd.method) for cmd in decoded]
        known = names.index(None) if None in names else len(names)  # commands run before a 400
        pairs = zip(names[:known], decoded[:known], strict=True)
        results = await self._run_all([(name or "", cmd.params) for name, cmd in pairs])
        if known < len(names):
            return web.Response(status=400, text="Bad Request")
        replies: list[bytes] = []
        for cmd, res in zip(decoded, results, strict=True):
            if res is NO_POSITION and not cmd.id:  # a publish without history: 0.2 us less
                replies.append(_NO_POSITION_REPLY)
                continue
            if isinstance(res, a.Error):
                reply = V4Reply(id=cmd.id, error=res)
            else:
                reply = V4Reply(id=cmd.id, result=msgspec.Raw(_encoder.encode(res)))
            replies.append(_encoder.encode(reply))
        return web.Response(body=b"\n".join(replies), content_type="application/json")

    async def handle_method(self, request: web.Request) -> web.StreamResponse:
        """``POST /api/<method>`` (v5 shape) and ``/api/batch``."""
        method = request.match_info.get("method", "")
        if method != "batch" and method not in self.executor.methods:
            return web.Response(status=404)
        early = self._precheck(request)
        if early is not None:
            return early
        body = await _read_json_body(request)
        if body is None:
            return web.Response(status=400, text="Bad Request")
        if method == "batch":
            return await self._batch(body)
        req = decode_body(body, self.executor.methods[method].request)
        if req is None:
            return web.Response(status=400, text="Bad Request")
        res = await self.executor.call(method, req, "http")
        out = V5Response(error=res) if isinstance(res, a.Error) else V5Response(result=res)
        return web.Response(body=_encoder.encode(out), content_type="application/json")

    async def _batch(self, body: bytes) -> web.StreamResponse:
        batch = decode_body(body, BatchBody)
        if batch is None:
            return web.Response(status=400, text="Bad Request")
        found: list[tuple[str, bytes | msgspec.Raw]] = []
        for cmd in batch.commands:
            method = next((key for key in cmd if key in self.executor.methods), "")
            found.append((method, cmd[method] if method else b""))
        results = await self._run_all(found)  # an unknown method ("") answers 104
        replies: list[bytes] = []
        for (method, _params), res in zip(found, results, strict=True):
            if isinstance(res, a.Error):
                replies.append(_encoder.encode({"error": res}))
            else:
                replies.append(_encoder.encode({method: res}))
        body_out = b'{"replies":[' + b",".join(replies) + b"]}"
        return web.Response(body=body_out, content_type="application/json")


class V5Response(msgspec.Struct, omit_defaults=True):
    error: a.Error | None = None
    result: msgspec.Struct | None = None


class BatchBody(msgspec.Struct):
    commands: list[dict[str, msgspec.Raw]] = []


async def _read_json_body(request: web.Request) -> bytes | None:
    """The request body, or None when it is not UTF-8 (see ``utf8``)."""
    return utf8(await request.read())


# --- body parsing (pure functions: the fuzz targets of tests/fuzz call them) ---------------


def utf8(body: bytes) -> bytes | None:
    """``body``, or None when it is not UTF-8 (RFC 8259): ``data`` and ``info`` are kept as raw
    JSON and sent to JSON clients as they are, so their encoding is checked here, once, where
    they enter."""
    if not body.isascii():
        try:
            body.decode()
        except UnicodeDecodeError:
            return None
    return body


S = TypeVar("S", bound=msgspec.Struct)


_decoders: dict[type, msgspec.json.Decoder[Any]] = {}


def decode_body(body: bytes | msgspec.Raw, typ: type[S]) -> S | None:
    """``body`` (``{}`` when empty) as ``typ``; None when it does not decode (answer 400)."""
    decoder = _decoders.get(typ)
    if decoder is None:  # one Decoder per type: 0.2 us less per command than json.decode
        decoder = _decoders[typ] = msgspec.json.Decoder(typ)
    try:
        out: S = decoder.decode(body or b"{}")
    except _UNDECODABLE:
        return None
    return out


_v4_decoder = msgspec.json.Decoder(V4Command)


def decode_v4_body(body: bytes) -> list[V4Command] | None:
    """The ``{"method","params"}`` documents of a ``POST /api`` body (one per line, or
    concatenated as Centrifugo's streaming decoder takes them), or None when there is none or
    one does not decode (answer 400)."""
    try:
        return _v4_decoder.decode_lines(body) or None
    except _UNDECODABLE:
        return None


def _method_name(method: str | int) -> str | None:
    """Map a v4 method (name, case-insensitive, or enum number) to an executor method name."""
    if isinstance(method, int):
        if method in METHOD_NUMBERS:
            return METHOD_NUMBERS[method]
        if method in PRO_METHODS:
            return PRO_METHODS[method]
        return None
    name = method.lower()
    return name if name in _METHOD_NAMES else None


_METHOD_NAMES = frozenset(METHOD_NUMBERS.values()) | frozenset(PRO_METHODS.values())
