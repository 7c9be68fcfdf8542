"""generate_token round trips and configuration reload."""

from __future__ import annotations

import time

import jwt as pyjwt
import pytest

from service.auth import TokenExpired, TokenInvalid, TokenKeys, TokenVerifier, generate_token

from .tokens import SECRET


async def test_generate_connection_token_round_trip() -> None:
    token = generate_token(secret=SECRET, user="42", ttl=3600)
    verified = await TokenVerifier(TokenKeys(hmac_secret_key=SECRET)).verify_connect(token)
    assert verified.user_id == "42"
    assert abs(verified.expire_at - (int(time.time()) + 3600)) <= 1
    assert set(verified.payload) == {"sub", "exp", "iat"}
    header = pyjwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert pyjwt.decode(token, SECRET, algorithms=["HS256"])["sub"] == "42"


async def test_generate_subscription_token_round_trip() -> None:
    token = generate_token(secret=SECRET, user="42", ttl=60, channel="news", extra={"info": [1]})
    verifier = TokenVerifier(TokenKeys(hmac_secret_key=SECRET))
    verified = await verifier.verify_subscribe(token)
    assert (verified.user_id, verified.channel, verified.info) == ("42", "news", b"[1]")
    with pytest.raises(TokenInvalid):  # a subscription token can not be used to connect
        await verifier.verify_connect(token)


async def test_generate_without_ttl_has_no_exp() -> None:
    token = generate_token(secret=SECRET, user="", ttl=0)
    verified = await TokenVerifier(TokenKeys(hmac_secret_key=SECRET)).verify_connect(token)
    assert verified.expire_at == 0
    assert "exp" not in verified.payload


async def test_generated_token_expires() -> None:
    token = generate_token(secret=SECRET, user="1", ttl=1, extra={"exp": int(time.time()) - 1})
    with pytest.raises(TokenExpired):
        await TokenVerifier(TokenKeys(hmac_secret_key=SECRET)).verify_connect(token)


def test_generate_requires_secret() -> None:
    with pytest.raises(ValueError):
        generate_token(secret="", user="1", ttl=10)


async def test_reload_swaps_keys_atomically() -> None:
    verifier = TokenVerifier(TokenKeys(hmac_secret_key=SECRET))
    old = generate_token(secret=SECRET, user="1", ttl=60)
    new = generate_token(secret="rotated-" + SECRET, user="1", ttl=60)
    assert (await verifier.verify_connect(old)).user_id == "1"
    verifier.reload(TokenKeys(hmac_secret_key="rotated-" + SECRET))
    assert verifier.keys.hmac_secret_key == "rotated-" + SECRET
    assert (await verifier.verify_connect(new)).user_id == "1"
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(old)


def test_failed_reload_keeps_previous_config() -> None:
    keys = TokenKeys(hmac_secret_key=SECRET)
    verifier = TokenVerifier(keys)
    with pytest.raises(ValueError):
        verifier.reload(TokenKeys(hmac_secret_key=SECRET, audience_regex="("))
    assert verifier.keys is keys
