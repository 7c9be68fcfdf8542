"""Semantic validation of a :class:`Config` (docs/protocol.md#ping-and-pong,
docs/configuration.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from service.config.coerce import CONFIG_KINDS
from service.config.errors import ConfigError
from service.config.model import Config
from service.config.options import NAME_PATTERN, NAME_RE, ChannelOptions, ProxyConfig

__all__ = ["validate_config"]

SUPPORTED_ENGINES = ("memory", "redis")
SUPPORTED_BROKERS = ("", "nats")
LOG_FORMATS = ("text", "json")
PORT_KEYS = (
    "port",
    "internal_port",
    "grpc_api_port",
    "uni_grpc_port",
    "grpc_stream_port",
    "graphite_port",
)
WHOLE_SECONDS_KEYS = ("history_meta_ttl", "presence_ttl", "idempotent_result_ttl")
DELTA_TYPES = ("fossil",)
RECOVERY_MODES = ("", "stream", "cache")
# ints that may legitimately be negative (flate levels, "auto" GOMAXPROCS)
_SIGNED_INTS = frozenset(
    {"websocket_compression_level", "uni_websocket_compression_level", "gomaxprocs"}
)
# durations where a negative value has a meaning (docs/protocol.md#ping-and-pong: negative
# pong_timeout disables pongs)
_SIGNED_DURATIONS = frozenset({"ping_interval", "pong_timeout"})


def _fail(message: str) -> None:
    raise ConfigError(message)


def _check_regex(key: str, pattern: str) -> None:
    if not pattern:
        return
    try:
        re.compile(pattern)
    except re.error as e:
        _fail(f'{key}: invalid regular expression "{pattern}": {e}')


def _check_name(key: str, name: str, seen: set[str]) -> None:
    if not name:
        _fail(f"{key}: required")
    if not NAME_RE.match(name):
        _fail(f'{key}: "{name}" does not match {NAME_PATTERN}')
    if name in seen:
        _fail(f'{key}: duplicate name "{name}"')
    seen.add(name)


def _check_whole_seconds(key: str, value: float) -> None:
    if value < 0:
        _fail(f"{key}: must not be negative")
    if value != int(value):
        _fail(f"{key}: must be a whole number of seconds, got {value:g}s")


def _check_channel_options(prefix: str, label: str, o: ChannelOptions) -> None:
    if o.history_size < 0:
        _fail(f"{prefix}history_size: must not be negative ({label})")
    _check_whole_seconds(f"{prefix}history_ttl", o.history_ttl)
    if (o.history_size == 0) != (o.history_ttl == 0):
        zero = "history_ttl" if o.history_ttl == 0 else "history_size"
        _fail(
            f"{prefix}{zero}: history_size and history_ttl must be both zero or both "
            f"non-zero ({label})"
        )
    if o.force_recovery and not o.history_enabled:
        _fail(f"{prefix}force_recovery: requires history_size and history_ttl ({label})")
    _check_regex(f"{prefix}channel_regex", o.channel_regex)
    for kind in o.allowed_delta_types:
        if kind not in DELTA_TYPES:
            _fail(f'{prefix}allowed_delta_types: unknown allowed delta type: "{kind}" ({label})')
    if o.force_recovery_mode not in RECOVERY_MODES:
        _fail(
            f'{prefix}force_recovery_mode: unknown recovery mode: "{o.force_recovery_mode}" '
            f'(expected "stream" or "cache"; {label})'
        )
    if o.auto_cache_recover and not (o.force_recovery and o.cache_recovery):
        _fail(
            f"{prefix}auto_cache_recover: requires force_recovery and "
            f'force_recovery_mode "cache" ({label})'
        )


def _check_scalars(cfg: Config) -> None:
    if cfg.engine == "tarantool":
        _fail('engine: "tarantool" is not supported by this server (use memory or redis)')
    if cfg.engine not in SUPPORTED_ENGINES:
        _fail(f'engine: unknown engine "{cfg.engine}" (expected memory or redis)')
    if cfg.broker not in SUPPORTED_BROKERS:
        _fail(f'broker: unknown broker "{cfg.broker}" (expected "" or nats)')
    if cfg.broker == "nats" and (
        not cfg.nats_prefix or any(ch in "*> \t\r\n" for ch in cfg.nats_prefix)
    ):
        _fail(f"nats_prefix: {cfg.nats_prefix!r} is not a NATS subject prefix")
    if cfg.log_format not in LOG_FORMATS:
        _fail(f'log_format: unknown format "{cfg.log_format}" (expected text or json)')
    for key in PORT_KEYS:
        port = getattr(cfg, key)
        if not 0 <= port <= 65535:
            _fail(f"{key}: {port} is out of range 0-65535")
    for key, kind in CONFIG_KINDS.items():
        if kind == "int" and key not in _SIGNED_INTS and getattr(cfg, key) < 0:
            _fail(f"{key}: must not be negative")
        if kind == "duration" and key not in _SIGNED_DURATIONS and getattr(cfg, key) < 0:
            _fail(f"{key}: must not be negative")
    if cfg.idempotent_result_ttl < 1:
        _fail("idempotent_result_ttl: must be at least 1s")
    for key in ("websocket_compression_level", "uni_websocket_compression_level"):
        if not -2 <= getattr(cfg, key) <= 9:
            _fail(f"{key}: must be within -2..9 (flate levels), got {getattr(cfg, key)}")
    if cfg.http3 and not (cfg.tls and ((cfg.tls_cert and cfg.tls_key) or cfg.tls_cert_pem)):
        _fail("http3: requires TLS (tls with tls_cert and tls_key)")
    if cfg.webtransport and not cfg.http3:
        _fail("webtransport: requires http3")
    if cfg.use_client_protocol_v1_by_default and cfg.disable_client_protocol_v1:
        _fail("use_client_protocol_v1_by_default: can not be used with disable_client_protocol_v1")
    if cfg.ping_interval <= cfg.pong_timeout:
        _fail("ping_interval: must be greater than pong_timeout")
    for key in WHOLE_SECONDS_KEYS:
        _check_whole_seconds(key, getattr(cfg, key))
    for claim in ("audience", "issuer"):
        plain, regex = f"token_{claim}", f"token_{claim}_regex"
        if getattr(cfg, plain) and getattr(cfg, regex):
            _fail(f"{plain}: can not be used together with {regex}")
        _check_regex(regex, getattr(cfg, regex))
    if cfg.tls_autocert:  # refused, not ignored: the listeners would silently be plaintext
        _fail("tls_autocert: automatic certificates are not supported (set tls_cert and tls_key)")
    if cfg.engine == "redis" and cfg.redis_sentinel_address and not cfg.redis_sentinel_master_name:
        _fail("redis_sentinel_master_name: required when redis_sentinel_address is set")


def _check_namespaces(cfg: Config) -> None:
    _check_channel_options("", "channels without namespace", cfg.channel_options)
    seen: set[str] = set()
    for i, item in enumerate(cfg.namespaces):
        _check_name(f"namespaces[{i}].name", item.name, seen)
        _check_channel_options(f"namespaces[{i}].", f'namespace "{item.name}"', item.options)
    personal = cfg.user_personal_channel_namespace
    if personal and personal not in seen:
        _fail(f'user_personal_channel_namespace: namespace "{personal}" not found in namespaces')
    if cfg.user_personal_single_connection:
        ns = cfg.namespace(personal) if personal else None
        opts = ns.options if ns is not None else cfg.channel_options
        if not opts.presence:
            where = f'namespace "{personal}"' if personal else "channels without namespace"
            _fail(
                "user_personal_single_connection: requires presence enabled in the personal "
                f"channel namespace ({where})"
            )
    seen_rpc: set[str] = set()
    for i, rns in enumerate(cfg.rpc_namespaces):
        _check_name(f"rpc_namespaces[{i}].name", rns.name, seen_rpc)


_PROXY_KINDS = ("connect", "refresh", "subscribe", "publish", "sub_refresh", "rpc")
_CHANNEL_PROXY_KINDS = ("subscribe", "publish", "sub_refresh")
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):([0-9]{1,5})$")


def _check_endpoint(key: str, endpoint: str) -> None:
    """``http(s)://host[:port]/path`` (HTTP proxy), or ``grpc://host:port`` / ``host:port``
    (gRPC proxy)."""
    if endpoint.startswith(("http://", "https://")):
        rest = endpoint.split("://", 1)[1]
        host = rest.split("/", 1)[0].split("?", 1)[0]
        if not host or " " in endpoint:
            _fail(f'{key}: "{endpoint}" is not a valid HTTP URL')
        return
    target = endpoint.removeprefix("grpc://")
    m = _HOST_PORT.match(target)
    if "://" in target or m is None or not 0 < int(m.group(2)) <= 65535:
        _fail(
            f'{key}: "{endpoint}" is neither an http(s):// URL nor a gRPC address '
            "(grpc://host:port or host:port)"
        )


def _channel_scopes(cfg: Config) -> Iterable[tuple[str, ChannelOptions]]:
    yield "", cfg.channel_options
    for i, ns in enumerate(cfg.namespaces):
        yield f"namespaces[{i}].", ns.options


def _check_proxies(cfg: Config) -> None:
    if cfg.proxy_http_pool_size <= 0:
        _fail("proxy_http_pool_size: must be positive")
    if cfg.granular_proxy_mode:
        _check_granular(cfg)
    else:
        _check_simple(cfg)


def _check_simple(cfg: Config) -> None:
    for kind in _PROXY_KINDS:
        endpoint = getattr(cfg, f"proxy_{kind}_endpoint")
        if endpoint:
            _check_endpoint(f"proxy_{kind}_endpoint", endpoint)
            if getattr(cfg, f"proxy_{kind}_timeout") <= 0:
                _fail(f"proxy_{kind}_timeout: must be positive")
    # granular-mode options here are warned about (config/warnings.py), as v4 ignores them


def _check_granular(cfg: Config) -> None:
    names: set[str] = set()
    for i, p in enumerate(cfg.proxies):
        _check_proxy(i, p, names)
    # simple-mode options here are warned about (config/warnings.py), as v4 ignores them

    def refs() -> Iterable[tuple[str, str]]:
        yield "connect_proxy_name", cfg.connect_proxy_name
        yield "refresh_proxy_name", cfg.refresh_proxy_name
        yield "rpc_proxy_name", cfg.rpc_proxy_name
        for prefix, o in _channel_scopes(cfg):
            for kind in _CHANNEL_PROXY_KINDS:
                yield f"{prefix}{kind}_proxy_name", getattr(o, f"{kind}_proxy_name")
        for i, rns in enumerate(cfg.rpc_namespaces):
            yield f"rpc_namespaces[{i}].rpc_proxy_name", rns.rpc_proxy_name

    for key, name in refs():
        if name and name not in names:
            _fail(f'{key}: proxy "{name}" not found in proxies')


def _check_proxy(i: int, p: ProxyConfig, names: set[str]) -> None:
    _check_name(f"proxies[{i}].name", p.name, names)
    if not p.endpoint:
        _fail(f"proxies[{i}].endpoint: required")
    _check_endpoint(f"proxies[{i}].endpoint", p.endpoint)
    if p.timeout <= 0:
        _fail(f"proxies[{i}].timeout: must be positive")


def validate_config(cfg: Config) -> None:
    """Raise ConfigError (one line naming the key) if ``cfg`` is not a valid configuration.

    Checks: engine is memory or redis (``tarantool`` is reported as unsupported); broker is ""
    or nats; ``log_format`` is text or json; ports within 0-65535; no negative
    counts/durations (except the compression levels, ``gomaxprocs``, ``ping_interval`` and
    ``pong_timeout``); ``ping_interval > pong_timeout``;
    ``token_audience``/``token_audience_regex`` (and issuer) mutually exclusive; every regex
    compiles; ``history_ttl`` (top level and namespaces), ``presence_ttl`` and
    ``history_meta_ttl`` whole seconds; ``history_size``/``history_ttl`` both zero or both
    non-zero; ``force_recovery`` requires history; ``allowed_delta_types`` only ``fossil``;
    ``force_recovery_mode`` "", ``stream`` or ``cache``; ``auto_cache_recover`` requires
    ``force_recovery`` in cache mode; ``idempotent_result_ttl`` whole seconds >= 1;
    namespace / RPC namespace / proxy names match ``^[-a-zA-Z0-9_.]{2,}$`` and are unique;
    ``user_personal_channel_namespace`` exists when set; ``user_personal_single_connection``
    requires presence in the personal channel namespace; proxy endpoints are http(s) URLs or
    gRPC ``host:port`` addresses with a positive timeout; in granular proxy mode every
    referenced proxy name exists and the simple-mode proxy options are unset, outside it the
    granular ones are unset (neither is silently ignored); Redis sentinel needs
    ``redis_sentinel_master_name``; ``tls_autocert`` is refused (not supported, and ignoring it
    would serve plaintext).
    """
    _check_scalars(cfg)
    _check_namespaces(cfg)
    _check_proxies(cfg)
