"""Signature verification and algorithm pinning (docs/configuration.md#tokens)."""

from __future__ import annotations

import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from service.auth import TokenInvalid, TokenKeys, TokenVerifier

from .tokens import SECRET, b64url, encode_segment, public_pem, sign

HMAC = TokenVerifier(TokenKeys(hmac_secret_key=SECRET))


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
async def test_hmac_algorithms_verify(alg: str) -> None:
    token = sign({"sub": "42", "exp": int(time.time()) + 60}, alg=alg)
    assert (await HMAC.verify_connect(token)).user_id == "42"


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
async def test_pyjwt_tokens_verify(alg: str) -> None:
    token = pyjwt.encode({"sub": "7"}, SECRET, algorithm=alg)
    assert (await HMAC.verify_connect(token)).user_id == "7"


async def test_wrong_secret_is_invalid() -> None:
    with pytest.raises(TokenInvalid):
        await HMAC.verify_connect(sign({"sub": "42"}, key="not-the-secret"))


async def test_tampered_claims_are_invalid() -> None:
    head, _, sig = sign({"sub": "42"}).split(".")
    forged = f"{head}.{encode_segment({'sub': 'admin'})}.{sig}"
    with pytest.raises(TokenInvalid):
        await HMAC.verify_connect(forged)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
async def test_alg_none_is_invalid(alg: str) -> None:
    token = sign({"sub": "42"}, alg=alg)
    with pytest.raises(TokenInvalid):
        await HMAC.verify_connect(token)
    with pytest.raises(TokenInvalid):
        await HMAC.verify_subscribe(sign({"sub": "42", "channel": "ch"}, alg=alg))


async def test_ps256_and_eddsa_are_invalid(rsa_key: rsa.RSAPrivateKey) -> None:
    verifier = TokenVerifier(TokenKeys(rsa_public_key=public_pem(rsa_key)))
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(sign({"sub": "1"}, alg="PS256", key=rsa_key))
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(sign({"sub": "1"}, alg="EdDSA"))


async def test_hs_token_signed_with_rsa_public_pem_is_invalid(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = public_pem(rsa_key)
    verifier = TokenVerifier(TokenKeys(rsa_public_key=pem))
    for alg in ("HS256", "HS384", "HS512"):
        with pytest.raises(TokenInvalid):
            await verifier.verify_connect(sign({"sub": "1"}, alg=alg, key=pem))


async def test_no_keys_configured_rejects_everything() -> None:
    verifier = TokenVerifier(TokenKeys())
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(sign({"sub": "1"}))


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
async def test_rsa_algorithms_verify(alg: str, rsa_key: rsa.RSAPrivateKey) -> None:
    verifier = TokenVerifier(TokenKeys(rsa_public_key=public_pem(rsa_key)))
    token = sign({"sub": "r"}, alg=alg, key=rsa_key)
    assert (await verifier.verify_connect(token)).user_id == "r"
    assert (await verifier.verify_connect(pyjwt.encode({"sub": "p"}, rsa_key, alg))).user_id == "p"


async def test_rsa_wrong_key_is_invalid(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = TokenVerifier(TokenKeys(rsa_public_key=public_pem(rsa_key)))
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(sign({"sub": "r"}, alg="RS256", key=other_rsa_key))


async def test_rsa_token_without_rsa_key_is_invalid(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(TokenInvalid):
        await HMAC.verify_connect(sign({"sub": "r"}, alg="RS256", key=rsa_key))


async def test_es256_verifies(ec256_key: ec.EllipticCurvePrivateKey) -> None:
    verifier = TokenVerifier(TokenKeys(ecdsa_public_key=public_pem(ec256_key)))
    token = sign({"sub": "e"}, alg="ES256", key=ec256_key)
    assert (await verifier.verify_connect(token)).user_id == "e"
    token = pyjwt.encode({"sub": "p"}, ec256_key, "ES256")
    assert (await verifier.verify_connect(token)).user_id == "p"


async def test_es384_needs_a_p384_key(
    ec256_key: ec.EllipticCurvePrivateKey, ec384_key: ec.EllipticCurvePrivateKey
) -> None:
    p384 = TokenVerifier(TokenKeys(ecdsa_public_key=public_pem(ec384_key)))
    assert (await p384.verify_connect(sign({"sub": "e"}, alg="ES384", key=ec384_key))).user_id
    with pytest.raises(TokenInvalid):  # ES256 is disabled for a P-384 key
        await p384.verify_connect(sign({"sub": "e"}, alg="ES256", key=ec256_key))
    p256 = TokenVerifier(TokenKeys(ecdsa_public_key=public_pem(ec256_key)))
    with pytest.raises(TokenInvalid):
        await p256.verify_connect(sign({"sub": "e"}, alg="ES384", key=ec256_key))


async def test_es256_bad_signature_is_invalid(ec256_key: ec.EllipticCurvePrivateKey) -> None:
    verifier = TokenVerifier(TokenKeys(ecdsa_public_key=public_pem(ec256_key)))
    head, body, sig = sign({"sub": "e"}, alg="ES256", key=ec256_key).split(".")
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(f"{head}.{body}.{sig[:-4]}")  # wrong length
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(f"{head}.{body}.{b64url(bytes(64))}")  # r = s = 0


async def test_all_keys_together(
    rsa_key: rsa.RSAPrivateKey, ec256_key: ec.EllipticCurvePrivateKey
) -> None:
    verifier = TokenVerifier(
        TokenKeys(
            hmac_secret_key=SECRET,
            rsa_public_key=public_pem(rsa_key),
            ecdsa_public_key=public_pem(ec256_key),
        )
    )
    for alg, key in (("HS256", SECRET), ("RS256", rsa_key), ("ES256", ec256_key)):
        assert (await verifier.verify_connect(sign({"sub": alg}, alg=alg, key=key))).user_id == alg


def test_bad_pem_is_a_config_error(ec256_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(ValueError):
        TokenVerifier(TokenKeys(rsa_public_key="not a pem"))
    with pytest.raises(ValueError):
        TokenVerifier(TokenKeys(rsa_public_key=public_pem(ec256_key)))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.e30.sig",
        f"{encode_segment({'alg': 'HS256'})}.e30=.AAAA",  # padding not allowed
        f"{encode_segment([1])}.e30.AAAA",  # header not an object
        f"{encode_segment({'alg': 1})}.e30.AAAA",
        f"{encode_segment({'alg': 'HS256', 'kid': 5})}.e30.AAAA",
        f"{encode_segment({'alg': 'HS256'})}.{b64url(b'not json')}.AAAA",
        "éé.e30.AAAA",
    ],
)
async def test_malformed_tokens_are_invalid(token: str) -> None:
    with pytest.raises(TokenInvalid):
        await HMAC.verify_connect(token)


@pytest.mark.parametrize("claims", [[1, 2], "str", 5, None, b"\xff\xfe"])
async def test_non_object_claims_are_invalid(claims: object) -> None:
    with pytest.raises(TokenInvalid):
        await HMAC.verify_connect(sign(claims))
