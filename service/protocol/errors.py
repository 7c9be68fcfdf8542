"""Codec-level failures (sans-I/O)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


class ProtocolError(Exception):
    """Malformed client data: the session answers with disconnect 3501 (bad request)."""


class MessageTooLarge(ProtocolError):
    """A frame exceeds the configured size limit."""


def decode_each(
    items: Iterable[bytes], decode: Callable[[bytes], T]
) -> tuple[list[T], ProtocolError | None]:
    """``decode`` each item in order until one raises ProtocolError: the decoded ones and that
    error (None when all decoded)."""
    out: list[T] = []
    for item in items:
        try:
            out.append(decode(item))
        except ProtocolError as e:
            return out, e
    return out, None


def whole(decoded: tuple[list[T], ProtocolError | None]) -> list[T]:
    """The items of a ``(items, error)`` prefix decode, or its error raised."""
    out, error = decoded
    if error is not None:
        raise error
    return out
