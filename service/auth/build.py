"""Connection / subscription claim sets: type-checking, then building the verified result.

Two phases mirror Centrifugo: ``decode_*`` runs right after parsing (a wrong claim type →
TokenInvalid even for an expired token); ``build_*`` runs after the signature and time checks
and decodes the base64 claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.auth import claims as c
from service.auth.b64 import b64std_decode
from service.auth.errors import TokenInvalid
from service.auth.models import (
    ConnectToken,
    ServerSideSubscribeOptions,
    SubscribeOverride,
    SubscribeToken,
)


@dataclass(slots=True)  # not frozen: frozen __init__ is 2x slower (hot path); read-only
class OptionClaims:
    """``info``/``b64info``/``data``/``b64data``/``override`` (a ``subs`` entry or a sub token)."""

    info: bytes
    b64info: str
    data: bytes
    b64data: str
    override: SubscribeOverride | None

    def resolve(self) -> tuple[bytes, bytes]:
        """(info, data) with non-empty ``b64*`` winning; TokenInvalid on bad base64."""
        info, data = self.info, self.data
        try:
            if self.b64info:
                info = b64std_decode(self.b64info)
            if self.b64data:
                data = b64std_decode(self.b64data)
        except ValueError:
            raise TokenInvalid("bad base64 in b64info/b64data") from None
        return info, data


_EMPTY_OPTIONS = OptionClaims(b"", "", b"", "", None)


def option_claims(obj: dict[str, Any]) -> OptionClaims:
    """Type-check the subscribe option claims of ``obj``."""
    return OptionClaims(
        info=c.raw_json(obj, "info"),
        b64info=c.opt_str(obj, "b64info"),
        data=c.raw_json(obj, "data"),
        b64data=c.opt_str(obj, "b64data"),
        override=c.override(obj),
    )


@dataclass(slots=True)  # not frozen: frozen __init__ is 2x slower (hot path); read-only
class ConnectClaims:
    """Type-checked connection token claims."""

    std: c.StandardClaims
    channel: str
    info: bytes
    b64info: str
    channels: tuple[str, ...]
    subs: dict[str, OptionClaims]
    meta: bytes


def decode_connect_claims(claims: dict[str, Any]) -> ConnectClaims:
    """Type-check a connection token's claims (TokenInvalid on a wrong type)."""
    raw_subs = claims.get("subs")
    subs: dict[str, OptionClaims] = {}
    if raw_subs is not None:
        if type(raw_subs) is not dict:
            raise TokenInvalid("subs claim must be an object")
        for channel, entry in raw_subs.items():
            if entry is None:
                subs[channel] = _EMPTY_OPTIONS
            elif type(entry) is dict:
                subs[channel] = option_claims(entry)
            else:
                raise TokenInvalid("subs entries must be objects")
    return ConnectClaims(
        std=c.standard_claims(claims),
        channel=c.opt_str(claims, "channel"),
        info=c.raw_json(claims, "info"),
        b64info=c.opt_str(claims, "b64info"),
        channels=c.str_list(claims, "channels"),
        subs=subs,
        meta=c.raw_json(claims, "meta"),
    )


def build_connect_token(cc: ConnectClaims, payload: dict[str, Any]) -> ConnectToken:
    """Decode base64 claims; bad base64 in ``subs`` → TokenInvalid, at top level → flag."""
    subs: dict[str, ServerSideSubscribeOptions] = {}
    for channel, opts in cc.subs.items():
        info, data = opts.resolve()
        subs[channel] = ServerSideSubscribeOptions(info=info, data=data, override=opts.override)
    info = cc.info
    b64info_error = False
    if cc.b64info:
        try:
            info = b64std_decode(cc.b64info)
        except ValueError:
            info, b64info_error = b"", True
    return ConnectToken(
        user_id=cc.std.sub,
        expire_at=cc.std.effective_expire_at(),
        info=info,
        b64info_error=b64info_error,
        channels=cc.channels,
        subs=subs,
        meta=cc.meta,
        payload=payload,
    )


@dataclass(slots=True)  # not frozen: frozen __init__ is 2x slower (hot path); read-only
class SubscribeClaims:
    """Type-checked subscription token claims."""

    std: c.StandardClaims
    channel: str
    client: str
    options: OptionClaims


def decode_subscribe_claims(claims: dict[str, Any]) -> SubscribeClaims:
    """Type-check a subscription token's claims (TokenInvalid on a wrong type)."""
    return SubscribeClaims(
        std=c.standard_claims(claims),
        channel=c.opt_str(claims, "channel"),
        client=c.opt_str(claims, "client"),
        options=option_claims(claims),
    )


def build_subscribe_token(sc: SubscribeClaims, payload: dict[str, Any]) -> SubscribeToken:
    """Require ``channel`` and decode base64 claims (TokenInvalid on failure)."""
    if not sc.channel:
        raise TokenInvalid("channel claim is required for subscription JWT")
    info, data = sc.options.resolve()
    return SubscribeToken(
        user_id=sc.std.sub,
        channel=sc.channel,
        client=sc.client,
        expire_at=sc.std.effective_expire_at(),
        info=info,
        data=data,
        override=sc.options.override,
        payload=payload,
    )
