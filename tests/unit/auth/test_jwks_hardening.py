"""Issue 13.5: JWKS URL templating from unverified claims, redirects, body size, fetch rate."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from service.auth import TokenInvalid, TokenKeys

from .test_jwks import JwksServer, jwk, make_verifier, server  # noqa: F401 (fixtures)
from .tokens import sign


@pytest.fixture
async def attacker() -> AsyncIterator[JwksServer]:
    """A second host (another port) serving the attacker's key set."""
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


def token(iss: str, key: rsa.RSAPrivateKey, kid: str = "k1") -> str:
    return sign({"sub": "admin", "iss": iss}, alg="RS256", key=key, header={"kid": kid})


async def test_issuer_value_cannot_change_the_host(
    server: JwksServer,  # noqa: F811
    attacker: JwksServer,
    make_verifier: Any,  # noqa: F811
    rsa_key: rsa.RSAPrivateKey,
    other_rsa_key: rsa.RSAPrivateKey,
) -> None:
    server.documents["/keys.json"] = {"keys": [jwk(rsa_key, "k1")]}
    attacker.documents["/k.json"] = {"keys": [jwk(other_rsa_key, "k1")]}
    verifier = make_verifier(
        TokenKeys(
            jwks_public_endpoint="http://{{tenant}}/keys.json",
            issuer_regex=r"^https://(?P<tenant>.+)\.auth$",
        )
    )
    evil_host = attacker.base_url.removeprefix("http://")
    with pytest.raises(TokenInvalid):  # "127.0.0.1:PORT/k.json#" is not a host name
        await verifier.verify_connect(token(f"https://{evil_host}/k.json#.auth", other_rsa_key))
    assert attacker.hits == {}
    with pytest.raises(TokenInvalid):  # a port is no host name either
        await verifier.verify_connect(token(f"https://{evil_host}.auth", other_rsa_key))
    assert attacker.hits == {}


async def test_issuer_value_cannot_leave_its_path_segment(
    server: JwksServer,  # noqa: F811
    make_verifier: Any,  # noqa: F811
    rsa_key: rsa.RSAPrivateKey,
    other_rsa_key: rsa.RSAPrivateKey,
) -> None:
    server.documents["/t/acme/keys.json"] = {"keys": [jwk(rsa_key, "k1")]}
    server.documents["/uploads/evil.json"] = {"keys": [jwk(other_rsa_key, "k1")]}
    verifier = make_verifier(
        TokenKeys(
            jwks_public_endpoint=server.base_url + "/t/{{tenant}}/keys.json",
            issuer_regex=r"^https://(?P<tenant>.+)\.example$",
        )
    )
    assert (await verifier.verify_connect(token("https://acme.example", rsa_key))).user_id
    for evil in ("../uploads/evil.json?", "..%2Fuploads%2Fevil.json%3F", "..", "a/b", "a@b"):
        with pytest.raises(TokenInvalid):
            await verifier.verify_connect(token(f"https://{evil}.example", other_rsa_key))
    assert "/uploads/evil.json" not in server.hits


async def test_redirects_are_not_followed(
    server: JwksServer,  # noqa: F811
    attacker: JwksServer,
    make_verifier: Any,  # noqa: F811
    other_rsa_key: rsa.RSAPrivateKey,
) -> None:
    attacker.documents["/k.json"] = {"keys": [jwk(other_rsa_key, "k1")]}

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(attacker.base_url + "/k.json")

    server.respond = redirect
    verifier = make_verifier(TokenKeys(jwks_public_endpoint=server.base_url + "/jwks"))
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(token("x", other_rsa_key))
    assert server.hits == {"/jwks": 2} and attacker.hits == {}


async def test_body_size_is_capped(
    server: JwksServer,  # noqa: F811
    make_verifier: Any,  # noqa: F811
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    padded = json.dumps({"keys": [jwk(rsa_key, "k1")]}) + " " * (2 << 20)  # 2 MiB > MAX_BODY

    async def big(request: web.Request) -> web.Response:
        return web.Response(text=padded, content_type="application/json")

    server.respond = big
    verifier = make_verifier(TokenKeys(jwks_public_endpoint=server.base_url + "/jwks"))
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(token("x", rsa_key))
    assert server.hits == {"/jwks": 1}  # too large: not retried

    async def chunked(request: web.Request) -> web.StreamResponse:  # no Content-Length
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for i in range(0, len(padded), 1 << 16):
            await resp.write(padded[i : i + (1 << 16)].encode())
        await resp.write_eof()
        return resp

    server.respond = chunked
    verifier = make_verifier(TokenKeys(jwks_public_endpoint=server.base_url + "/jwks2"))
    with pytest.raises(TokenInvalid):
        await verifier.verify_connect(token("x", rsa_key))


async def test_unknown_kids_do_not_fetch_again_and_again(
    server: JwksServer,  # noqa: F811
    make_verifier: Any,  # noqa: F811
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    server.documents["/jwks"] = {"keys": [jwk(rsa_key, "k1")]}
    verifier = make_verifier(TokenKeys(jwks_public_endpoint=server.base_url + "/jwks"))
    for i in range(30):
        with pytest.raises(TokenInvalid):
            await verifier.verify_connect(token("x", rsa_key, kid=f"random-{i}"))
    assert server.hits == {"/jwks": 1}
    assert (await verifier.verify_connect(token("x", rsa_key))).user_id == "admin"  # cached


async def test_fetches_over_many_urls_are_budgeted(
    server: JwksServer,  # noqa: F811
    make_verifier: Any,  # noqa: F811
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    verifier = make_verifier(
        TokenKeys(
            jwks_public_endpoint=server.base_url + "/t/{{tenant}}/keys.json",
            issuer_regex=r"^https://(?P<tenant>[a-z0-9]+)\.example$",
        )
    )
    for i in range(60):
        with pytest.raises(TokenInvalid):
            await verifier.verify_connect(token(f"https://t{i}.example", rsa_key))
    assert len(server.hits) <= 22  # URLs fetched (2 attempts each): FETCH_BURST and a refill
