"""Connection options: address forms, Centrifugo config mapping, AUTH (password and ACL
user), unix sockets and TLS (files, inline PEM, server name, insecure skip verify)."""

from __future__ import annotations

import datetime
import ipaddress
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from service.core.engine import EngineError, HistoryQuery, Publication, PublishOptions
from service.engines.redis import (
    Address,
    RedisShardConfig,
    TLSOptions,
    build_redis_engine,
    parse_address,
    shard_configs,
)
from tests.engine_suite import RecordingHandler
from tests.publishing import publish_one
from tests.redis_fixtures import RedisFactory, free_port

HISTORY = PublishOptions(history_size=10, history_ttl=60, history_meta_ttl=600)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:6380", Address("127.0.0.1", 6380)),
        ("redis-host", Address("redis-host", 6379)),
        ("tcp://10.0.0.1:7000", Address("10.0.0.1", 7000)),
        ("redis://h:1/2", Address("h", 1, db=2)),
        ("redis://:p%40ss@h:1", Address("h", 1, password="p@ss")),
        ("redis://u:p@h", Address("h", 6379, user="u", password="p")),
        ("rediss://h:1", Address("h", 1, tls=True)),
        ("unix:///run/redis.sock", Address(path="/run/redis.sock")),
        ("unix:///run/redis.sock?db=3", Address(path="/run/redis.sock", db=3)),
        ("[::1]:6379", Address("::1", 6379)),
    ],
)
def test_parse_address(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "http://h:1", "unix://", "h:port"])
def test_parse_address_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)


def test_shard_configs_mapping() -> None:
    plain = shard_configs(address=["a:1", "b:2"], password="p", db=1, io_timeout=2)
    assert [(c.address, c.password, c.db, c.io_timeout) for c in plain] == [
        ("a:1", "p", 1, 2),
        ("b:2", "p", 1, 2),
    ]
    sentinel = shard_configs(
        address=["ignored:1"],
        sentinel_address=["s1:26379,s2:26379"],
        sentinel_master_name="m",
        sentinel_password="sp",
    )
    assert [(c.sentinel_addresses, c.sentinel_master_name, c.address) for c in sentinel] == [
        (("s1:26379", "s2:26379"), "m", "")
    ]
    cluster = shard_configs(cluster_address=["c1:1,c2:2", "d1:1"], sentinel_address=["x"])
    assert [c.cluster_addresses for c in cluster] == [("c1:1", "c2:2"), ("d1:1",)]
    with pytest.raises(ValueError):
        RedisShardConfig(sentinel_addresses=("s:1",))  # master name required
    with pytest.raises(ValueError):
        RedisShardConfig()


async def roundtrip(config: RedisShardConfig) -> None:
    """Start an engine, publish with history through PUB/SUB and read it back."""
    broker, presence = build_redis_engine(shards=[config])
    handler = RecordingHandler()
    await broker.start(handler, "n1")
    channel = f"opt-{uuid.uuid4().hex[:8]}"
    try:
        await broker.subscribe(channel)
        pos = await publish_one(broker, channel, Publication(b"x"), HISTORY)
        await handler.wait_publications(channel, 1)
        result = await broker.history(channel, HistoryQuery(limit=-1))
        assert result.position == pos and [p.data for p in result.publications] == [b"x"]
        assert await presence.presence_stats(channel) == (0, 0)
    finally:
        await broker.close()


async def test_password(redis_factory: RedisFactory) -> None:
    server = redis_factory.server()
    assert server.command("CONFIG", "SET", "requirepass", "s3cret") == b"OK"
    server_port = server.port
    await roundtrip(RedisShardConfig(address=f"127.0.0.1:{server_port}", password="s3cret"))
    await roundtrip(RedisShardConfig(address=f"redis://:s3cret@127.0.0.1:{server_port}/2"))
    with pytest.raises(EngineError):
        await roundtrip(RedisShardConfig(address=server.address, password="wrong"))


async def test_acl_user(redis_factory: RedisFactory) -> None:
    server = redis_factory.server()
    assert server.command("ACL", "SETUSER", "gyre", "on", ">pw", "~*", "&*", "+@all") == b"OK"
    await roundtrip(RedisShardConfig(address=server.address, user="gyre", password="pw"))
    await roundtrip(RedisShardConfig(address=f"redis://gyre:pw@{server.address}"))
    with pytest.raises(EngineError):
        await roundtrip(RedisShardConfig(address=server.address, user="gyre", password="no"))


async def test_unix_socket(redis_factory: RedisFactory, tmp_path: Path) -> None:
    path = tmp_path / "redis.sock"
    redis_factory.server("--unixsocket", str(path), "--unixsocketperm", "700")
    await roundtrip(RedisShardConfig(address=f"unix://{path}"))


# -- TLS --------------------------------------------------------------------------------


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0] if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("redis.test")]
            ),
            critical=False,
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def _pem(obj: x509.Certificate | ec.EllipticCurvePrivateKey) -> str:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM).decode()
    return obj.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Path]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("gyre test CA", ca_key, None, ca=True)
    files = {"ca": ca}
    out: dict[str, Path] = {}
    for role in ("server", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        files[role] = _cert(role, key, (ca.subject, ca_key))
        (tmp_path / f"{role}.key").write_text(_pem(key))
        out[f"{role}_key"] = tmp_path / f"{role}.key"
    for name, cert in files.items():
        (tmp_path / f"{name}.crt").write_text(_pem(cert))
        out[name] = tmp_path / f"{name}.crt"
    return out


async def test_tls(redis_factory: RedisFactory, tls_files: dict[str, Path]) -> None:
    tls_port = free_port()
    redis_factory.server(
        "--tls-port",
        str(tls_port),
        "--tls-cert-file",
        str(tls_files["server"]),
        "--tls-key-file",
        str(tls_files["server_key"]),
        "--tls-ca-cert-file",
        str(tls_files["ca"]),
        "--tls-auth-clients",
        "yes",
    )
    client = {"cert_file": str(tls_files["client"]), "key_file": str(tls_files["client_key"])}
    address = f"127.0.0.1:{tls_port}"
    verified = TLSOptions(enabled=True, root_ca_file=str(tls_files["ca"]), **client)
    await roundtrip(RedisShardConfig(address=address, tls=verified))
    await roundtrip(
        RedisShardConfig(
            address=f"rediss://{address}",  # rediss:// turns TLS on
            tls=TLSOptions(
                root_ca_pem=tls_files["ca"].read_text(),
                cert_pem=tls_files["client"].read_text(),
                key_pem=tls_files["client_key"].read_text(),
                server_name="redis.test",
            ),
        )
    )
    await roundtrip(
        RedisShardConfig(
            address=address, tls=TLSOptions(enabled=True, insecure_skip_verify=True, **client)
        )
    )
    # Unknown CA, or a name the certificate does not carry: refused.
    for bad in (
        TLSOptions(enabled=True, **client),
        TLSOptions(
            enabled=True, root_ca_file=str(tls_files["ca"]), server_name="other.test", **client
        ),
    ):
        with pytest.raises(EngineError):
            await roundtrip(RedisShardConfig(address=address, tls=bad, connect_timeout=0.5))
