"""Server API channel capabilities: per-namespace results, cached, and renewed on reload."""

from __future__ import annotations

import pytest

from service.config import ChannelOptions, Config
from service.config.options import NamespaceConfig
from service.policy.hooks import CentrifugoHooks
from service.protocol import codes as c


def _cfg(history_size: int, presence: bool) -> Config:
    chat = ChannelOptions(history_size=history_size, history_ttl=300.0, presence=presence)
    return Config(
        token_hmac_secret_key="s", namespaces=[NamespaceConfig(name="chat", options=chat)]
    )


def test_capabilities_follow_the_namespace() -> None:
    hooks = CentrifugoHooks(_cfg(history_size=10, presence=True))
    caps = hooks.api_channel("chat:room")
    assert caps.presence and caps.history
    assert caps.publish.history_size == 10 and caps.publish.with_history
    top = hooks.api_channel("room")
    assert not top.presence and not top.history and not top.publish.with_history
    assert hooks.publish_options("chat:other").history_size == 10


def test_unknown_namespace_and_empty_channel_keep_their_codes() -> None:
    hooks = CentrifugoHooks(_cfg(history_size=10, presence=True))
    for _ in range(2):  # a failed lookup is not remembered as a success
        with pytest.raises(c.ReplyError) as e:
            hooks.api_channel("nope:room")
        assert e.value.error.code == c.ERROR_UNKNOWN_CHANNEL.code
    with pytest.raises(c.ReplyError) as e:
        hooks.api_channel("")
    assert e.value.error.code == c.ERROR_BAD_REQUEST.code
    assert hooks.publish_options("nope:room").with_history is False


def test_reload_replaces_cached_capabilities() -> None:
    hooks = CentrifugoHooks(_cfg(history_size=10, presence=True))
    assert hooks.api_channel("chat:room").publish.history_size == 10
    hooks.reload(_cfg(history_size=0, presence=False))
    caps = hooks.api_channel("chat:room")
    assert not caps.presence and not caps.history and not caps.publish.with_history
    assert hooks.publish_options("chat:room").history_size == 0


def test_per_channel_memory_is_bounded_and_stays_right() -> None:
    hooks = CentrifugoHooks(_cfg(history_size=10, presence=True))
    hooks._CHANNEL_CAPS_MAX = 8  # type: ignore[misc]
    for i in range(50):
        assert hooks.api_channel(f"chat:{i}").publish.history_size == 10
        assert not hooks.api_channel(f"top{i}").history
        assert len(hooks._channel_caps) <= 8
    with pytest.raises(c.ReplyError) as e:
        hooks.api_channel("nope:1")
    assert e.value.error.code == c.ERROR_UNKNOWN_CHANNEL.code
    assert "nope:1" not in hooks._channel_caps
