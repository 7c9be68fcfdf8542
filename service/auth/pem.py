"""Loading of configured PEM public keys (``token_rsa_public_key``, ``token_ecdsa_public_key``).

Accepted like Centrifugo: a PKIX ``PUBLIC KEY`` block, a PKCS#1 ``RSA PUBLIC KEY`` block, or an
X.509 ``CERTIFICATE`` whose public key is used. Errors raise :class:`ValueError`.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_public_key


def _load_public_key(pem: str) -> PublicKeyTypes:
    data = pem.strip().encode("utf-8")
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return load_pem_public_key(data)


def load_rsa_public_key(pem: str) -> rsa.RSAPublicKey:
    """Parse an RSA public key PEM; ValueError if it is not one."""
    try:
        key = _load_public_key(pem)
    except Exception as exc:  # cryptography raises ValueError / UnsupportedAlgorithm
        raise ValueError(f"token_rsa_public_key: invalid RSA public key PEM: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("token_rsa_public_key: not an RSA public key")
    return key


def load_ecdsa_public_key(pem: str) -> ec.EllipticCurvePublicKey:
    """Parse an ECDSA public key PEM; ValueError if it is not one."""
    try:
        key = _load_public_key(pem)
    except Exception as exc:  # cryptography raises ValueError / UnsupportedAlgorithm
        raise ValueError(f"token_ecdsa_public_key: invalid ECDSA public key PEM: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("token_ecdsa_public_key: not an ECDSA public key")
    return key
