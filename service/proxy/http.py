"""HTTP proxy adapter: ``POST <endpoint>`` with the request as JSON (docs/proxy.md#2-http-proxies).

The backend must answer ``200`` with a JSON object ``{"result": ...}``, ``{"error": ...}`` or
``{"disconnect": ...}`` (or ``{}``: no result).  Anything else is a :class:`ProxyFailure`.
A member that is ``null`` counts as absent, as it does for Centrifugo v4 (Go's
``encoding/json``): backends that write ``"channels": null`` for an empty list must work.

Every endpoint of one backend (scheme, host and port) shares one keep-alive
``aiohttp.ClientSession`` with a bounded connection pool (:func:`new_session`): calls beyond
the pool size wait for a free connection instead of opening more, so a connect storm reuses
a few warm connections.  Sessions are created at start-up and closed at shutdown by
``service.proxy.pool.Connections``.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

import aiohttp
import msgspec

from .messages import Kind, ReqT, RespT
from .transport import ProxyFailure

_encode = msgspec.json.Encoder().encode
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}
# no session-wide timeout: every call carries its own (one timer per call, not two)
_NO_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None)


def _decoder(t: type[RespT]) -> msgspec.json.Decoder[RespT]:
    d = _decoders.get(t)
    if d is None:
        d = _decoders[t] = msgspec.json.Decoder(t)
    return d


_NULL = b"null"
_raw_object = msgspec.json.Decoder(dict[str, msgspec.Raw])
_raw_array = msgspec.json.Decoder(list[msgspec.Raw])


def _struct_of(t: Any) -> Any:
    """``X`` of an optional Struct field ``X | None`` (else ``t`` itself)."""
    args = [a for a in typing.get_args(t) if a is not type(None)]
    return args[0] if len(args) == 1 and typing.get_origin(t) is not list else t


def _without_nulls(raw: bytes, t: Any) -> bytes:
    """``raw`` (JSON of type ``t``) with the ``null`` members of its objects left out, down
    through nested Structs, lists and maps of Structs; payloads (``Raw`` fields) and scalar
    values are kept byte for byte.  Input that does not fit ``t`` is returned unchanged (the
    typed decoder then refuses it)."""
    t = _struct_of(t)
    origin = typing.get_origin(t)
    try:
        if isinstance(t, type) and issubclass(t, msgspec.Struct):
            types = {f.encode_name: f.type for f in msgspec.structs.fields(t)}
            members = _raw_object.decode(raw)
            kept = [
                _encode(k) + b":" + _without_nulls(bytes(v), types[k])
                for k, v in members.items()
                if k in types and bytes(v) != _NULL
            ]
            return b"{" + b",".join(kept) + b"}"
        if origin is list:
            items = _raw_array.decode(raw)
            (item,) = typing.get_args(t)
            return b"[" + b",".join(_without_nulls(bytes(v), item) for v in items) + b"]"
        if origin is dict:
            _, value = typing.get_args(t)
            entries = _raw_object.decode(raw)
            kept = [_encode(k) + b":" + _without_nulls(bytes(v), value) for k, v in entries.items()]
            return b"{" + b",".join(kept) + b"}"
    except msgspec.DecodeError:
        pass
    return raw


def decode_response(kind: Kind[ReqT, RespT], body: bytes) -> RespT:
    """A backend's answer as ``kind.response``; raises ProxyFailure when it is not one.

    The plain typed decode is tried first (the fast path); only a body it refuses is read
    again with its ``null`` members left out."""
    decoder = _decoder(kind.response)
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as e:
        error: Exception = e
    except msgspec.DecodeError as e:
        raise ProxyFailure(f"invalid response body: {e}") from None
    stripped = b"{}" if body.strip() == _NULL else _without_nulls(body, kind.response)
    try:
        return decoder.decode(stripped)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise ProxyFailure(f"invalid response body: {error}") from None


def new_session(pool_size: int) -> aiohttp.ClientSession:
    """A keep-alive session that never holds more than ``pool_size`` connections.

    No cookie jar (a backend's ``Set-Cookie`` must not leak into other clients' calls), no
    ``Accept-Encoding`` (answers come uncompressed).
    Must be called with a running event loop.
    """
    connector = aiohttp.TCPConnector(
        limit=pool_size, limit_per_host=pool_size, keepalive_timeout=30.0, ttl_dns_cache=60
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=_NO_TIMEOUT,
        raise_for_status=False,
        # no compressed answers: small JSON bodies cost more to inflate than to carry
        skip_auto_headers=("Accept-Encoding",),
    )


class HttpTransport:
    """``ProxyTransport`` for one ``http://`` / ``https://`` endpoint."""

    __slots__ = ("_timeouts", "session", "url")

    protocol = "http"

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    async def call(
        self,
        kind: Kind[ReqT, RespT],
        request: ReqT,
        headers: Mapping[str, str],
        timeout: float,
    ) -> RespT:
        t = self._timeouts.get(timeout)
        if t is None:
            t = self._timeouts[timeout] = aiohttp.ClientTimeout(total=timeout)
        hdrs = dict(headers)
        hdrs["Content-Type"] = "application/json"
        try:
            async with self.session.post(
                self.url, data=_encode(request), headers=hdrs, timeout=t
            ) as resp:
                body = await resp.read()
                status = resp.status
        except TimeoutError:
            raise ProxyFailure(f"no answer within {timeout:g}s") from None
        except (aiohttp.ClientError, OSError, ValueError) as e:
            raise ProxyFailure(f"{type(e).__name__}: {e}") from None
        if status != 200:
            raise ProxyFailure(f"HTTP status {status}")
        return decode_response(kind, body)
