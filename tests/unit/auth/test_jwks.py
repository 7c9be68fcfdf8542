"""JWKS verification against a real aiohttp server on 127.0.0.1 (docs/configuration.md#tokens)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from service.auth import TokenInvalid, TokenKeys, TokenVerifier

from .tokens import SECRET, b64url, sign


def jwk(key: rsa.RSAPrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": b64url(n),
        "e": b64url(e),
        **extra,
    }


@dataclass
class JwksServer:
    """Serves ``documents[path]`` as JSON; counts requests per path."""

    documents: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    delay: float = 0.0
    hits: dict[str, int] = field(default_factory=dict)
    base_url: str = ""
    respond: Any = None  # an async (request) -> response that replaces the documents

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        if self.respond is not None:
            return await self.respond(request)  # type: ignore[no-any-return]
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.Response(status=self.status, text="boom")
        if request.path not in self.documents:
            return web.Response(status=404)
        return web.json_response(self.documents[request.path])


@pytest.fixture
async def server() -> AsyncIterator[JwksServer]:
    state = JwksServer()
    app = web.Application()
    app.router.add_get("/{tail:.*}", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.base_url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def make_verifier() -> AsyncIterator[Any]:
    created: list[TokenVerifier] = []

    def factory(keys: TokenKeys, timeout: float = 1.0) -> TokenVerifier:
        verifier = TokenVerifier(keys, http_timeout=timeout)
        created.append(verifier)
        return verifier

    yield factory
    for verifier in created:
        await verifier.close()


async def test_verify_with_jwks_and_cache(
    server: JwksServer,
    make_verifier: Any,
    rsa_key: rsa.RSAPrivateKey,
    other_rsa_key: rsa.RSAPrivateKey,
) -> None:
    server.documents["/jwks"] = {
        "keys": [
            jwk(other_rsa_key, "enc", use="enc"),
            jwk(rsa_key, "k1"),
            {"kty": "EC", "use": "sig", "kid": "ec"},
        ]
    }
    verifier = make_verifier(TokenKeys(jwks_public_endpoint=server.base_url + "/jwks"))
    token = sign({"sub": "u1"}, alg="RS256", key=rsa_key, header={"kid": "k1"})
    assert (await verifier.verify_connect(token)).user_id == "u1"
    sub = sign({"sub": "u1", "channel": "c"}, alg="RS256", key=rsa_key, header={"kid": "k1"})
    assert (await verifier.verify_subscribe(sub)).channel == "c"
    assert (await verifier.verify_connect(token)).user_id == "u1"
    assert server.hits == {"/jwks": 1}  # cached per kid


async def test_concurrent_misses_share_one_fetch(
    server: JwksServer, make_verifier: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    server.documents["/jwks"] = {"keys": [jwk(rsa_key, "k1")]}
    server.delay = 0.05
    verifier = make_verifier(TokenKeys(jwks_public_endpoint=server.base_url + "/jwks"))
    token = sign({"sub": "u"}, alg="RS256", key=rsa_key, header={"kid": "k1"})
    results = await asyncio.gather(*(verifier.verify_connect(token) for _ in range(5)))
    assert {r.user_id for r in results} == {"u"}
    assert server.hits == {"/jwks": 1}


async def test_missing_kid_is_invalid(
    server: JwksServer, make_verifier: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    server.documents["/jwks"] = {"keys": [jwk(rsa_key, "k1")]}
    verifier = make_verifier(TokenKeys(jwks_public_endpoint=server.base_url + "/jwks"))
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(sign({"sub": "u"}, alg="RS256", key=rsa_key))
    assert server.hits == {}


async def test_unknown_kid_and_wrong_key_are_invalid(
    server: JwksServer,
    make_verifier: Any,
    rsa_key: rsa.RSAPrivateKey,
    other_rsa_key: rsa.RSAPrivateKey,
) -> None:
    server.documents["/jwks"] = {"keys": [jwk(rsa_key, "k1"), jwk(rsa_key, "enc", use="enc")]}
    verifier = make_verifier(TokenKeys(jwks_public_endpoint=server.base_url + "/jwks"))
    for kid in ("nope", "enc"):
        with pytest.raises(TokenInvalid):
            await verifier.verify_connect(
                sign({"sub": "u"}, alg="RS256", key=rsa_key, header={"kid": kid})
            )
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(
            sign({"sub": "u"}, alg="RS256", key=other_rsa_key, header={"kid": "k1"})
        )
    with pytest.raises(TokenInvalid):  # token alg must equal the JWK alg
        await verifier.verify_connect(
            sign({"sub": "u"}, alg="RS512", key=rsa_key, header={"kid": "k1"})
        )


async def test_jwks_replaces_static_keys(
    server: JwksServer, make_verifier: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    server.documents["/jwks"] = {"keys": [jwk(rsa_key, "k1")]}
    verifier = make_verifier(
        TokenKeys(hmac_secret_key=SECRET, jwks_public_endpoint=server.base_url + "/jwks")
    )
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(sign({"sub": "u"}, header={"kid": "k1"}))


async def test_server_error_is_invalid_after_two_attempts(
    server: JwksServer, make_verifier: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    server.status = 500
    verifier = make_verifier(TokenKeys(jwks_public_endpoint=server.base_url + "/jwks"))
    token = sign({"sub": "u"}, alg="RS256", key=rsa_key, header={"kid": "k1"})
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(token)
    assert server.hits == {"/jwks": 2}


@pytest.mark.parametrize("document", [[], {"keys": {}}, {"nokeys": []}, "x"])
async def test_bad_document_is_invalid(
    server: JwksServer, make_verifier: Any, rsa_key: rsa.RSAPrivateKey, document: Any
) -> None:
    server.documents["/jwks"] = document
    verifier = make_verifier(TokenKeys(jwks_public_endpoint=server.base_url + "/jwks"))
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(
            sign({"sub": "u"}, alg="RS256", key=rsa_key, header={"kid": "k1"})
        )


async def test_timeout_is_invalid(
    server: JwksServer, make_verifier: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    server.documents["/jwks"] = {"keys": [jwk(rsa_key, "k1")]}
    server.delay = 0.5
    verifier = make_verifier(
        TokenKeys(jwks_public_endpoint=server.base_url + "/jwks"), timeout=0.05
    )
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(
            sign({"sub": "u"}, alg="RS256", key=rsa_key, header={"kid": "k1"})
        )


async def test_unreachable_endpoint_is_invalid(
    make_verifier: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = make_verifier(TokenKeys(jwks_public_endpoint="http://127.0.0.1:1/jwks"))
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(
            sign({"sub": "u"}, alg="RS256", key=rsa_key, header={"kid": "k1"})
        )


async def test_templated_endpoint_from_issuer_and_audience(
    server: JwksServer,
    make_verifier: Any,
    rsa_key: rsa.RSAPrivateKey,
    other_rsa_key: rsa.RSAPrivateKey,
) -> None:
    server.documents["/acme/eu/jwks"] = {"keys": [jwk(rsa_key, "shared")]}
    server.documents["/evil/eu/jwks"] = {"keys": [jwk(other_rsa_key, "shared")]}
    verifier = make_verifier(
        TokenKeys(
            jwks_public_endpoint=server.base_url + "/{{tenant}}/{{region}}/jwks",
            issuer_regex=r"^https://(?P<tenant>[a-z]+)\.example$",
            audience_regex=r"^region-(?P<region>[a-z]+)$",
        )
    )

    def token(iss: str, key: rsa.RSAPrivateKey) -> str:
        claims = {"sub": "u", "iss": iss, "aud": ["x", "region-eu"]}
        return sign(claims, alg="RS256", key=key, header={"kid": "shared"})

    assert (await verifier.verify_connect(token("https://acme.example", rsa_key))).user_id == "u"
    assert server.hits == {"/acme/eu/jwks": 1}
    # Same kid, other tenant, signed with acme's key: the cached acme key must not be used.
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(token("https://evil.example", rsa_key))
    assert server.hits == {"/acme/eu/jwks": 1, "/evil/eu/jwks": 1}
    with pytest.raises(TokenInvalid):  # issuer does not match the regex: no fetch at all
        await verifier.verify_connect(token("https://ACME.example", rsa_key))
    assert sum(server.hits.values()) == 2


async def test_reload_keeps_cache_for_same_endpoint(
    server: JwksServer, make_verifier: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    server.documents["/jwks"] = {"keys": [jwk(rsa_key, "k1")]}
    server.documents["/jwks2"] = {"keys": [jwk(rsa_key, "k1")]}
    keys = TokenKeys(jwks_public_endpoint=server.base_url + "/jwks")
    verifier = make_verifier(keys)
    token = sign({"sub": "u", "aud": "a"}, alg="RS256", key=rsa_key, header={"kid": "k1"})
    await verifier.verify_connect(token)
    verifier.reload(TokenKeys(jwks_public_endpoint=keys.jwks_public_endpoint, audience="a"))
    await verifier.verify_connect(token)
    assert server.hits == {"/jwks": 1}
    verifier.reload(TokenKeys(jwks_public_endpoint=server.base_url + "/jwks2"))
    await verifier.verify_connect(token)
    assert server.hits == {"/jwks": 1, "/jwks2": 1}


def test_endpoint_must_be_http() -> None:
    with pytest.raises(ValueError):
        TokenVerifier(TokenKeys(jwks_public_endpoint="ftp://example.com/jwks"))


async def test_key_cache_keeps_only_keys_fetched_within_the_hour(
    server: JwksServer,
    make_verifier: Any,
    rsa_key: rsa.RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A templated endpoint caches keys per tenant URL; keys of tenants not seen for an hour
    are dropped at the next fetch, and failed fetches leave nothing behind."""
    import service.auth.jwks as jwks_module

    now = [1000.0]
    monkeypatch.setattr(jwks_module.time, "monotonic", lambda: now[0])
    for i in range(20):
        server.documents[f"/t{i}/jwks"] = {"keys": [jwk(rsa_key, "k")]}
    verifier = make_verifier(
        TokenKeys(
            jwks_public_endpoint=server.base_url + "/{{tenant}}/jwks",
            issuer_regex=r"^https://(?P<tenant>[a-z0-9]+)\.example$",
        )
    )

    def token(tenant: str) -> str:
        claims = {"sub": "u", "iss": f"https://{tenant}.example"}
        return sign(claims, alg="RS256", key=rsa_key, header={"kid": "k"})

    for i in range(19):
        await verifier.verify_connect(token(f"t{i}"))
    for i in range(5):  # unknown tenants: 404, nothing cached, nothing in flight
        with pytest.raises(TokenInvalid):
            await verifier.verify_connect(token(f"nobody{i}"))
    client = verifier._state.jwks
    assert len(client._cache) == 19 and not client._inflight
    now[0] += jwks_module.CACHE_TTL + 1
    await verifier.verify_connect(token("t19"))
    assert list(client._cache) == [(server.base_url + "/t19/jwks", "k")]
