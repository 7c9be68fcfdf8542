"""Start-up warnings: options accepted but not acted on, and insecure modes in effect.

The one home of both lists.  ``config_warnings`` is logged when the server starts and again
after every SIGHUP reload; ``needs_restart`` names the changed options a reload does not apply.
The README's "Security" and "Configuration" sections list the same warnings
(``tests/unit/config/test_warnings.py`` keeps them in step).

An option is reported only when it is set to something else than its default and Centrifugo
v4 would act on it in that configuration (``redis_use_lists`` with the Redis engine, ...):
options that are inert in v4 too (``tarantool_*`` with another engine) stay quiet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.config.coerce import CONFIG_KINDS
from service.config.model import Config
from service.config.options import CHANNEL_OPTION_KEYS

__all__ = ["IGNORED", "INSECURE", "RELOADED", "config_warnings", "needs_restart"]

_DEFAULTS = Config()


def _always(cfg: Config) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Ignored:
    """Options accepted for compatibility and not acted on, each warned about when set."""

    options: tuple[str, ...]
    reason: str
    applies: Callable[[Config], bool] = _always


@dataclass(frozen=True, slots=True)
class Insecure:
    """A mode that turns a check off, warned about while ``active``."""

    name: str
    active: Callable[[Config], bool]
    risk: str


_TLS_CLIENT_SIDE = "it configures TLS clients and has no effect on a server listener"

IGNORED: tuple[Ignored, ...] = (
    Ignored(("gomaxprocs",), "Python has no GOMAXPROCS; run one process per core"),
    Ignored(
        ("node_info_metrics_aggregate_interval",),
        "info reports counters since start, not aggregates per interval",
    ),
    Ignored(("debug",), "no /debug/pprof endpoints are served"),
    Ignored(
        ("tls_root_ca", "tls_root_ca_pem", "tls_server_name", "tls_insecure_skip_verify"),
        _TLS_CLIENT_SIDE,
    ),
    Ignored(
        ("tls_client_ca", "tls_client_ca_pem"), "no TLS listener (tls is off)", lambda c: not c.tls
    ),
    Ignored(
        (
            "tls_autocert_host_whitelist",
            "tls_autocert_cache_dir",
            "tls_autocert_email",
            "tls_autocert_server_name",
            "tls_autocert_force_rsa",
            "tls_autocert_http",
            "tls_autocert_http_addr",
        ),
        "automatic certificates are not supported (set tls_cert and tls_key)",
    ),
    Ignored(
        (
            "grpc_api_tls_root_ca",
            "grpc_api_tls_root_ca_pem",
            "grpc_api_tls_server_name",
            "grpc_api_tls_insecure_skip_verify",
            "uni_grpc_tls_root_ca",
            "uni_grpc_tls_root_ca_pem",
            "uni_grpc_tls_server_name",
            "uni_grpc_tls_insecure_skip_verify",
        ),
        _TLS_CLIENT_SIDE,
    ),
    Ignored(
        ("grpc_api_tls_client_ca", "grpc_api_tls_client_ca_pem"),
        "it applies with grpc_api_tls only (no client certificates are required)",
        lambda c: c.grpc_api and not c.grpc_api_tls,
    ),
    Ignored(
        ("uni_grpc_tls_client_ca", "uni_grpc_tls_client_ca_pem"),
        "it applies with uni_grpc_tls only (no client certificates are required)",
        lambda c: c.uni_grpc and not c.uni_grpc_tls,
    ),
    Ignored(("client_concurrency",), "a connection's commands are handled one at a time"),
    Ignored(
        (
            "websocket_read_buffer_size",
            "websocket_write_buffer_size",
            "websocket_use_write_buffer_pool",
            "uni_websocket_read_buffer_size",
            "uni_websocket_write_buffer_size",
            "uni_websocket_use_write_buffer_pool",
        ),
        "Go WebSocket buffer settings have no counterpart here",
    ),
    Ignored(("uni_websocket_write_timeout",), "uni_websocket writes have no timeout"),
    Ignored(
        ("redis_use_lists",),
        "history is always kept in Redis streams",
        lambda c: c.engine == "redis",
    ),
    Ignored(
        (
            "redis_tls_client_ca",
            "redis_tls_client_ca_pem",
            "redis_sentinel_tls_client_ca",
            "redis_sentinel_tls_client_ca_pem",
        ),
        "a client CA verifies clients, and the Redis connection is a client",
        lambda c: c.engine == "redis",
    ),
    Ignored(
        ("graphite",),
        "Graphite export is not implemented (use prometheus)",
    ),
)

INSECURE: tuple[Insecure, ...] = (
    Insecure(
        "client_insecure",
        lambda c: c.client_insecure,
        "is on: clients connect without a token and subscribe, publish, read presence and "
        "history in every channel without permission checks; connection expiry is ignored",
    ),
    Insecure(
        "api_insecure",
        lambda c: c.api_insecure and not c.api_disable,
        "is on: the HTTP server API accepts every call without an API key",
    ),
    Insecure(
        "admin_insecure",
        lambda c: c.admin and c.admin_insecure,
        "is on: the admin endpoints accept everyone without a password",
    ),
    Insecure(
        "grpc_api_key",
        lambda c: c.grpc_api and not c.grpc_api_key,
        "is empty while grpc_api is on: the gRPC server API accepts every call, without a "
        "key, from anyone who can reach its port (all interfaces unless grpc_api_address is "
        "set); set grpc_api_key",
    ),
    Insecure(
        "skip_user_check_in_subscription_token",
        lambda c: c.skip_user_check_in_subscription_token,
        "is on: a subscription token issued to one user is accepted from any other user",
    ),
    Insecure(
        "redis_tls_insecure_skip_verify",
        lambda c: c.engine == "redis" and c.redis_tls and c.redis_tls_insecure_skip_verify,
        "is on: the Redis server's certificate is not verified",
    ),
    Insecure(
        "redis_sentinel_tls_insecure_skip_verify",
        lambda c: (
            c.engine == "redis"
            and c.redis_sentinel_tls
            and c.redis_sentinel_tls_insecure_skip_verify
        ),
        "is on: the Redis Sentinel certificates are not verified",
    ),
    Insecure(
        "allowed_origins",
        lambda c: "*" in c.allowed_origins,
        'contains "*": pages of any web site may open connections on behalf of your users',
    ),
)

_PROXY_KINDS = ("connect", "refresh", "subscribe", "publish", "sub_refresh", "rpc")

#: Simple-mode settings of every proxy; a granular `proxies` entry has its own of each.
_SIMPLE_SHARED = (
    *(f"proxy_{kind}_timeout" for kind in _PROXY_KINDS),
    "proxy_http_headers",
    "proxy_grpc_metadata",
    "proxy_binary_encoding",
    "proxy_include_connection_meta",
    "proxy_grpc_cert_file",
    "proxy_grpc_credentials_key",
    "proxy_grpc_credentials_value",
)

RELOADED: frozenset[str] = frozenset(
    {
        # channel rules and token keys (CentrifugoHooks.reload)
        "namespaces",
        "channel_private_prefix",
        "channel_namespace_boundary",
        "channel_user_boundary",
        "channel_user_separator",
        *CHANNEL_OPTION_KEYS,
        "token_hmac_secret_key",
        "token_rsa_public_key",
        "token_ecdsa_public_key",
        "token_jwks_public_endpoint",
        "token_audience",
        "token_audience_regex",
        "token_issuer",
        "token_issuer_regex",
        "client_insecure",
        "allow_anonymous_connect_without_token",
        "disallow_anonymous_connection_tokens",
        "skip_user_check_in_subscription_token",
        "user_subscribe_to_personal",
        "user_personal_channel_namespace",
        "user_personal_single_connection",
        # proxies (CentrifugoHooks.reload builds them anew; docs/proxy.md#6-reloading)
        *(f"proxy_{kind}_endpoint" for kind in _PROXY_KINDS),
        *_SIMPLE_SHARED,
        "proxy_http_pool_size",
        "granular_proxy_mode",
        "proxies",
        "connect_proxy_name",
        "refresh_proxy_name",
        "rpc_proxy_name",
        "rpc_namespaces",
        "rpc_namespace_boundary",
        # credentials (Server.reload)
        "api_key",
        "admin_password",
        "admin_secret",
        "grpc_api_key",
    }
)
"""Options a SIGHUP reload applies to the running server; any other change needs a restart."""


def _set(cfg: Config, option: str) -> bool:
    return bool(getattr(cfg, option) != getattr(_DEFAULTS, option))


_CHANNEL_PROXY_KINDS = ("subscribe", "publish", "sub_refresh")


def _other_proxy_mode(cfg: Config) -> list[tuple[str, str]]:
    """``(option, reason)`` for proxy options of the mode not in use: Centrifugo v4 starts with
    them and ignores them, so a v4 config keeps working, and Gyre says so."""
    scopes = [("", cfg.channel_options)] + [
        (f"namespaces[{i}].", ns.options) for i, ns in enumerate(cfg.namespaces)
    ]
    if cfg.granular_proxy_mode:
        why = "granular_proxy_mode is on: proxies are chosen by name from `proxies`"
        found = [k for k in CONFIG_KINDS if k.startswith("proxy_") and k.endswith("_endpoint")]
        out = [(k, why) for k in found if getattr(cfg, k)]
        out += [
            (f"{prefix}proxy_{kind}", f"{why} (use {kind}_proxy_name)")
            for prefix, o in scopes
            for kind in _CHANNEL_PROXY_KINDS
            if getattr(o, f"proxy_{kind}")
        ]
        out += [(k, f"{why} (set it on each entry)") for k in _SIMPLE_SHARED if _set(cfg, k)]
        return out
    why = "it applies with granular_proxy_mode: true only"
    out = [
        (k, why) for k in ("proxies", "connect_proxy_name", "refresh_proxy_name") if _set(cfg, k)
    ]
    out += [("rpc_proxy_name", why)] if cfg.rpc_proxy_name else []
    out += [
        (f"{prefix}{kind}_proxy_name", why)
        for prefix, o in scopes
        for kind in _CHANNEL_PROXY_KINDS
        if getattr(o, f"{kind}_proxy_name")
    ]
    out += [
        (f"rpc_namespaces[{i}].rpc_proxy_name", why)
        for i, rns in enumerate(cfg.rpc_namespaces)
        if rns.rpc_proxy_name
    ]
    return out


def config_warnings(cfg: Config) -> list[str]:
    """One line per option accepted but not acted on, then one per insecure mode in effect."""
    out = [
        f"{option} is accepted but ignored: {group.reason}"
        for group in IGNORED
        if group.applies(cfg)
        for option in group.options
        if _set(cfg, option)
    ]
    out += [f"{option} is accepted but ignored: {why}" for option, why in _other_proxy_mode(cfg)]
    out += [f"INSECURE: {m.name} {m.risk}" for m in INSECURE if m.active(cfg)]
    return out


def needs_restart(old: Config, new: Config) -> list[str]:
    """Options whose value changed between ``old`` and ``new`` that a reload does not apply."""
    return [
        option
        for option in CONFIG_KINDS
        if option not in RELOADED and getattr(old, option) != getattr(new, option)
    ]
