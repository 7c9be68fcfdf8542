"""The start-up warnings (service/config/warnings.py) and the README that lists them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from service.config import Config
from service.config.warnings import IGNORED, INSECURE, RELOADED, config_warnings, needs_restart

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()
CONTEXTS = (
    Config(),
    Config(engine="redis"),
    Config(admin=True),
    Config(grpc_api=True),
    Config(uni_grpc=True),
)


def _other(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    return ("x",)


def _cases() -> list[tuple[str, str]]:
    return [(option, group.reason) for group in IGNORED for option in group.options]


@pytest.mark.parametrize(("option", "reason"), _cases(), ids=lambda v: v[:40])
def test_every_ignored_option_is_named_when_set(option: str, reason: str) -> None:
    group = next(g for g in IGNORED if option in g.options)
    base = next(c for c in CONTEXTS if group.applies(c))
    cfg = dataclasses.replace(base, **{option: _other(getattr(base, option))})
    assert f"{option} is accepted but ignored: {reason}" in config_warnings(cfg)


@pytest.mark.parametrize(("option", "reason"), _cases(), ids=lambda v: v[:40])
def test_readme_lists_every_ignored_option_with_its_warning(option: str, reason: str) -> None:
    assert f"`{option}`" in README and reason in README, option


def test_readme_lists_every_insecure_mode() -> None:
    for mode in INSECURE:
        assert f"`{mode.name}`" in README and mode.risk in README, mode.name


def test_defaults_warn_about_nothing() -> None:
    assert config_warnings(Config()) == []


def test_context_decides() -> None:
    assert config_warnings(Config(redis_use_lists=True)) == []  # memory engine: inert in v4 too
    assert config_warnings(Config(engine="redis", redis_use_lists=True))


def test_needs_restart_names_only_what_a_reload_does_not_apply() -> None:
    old = Config()
    new = dataclasses.replace(old, api_key="k", history_size=5, history_ttl=5.0, port=9000)
    assert needs_restart(old, new) == ["port"]
    assert {"api_key", "admin_password", "admin_secret", "grpc_api_key"} <= RELOADED


def test_admin_nobody_can_log_in_to_is_warned_about() -> None:
    line = (
        "admin is on without admin_password and admin_secret: nobody can log in to the"
        " admin UI or call /admin/api (set both)"
    )
    assert line in config_warnings(Config(admin=True))
    assert line in config_warnings(Config(admin=True, admin_password="p"))
    assert line not in config_warnings(Config(admin=True, admin_password="p", admin_secret="s"))
    assert line not in config_warnings(Config(admin=True, admin_insecure=True))
    assert line not in config_warnings(Config(admin_password="p"))
