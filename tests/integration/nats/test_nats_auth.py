"""The NATS broker against a real nats-server that requires TLS, mutual TLS, a user and
password, or decentralised auth with a ``.creds`` file (``nats_tls*``, ``nats_url``
credentials and ``nats_credentials_file``): the broker connects and carries publications
between two nodes when the settings are right, and refuses to start with a clear error when
they are not."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from service.config import load_config
from service.core.engine import EngineError, Publication, PublishOptions
from service.engine_options import build_engine
from service.engines.nats import NatsBroker
from service.engines.tls import TLSOptions
from tests.engine_suite import RecordingHandler
from tests.nats_auth import operator_setup, stranger_creds
from tests.nats_fixtures import NatsFactory
from tests.publishing import publish_one
from tests.tls_cert import write_self_signed

Pair = Callable[..., Awaitable[None]]


@pytest.fixture
async def brokers() -> AsyncIterator[list[NatsBroker]]:
    made: list[NatsBroker] = []
    yield made
    for b in made:
        await b.close()


@pytest.fixture
def round_trip(brokers: list[NatsBroker]) -> Pair:
    """``await round_trip(url, **broker_kw)``: two brokers built alike; a publication of one
    reaches the other's subscriber."""

    async def check(url: str, **kw: Any) -> None:
        handlers = []
        for node in ("a", "b"):
            broker = NatsBroker(url=url, prefix="t", **kw)
            brokers.append(broker)
            handler = RecordingHandler()
            await broker.start(handler, node)
            assert broker.healthy()
            handlers.append(handler)
        a, b = brokers[-2:]
        await b.subscribe("room")
        await publish_one(a, "room", Publication(b'{"n":1}'), PublishOptions())
        [(pub, _)] = await handlers[1].wait_publications("room", 1)
        assert pub.data == b'{"n":1}'

    return check


async def refused(url: str, match: str, **kw: Any) -> None:
    broker = NatsBroker(url=url, prefix="t", dial_timeout=2.0, **kw)
    try:
        with pytest.raises(EngineError, match=match):
            await broker.start(RecordingHandler(), "n1")
        assert not broker.healthy()
    finally:
        await broker.close()


async def test_tls_server(tmp_path: Path, nats_factory: NatsFactory, round_trip: Pair) -> None:
    cert, key, _ = write_self_signed(tmp_path)
    server = nats_factory.server("--tls", "--tlscert", str(cert), "--tlskey", str(key))
    await round_trip(server.url, tls=TLSOptions(enabled=True, root_ca_file=str(cert)))
    # the certificate is not one the system trusts
    await refused(server.url, "CERTIFICATE_VERIFY_FAILED", tls=TLSOptions(enabled=True))
    # nor does a plain connection get in
    await refused(server.url, "cannot connect")


async def test_tls_insecure_skip_verify(
    tmp_path: Path, nats_factory: NatsFactory, round_trip: Pair
) -> None:
    cert, key, _ = write_self_signed(tmp_path)
    server = nats_factory.server("--tls", "--tlscert", str(cert), "--tlskey", str(key))
    await round_trip(server.url, tls=TLSOptions(enabled=True, insecure_skip_verify=True))


async def test_mutual_tls(tmp_path: Path, nats_factory: NatsFactory, round_trip: Pair) -> None:
    cert, key, server_pem = write_self_signed(tmp_path / "server")
    client_cert, client_key, client_pem = write_self_signed(tmp_path / "client")
    server = nats_factory.server(
        "--tlsverify",
        "--tlscert",
        str(cert),
        "--tlskey",
        str(key),
        "--tlscacert",
        str(client_cert),
    )
    # the client certificate from files, and the same from inline PEM text
    await round_trip(
        server.url,
        tls=TLSOptions(
            enabled=True,
            root_ca_file=str(cert),
            cert_file=str(client_cert),
            key_file=str(client_key),
        ),
    )
    await round_trip(
        server.url,
        tls=TLSOptions(
            enabled=True,
            root_ca_pem=server_pem.decode(),
            cert_pem=client_pem.decode(),
            key_pem=client_key.read_text(),
        ),
    )
    # without a client certificate the server ends the handshake
    await refused(
        server.url, "cannot connect", tls=TLSOptions(enabled=True, root_ca_file=str(cert))
    )


async def test_user_and_password_in_the_url(nats_factory: NatsFactory, round_trip: Pair) -> None:
    server = nats_factory.server("--user", "gyre", "--pass", "s3cret")
    await round_trip(f"nats://gyre:s3cret@127.0.0.1:{server.port}")
    await refused(f"nats://gyre:wrong@127.0.0.1:{server.port}", "[Aa]uthorization")
    await refused(server.url, "[Aa]uthorization")


async def test_credentials_file(
    tmp_path: Path, nats_factory: NatsFactory, round_trip: Pair
) -> None:
    setup = operator_setup(tmp_path)
    server = nats_factory.server("-c", str(setup.server_config))
    await round_trip(server.url, credentials_file=str(setup.creds))
    # a user of an account this server does not know, no credentials, a missing file
    await refused(server.url, "[Aa]uthorization", credentials_file=str(stranger_creds(tmp_path)))
    await refused(server.url, "[Aa]uthorization")
    await refused(
        server.url, "credentials.*missing.creds", credentials_file=str(tmp_path / "missing.creds")
    )


async def test_options_from_the_config_file(
    tmp_path: Path, nats_factory: NatsFactory, brokers: list[NatsBroker]
) -> None:
    """``nats_tls*`` and ``nats_credentials_file`` as a user writes them in the config."""
    cert, key, _ = write_self_signed(tmp_path / "tls")
    setup = operator_setup(tmp_path / "auth")
    conf = setup.server_config
    conf.write_text(conf.read_text() + f'tls {{ cert_file: "{cert}"\n key_file: "{key}" }}\n')
    server = nats_factory.server("-c", str(conf))
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "broker": "nats",
                "nats_url": server.url,
                "nats_tls": True,
                "nats_tls_root_ca": str(cert),
                "nats_tls_server_name": "localhost",
                "nats_credentials_file": str(setup.creds),
            }
        )
    )
    cfg, _ = load_config(str(path), env={})
    broker, _presence = build_engine(cfg)
    assert isinstance(broker, NatsBroker)
    brokers.append(broker)
    await broker.start(RecordingHandler(), "n1")
    assert broker.healthy()
