"""Codec-level failures (sans-I/O)."""

from __future__ import annotations


class ProtocolError(Exception):
    """Malformed client data: the session answers with disconnect 3501 (bad request)."""


class MessageTooLarge(ProtocolError):
    """A frame exceeds the configured size limit."""
