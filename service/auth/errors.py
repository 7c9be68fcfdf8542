"""Token verification errors.

Callers map these to protocol outcomes (docs/protocol.md, docs/configuration.md#tokens):

* :class:`TokenExpired` - ``exp`` in the past or ``nbf`` in the future (error 109 on connect and
  subscribe, disconnect 3005 on refresh).
* :class:`TokenInvalid` - everything else (disconnect 3500 on connect/refresh, error 103 on
  subscribe).
"""

from __future__ import annotations

from typing import Any


class TokenError(Exception):
    """Base class of every token verification failure."""


class TokenExpired(TokenError):
    """The token is well formed and signed, but ``exp`` has passed or ``nbf`` is in the future.

    ``token`` is set by ``TokenVerifier.verify_subscribe``: the verified ``SubscribeToken``
    (its signature was checked), so a caller can apply the same channel/user/client checks as
    for a valid token before answering that it expired.
    """

    token: Any = None


class TokenInvalid(TokenError):
    """The token must not be accepted: malformed, bad signature, disallowed algorithm, audience or
    issuer mismatch, a ``channel`` claim in a connection token, a subscription token without
    ``channel``, bad base64 inside ``subs``, JWKS failure, wrong claim types..."""
