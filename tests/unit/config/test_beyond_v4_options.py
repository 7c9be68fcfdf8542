"""Options of delta compression, tags filter, cache recovery mode and idempotent publish
(docs/beyond_v4.md#configuration): accepted in namespaces and at the top level without an
unknown-key warning, off by default, every bad value a one-line error naming the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.config import ConfigError, load_config


def _load(tmp_path: Path, data: dict[str, Any]) -> tuple[Any, list[str]]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return load_config(str(path), env={}, flags={})


NS = {
    "name": "doc",
    "allowed_delta_types": ["fossil"],
    "delta_publish": True,
    "allow_tags_filter": True,
    "force_recovery": True,
    "force_recovery_mode": "cache",
    "auto_cache_recover": True,
    "history_size": 1,
    "history_ttl": "1h",
}


def test_options_load_without_warnings(tmp_path: Path) -> None:
    top = {k: v for k, v in NS.items() if k != "name"}
    cfg, warnings = _load(tmp_path, {"namespaces": [NS], "idempotent_result_ttl": "10m", **top})
    assert warnings == []
    for opts in (cfg.namespaces[0].options, cfg.channel_options):
        assert opts.allowed_delta_types == ("fossil",)
        assert opts.delta_publish and opts.allow_tags_filter and opts.auto_cache_recover
        assert opts.force_recovery_mode == "cache" and opts.cache_recovery
    assert cfg.idempotent_result_ttl == 600.0


def test_defaults_are_v4(tmp_path: Path) -> None:
    cfg, _ = _load(tmp_path, {"namespaces": [{"name": "plain"}]})
    for opts in (cfg.namespaces[0].options, cfg.channel_options):
        assert opts.allowed_delta_types == ()
        assert not opts.delta_publish and not opts.allow_tags_filter
        assert opts.force_recovery_mode == "" and not opts.cache_recovery
        assert not opts.auto_cache_recover
    assert cfg.idempotent_result_ttl == 300.0


def test_stream_mode_is_v4_recovery(tmp_path: Path) -> None:
    cfg, _ = _load(tmp_path, {"force_recovery_mode": "stream"})
    assert not cfg.channel_options.cache_recovery


CASES = [
    (
        {"namespaces": [{"name": "doc", "allowed_delta_types": ["fossil", "xdelta"]}]},
        'namespaces[0].allowed_delta_types: unknown allowed delta type: "xdelta" (namespace "doc")',
    ),
    (
        {"allowed_delta_types": "gzip"},
        'allowed_delta_types: unknown allowed delta type: "gzip" (channels without namespace)',
    ),
    (
        {"namespaces": [{"name": "now", "force_recovery_mode": "latest"}]},
        'namespaces[0].force_recovery_mode: unknown recovery mode: "latest" '
        '(expected "stream" or "cache"; namespace "now")',
    ),
    (
        {"namespaces": [{"name": "now", "auto_cache_recover": True}]},
        'namespaces[0].auto_cache_recover: requires force_recovery and force_recovery_mode "cache"',
    ),
    (
        {
            "history_size": 1,
            "history_ttl": "1s",
            "force_recovery": True,
            "force_recovery_mode": "stream",
            "auto_cache_recover": True,
        },
        'auto_cache_recover: requires force_recovery and force_recovery_mode "cache"',
    ),
    ({"idempotent_result_ttl": "500ms"}, "idempotent_result_ttl: must be at least 1s"),
    ({"idempotent_result_ttl": "1.5s"}, "idempotent_result_ttl: must be a whole number"),
    ({"delta_publish": "maybe"}, "delta_publish:"),
    ({"allow_tags_filter": 2}, "allow_tags_filter: expected a boolean"),
]


@pytest.mark.parametrize(("data", "message"), CASES, ids=[m[:50] for _, m in CASES])
def test_bad_values_are_one_line_errors(tmp_path: Path, data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        _load(tmp_path, data)
    text = str(e.value)
    assert text.startswith(message), text
    assert "\n" not in text
