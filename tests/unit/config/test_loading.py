"""load_config: file formats, environment, flags, precedence, warnings, dump round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.config import (
    ChannelOptions,
    Config,
    ConfigError,
    NamespaceConfig,
    ProxyConfig,
    RpcNamespaceConfig,
    config_to_dict,
    load_config,
)

JSON_CONFIG = {
    "token_hmac_secret_key": "secret",
    "port": "9000",
    "allowed_origins": ["https://a.com", "https://b.com"],
    "ping_interval": "30s",
    "history_meta_ttl": "720h",
    "client_channel_limit": 64,
    "presence": True,
    "history_size": 10,
    "history_ttl": "300s",
    "namespaces": [
        {"name": "chat", "presence": True, "history_size": 5, "history_ttl": "1m"},
        {"name": "news", "allow_subscribe_for_client": True, "channel_regex": "^[a-z]+$"},
    ],
}

YAML_CONFIG = """
token_hmac_secret_key: secret
port: 9000
allowed_origins:
  - https://a.com
  - https://b.com
ping_interval: 30s
history_meta_ttl: 720h
client_channel_limit: 64
presence: true
history_size: 10
history_ttl: 300s
namespaces:
  - name: chat
    presence: true
    history_size: 5
    history_ttl: 1m
  - name: news
    allow_subscribe_for_client: true
    channel_regex: "^[a-z]+$"
"""

TOML_CONFIG = """
token_hmac_secret_key = "secret"
port = 9000
allowed_origins = ["https://a.com", "https://b.com"]
ping_interval = "30s"
history_meta_ttl = "720h"
client_channel_limit = 64
presence = true
history_size = 10
history_ttl = "300s"

[[namespaces]]
name = "chat"
presence = true
history_size = 5
history_ttl = "1m"

[[namespaces]]
name = "news"
allow_subscribe_for_client = true
channel_regex = "^[a-z]+$"
"""


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("config.json", json.dumps(JSON_CONFIG)),
        ("config.yaml", YAML_CONFIG),
        ("config.yml", YAML_CONFIG),
        ("config.toml", TOML_CONFIG),
    ],
)
def test_file_formats(tmp_path: Path, name: str, text: str) -> None:
    cfg, warnings = load_config(_write(tmp_path, name, text), env={})
    assert warnings == []
    assert cfg.token_hmac_secret_key == "secret"
    assert cfg.port == 9000
    assert cfg.allowed_origins == ("https://a.com", "https://b.com")
    assert cfg.ping_interval == 30.0
    assert cfg.history_meta_ttl == 720 * 3600.0
    assert cfg.client_channel_limit == 64
    assert cfg.channel_options == ChannelOptions(presence=True, history_size=10, history_ttl=300.0)
    assert cfg.namespaces == (
        NamespaceConfig(
            name="chat", options=ChannelOptions(presence=True, history_size=5, history_ttl=60.0)
        ),
        NamespaceConfig(
            name="news",
            options=ChannelOptions(allow_subscribe_for_client=True, channel_regex="^[a-z]+$"),
        ),
    )
    assert cfg.namespace("chat") is cfg.namespaces[0]
    assert cfg.namespace("missing") is None


def test_missing_file_is_a_warning(tmp_path: Path) -> None:
    cfg, warnings = load_config(str(tmp_path / "nope.json"), env={})
    assert cfg == Config()
    assert len(warnings) == 1
    assert "not found" in warnings[0]


def test_unknown_keys_warn(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "c.json",
        json.dumps({"bogus": 1, "port": 8001, "namespaces": [{"name": "ns", "nope": True}]}),
    )
    cfg, warnings = load_config(path, env={})
    assert cfg.port == 8001
    assert 'unknown key "bogus" in config file' in warnings
    assert 'unknown key "namespaces[0].nope" in config file' in warnings


def test_null_means_unset(tmp_path: Path) -> None:
    cfg, _ = load_config(_write(tmp_path, "c.yaml", "port:\nengine: memory\n"), env={})
    assert cfg.port == 8000


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("c.json", '{"port": 8000,', "invalid JSON at line 1"),
        ("c.yaml", "a: [1, 2\nb: 3\n", "invalid YAML at line"),
        ("c.toml", "port = \n", "invalid TOML"),
        ("c.json", "[1, 2]", "must be an object"),
        ("c.ini", "port=1", "unsupported config file extension"),
    ],
)
def test_parse_errors_are_one_line(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert "\n" not in message
    assert fragment in message
    assert message.startswith(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"port": "http"}, "port: expected an integer"),
        ({"debug": "yes"}, 'debug: invalid boolean "yes"'),
        ({"ping_interval": "5 sec"}, "ping_interval:"),
        ({"ping_interval": True}, "ping_interval: expected a duration"),
        ({"allowed_origins": {"a": 1}}, "allowed_origins: expected an array of strings"),
        ({"allowed_origins": [["x"]]}, "allowed_origins[0]: expected a string"),
        ({"api_key": ["x"]}, "api_key: expected a string"),
        ({"namespaces": {"name": "x"}}, "namespaces: expected an array of objects"),
        ({"namespaces": ["x"]}, "namespaces[0]: expected an object"),
        ({"namespaces": [{"name": "ns", "presence": "maybe"}]}, "namespaces[0].presence:"),
        ({"proxies": [{"name": "p1", "endpoint": "x", "timeout": "x"}]}, "proxies[0].timeout:"),
    ],
)
def test_type_errors_name_the_key(tmp_path: Path, data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, "c.json", json.dumps(data)), env={})
    assert str(info.value).startswith(message)


def test_numbers_in_files_are_seconds(tmp_path: Path) -> None:
    data = {"history_size": 5, "history_ttl": 300, "ping_interval": 20.5, "presence_ttl": "30"}
    cfg, _ = load_config(_write(tmp_path, "c.json", json.dumps(data)), env={})
    assert cfg.history_ttl == 300.0
    assert cfg.ping_interval == 20.5
    assert cfg.presence_ttl == 30.0


def test_blank_port_string_means_zero(tmp_path: Path) -> None:
    data = {"port": "8000", "internal_port": ""}
    cfg, _ = load_config(_write(tmp_path, "c.json", json.dumps(data)), env={})
    assert (cfg.port, cfg.internal_port) == (8000, 0)


def test_string_for_list_option_and_redis_address(tmp_path: Path) -> None:
    data = {"redis_address": "localhost:6379", "allowed_origins": "https://a https://b"}
    cfg, _ = load_config(_write(tmp_path, "c.json", json.dumps(data)), env={})
    assert cfg.redis_address == ("localhost:6379",)
    assert cfg.allowed_origins == ("https://a", "https://b")


def test_env_overrides() -> None:
    env = {
        "CENTRIFUGO_TOKEN_HMAC_SECRET_KEY": "s3",
        "CENTRIFUGO_CLIENT_INSECURE": "t",
        "CENTRIFUGO_API_INSECURE": "FALSE",
        "CENTRIFUGO_ALLOWED_ORIGINS": "https://a.com https://b.com",
        "CENTRIFUGO_PORT": "9001",
        "CENTRIFUGO_CLIENT_CHANNEL_LIMIT": "5",
        "CENTRIFUGO_PING_INTERVAL": "40s",
        "CENTRIFUGO_PONG_TIMEOUT": "10",
        "CENTRIFUGO_REDIS_ADDRESS": "redis://a:6379 redis://b:6379",
        "CENTRIFUGO_NAMESPACES": '[{"name": "ns1", "presence": true, "history_size": 2, '
        '"history_ttl": "10s"}]',
        "CENTRIFUGO_RPC_NAMESPACES": '[{"name": "rpc1", "rpc_proxy_name": "p1"}]',
        "CENTRIFUGO_PROXIES": '[{"name": "p1", "endpoint": "http://x", "timeout": "2s"}]',
        "CENTRIFUGO_GRANULAR_PROXY_MODE": "true",
        "CENTRIFUGO_UNKNOWN_THING": "whatever",
        "OTHER": "x",
    }
    cfg, warnings = load_config(None, env=env)
    assert warnings == []
    assert cfg.token_hmac_secret_key == "s3"
    assert cfg.client_insecure is True
    assert cfg.api_insecure is False
    assert cfg.allowed_origins == ("https://a.com", "https://b.com")
    assert cfg.port == 9001
    assert cfg.client_channel_limit == 5
    assert cfg.ping_interval == 40.0
    assert cfg.pong_timeout == 10.0
    assert cfg.redis_address == ("redis://a:6379", "redis://b:6379")
    assert cfg.namespaces == (
        NamespaceConfig(
            name="ns1", options=ChannelOptions(presence=True, history_size=2, history_ttl=10.0)
        ),
    )
    assert cfg.rpc_namespaces == (RpcNamespaceConfig(name="rpc1", rpc_proxy_name="p1"),)
    assert cfg.proxies == (ProxyConfig(name="p1", endpoint="http://x", timeout=2.0),)


def test_empty_env_var_is_unset(tmp_path: Path) -> None:
    path = _write(tmp_path, "c.json", json.dumps({"api_key": "file"}))
    cfg, _ = load_config(path, env={"CENTRIFUGO_API_KEY": "", "CENTRIFUGO_DEBUG": ""})
    assert cfg.api_key == "file"
    assert cfg.debug is False


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("CENTRIFUGO_DEBUG", "yes", 'debug: invalid boolean "yes"'),
        ("CENTRIFUGO_PORT", "x", "port: expected an integer"),
        ("CENTRIFUGO_PING_INTERVAL", "1y", 'ping_interval: unknown unit "y"'),
        ("CENTRIFUGO_NAMESPACES", "[{", "namespaces: invalid JSON"),
    ],
)
def test_env_errors_name_key_and_variable(var: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, env={var: value})
    text = str(info.value)
    assert text.startswith(message)
    assert var in text
    assert "\n" not in text


def test_precedence_flags_env_file_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "c.json",
        json.dumps({"port": 8001, "address": "file", "engine": "memory", "api_key": "file"}),
    )
    env = {"CENTRIFUGO_PORT": "8002", "CENTRIFUGO_ADDRESS": "env"}
    flags = {"port": "8003", "admin": True}
    cfg, _ = load_config(path, env=env, flags=flags)
    assert cfg.port == 8003  # flag > env > file
    assert cfg.address == "env"  # env > file
    assert cfg.api_key == "file"  # file > default
    assert cfg.admin is True
    assert cfg.grpc_api_port == 10000  # default


def test_unknown_flag_is_an_error() -> None:
    with pytest.raises(ConfigError, match="bogus: unknown option"):
        load_config(None, env={}, flags={"bogus": "1"})


def test_flag_errors_name_the_flag() -> None:
    with pytest.raises(ConfigError, match="--port"):
        load_config(None, env={}, flags={"port": "http"})


def test_dump_round_trip(tmp_path: Path) -> None:
    original, _ = load_config(_write(tmp_path, "c.yaml", YAML_CONFIG), env={})
    data = config_to_dict(original)
    assert data["ping_interval"] == "30s"
    assert data["history_meta_ttl"] == "720h0m0s"
    assert data["allowed_origins"] == ["https://a.com", "https://b.com"]
    assert data["namespaces"][0]["name"] == "chat"
    assert data["namespaces"][0]["history_ttl"] == "1m0s"
    assert "channel_options" not in data
    text = json.dumps(data)  # JSON-able
    again, warnings = load_config(_write(tmp_path, "d.json", text), env={})
    assert warnings == []
    assert again == original
