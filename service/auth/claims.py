"""Typed reading of JWT claims with Go ``encoding/json`` acceptance rules.

Centrifugo decodes claims into Go structs, so a claim of the wrong JSON type makes the whole
token invalid, while JSON ``null`` means "absent" for most claims. Every reader here raises
:class:`TokenInvalid` on a wrong type. Base64 claims are only type-checked here; they are
decoded after the signature and time checks (see :mod:`service.auth.build`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from service.auth.errors import TokenExpired, TokenInvalid
from service.auth.models import SubscribeOverride

# Go json.Number grammar (a NumericDate may be a JSON number or a string holding one).
_JSON_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_OVERRIDE_KEYS = (
    "presence",
    "join_leave",
    "force_push_join_leave",
    "force_recovery",
    "force_positioning",
)


def opt_str(claims: dict[str, Any], name: str) -> str:
    """A string claim; absent or null → ``""``."""
    value = claims.get(name)
    if value is None:
        return ""
    if type(value) is not str:
        raise TokenInvalid(f"{name} claim must be a string")
    return value


def opt_numeric_date(claims: dict[str, Any], name: str) -> int | float | None:
    """An RFC 7519 NumericDate (number, or string holding a JSON number); absent/null → None."""
    value = claims.get(name)
    if value is None:
        return None
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is float:
        if not math.isfinite(value):
            raise TokenInvalid(f"{name} claim out of range")
        return value  # type: ignore[no-any-return]
    if kind is str and _JSON_NUMBER_RE.fullmatch(value) is not None:
        number = float(value)
        if not math.isfinite(number):
            raise TokenInvalid(f"{name} claim out of range")
        return number
    raise TokenInvalid(f"{name} claim must be a number")


def opt_int64(claims: dict[str, Any], name: str) -> int | None:
    """An int64 claim (integral JSON number only, like Go ``*int64``); absent/null → None."""
    value = claims.get(name)
    if value is None:
        return None
    if type(value) is not int or not _INT64_MIN <= value <= _INT64_MAX:
        raise TokenInvalid(f"{name} claim must be an int64")
    return value


def audience(claims: dict[str, Any]) -> tuple[str, ...]:
    """The ``aud`` claim as a tuple: a string or an array of strings; absent → ``()``.

    JSON ``null`` is rejected like cristalhq/jwt's ``Audience.UnmarshalJSON`` does.
    """
    if "aud" not in claims:
        return ()
    value = claims["aud"]
    if type(value) is str:
        return (value,)
    if type(value) is list and all(type(item) is str for item in value):
        return tuple(value)
    raise TokenInvalid("aud claim must be a string or an array of strings")


def raw_json(claims: dict[str, Any], name: str) -> bytes:
    """Compact JSON text of a claim of any type (null → ``b"null"``); absent → ``b""``."""
    if name not in claims:
        return b""
    try:
        return orjson.dumps(claims[name])
    except TypeError as exc:  # e.g. an integer beyond 64 bits
        raise TokenInvalid(f"{name} claim can not be represented: {exc}") from None


def str_list(claims: dict[str, Any], name: str) -> tuple[str, ...]:
    """An array of strings; absent/null → ``()``; null items become ``""`` (Go semantics)."""
    value = claims.get(name)
    if value is None:
        return ()
    if type(value) is not list:
        raise TokenInvalid(f"{name} claim must be an array of strings")
    out: list[str] = []
    for item in value:
        if item is None:
            out.append("")
        elif type(item) is str:
            out.append(item)
        else:
            raise TokenInvalid(f"{name} claim must be an array of strings")
    return tuple(out)


def override(claims: dict[str, Any]) -> SubscribeOverride | None:
    """The ``override`` object: each known key ``{"value": bool}``; absent/null → None.

    A present key with an object value overrides (a missing or null ``value`` means False, as in
    Go); a null key does not override; unknown keys are ignored.
    """
    value = claims.get("override")
    if value is None:
        return None
    if type(value) is not dict:
        raise TokenInvalid("override claim must be an object")
    found: dict[str, bool] = {}
    for key in _OVERRIDE_KEYS:
        item = value.get(key)
        if item is None:
            continue
        if type(item) is not dict:
            raise TokenInvalid(f"override.{key} must be an object")
        flag = item.get("value")
        if flag is None:
            flag = False
        elif type(flag) is not bool:
            raise TokenInvalid(f"override.{key}.value must be a boolean")
        found[key] = flag
    return SubscribeOverride(**found)


@dataclass(slots=True)  # not frozen: frozen __init__ is 2x slower (hot path); read-only
class StandardClaims:
    """Claims shared by connection and subscription tokens."""

    sub: str
    iss: str
    aud: tuple[str, ...]
    exp: int | float | None
    nbf: int | float | None
    expire_at: int | None

    def check_times(self, now: float) -> None:
        """Raise TokenExpired unless ``exp > now`` and ``nbf < now`` (absent = ok, no leeway)."""
        if self.exp is not None and not self.exp > now:
            raise TokenExpired("token expired")
        if self.nbf is not None and not self.nbf < now:
            raise TokenExpired("token not valid yet (nbf)")

    def effective_expire_at(self) -> int:
        """``expire_at`` if present (``<= 0`` → 0), else ``floor(exp)``, else 0 (never)."""
        if self.expire_at is not None:
            return self.expire_at if self.expire_at > 0 else 0
        if self.exp is not None:
            return math.floor(self.exp)
        return 0


def standard_claims(claims: dict[str, Any]) -> StandardClaims:
    """Read and type-check the registered claims plus ``expire_at``.

    ``iat`` and ``jti`` are type-checked but otherwise unused (not checked in Centrifugo OSS).
    """
    opt_str(claims, "jti")
    opt_numeric_date(claims, "iat")
    return StandardClaims(
        sub=opt_str(claims, "sub"),
        iss=opt_str(claims, "iss"),
        aud=audience(claims),
        exp=opt_numeric_date(claims, "exp"),
        nbf=opt_numeric_date(claims, "nbf"),
        expire_at=opt_int64(claims, "expire_at"),
    )
