"""Test-side JWT signing with real crypto, independent of service.auth's verifier code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SECRET = "secret-for-tests-" + "x" * 48  # 64 bytes: no PyJWT key-length warnings
_HASHES = {
    "256": (hashlib.sha256, hashes.SHA256),
    "384": (hashlib.sha384, hashes.SHA384),
    "512": (hashlib.sha512, hashes.SHA512),
}
_EC_SIZES = {"256": 32, "384": 48, "512": 66}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64std(data: bytes) -> str:
    return base64.b64encode(data).decode()


def encode_segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return b64url(raw)


def sign(
    claims: Any,
    *,
    alg: str = "HS256",
    key: Any = SECRET,
    header: dict[str, Any] | None = None,
) -> str:
    """Sign ``claims`` (a JSON value, or raw bytes) with ``alg``; ``key`` is a str/bytes secret
    for HS*, a private key object for RS*/ES*, ignored for ``none``."""
    head = {"alg": alg, "typ": "JWT", **(header or {})}
    signing_input = f"{encode_segment(head)}.{encode_segment(claims)}"
    data = signing_input.encode()
    bits = alg[2:]
    if alg.startswith("HS"):
        secret = key.encode() if isinstance(key, str) else key
        sig = hmac.new(secret, data, _HASHES[bits][0]).digest()
    elif alg.startswith("RS"):
        sig = key.sign(data, padding.PKCS1v15(), _HASHES[bits][1]())
    elif alg.startswith("ES"):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_HASHES[bits][1]())))
        size = _EC_SIZES[bits]
        sig = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    elif alg.startswith("PS"):
        pss = padding.PSS(mgf=padding.MGF1(_HASHES[bits][1]()), salt_length=32)
        sig = key.sign(data, pss, _HASHES[bits][1]())
    else:
        sig = b""
    return f"{signing_input}.{b64url(sig)}"


def public_pem(private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
