"""Claim semantics of connection and subscription tokens (docs/configuration.md#tokens)."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from service.auth import (
    ServerSideSubscribeOptions,
    SubscribeOverride,
    TokenExpired,
    TokenInvalid,
    TokenKeys,
    TokenVerifier,
)

from .tokens import SECRET, b64std, sign

VERIFIER = TokenVerifier(TokenKeys(hmac_secret_key=SECRET))


def now() -> int:
    return int(time.time())


async def connect(claims: Any, verifier: TokenVerifier = VERIFIER) -> Any:
    return await verifier.verify_connect(sign(claims))


async def subscribe(claims: Any, verifier: TokenVerifier = VERIFIER) -> Any:
    return await verifier.verify_subscribe(sign(claims))


# --- time checks -------------------------------------------------------------------------------


async def test_expired_token() -> None:
    with pytest.raises(TokenExpired):
        await connect({"sub": "1", "exp": now() - 1})
    with pytest.raises(TokenExpired):
        await subscribe({"sub": "1", "channel": "ch", "exp": now() - 1})


async def test_exp_equal_to_now_is_expired_no_leeway() -> None:
    with pytest.raises(TokenExpired):
        await connect({"sub": "1", "exp": time.time()})


async def test_nbf_in_future_is_expired() -> None:
    with pytest.raises(TokenExpired):
        await connect({"sub": "1", "nbf": now() + 30})
    with pytest.raises(TokenExpired):
        await subscribe({"sub": "1", "channel": "ch", "nbf": now() + 30})
    assert (await connect({"sub": "1", "nbf": now() - 1})).user_id == "1"


async def test_exp_as_float_and_numeric_string() -> None:
    exp = now() + 60.75
    assert (await connect({"sub": "1", "exp": exp})).expire_at == math.floor(exp)
    exp_int = now() + 60
    assert (await connect({"sub": "1", "exp": str(exp_int)})).expire_at == exp_int


@pytest.mark.parametrize("exp", ["soon", True, [1], {"a": 1}, "", "1e999"])
async def test_non_numeric_exp_is_invalid(exp: object) -> None:
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1", "exp": exp})


async def test_bad_signature_wins_over_expiry() -> None:
    with pytest.raises(TokenInvalid):
        await VERIFIER.verify_connect(sign({"sub": "1", "exp": now() - 10}, key="wrong"))


async def test_wrong_claim_type_wins_over_expiry() -> None:
    with pytest.raises(TokenInvalid):
        await connect({"sub": 5, "exp": now() - 10})


# --- expire_at ---------------------------------------------------------------------------------


async def test_expire_at_semantics() -> None:
    exp = now() + 3600
    assert (await connect({"sub": "1"})).expire_at == 0
    assert (await connect({"sub": "1", "exp": exp})).expire_at == exp
    assert (await connect({"sub": "1", "exp": exp, "expire_at": 0})).expire_at == 0
    assert (await connect({"sub": "1", "exp": exp, "expire_at": -5})).expire_at == 0
    assert (await connect({"sub": "1", "exp": exp, "expire_at": exp + 99})).expire_at == exp + 99
    assert (await connect({"sub": "1", "expire_at": 123})).expire_at == 123
    assert (await connect({"sub": "1", "exp": exp, "expire_at": None})).expire_at == exp
    sub = await subscribe({"sub": "1", "channel": "c", "exp": exp, "expire_at": 0})
    assert sub.expire_at == 0
    assert (await subscribe({"sub": "1", "channel": "c", "exp": exp})).expire_at == exp


async def test_expire_at_does_not_replace_exp_validation() -> None:
    with pytest.raises(TokenExpired):
        await connect({"sub": "1", "exp": now() - 1, "expire_at": now() + 100})


@pytest.mark.parametrize("value", [1.5, "100", True, 2**63])
async def test_expire_at_must_be_int64(value: object) -> None:
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1", "expire_at": value})


# --- audience / issuer -------------------------------------------------------------------------


async def test_audience_exact() -> None:
    verifier = TokenVerifier(TokenKeys(hmac_secret_key=SECRET, audience="app"))
    assert (await connect({"sub": "1", "aud": "app"}, verifier)).user_id == "1"
    assert (await connect({"sub": "1", "aud": ["x", "app"]}, verifier)).user_id == "1"
    for aud in ("other", ["x", "y"], [], None):
        claims: dict[str, Any] = {"sub": "1"} if aud is None else {"sub": "1", "aud": aud}
        with pytest.raises(TokenInvalid):
            await connect(claims, verifier)
    with pytest.raises(TokenInvalid):
        await subscribe({"sub": "1", "channel": "c", "aud": "other"}, verifier)


async def test_audience_ignored_when_not_configured() -> None:
    assert (await connect({"sub": "1", "aud": ["whatever"]})).user_id == "1"


@pytest.mark.parametrize("aud", [5, [1], None, {"a": "b"}])
async def test_audience_wrong_type_is_invalid(aud: object) -> None:
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1", "aud": aud})


async def test_audience_regex() -> None:
    verifier = TokenVerifier(TokenKeys(hmac_secret_key=SECRET, audience_regex=r"^app-\d+$"))
    assert (await connect({"sub": "1", "aud": "app-12"}, verifier)).user_id == "1"
    assert (await connect({"sub": "1", "aud": ["no", "app-3"]}, verifier)).user_id == "1"
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1", "aud": ["app-x", "no"]}, verifier)
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1"}, verifier)


async def test_regex_is_a_search_not_a_full_match() -> None:
    verifier = TokenVerifier(TokenKeys(hmac_secret_key=SECRET, issuer_regex="example"))
    assert (await connect({"sub": "1", "iss": "https://example.com/x"}, verifier)).user_id == "1"


async def test_issuer_exact() -> None:
    verifier = TokenVerifier(TokenKeys(hmac_secret_key=SECRET, issuer="auth.example"))
    assert (await connect({"sub": "1", "iss": "auth.example"}, verifier)).user_id == "1"
    for claims in ({"sub": "1", "iss": "evil"}, {"sub": "1"}):
        with pytest.raises(TokenInvalid):
            await connect(claims, verifier)
    with pytest.raises(TokenInvalid):
        await subscribe({"sub": "1", "channel": "c", "iss": "evil"}, verifier)


async def test_issuer_regex() -> None:
    verifier = TokenVerifier(
        TokenKeys(hmac_secret_key=SECRET, issuer_regex=r"^https://(?P<tenant>[a-z]+)\.auth$")
    )
    assert (await connect({"sub": "1", "iss": "https://acme.auth"}, verifier)).user_id == "1"
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1", "iss": "https://ACME.auth"}, verifier)


def test_exclusive_and_invalid_matcher_options() -> None:
    with pytest.raises(ValueError):
        TokenVerifier(TokenKeys(audience="a", audience_regex="a"))
    with pytest.raises(ValueError):
        TokenVerifier(TokenKeys(issuer="a", issuer_regex="a"))
    with pytest.raises(ValueError):
        TokenVerifier(TokenKeys(issuer_regex="(unclosed"))


# --- connection token content ------------------------------------------------------------------


async def test_channel_claim_in_connection_token_is_invalid() -> None:
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1", "channel": "news"})
    assert (await connect({"sub": "1", "channel": ""})).user_id == "1"


async def test_channel_claim_wins_over_expiry() -> None:
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1", "channel": "news", "exp": now() - 5})


async def test_minimal_connect_token() -> None:
    claims = {"sub": "", "iat": now(), "jti": "x"}
    token = await connect(claims)
    assert token.user_id == ""
    assert token.info == b""
    assert token.b64info_error is False
    assert token.channels == ()
    assert token.subs == {}
    assert token.meta == b""
    assert token.payload == claims


async def test_info_is_compact_raw_json() -> None:
    token = await connect({"sub": "1", "info": {"name": "Alex", "tags": [1, 2]}})
    assert token.info == b'{"name":"Alex","tags":[1,2]}'
    assert (await connect({"sub": "1", "info": "text"})).info == b'"text"'
    assert (await connect({"sub": "1", "info": None})).info == b"null"


async def test_b64info_wins_over_info() -> None:
    token = await connect({"sub": "1", "info": {"a": 1}, "b64info": b64std(b"\x00\x01bin")})
    assert token.info == b"\x00\x01bin"
    assert token.b64info_error is False
    assert (await connect({"sub": "1", "info": {"a": 1}, "b64info": ""})).info == b'{"a":1}'


@pytest.mark.parametrize("value", ["%%%", "YQ", "YQ=", "YQ==YQ=="])
async def test_bad_top_level_b64info_is_flagged(value: str) -> None:
    token = await connect({"sub": "1", "info": {"a": 1}, "b64info": value})
    assert token.b64info_error is True
    assert token.info == b""


async def test_b64info_ignores_newlines_like_go() -> None:
    assert (await connect({"sub": "1", "b64info": "YW\nJj"})).info == b"abc"


async def test_b64info_must_be_a_string() -> None:
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1", "b64info": 5})


async def test_meta_and_channels() -> None:
    token = await connect({"sub": "1", "meta": {"k": [True]}, "channels": ["a", "b:c"]})
    assert token.meta == b'{"k":[true]}'
    assert token.channels == ("a", "b:c")
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1", "channels": "a"})
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1", "channels": ["a", 1]})


async def test_subs_with_override_and_b64data() -> None:
    token = await connect(
        {
            "sub": "1",
            "channels": ["ignored-by-caller"],
            "subs": {
                "news": {
                    "info": {"role": "reader"},
                    "data": {"welcome": True},
                    "override": {
                        "presence": {"value": False},
                        "join_leave": {"value": True},
                        "force_recovery": {"value": True},
                        "force_positioning": {},
                        "force_push_join_leave": None,
                        "unknown": {"value": True},
                    },
                },
                "bin": {"b64info": b64std(b"\x01"), "b64data": b64std(b"\x02\x03"), "data": 1},
                "plain": {},
                "null": None,
            },
        }
    )
    assert token.subs["news"] == ServerSideSubscribeOptions(
        info=b'{"role":"reader"}',
        data=b'{"welcome":true}',
        override=SubscribeOverride(
            presence=False, join_leave=True, force_recovery=True, force_positioning=False
        ),
    )
    assert token.subs["bin"] == ServerSideSubscribeOptions(info=b"\x01", data=b"\x02\x03")
    assert token.subs["plain"] == ServerSideSubscribeOptions()
    assert token.subs["null"] == ServerSideSubscribeOptions()
    assert token.channels == ("ignored-by-caller",)


@pytest.mark.parametrize(
    "entry",
    [
        {"b64info": "!!!"},
        {"b64data": "YQ"},
        {"override": {"presence": {"value": "yes"}}},
        {"override": {"presence": True}},
        {"override": []},
        {"b64data": 1},
    ],
)
async def test_bad_subs_entries_are_invalid(entry: dict[str, Any]) -> None:
    with pytest.raises(TokenInvalid):
        await connect({"sub": "1", "subs": {"news": entry}})


async def test_subs_must_be_an_object_of_objects() -> None:
    for subs in (["news"], {"news": 1}, "news"):
        with pytest.raises(TokenInvalid):
            await connect({"sub": "1", "subs": subs})


# --- subscription tokens -----------------------------------------------------------------------


async def test_subscription_token_fields() -> None:
    exp = now() + 100
    claims = {
        "sub": "42",
        "channel": "$private",
        "client": "c-1",
        "exp": exp,
        "info": {"x": 1},
        "b64data": b64std(b"hello"),
        "override": {"presence": {"value": True}},
    }
    token = await subscribe(claims)
    assert token.user_id == "42"
    assert token.channel == "$private"
    assert token.client == "c-1"
    assert token.expire_at == exp
    assert token.info == b'{"x":1}'
    assert token.data == b"hello"
    assert token.override == SubscribeOverride(presence=True)
    assert token.payload == claims


async def test_subscription_token_defaults() -> None:
    token = await subscribe({"channel": "ch"})
    assert (token.user_id, token.client, token.info, token.data) == ("", "", b"", b"")
    assert token.override is None
    assert token.expire_at == 0


async def test_subscription_token_without_channel_is_invalid() -> None:
    for claims in ({"sub": "1"}, {"sub": "1", "channel": ""}, {"sub": "1", "channel": None}):
        with pytest.raises(TokenInvalid):
            await subscribe(claims)


async def test_subscription_token_channel_must_be_a_string() -> None:
    with pytest.raises(TokenInvalid):
        await subscribe({"sub": "1", "channel": ["a"]})


async def test_subscription_token_bad_base64_is_invalid() -> None:
    with pytest.raises(TokenInvalid):
        await subscribe({"sub": "1", "channel": "c", "b64info": "***"})


async def test_connection_token_accepted_as_subscription_token_only_with_channel() -> None:
    with pytest.raises(TokenInvalid):
        await subscribe({"sub": "1", "exp": now() + 10})
