"""The single exception type of :mod:`service.config`."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(Exception):
    """Invalid configuration: unreadable file, bad value, or failed validation.

    ``str(err)`` is ONE line naming the key and what is wrong, e.g.
    ``ping_interval: must be greater than pong_timeout`` or
    ``namespaces[1].name: "a b" does not match ^[-a-zA-Z0-9_.]{2,}$``.
    """
