"""The one place where client commands become proxy requests and answers become outcomes.

Each ``call_*`` function builds the request of its type from the session and the command,
calls the proxy, and turns the answer into a small outcome the policy applies — or raises
``ReplyError`` / ``DisconnectError`` with the exact Centrifugo v4 code (docs/proxy.md):

* an ``error`` answer becomes that error reply, a ``disconnect`` answer that disconnect
  (connect, subscribe, publish, rpc); refresh and sub_refresh treat both as "expired";
* a failure (no valid answer) is error 100 for connect, subscribe, publish and rpc, and a
  60-second extension for refresh and sub_refresh;
* payloads: ``b64data`` / ``b64info`` win over ``data`` / ``info`` when set; a JSON ``null``
  counts as absent; bytes that a JSON client could not read (from base64 or from a gRPC
  backend) are a failure rather than a broken frame.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import Raw

from ..protocol import codes as c
from ..protocol import messages as m
from . import messages as pm
from .caller import Proxy
from .transport import ProxyFailure

if TYPE_CHECKING:
    from ..core.client import ClientSession

log = logging.getLogger("gyre.proxy")

#: How long a failed refresh or sub_refresh call extends the connection / subscription.
FAILURE_EXTENSION = 60

_json_check = msgspec.json.Decoder()


# --- outcomes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectGrant:
    """A connect proxy ``result``: credentials, the connect reply ``data``, server-side
    ``channels`` and connection ``meta``."""

    user: str
    expire_at: int
    info: bytes
    data: bytes
    channels: tuple[str, ...]
    meta: bytes


@dataclass(frozen=True, slots=True)
class RefreshGrant:
    """A refresh outcome that keeps the connection: new expiry, and info / meta when sent."""

    expire_at: int
    info: bytes | None = None
    meta: bytes | None = None


@dataclass(frozen=True, slots=True)
class SubscribeGrant:
    """A subscribe allowed: channel ``info``, subscribe reply ``data`` and option
    ``override`` (keys presence, join_leave, force_recovery, force_positioning,
    force_push_join_leave; only those the backend set)."""

    info: bytes = b""
    data: bytes = b""
    override: dict[str, bool] | None = None


@dataclass(frozen=True, slots=True)
class PublishGrant:
    """A publish allowed: ``data`` replaces the client's when not None."""

    data: bytes | None = None
    skip_history: bool = False


@dataclass(frozen=True, slots=True)
class SubRefreshGrant:
    """A sub_refresh outcome that keeps the subscription (``expire_at`` 0: never expires)."""

    expire_at: int
    info: bytes | None = None


# --- request building ---------------------------------------------------------------------


def _prefix(proxy: Proxy, client: ClientSession) -> dict[str, Any]:
    return {
        "client": client.id,
        "transport": client.transport.name,
        "protocol": client.transport.codec.name,
        "encoding": "binary" if proxy.settings.binary_encoding else "json",
    }


def _data_fields(proxy: Proxy, client: ClientSession, data: bytes) -> dict[str, Any]:
    """``data`` (raw JSON) or, with binary encoding, ``b64data``.  A protobuf client's payload
    that is not JSON cannot ride in a JSON body: error 107 (use binary encoding)."""
    if not data:
        return {}
    if proxy.settings.binary_encoding:
        return {"b64data": base64.b64encode(data).decode()}
    if client.transport.codec.binary and proxy.transport.protocol == "http":
        try:
            _json_check.decode(data)
        except msgspec.DecodeError:
            raise c.ReplyError(c.ERROR_BAD_REQUEST) from None
    return {"data": Raw(data)}


def _meta(proxy: Proxy, client: ClientSession) -> dict[str, Any]:
    """The connection's ``meta`` when ``include_connection_meta`` is on and it has one.  Meta
    that is not JSON (from a gRPC backend) cannot ride in an HTTP proxy's JSON body: left
    out, with a warning."""
    meta = client.meta
    if not (proxy.settings.include_connection_meta and meta):
        return {}
    if proxy.transport.protocol == "http":
        try:
            _json_check.decode(meta)
        except msgspec.DecodeError:
            log.warning(
                "proxy %s: connection meta of %s is not JSON, not sent",
                proxy.settings.name,
                client.id,
            )
            return {}
    return {"meta": Raw(meta)}


def _raw_bytes(raw: Raw) -> bytes | None:
    """Bytes of an optional raw field: None when absent or JSON ``null``."""
    value = bytes(raw)
    return value if value and value != b"null" else None


# --- answer reading -----------------------------------------------------------------------


def _payload(proxy: Proxy, client: ClientSession, raw: Raw, b64: str) -> bytes:
    """Bytes of a ``data``/``info`` pair; raises ProxyFailure when unusable."""
    if b64:
        try:
            value = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise ProxyFailure("invalid base64 in answer") from None
        checked = False
    else:
        value = bytes(raw)
        checked = proxy.transport.protocol == "http"  # decoded from JSON: valid JSON
    if value == b"null":
        return b""
    if value and not checked and not client.transport.codec.binary:
        try:
            _json_check.decode(value)
        except msgspec.DecodeError:
            raise ProxyFailure("payload is not JSON, but the client speaks JSON") from None
    return value


def _refuse(response: Any) -> None:
    """Raise the ``disconnect`` or ``error`` a backend answered with, if any."""
    d: pm.Disconnect | None = response.disconnect
    if d is not None:
        raise c.DisconnectError(c.disconnect_with_default_reason(d.code, d.reason))
    e: pm.Error | None = response.error
    if e is not None:
        raise c.ReplyError(c.ErrorCode(e.code, e.message, e.temporary))


async def _call_or_100(
    proxy: Proxy, kind: pm.Kind[pm.ReqT, pm.RespT], req: pm.ReqT, client: ClientSession
) -> pm.RespT:
    try:
        return await proxy.call(kind, req, client)
    except ProxyFailure:
        raise c.ReplyError(c.ERROR_INTERNAL) from None


# --- per proxy type -----------------------------------------------------------------------


async def call_connect(
    proxy: Proxy, client: ClientSession, req: m.ConnectRequest
) -> ConnectGrant | None:
    """Connect proxy for a connect without token; None when the answer has no ``result``."""
    request = pm.ConnectRequest(
        **_prefix(proxy, client),
        **_data_fields(proxy, client, bytes(req.data)),
        name=req.name,
        version=req.version,
        channels=list(req.subs),
    )
    resp = await _call_or_100(proxy, pm.CONNECT, request, client)
    _refuse(resp)
    r = resp.result
    if r is None:
        return None
    try:
        return ConnectGrant(
            user=r.user,
            expire_at=r.expire_at,
            info=_payload(proxy, client, r.info, r.b64info),
            data=_payload(proxy, client, r.data, r.b64data),
            channels=tuple(r.channels),
            meta=_raw_bytes(r.meta) or b"",
        )
    except ProxyFailure:
        raise c.ReplyError(c.ERROR_INTERNAL) from None


async def call_refresh(proxy: Proxy, client: ClientSession) -> RefreshGrant | None:
    """Refresh proxy at the connection's expiry; None = expired (3005)."""
    request = pm.RefreshRequest(**_prefix(proxy, client), user=client.user, **_meta(proxy, client))
    try:
        resp = await proxy.call(pm.REFRESH, request, client)
        r = resp.result
        if r is None or r.expired:
            return None
        info = _payload(proxy, client, r.info, r.b64info) if (r.info or r.b64info) else None
        meta = _raw_bytes(r.meta)
    except ProxyFailure:
        return RefreshGrant(expire_at=int(time.time()) + FAILURE_EXTENSION)
    return RefreshGrant(expire_at=r.expire_at, info=info, meta=meta)


_OVERRIDE_KEYS = (
    "presence",
    "join_leave",
    "force_recovery",
    "force_positioning",
    "force_push_join_leave",
)


async def call_subscribe(
    proxy: Proxy, client: ClientSession, req: m.SubscribeRequest
) -> SubscribeGrant:
    """Subscribe proxy; the namespace defaults apply to what the answer leaves unset."""
    request = pm.SubscribeRequest(
        **_prefix(proxy, client),
        user=client.user,
        channel=req.channel,
        token=req.token,
        **_meta(proxy, client),
        **_data_fields(proxy, client, bytes(req.data)),
    )
    resp = await _call_or_100(proxy, pm.SUBSCRIBE, request, client)
    _refuse(resp)
    r = resp.result
    if r is None:
        return SubscribeGrant()
    override: dict[str, bool] | None = None
    if r.override is not None:
        override = {}
        for key in _OVERRIDE_KEYS:
            v: pm.BoolValue | None = getattr(r.override, key)
            if v is not None:
                override[key] = v.value
    try:
        return SubscribeGrant(
            info=_payload(proxy, client, r.info, r.b64info),
            data=_payload(proxy, client, r.data, r.b64data),
            override=override,
        )
    except ProxyFailure:
        raise c.ReplyError(c.ERROR_INTERNAL) from None


async def call_publish(proxy: Proxy, client: ClientSession, req: m.PublishRequest) -> PublishGrant:
    """Publish proxy; the server publishes afterwards (possibly with replaced data)."""
    request = pm.PublishRequest(
        **_prefix(proxy, client),
        user=client.user,
        channel=req.channel,
        **_data_fields(proxy, client, bytes(req.data)),
        **_meta(proxy, client),
    )
    resp = await _call_or_100(proxy, pm.PUBLISH, request, client)
    _refuse(resp)
    r = resp.result
    if r is None:
        return PublishGrant()
    data: bytes | None = None
    if r.b64data:
        try:
            data = base64.b64decode(r.b64data, validate=True)
        except (binascii.Error, ValueError):
            raise c.ReplyError(c.ERROR_INTERNAL) from None
    else:
        data = _raw_bytes(r.data)
    return PublishGrant(data=data or None, skip_history=r.skip_history)


async def call_rpc(proxy: Proxy, client: ClientSession, req: m.RPCRequest) -> bytes:
    """RPC proxy; the ``data`` of the RPC reply."""
    request = pm.RPCRequest(
        **_prefix(proxy, client),
        user=client.user,
        method=req.method,
        **_data_fields(proxy, client, bytes(req.data)),
        **_meta(proxy, client),
    )
    resp = await _call_or_100(proxy, pm.RPC, request, client)
    _refuse(resp)
    r = resp.result
    if r is None:
        return b""
    try:
        return _payload(proxy, client, r.data, r.b64data)
    except ProxyFailure:
        raise c.ReplyError(c.ERROR_INTERNAL) from None


async def call_sub_refresh(
    proxy: Proxy, client: ClientSession, channel: str
) -> SubRefreshGrant | None:
    """Sub_refresh proxy at a subscription's expiry; None = expired (2501 / 3006)."""
    request = pm.SubRefreshRequest(
        **_prefix(proxy, client), user=client.user, channel=channel, **_meta(proxy, client)
    )
    try:
        resp = await proxy.call(pm.SUB_REFRESH, request, client)
        r = resp.result
        if r is None or r.expired:
            return None
        info = _payload(proxy, client, r.info, r.b64info) if (r.info or r.b64info) else None
    except ProxyFailure:
        return SubRefreshGrant(expire_at=int(time.time()) + FAILURE_EXTENSION)
    return SubRefreshGrant(expire_at=r.expire_at, info=info)
