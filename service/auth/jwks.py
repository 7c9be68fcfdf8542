"""JWKS key source (``token_jwks_public_endpoint``), Centrifugo v4 semantics.

* ``kid`` is required.
* Keys are fetched with ``GET <endpoint>`` (``{{name}}`` placeholders filled from the token
  variables, unknown names → ``""``), with a total timeout per attempt and up to 2 attempts;
  a non-200 status, a transport error or a body that is not ``{"keys": [...]}`` is a failure.
* Hardening beyond v4 (docs/security.md): the variables come from the *unverified* ``iss`` /
  ``aud``, so a value put into the URL may only hold URL-unreserved characters
  (``A-Z a-z 0-9 - . _ ~``, not ``.`` or ``..`` alone); redirects are not followed; a body
  over ``MAX_BODY`` bytes is a failure; a key missing from the cache is fetched at most once
  per ``REFETCH_INTERVAL`` per URL (other misses meanwhile are invalid without a request),
  and at most ``FETCH_BURST`` fetches at once, ``FETCH_RATE`` per second after that, happen
  over all URLs.
* Only keys with ``"use": "sig"`` and ``"kty": "RSA"`` are kept (other or malformed entries are
  skipped); the JWK ``alg`` must be RS256/384/512 and equal the token header ``alg``.
* Every fetched key is cached for 1 hour. The cache key is ``(resolved URL, kid)`` - the same as
  Centrifugo's per-``kid`` cache for a fixed URL, and, for templated URLs, scoped per endpoint so
  a key of one tenant never verifies another tenant's tokens (upstream fixed this later).
* Concurrent misses for the same key share one fetch.

Every failure raises :class:`TokenInvalid`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa

from service.auth.b64 import b64url_decode
from service.auth.errors import TokenInvalid
from service.auth.jws import RSA_ALGORITHMS, ParsedJWS, RsaVerifier

CACHE_TTL = 3600.0
ATTEMPTS = 2
MAX_BODY = 1 << 20
REFETCH_INTERVAL = 5.0
FETCH_RATE = 5.0
FETCH_BURST = 20
_PLACEHOLDER_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_URL_SAFE_VALUE = re.compile(r"[A-Za-z0-9._~-]*")

_CacheKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class _Jwk:
    alg: str
    verifier: RsaVerifier


def _b64url_int(value: Any) -> int:
    if type(value) is not str or not value:
        raise ValueError("not a base64url string")
    return int.from_bytes(b64url_decode(value.rstrip("=")), "big")


def _parse_jwk(entry: Any) -> tuple[str, _Jwk] | None:
    """(kid, key) for a usable RSA signing key, else None."""
    if type(entry) is not dict or entry.get("use") != "sig" or entry.get("kty") != "RSA":
        return None
    kid, alg = entry.get("kid"), entry.get("alg")
    if type(kid) is not str or not kid or alg not in RSA_ALGORITHMS:
        return None
    try:
        key = rsa.RSAPublicNumbers(_b64url_int(entry.get("e")), _b64url_int(entry.get("n")))
        public_key = key.public_key()
    except (ValueError, TypeError):
        return None
    return kid, _Jwk(alg=alg, verifier=RsaVerifier(alg, public_key))


def validate_endpoint(endpoint: str) -> None:
    """ValueError unless ``endpoint`` is an http(s) URL."""
    if urlsplit(endpoint).scheme not in ("http", "https"):
        raise ValueError(f"jwks endpoint must have http:// or https:// scheme, got: {endpoint}")


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """The body, or TokenInvalid once it passes ``MAX_BODY`` bytes (nothing more is read)."""
    if response.content_length is not None and response.content_length > MAX_BODY:
        raise TokenInvalid("jwks: response too large")
    body = bytearray()
    async for chunk in response.content.iter_chunked(65536):
        body += chunk
        if len(body) > MAX_BODY:
            raise TokenInvalid("jwks: response too large")
    return bytes(body)


class JwksClient:
    """Fetches and caches JWKS signing keys; owns one lazily created aiohttp session."""

    def __init__(self, endpoint: str, *, timeout: float) -> None:
        """ValueError if ``endpoint`` is not an http(s) URL."""
        validate_endpoint(endpoint)
        self.endpoint = endpoint
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._cache: dict[_CacheKey, tuple[float, _Jwk]] = {}
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._fetched_at: dict[str, float] = {}  # URL -> monotonic time of its last fetch
        self._tokens = float(FETCH_BURST)  # global fetch budget (token bucket)
        self._tokens_at = time.monotonic()

    def url_for(self, variables: Mapping[str, str]) -> str:
        """The endpoint with ``{{name}}`` placeholders replaced (TokenInvalid for a value that
        could leave its place in the URL: ``/``, ``#``, ``@``, ``%``, ``..``...)."""
        if "{{" not in self.endpoint:
            return self.endpoint

        def value(m: re.Match[str]) -> str:
            v = variables.get(m.group(1), "")
            if not _URL_SAFE_VALUE.fullmatch(v) or v in (".", ".."):
                raise TokenInvalid("jwks: claim value not allowed in the endpoint URL")
            return v

        return _PLACEHOLDER_RE.sub(value, self.endpoint)

    async def verify(self, jws: ParsedJWS, variables: Mapping[str, str]) -> None:
        """Verify ``jws`` with the JWKS key named by its ``kid``; TokenInvalid on any failure."""
        if not jws.kid:
            raise TokenInvalid("jwks: kid is not provided")
        key = await self._get_key(self.url_for(variables), jws.kid)
        if jws.alg != key.alg:
            raise TokenInvalid(f"jwks: algorithm mismatch ({jws.alg} != {key.alg})")
        if not key.verifier.verify(jws.signing_input, jws.signature):
            raise TokenInvalid("invalid signature")

    def _cached(self, cache_key: _CacheKey) -> _Jwk | None:
        hit = self._cache.get(cache_key)
        if hit is None:
            return None
        if hit[0] <= time.monotonic():
            del self._cache[cache_key]
            return None
        return hit[1]

    def _may_fetch(self, url: str) -> bool:
        """Take a fetch of ``url`` from the per-URL interval and the global budget."""
        now = time.monotonic()
        last = self._fetched_at.get(url)
        if last is not None and now - last < REFETCH_INTERVAL:
            return False
        self._tokens = min(float(FETCH_BURST), self._tokens + (now - self._tokens_at) * FETCH_RATE)
        self._tokens_at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        if len(self._fetched_at) >= 1024:  # forget URLs outside their interval
            for u in [u for u, t in self._fetched_at.items() if now - t >= REFETCH_INTERVAL]:
                del self._fetched_at[u]
        self._fetched_at[url] = now
        return True

    async def _get_key(self, url: str, kid: str) -> _Jwk:
        cache_key = (url, kid)
        key = self._cached(cache_key)
        if key is not None:
            return key
        pending = self._inflight.get(url)
        if pending is None:
            if not self._may_fetch(url):
                raise TokenInvalid("jwks: public key not found (fetch rate limited)")
            pending = asyncio.ensure_future(self._fetch(url))
            self._inflight[url] = pending
            pending.add_done_callback(lambda done: self._fetch_done(url, done))
        try:
            await asyncio.shield(pending)
        except TokenInvalid:
            raise
        except Exception as exc:  # contract: any JWKS failure is an invalid token
            raise TokenInvalid(f"jwks: {exc!r}") from exc
        key = self._cached(cache_key)
        if key is None:
            raise TokenInvalid("jwks: public key not found")
        return key

    def _fetch_done(self, url: str, done: asyncio.Future[None]) -> None:
        if self._inflight.get(url) is done:
            del self._inflight[url]
        if not done.cancelled():
            done.exception()  # mark retrieved: every waiter may have been cancelled

    async def _fetch(self, url: str) -> None:
        body = await self._load(url)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise TokenInvalid("jwks: unmarshal error") from None
        if type(document) is not dict or type(document.get("keys")) is not list:
            raise TokenInvalid("jwks: unmarshal error")
        expires = time.monotonic() + CACHE_TTL
        self._purge_expired()
        for entry in document["keys"]:
            parsed = _parse_jwk(entry)
            if parsed is not None:
                self._cache[(url, parsed[0])] = (expires, parsed[1])

    async def _load(self, url: str) -> bytes:
        session = self._session
        if session is None or session.closed:
            session = self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        last_error = "no attempt"
        for _ in range(ATTEMPTS):
            try:
                async with session.get(url, allow_redirects=False) as response:
                    if response.status == 200:
                        return await _read_capped(response)
                    last_error = f"unexpected status code {response.status}"
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                last_error = repr(exc)
        raise TokenInvalid(f"jwks: fetch failed: {last_error}")

    def _purge_expired(self) -> None:
        now = time.monotonic()
        for cache_key in [k for k, (exp, _) in self._cache.items() if exp <= now]:
            del self._cache[cache_key]

    async def close(self) -> None:
        """Close the HTTP session (the client may still be used; a new session is created)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
