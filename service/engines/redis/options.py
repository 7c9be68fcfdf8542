"""Redis engine options: addresses, TLS and one frozen config per shard (docs/configuration.md,
docs/redis.md#sharding).

The composition root maps Centrifugo's ``redis_*`` keys to these; see
``shard_configs`` for the exact mapping (cluster > sentinel > plain addresses, as in v4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, urlsplit

from ..tls import TLSOptions

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True, slots=True)
class Address:
    """One Redis endpoint: TCP ``host``/``port`` or a unix socket ``path``.

    ``user``/``password``/``db`` are None unless the address (``redis://user:pass@h:p/db``)
    set them; they then override the shard-wide values.  ``tls`` is True for ``rediss://``.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    path: str = ""
    user: str | None = None
    password: str | None = None
    db: int | None = None
    tls: bool = False

    def __str__(self) -> str:
        return f"unix://{self.path}" if self.path else f"{self.host}:{self.port}"


def redact(text: str) -> str:
    """``text`` with the password of a ``scheme://user:password@host…`` URL shown as ``***``."""
    scheme, sep, rest = text.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at:
        return text
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> Address:
    """Parse ``host:port``, ``host``, ``redis://[user:password@]host:port[/db]``,
    ``rediss://…`` (TLS), ``tcp://host:port`` or ``unix:///path/to.sock`` (``?db=N`` allowed).

    Raises ``ValueError`` for an empty or malformed address; its message shows the address
    with the password redacted.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty redis address")
    try:
        return _parse_address(text, default_port)
    except ValueError as e:
        raise ValueError(f"redis address {redact(text)!r}: {e}") from None


def _parse_address(text: str, default_port: int) -> Address:
    if "://" not in text:
        host, sep, port = text.rpartition(":")
        if not sep:
            return Address(host=text, port=default_port)
        return Address(host=host.strip("[]") or "127.0.0.1", port=int(port))
    url = urlsplit(text)
    scheme = url.scheme.lower()
    user = unquote(url.username) if url.username else None
    password = unquote(url.password) if url.password is not None else None
    db: int | None = None
    for part in url.query.split("&"):
        key, _, value = part.partition("=")
        if key == "db" and value:
            db = int(value)
    if scheme == "unix":
        path = url.path or url.netloc.rpartition("@")[2]
        if not path:
            raise ValueError("no socket path")
        return Address(path=path, user=user, password=password, db=db)
    if scheme not in ("redis", "rediss", "tcp"):
        raise ValueError(f"unsupported scheme {scheme!r} (redis, rediss, tcp or unix)")
    path = url.path.strip("/")
    if path:
        db = int(path)
    return Address(
        host=url.hostname or "127.0.0.1",
        port=url.port or default_port,
        user=user,
        password=password,
        db=db,
        tls=scheme == "rediss",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectSettings:
    """How to open and authenticate one connection (AUTH, SELECT, CLIENT SETNAME, TLS)."""

    user: str = ""
    password: str = ""
    db: int = 0
    client_name: str = ""
    tls: TLSOptions = field(default_factory=TLSOptions)
    connect_timeout: float = 1.0
    io_timeout: float = 4.0

    def for_address(self, address: Address) -> ConnectSettings:
        """Values from the address URL win over the shard-wide ones."""
        if address.user is None and address.password is None and address.db is None:
            if not address.tls or self.tls.enabled:
                return self
        return replace(
            self,
            user=self.user if address.user is None else address.user,
            password=self.password if address.password is None else address.password,
            db=self.db if address.db is None else address.db,
            tls=self.tls if not address.tls else replace(self.tls, enabled=True),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisShardConfig:
    """One shard: exactly one of ``address`` (standalone), ``sentinel_addresses`` (+
    ``sentinel_master_name``) or ``cluster_addresses`` (seed nodes of one Redis Cluster).

    Timeouts are seconds: ``connect_timeout`` bounds connect + handshake, ``io_timeout``
    bounds every command (Centrifugo ``redis_connect_timeout`` 1 s, ``redis_io_timeout`` 4 s).
    """

    address: str = ""
    user: str = ""
    password: str = ""
    db: int = 0
    client_name: str = ""
    tls: TLSOptions = field(default_factory=TLSOptions)
    connect_timeout: float = 1.0
    io_timeout: float = 4.0
    sentinel_addresses: tuple[str, ...] = ()
    sentinel_master_name: str = ""
    sentinel_user: str = ""
    sentinel_password: str = ""
    sentinel_client_name: str = ""
    sentinel_tls: TLSOptions = field(default_factory=TLSOptions)
    cluster_addresses: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        modes = sum(map(bool, (self.address, self.sentinel_addresses, self.cluster_addresses)))
        if modes != 1:
            raise ValueError(
                "RedisShardConfig needs exactly one of address, sentinel_addresses, "
                "cluster_addresses"
            )
        if self.sentinel_addresses and not self.sentinel_master_name:
            raise ValueError("sentinel_master_name is required with sentinel_addresses")
        if self.connect_timeout <= 0 or self.io_timeout <= 0:
            raise ValueError("connect_timeout and io_timeout must be > 0")

    def settings(self) -> ConnectSettings:
        """Connection settings for data nodes (master / cluster nodes)."""
        return ConnectSettings(
            user=self.user,
            password=self.password,
            db=self.db,
            client_name=self.client_name,
            tls=self.tls,
            connect_timeout=self.connect_timeout,
            io_timeout=self.io_timeout,
        )

    def sentinel_settings(self) -> ConnectSettings:
        """Connection settings for the sentinels themselves (no SELECT)."""
        return ConnectSettings(
            user=self.sentinel_user,
            password=self.sentinel_password,
            client_name=self.sentinel_client_name,
            tls=self.sentinel_tls,
            connect_timeout=self.connect_timeout,
            io_timeout=self.io_timeout,
        )


def _split(items: Sequence[str]) -> list[tuple[str, ...]]:
    """Each item is one shard; within an item, addresses are comma-separated."""
    out = []
    for item in items:
        parts = tuple(p.strip() for p in item.split(",") if p.strip())
        if parts:
            out.append(parts)
    return out


def shard_configs(
    *,
    address: Sequence[str] = ("127.0.0.1:6379",),
    password: str = "",
    user: str = "",
    db: int = 0,
    client_name: str = "",
    connect_timeout: float = 1.0,
    io_timeout: float = 4.0,
    tls: TLSOptions | None = None,
    cluster_address: Sequence[str] = (),
    sentinel_address: Sequence[str] = (),
    sentinel_master_name: str = "",
    sentinel_user: str = "",
    sentinel_password: str = "",
    sentinel_client_name: str = "",
    sentinel_tls: TLSOptions | None = None,
) -> list[RedisShardConfig]:
    """Centrifugo v4 ``redis_*`` values → one ``RedisShardConfig`` per shard.

    ``cluster_address`` wins (each item = one cluster, seeds comma-separated), then
    ``sentinel_address`` (each item = one sentinel set, comma-separated), then ``address``
    (each item = one standalone shard).
    """
    common = {
        "user": user,
        "password": password,
        "db": db,
        "client_name": client_name,
        "tls": tls or TLSOptions(),
        "connect_timeout": connect_timeout,
        "io_timeout": io_timeout,
    }
    if cluster_address:
        return [
            RedisShardConfig(cluster_addresses=seeds, **common)  # type: ignore[arg-type]
            for seeds in _split(cluster_address)
        ]
    if sentinel_address:
        return [
            RedisShardConfig(
                sentinel_addresses=sentinels,
                sentinel_master_name=sentinel_master_name,
                sentinel_user=sentinel_user,
                sentinel_password=sentinel_password,
                sentinel_client_name=sentinel_client_name,
                sentinel_tls=sentinel_tls or TLSOptions(),
                **common,  # type: ignore[arg-type]
            )
            for sentinels in _split(sentinel_address)
        ]
    return [
        RedisShardConfig(address=a, **common)  # type: ignore[arg-type]
        for a in address
        if a.strip()
    ]
