"""Sans-I/O codec for Centrifugo client protocol v2: bytes <-> Command / Reply / Push.

No asyncio, aiohttp, grpc or redis here.  ``Codec`` bundles the per-encoding functions so
sessions can hold one reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import json_codec
from .errors import MessageTooLarge, ProtocolError
from .messages import Command, Push, Reply

__all__ = ["JSON", "Codec", "MessageTooLarge", "ProtocolError", "protobuf_codec"]


@dataclass(frozen=True, slots=True)
class Codec:
    """One wire encoding: ``name`` is ``json`` or ``protobuf``.

    ``decode_commands`` raises ProtocolError for a frame that is not entirely valid;
    ``decode_command_prefix`` returns the commands decoded before the first bad one together
    with that error (sessions handle them in order, then disconnect 3501).

    ``ping`` and ``uni_ping`` are the encoded server ping (an empty Reply, an empty Push on
    unidirectional transports) and ``pong`` the whole frame of a client's pong (one empty
    Command), built once: an idle node sends and receives them for every connection every
    ``ping_interval`` (docs/protocol.md#ping-and-pong).
    """

    name: str
    binary: bool
    decode_commands: Callable[[bytes], list[Command]]
    decode_command_prefix: Callable[[bytes], tuple[list[Command], ProtocolError | None]]
    encode_reply: Callable[[Reply], bytes]
    encode_push: Callable[[Push], bytes]
    join_frames: Callable[[list[bytes]], bytes]
    ping: bytes = field(init=False)
    uni_ping: bytes = field(init=False)
    pong: bytes = field(init=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: derived fields are set once, here
        set_(self, "ping", self.encode_reply(Reply()))
        set_(self, "uni_ping", self.encode_push(Push()))
        # an empty Command encodes as an empty Reply does ("{}", or no bytes in protobuf)
        set_(self, "pong", self.join_frames([self.ping]))


JSON = Codec(
    "json",
    False,
    json_codec.decode_commands,
    json_codec.decode_command_prefix,
    json_codec.encode_reply,
    json_codec.encode_push,
    json_codec.join_frames,
)

_PROTOBUF: Codec | None = None


def protobuf_codec() -> Codec:
    """The protobuf codec (imported lazily so the generated stubs load only when needed)."""
    global _PROTOBUF
    if _PROTOBUF is None:
        from . import pb_codec

        _PROTOBUF = Codec(
            "protobuf",
            True,
            pb_codec.decode_commands,
            pb_codec.decode_command_prefix,
            pb_codec.encode_reply,
            pb_codec.encode_push,
            pb_codec.join_frames,
        )
    return _PROTOBUF
