"""Validation errors: one line, starting with the offending key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.config import Config, ConfigError, load_config, validate_config
from service.config.warnings import config_warnings


def _load(tmp_path: Path, data: dict[str, Any]) -> Config:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return load_config(str(path), env={})[0]


def _error(tmp_path: Path, data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, data)
    message = str(info.value)
    assert "\n" not in message
    return message


CASES: list[tuple[dict[str, Any], str]] = [
    ({"websocket_compression_level": 10}, "websocket_compression_level: must be within -2..9"),
    ({"http3": True}, "http3: requires TLS (tls with tls_cert and tls_key)"),
    ({"http3": True, "tls": True}, "http3: requires TLS (tls with tls_cert and tls_key)"),
    ({"webtransport": True}, "webtransport: requires http3"),
    (
        {"use_client_protocol_v1_by_default": True, "disable_client_protocol_v1": True},
        "use_client_protocol_v1_by_default: can not be used with disable_client_protocol_v1",
    ),
    (
        {"namespaces": [{"name": "ok"}, {"name": "a b"}]},
        'namespaces[1].name: "a b" does not match ^[-a-zA-Z0-9_.]{2,}$',
    ),
    ({"namespaces": [{"name": "x"}]}, 'namespaces[0].name: "x" does not match'),
    ({"namespaces": [{"presence": True}]}, "namespaces[0].name: required"),
    (
        {"namespaces": [{"name": "ns"}, {"name": "ns"}]},
        'namespaces[1].name: duplicate name "ns"',
    ),
    (
        {"namespaces": [{"name": "chat", "history_size": 10}]},
        "namespaces[0].history_ttl: history_size and history_ttl must be both zero or both "
        'non-zero (namespace "chat")',
    ),
    (
        {"namespaces": [{"name": "chat", "history_ttl": "10s"}]},
        "namespaces[0].history_size: history_size and history_ttl must be both zero or both "
        'non-zero (namespace "chat")',
    ),
    (
        {"history_size": 10},
        "history_ttl: history_size and history_ttl must be both zero or both non-zero "
        "(channels without namespace)",
    ),
    (
        {"namespaces": [{"name": "chat", "force_recovery": True}]},
        'namespaces[0].force_recovery: requires history_size and history_ttl (namespace "chat")',
    ),
    ({"force_recovery": True}, "force_recovery: requires history"),
    (
        {"namespaces": [{"name": "chat", "history_size": 1, "history_ttl": "1500ms"}]},
        "namespaces[0].history_ttl: must be a whole number of seconds",
    ),
    ({"presence_ttl": "1.5s"}, "presence_ttl: must be a whole number of seconds"),
    ({"history_meta_ttl": "100ms"}, "history_meta_ttl: must be a whole number of seconds"),
    ({"namespaces": [{"name": "chat", "channel_regex": "(["}]}, "namespaces[0].channel_regex:"),
    ({"channel_regex": "(["}, "channel_regex: invalid regular expression"),
    (
        {"user_personal_channel_namespace": "personal"},
        'user_personal_channel_namespace: namespace "personal" not found',
    ),
    (
        {
            "user_subscribe_to_personal": True,
            "user_personal_single_connection": True,
            "user_personal_channel_namespace": "personal",
            "namespaces": [{"name": "personal"}],
        },
        "user_personal_single_connection: requires presence enabled in the personal channel "
        'namespace (namespace "personal")',
    ),
    (
        {"user_subscribe_to_personal": True, "user_personal_single_connection": True},
        "user_personal_single_connection: requires presence",
    ),
    ({"ping_interval": "8s"}, "ping_interval: must be greater than pong_timeout"),
    ({"ping_interval": "5s", "pong_timeout": "10s"}, "ping_interval: must be greater than"),
    (
        {"token_audience": "a", "token_audience_regex": "b"},
        "token_audience: can not be used together with token_audience_regex",
    ),
    (
        {"token_issuer": "a", "token_issuer_regex": "b"},
        "token_issuer: can not be used together with token_issuer_regex",
    ),
    ({"token_audience_regex": "(?P<x"}, "token_audience_regex: invalid regular expression"),
    ({"token_issuer_regex": "[z-a]"}, "token_issuer_regex: invalid regular expression"),
    ({"engine": "tarantool"}, 'engine: "tarantool" is not supported'),
    ({"engine": "mongo"}, 'engine: unknown engine "mongo"'),
    ({"broker": "kafka"}, 'broker: unknown broker "kafka"'),
    ({"log_format": "logfmt"}, 'log_format: unknown format "logfmt" (expected text or json)'),
    ({"log_format": "JSON"}, 'log_format: unknown format "JSON"'),
    ({"port": 70000}, "port: 70000 is out of range 0-65535"),
    ({"internal_port": -1}, "internal_port: -1 is out of range"),
    ({"grpc_api_port": 65536}, "grpc_api_port: 65536 is out of range"),
    ({"uni_grpc_port": 100000}, "uni_grpc_port: 100000 is out of range"),
    ({"client_channel_limit": -1}, "client_channel_limit: must not be negative"),
    ({"shutdown_timeout": "-1s"}, "shutdown_timeout: must not be negative"),
    (
        {
            "granular_proxy_mode": True,
            "proxies": [{"name": "p1", "endpoint": "http://a"}, {"name": "p1", "endpoint": "b:1"}],
        },
        'proxies[1].name: duplicate name "p1"',
    ),
    (
        {"granular_proxy_mode": True, "proxies": [{"name": "p 1", "endpoint": "x:1"}]},
        'proxies[0].name: "p 1" does not match',
    ),
    ({"granular_proxy_mode": True, "proxies": [{"name": "p1"}]}, "proxies[0].endpoint: required"),
    (
        {
            "granular_proxy_mode": True,
            "proxies": [{"name": "p1", "endpoint": "x:1", "timeout": "0s"}],
        },
        "proxies[0].timeout:",
    ),
    (
        {"granular_proxy_mode": True, "proxies": [{"name": "p1", "endpoint": "ftp://x"}]},
        'proxies[0].endpoint: "ftp://x" is neither an http(s):// URL nor a gRPC address',
    ),
    (
        {"granular_proxy_mode": True, "proxies": [{"name": "p1", "endpoint": "backend"}]},
        'proxies[0].endpoint: "backend" is neither',
    ),
    ({"proxy_connect_endpoint": "http://"}, 'proxy_connect_endpoint: "http://" is not a valid'),
    ({"proxy_rpc_endpoint": "grpc://h:99999"}, "proxy_rpc_endpoint: "),
    (
        {"proxy_subscribe_endpoint": "http://a/s", "proxy_subscribe_timeout": "0s"},
        "proxy_subscribe_timeout: must be positive",
    ),
    ({"proxy_http_pool_size": 0}, "proxy_http_pool_size: must be positive"),
    (
        {"rpc_namespaces": [{"name": "r1"}, {"name": "r1"}]},
        'rpc_namespaces[1].name: duplicate name "r1"',
    ),
    (
        {"granular_proxy_mode": True, "connect_proxy_name": "nope"},
        'connect_proxy_name: proxy "nope" not found in proxies',
    ),
    (
        {
            "granular_proxy_mode": True,
            "proxies": [{"name": "p1", "endpoint": "http://a"}],
            "namespaces": [{"name": "ns", "subscribe_proxy_name": "p2"}],
        },
        'namespaces[0].subscribe_proxy_name: proxy "p2" not found in proxies',
    ),
    (
        {"granular_proxy_mode": True, "rpc_namespaces": [{"name": "r1", "rpc_proxy_name": "x"}]},
        'rpc_namespaces[0].rpc_proxy_name: proxy "x" not found in proxies',
    ),
    (
        {"engine": "redis", "redis_sentinel_address": ["a:26379"]},
        "redis_sentinel_master_name: required",
    ),
]


@pytest.mark.parametrize(("data", "message"), CASES, ids=[m[:40] for _, m in CASES])
def test_validation_error(tmp_path: Path, data: dict[str, Any], message: str) -> None:
    assert _error(tmp_path, data).startswith(message)


def test_valid_complex_config(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path,
        {
            "engine": "redis",
            "history_size": 10,
            "history_ttl": "60s",
            "force_recovery": True,
            "user_subscribe_to_personal": True,
            "user_personal_single_connection": True,
            "user_personal_channel_namespace": "personal",
            "token_audience_regex": "^(?P<tenant>[a-z]+)$",
            "granular_proxy_mode": True,
            "connect_proxy_name": "p1",
            "rpc_proxy_name": "p1",
            "proxies": [{"name": "p1", "endpoint": "http://a", "http_headers": ["Cookie"]}],
            "rpc_namespaces": [{"name": "rpc.ns", "rpc_proxy_name": "p1"}],
            "namespaces": [
                {"name": "personal", "presence": True},
                {"name": "chat-1", "publish_proxy_name": "p1", "channel_regex": "^\\d+$"},
            ],
            "pong_timeout": "-1s",
        },
    )
    assert cfg.engine == "redis"
    assert cfg.proxies[0].http_headers == ("Cookie",)
    assert cfg.channel_options.history_enabled
    assert cfg.pong_timeout == -1.0


def test_simple_mode_proxies_validate(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path,
        {
            "proxy_connect_endpoint": "http://127.0.0.1:9000/connect",
            "proxy_rpc_endpoint": "grpc://localhost:10001",
            "proxy_subscribe_endpoint": "[::1]:10002",
            "proxy_connect_timeout": "250ms",
            "proxy_subscribe": True,
        },
    )
    assert cfg.proxy_connect_timeout == 0.25
    assert cfg.proxy_http_pool_size == 64


def test_validate_config_on_hand_built_config() -> None:
    validate_config(Config())
    with pytest.raises(ConfigError, match=r"^ping_interval: must be greater than pong_timeout$"):
        validate_config(Config(ping_interval=1.0, pong_timeout=2.0))


MIXED_MODE = [
    ({"proxies": [{"name": "p1", "endpoint": "http://a"}]}, "proxies"),
    ({"connect_proxy_name": "p1"}, "connect_proxy_name"),
    (
        {"namespaces": [{"name": "ns", "publish_proxy_name": "p1"}]},
        "namespaces[0].publish_proxy_name",
    ),
    (
        {"rpc_namespaces": [{"name": "rr", "rpc_proxy_name": "p1"}]},
        "rpc_namespaces[0].rpc_proxy_name",
    ),
    ({"granular_proxy_mode": True, "proxy_rpc_endpoint": "http://a/rpc"}, "proxy_rpc_endpoint"),
    ({"granular_proxy_mode": True, "proxy_subscribe": True}, "proxy_subscribe"),
    # the simple-mode settings shared by all proxies: a `proxies` entry has its own
    ({"granular_proxy_mode": True, "proxy_http_headers": ["Cookie"]}, "proxy_http_headers"),
    ({"granular_proxy_mode": True, "proxy_connect_timeout": "3s"}, "proxy_connect_timeout"),
    (
        {"granular_proxy_mode": True, "proxy_include_connection_meta": True},
        "proxy_include_connection_meta",
    ),
    ({"granular_proxy_mode": True, "proxy_binary_encoding": True}, "proxy_binary_encoding"),
    ({"granular_proxy_mode": True, "proxy_grpc_metadata": ["x-id"]}, "proxy_grpc_metadata"),
]


@pytest.mark.parametrize(("data", "option"), MIXED_MODE, ids=[o for _, o in MIXED_MODE])
def test_other_proxy_mode_options_start_with_a_warning(
    tmp_path: Path, data: dict[str, Any], option: str
) -> None:
    """Centrifugo v4 starts with proxy options of the mode not in use and ignores them: the
    config loads, and the start-up warnings name each such option."""
    lines = config_warnings(_load(tmp_path, data))
    assert any(line.startswith(f"{option} is accepted but ignored:") for line in lines), lines
