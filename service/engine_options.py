"""Config -> engine construction (part of the composition root)."""

from __future__ import annotations

import logging

from .config import Config, ConfigError
from .core.engine import Broker, PresenceManager
from .engines.memory import MemoryBroker, MemoryPresenceManager
from .engines.nats import NatsBroker, NoPresenceManager
from .engines.redis import TLSOptions, build_redis_engine, shard_configs

log = logging.getLogger("gyre")


def _tls(cfg: Config, prefix: str) -> TLSOptions:
    """``<prefix>_tls*`` options (``redis``, ``redis_sentinel`` or ``nats``)."""

    def opt(name: str) -> str:
        value = getattr(cfg, f"{prefix}_tls_{name}")
        assert isinstance(value, str)
        return value

    return TLSOptions(
        enabled=bool(getattr(cfg, f"{prefix}_tls")),
        cert_file=opt("cert"),
        key_file=opt("key"),
        cert_pem=opt("cert_pem"),
        key_pem=opt("key_pem"),
        root_ca_file=opt("root_ca"),
        root_ca_pem=opt("root_ca_pem"),
        server_name=opt("server_name"),
        insecure_skip_verify=bool(getattr(cfg, f"{prefix}_tls_insecure_skip_verify")),
    )


def build_engine(cfg: Config) -> tuple[Broker, PresenceManager]:
    """The engine (``memory`` or ``redis``), its broker replaced by NATS with ``broker: nats``.

    As in Centrifugo v4: with ``engine: redis`` presence stays in Redis; with
    ``engine: memory`` there is no presence at all (``NoPresenceManager``).  History is never
    available with the NATS broker.
    """
    broker, presence = _engine(cfg)
    if cfg.broker != "nats":
        return broker, presence
    closers = []
    if cfg.engine == "redis":
        closers.append(broker.close)  # owns the Redis connections the presence manager uses
    else:
        presence = NoPresenceManager()
        log.warning("presence, history and recovery disabled with memory engine and NATS broker")
    nats = NatsBroker(
        url=cfg.nats_url,
        prefix=cfg.nats_prefix,
        dial_timeout=cfg.nats_dial_timeout,
        write_timeout=cfg.nats_write_timeout,
        tls=_tls(cfg, "nats"),
        credentials_file=cfg.nats_credentials_file,
        name=f"gyre {cfg.name}".strip(),
        on_close=closers,
    )
    return nats, presence


def _engine(cfg: Config) -> tuple[Broker, PresenceManager]:
    """The memory engine (default) or the Redis engine with v4's ``redis_*`` options.

    Raises ConfigError (one line, passwords redacted) for an address that cannot be used.
    """
    if cfg.engine == "redis":
        try:
            return _redis_engine(cfg)
        except ValueError as e:
            raise ConfigError(f"redis: {e}") from None
    return MemoryBroker(), MemoryPresenceManager(presence_ttl=cfg.presence_ttl)


def _redis_engine(cfg: Config) -> tuple[Broker, PresenceManager]:
    shards = shard_configs(
        address=cfg.redis_address,
        password=cfg.redis_password,
        user=cfg.redis_user,
        db=cfg.redis_db,
        client_name=cfg.redis_client_name,
        connect_timeout=cfg.redis_connect_timeout,
        io_timeout=cfg.redis_io_timeout,
        tls=_tls(cfg, "redis"),
        cluster_address=cfg.redis_cluster_address,
        sentinel_address=cfg.redis_sentinel_address,
        sentinel_master_name=cfg.redis_sentinel_master_name,
        sentinel_user=cfg.redis_sentinel_user,
        sentinel_password=cfg.redis_sentinel_password,
        sentinel_client_name=cfg.redis_sentinel_client_name,
        sentinel_tls=_tls(cfg, "redis_sentinel"),
    )
    return build_redis_engine(shards=shards, prefix=cfg.redis_prefix, presence_ttl=cfg.presence_ttl)
