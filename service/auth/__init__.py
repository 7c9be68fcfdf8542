"""JWT verification (HMAC, RSA, ECDSA, JWKS) with Centrifugo v4.1.5 semantics.

Leaf layer: imports nothing from other ``service`` packages. See :class:`TokenVerifier`.
"""

from service.auth.errors import TokenError, TokenExpired, TokenInvalid
from service.auth.generate import generate_token
from service.auth.keys import TokenKeys
from service.auth.models import (
    ConnectToken,
    ServerSideSubscribeOptions,
    SubscribeOverride,
    SubscribeToken,
)
from service.auth.verifier import TokenVerifier

__all__ = [
    "ConnectToken",
    "ServerSideSubscribeOptions",
    "SubscribeOverride",
    "SubscribeToken",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "TokenKeys",
    "TokenVerifier",
    "generate_token",
]
