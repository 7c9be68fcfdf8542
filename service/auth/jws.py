"""Compact JWS parsing and signature primitives.

:func:`parse_jws` splits and decodes a token without verifying it (cristalhq/jwt
``ParseNoVerify``). Verifiers check ``signing_input`` (``header.payload`` as ASCII bytes) against
the decoded signature and return a bool; they never raise on a bad signature.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from service.auth.b64 import b64url_decode
from service.auth.errors import TokenInvalid

_HEADER_STR_FIELDS = ("alg", "kid", "typ", "cty")


@dataclass(slots=True)  # not frozen: frozen __init__ is 2x slower (hot path); read-only
class ParsedJWS:
    """A decoded, not yet verified token. ``claims`` is always a dict."""

    alg: str
    kid: str
    signing_input: bytes
    signature: bytes
    claims: dict[str, Any]


def parse_jws(token: str) -> ParsedJWS:
    """Decode the three segments of a compact JWS.

    Raises TokenInvalid unless there are exactly three base64url segments, the header is a JSON
    object whose ``alg``/``kid``/``typ``/``cty`` are strings (or absent/null) and the payload is
    a JSON object.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenInvalid("malformed token: expected 3 segments")
    head_seg, claims_seg, sig_seg = parts
    try:
        header = orjson.loads(b64url_decode(head_seg))
        claims = orjson.loads(b64url_decode(claims_seg))
        signature = b64url_decode(sig_seg)
    except ValueError as exc:  # orjson.JSONDecodeError is a ValueError
        raise TokenInvalid(f"malformed token: {exc}") from None
    if type(header) is not dict:
        raise TokenInvalid("malformed token: header is not a JSON object")
    if type(claims) is not dict:
        raise TokenInvalid("malformed token: claims are not a JSON object")
    for name in _HEADER_STR_FIELDS:
        value = header.get(name)
        if value is not None and type(value) is not str:
            raise TokenInvalid(f"malformed token: header {name} is not a string")
    return ParsedJWS(
        alg=header.get("alg") or "",
        kid=header.get("kid") or "",
        signing_input=f"{head_seg}.{claims_seg}".encode("ascii"),
        signature=signature,
        claims=claims,
    )


class SignatureVerifier(Protocol):
    """Checks one algorithm's signature with one key."""

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """Return True iff ``signature`` is valid for ``signing_input``."""
        ...


_HMAC_DIGESTS = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}
_RSA_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}
# alg -> (hash, curve name, size in bytes of r and of s)
_EC_PARAMS: dict[str, tuple[type[hashes.HashAlgorithm], str, int]] = {
    "ES256": (hashes.SHA256, "secp256r1", 32),
    "ES384": (hashes.SHA384, "secp384r1", 48),
    "ES512": (hashes.SHA512, "secp521r1", 66),
}

HMAC_ALGORITHMS = tuple(_HMAC_DIGESTS)
RSA_ALGORITHMS = tuple(_RSA_HASHES)
EC_ALGORITHMS = tuple(_EC_PARAMS)


class HmacVerifier:
    """HS256/384/512 with a shared secret (constant-time compare)."""

    __slots__ = ("_digest", "_key")

    def __init__(self, alg: str, key: bytes) -> None:
        self._digest = _HMAC_DIGESTS[alg]
        self._key = key

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        expected = hmac.digest(self._key, signing_input, self._digest)
        return hmac.compare_digest(expected, signature)


def hmac_sign(alg: str, key: bytes, signing_input: bytes) -> bytes:
    """Return the HS256/384/512 signature of ``signing_input``."""
    return hmac.digest(key, signing_input, _HMAC_DIGESTS[alg])


class RsaVerifier:
    """RS256/384/512 (RSASSA-PKCS1-v1_5) with an RSA public key."""

    __slots__ = ("_hash", "_key")

    def __init__(self, alg: str, key: rsa.RSAPublicKey) -> None:
        self._hash = _RSA_HASHES[alg]()
        self._key = key

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(signature, signing_input, padding.PKCS1v15(), self._hash)
        except (InvalidSignature, ValueError):
            return False
        return True


class EcdsaVerifier:
    """ES256/384/512 with an EC public key; the JWS signature is ``r || s`` of fixed size."""

    __slots__ = ("_hash", "_key", "_size")

    def __init__(self, alg: str, key: ec.EllipticCurvePublicKey) -> None:
        hash_cls, curve, size = _EC_PARAMS[alg]
        if key.curve.name != curve:
            raise ValueError(f"{alg} needs curve {curve}, key is {key.curve.name}")
        self._hash = ec.ECDSA(hash_cls())
        self._key = key
        self._size = size

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        size = self._size
        if len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        try:
            self._key.verify(encode_dss_signature(r, s), signing_input, self._hash)
        except (InvalidSignature, ValueError):
            return False
        return True


def ec_algorithm_for(key: ec.EllipticCurvePublicKey) -> str | None:
    """The one ES algorithm usable with ``key``'s curve, or None for other curves."""
    for alg, (_, curve, _) in _EC_PARAMS.items():
        if key.curve.name == curve:
            return alg
    return None
