"""Go duration / bool parsing and formatting."""

from __future__ import annotations

import pytest

from service.config import format_duration, parse_bool, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("25s", 25.0),
        ("1500ms", 1.5),
        ("1h30m", 5400.0),
        ("720h", 2592000.0),
        ("2160h", 7776000.0),
        ("300us", 0.0003),
        ("300µs", 0.0003),
        ("300μs", 0.0003),
        ("10ns", 1e-8),
        ("0", 0.0),
        ("0s", 0.0),
        ("1.5h", 5400.0),
        (".5s", 0.5),
        ("-2m", -120.0),
        ("+3s", 3.0),
        ("1h0m0.5s", 3600.5),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1", "missing unit"),
        ("10x", 'unknown unit "x"'),
        ("", "invalid duration"),
        ("s", "invalid duration"),
        ("abc", "invalid duration"),
        ("1..5s", "missing unit"),
        ("-", "invalid duration"),
        ("9999999999h", "out of range"),
    ],
)
def test_parse_duration_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (25, "25s"),
        (1.5, "1.5s"),
        (90, "1m30s"),
        (3600, "1h0m0s"),
        (7776000, "2160h0m0s"),
        (604800, "168h0m0s"),
        (0.0003, "300µs"),
        (0.25, "250ms"),
        (5e-9, "5ns"),
        (-1.5, "-1.5s"),
    ],
)
def test_format_duration_like_go(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_parse_bool_true(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["0", "f", "F", "FALSE", "false", "False"])
def test_parse_bool_false(text: str) -> None:
    assert parse_bool(text) is False


@pytest.mark.parametrize("text", ["yes", "on", "tRuE", "", "2"])
def test_parse_bool_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid boolean"):
        parse_bool(text)
