"""``log_format: json``: one JSON object per record with time, level, logger, message and the
structured ``extra`` fields; the text format is unchanged."""

from __future__ import annotations

import datetime
import io
import json
import logging
from collections.abc import Iterator

import pytest

from service.logs import TEXT_FORMAT, JsonFormatter, formatter


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    logger = logging.getLogger("gyre.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_one_object_per_line_with_the_fixed_keys(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = capture
    logger.info("client %s connected\nsecond line", "c1", extra={"client": "c1", "n": 3})
    logger.warning("careful")
    first, second = lines(stream)
    assert list(first)[:4] == ["time", "level", "logger", "message"]
    assert first["level"] == "info" and second["level"] == "warn"
    assert first["logger"] == "gyre.test.logs"
    assert first["message"] == "client c1 connected\nsecond line"
    assert first["client"] == "c1" and first["n"] == 3
    assert "client" not in second
    stamp = str(first["time"])
    assert stamp.endswith("Z")  # RFC 3339 in UTC
    parsed = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert abs((datetime.datetime.now(datetime.UTC) - parsed).total_seconds()) < 60


def test_exceptions_and_awkward_values_never_lose_the_line(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = capture
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed", extra={"raw": b"\x00bytes", "big": 2**70, "obj": object()})
    logger.error("fixed keys win", extra={"level": "fake", "logger": "fake"})
    failed, fixed = lines(stream)
    assert failed["level"] == "error" and failed["message"] == "failed"
    assert "ValueError: boom" in str(failed["exception"])
    assert failed["big"] == 2**70 and failed["raw"] == "b'\\x00bytes'"
    assert str(failed["obj"]).startswith("<object object")
    assert fixed["level"] == "error" and fixed["logger"] == "gyre.test.logs"


def test_text_format_is_unchanged() -> None:
    assert isinstance(formatter("text"), logging.Formatter)
    assert not isinstance(formatter("text"), JsonFormatter)
    assert TEXT_FORMAT == "%(asctime)s %(levelname)s %(name)s: %(message)s"
    record = logging.LogRecord("gyre", logging.INFO, "", 0, "hello %s", ("you",), None)
    assert formatter("text").format(record).endswith(" INFO gyre: hello you")
