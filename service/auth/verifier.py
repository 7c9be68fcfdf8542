"""TokenVerifier: Centrifugo v4.1.5 connection and subscription JWT verification.

Order (docs/configuration.md#tokens): parse → type-check claims → audience → issuer →
signature (JWKS when configured, else the verifier selected by the header ``alg``) → reject a
``channel`` claim (connection tokens) → ``exp``/``nbf`` (no leeway) → ``channel`` required
(subscription tokens) → decode base64 claims.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from service.auth.build import (
    build_connect_token,
    build_subscribe_token,
    decode_connect_claims,
    decode_subscribe_claims,
)
from service.auth.errors import TokenExpired, TokenInvalid
from service.auth.jwks import JwksClient
from service.auth.jws import (
    EC_ALGORITHMS,
    HMAC_ALGORITHMS,
    RSA_ALGORITHMS,
    EcdsaVerifier,
    HmacVerifier,
    ParsedJWS,
    RsaVerifier,
    SignatureVerifier,
    ec_algorithm_for,
    parse_jws,
)
from service.auth.keys import TokenKeys
from service.auth.matching import ClaimMatcher
from service.auth.models import ConnectToken, SubscribeToken
from service.auth.pem import load_ecdsa_public_key, load_rsa_public_key

_KNOWN_ALGORITHMS = frozenset((*HMAC_ALGORITHMS, *RSA_ALGORITHMS, *EC_ALGORITHMS))


def _static_verifiers(keys: TokenKeys) -> dict[str, SignatureVerifier]:
    """alg → verifier for each configured key (ValueError on a bad PEM)."""
    verifiers: dict[str, SignatureVerifier] = {}
    if keys.hmac_secret_key:
        secret = keys.hmac_secret_key.encode("utf-8")
        for alg in HMAC_ALGORITHMS:
            verifiers[alg] = HmacVerifier(alg, secret)
    if keys.rsa_public_key:
        rsa_key = load_rsa_public_key(keys.rsa_public_key)
        for alg in RSA_ALGORITHMS:
            verifiers[alg] = RsaVerifier(alg, rsa_key)
    if keys.ecdsa_public_key:
        ec_key = load_ecdsa_public_key(keys.ecdsa_public_key)
        ec_alg = ec_algorithm_for(ec_key)
        if ec_alg is not None:
            verifiers[ec_alg] = EcdsaVerifier(ec_alg, ec_key)
    return verifiers


@dataclass(frozen=True, slots=True)
class _State:
    """One immutable configuration snapshot (swapped whole on reload)."""

    keys: TokenKeys
    matcher: ClaimMatcher
    verifiers: dict[str, SignatureVerifier]
    jwks: JwksClient | None

    def verify_static(self, jws: ParsedJWS) -> None:
        """Verify with the configured key selected by the header ``alg`` (no JWKS)."""
        verifier = self.verifiers.get(jws.alg)
        if verifier is None:
            if jws.alg in _KNOWN_ALGORITHMS:
                raise TokenInvalid(f"disabled JWT algorithm: {jws.alg}")
            raise TokenInvalid(f"unsupported JWT algorithm: {jws.alg}")
        if not verifier.verify(jws.signing_input, jws.signature):
            raise TokenInvalid("invalid signature")


def _build_state(keys: TokenKeys, http_timeout: float, previous: _State | None) -> _State:
    matcher = ClaimMatcher.create(
        audience=keys.audience,
        audience_regex=keys.audience_regex,
        issuer=keys.issuer,
        issuer_regex=keys.issuer_regex,
    )
    jwks: JwksClient | None = None
    if keys.jwks_public_endpoint:
        old = previous.jwks if previous is not None else None
        if old is not None and old.endpoint == keys.jwks_public_endpoint:
            jwks = old  # keep the session and the key cache
        else:
            jwks = JwksClient(keys.jwks_public_endpoint, timeout=http_timeout)
    return _State(keys=keys, matcher=matcher, verifiers=_static_verifiers(keys), jwks=jwks)


class TokenVerifier:
    """Verifies connection and subscription JWTs against the configured keys.

    The constructor and :meth:`reload` raise ValueError on an invalid configuration (bad PEM,
    bad regex, both ``audience`` and ``audience_regex`` (or both issuer forms), non-http(s)
    JWKS endpoint); a failed reload keeps the previous configuration. ``verify_*`` raise
    :class:`TokenExpired` or :class:`TokenInvalid` and never anything else.
    """

    def __init__(self, keys: TokenKeys, *, http_timeout: float = 1.0) -> None:
        self._http_timeout = http_timeout
        self._retired: list[JwksClient] = []
        self._state = _build_state(keys, http_timeout, None)

    @property
    def keys(self) -> TokenKeys:
        """The configuration currently in use."""
        return self._state.keys

    def reload(self, keys: TokenKeys) -> None:
        """Atomically switch to ``keys`` (SIGHUP); verifications in flight finish with the old
        snapshot. A JWKS client whose endpoint is unchanged is kept with its cache."""
        new = _build_state(keys, self._http_timeout, self._state)
        old, self._state = self._state, new
        if old.jwks is not None and old.jwks is not new.jwks:
            self._retired.append(old.jwks)

    async def verify_connect(self, token: str) -> ConnectToken:
        """Verify a connection token (docs/configuration.md#tokens)."""
        state = self._state
        jws = parse_jws(token)
        claims = decode_connect_claims(jws.claims)
        variables = state.matcher.check(claims.std.aud, claims.std.iss)
        if state.jwks is None:
            state.verify_static(jws)  # synchronous: the HS256 connect hot path
        else:
            await state.jwks.verify(jws, variables)
        if claims.channel:
            raise TokenInvalid("connection JWT can not contain channel claim")
        claims.std.check_times(time.time())
        return build_connect_token(claims, jws.claims)

    async def verify_subscribe(self, token: str) -> SubscribeToken:
        """Verify a subscription token (docs/configuration.md#tokens); ``channel`` is required.

        An expired one raises TokenExpired carrying the verified token (``TokenExpired.token``).
        """
        state = self._state
        jws = parse_jws(token)
        claims = decode_subscribe_claims(jws.claims)
        variables = state.matcher.check(claims.std.aud, claims.std.iss)
        if state.jwks is None:
            state.verify_static(jws)  # synchronous: the HS256 connect hot path
        else:
            await state.jwks.verify(jws, variables)
        try:
            claims.std.check_times(time.time())
        except TokenExpired as e:  # signed: its subject may still be checked (sub_refresh)
            e.token = build_subscribe_token(claims, jws.claims)
            raise
        return build_subscribe_token(claims, jws.claims)

    async def close(self) -> None:
        """Close the JWKS HTTP sessions (current and retired by reloads)."""
        clients, self._retired = self._retired, []
        if self._state.jwks is not None:
            clients.append(self._state.jwks)
        for client in clients:
            await client.close()
