"""Log line formats (``log_format``).

* ``text`` (default): ``<asctime> <LEVEL> <logger>: <message>``, as before.
* ``json``: one JSON object per line for log pipelines: ``time`` (RFC 3339, UTC, milliseconds),
  ``level`` (``debug``, ``info``, ``warn``, ``error``, ``critical``; ``warn`` as Centrifugo's
  logger writes it), ``logger``, ``message``, then every structured field a call passed with
  ``extra={...}`` (e.g. ``client``, ``user``, ``transport`` on connect lines), and
  ``exception`` / ``stack`` with the formatted traceback when there is one. The four fixed keys
  win over an ``extra`` key of the same name. A line is never lost to a value JSON cannot
  hold: such a value is written as its ``str()``.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

import orjson

__all__ = ["TEXT_FORMAT", "JsonFormatter", "formatter"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# attributes every LogRecord has; whatever else a record carries came from ``extra``
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_LEVELS = {"WARNING": "warn"}
_FIXED = ("time", "level", "logger", "message")


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        out: dict[str, Any] = {
            "time": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": _LEVELS.get(record.levelname, record.levelname.lower()),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _FIXED:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(out, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:  # e.g. an integer beyond 64 bits: the slower encoder takes it
            return json.dumps(out, default=str, ensure_ascii=False)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for a validated ``log_format`` value (``text`` or ``json``)."""
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT)
