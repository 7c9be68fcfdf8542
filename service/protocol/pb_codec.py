"""Protobuf encoding of client protocol v2 (docs/protocol.md#framing): varint length-delimited
messages.

Unknown fields (sent by newer SDKs) are skipped by the protobuf runtime.  A zero-length
message is valid: an empty Command is a pong, an empty Reply is a ping.
"""

from __future__ import annotations

from centrifugal.centrifuge.protocol import client_pb2
from google.protobuf.message import DecodeError

from .errors import ProtocolError, decode_each, whole
from .messages import Command, EmulationRequest, Push, Reply
from .pb_convert import make_encoder, pb_to_struct
from .varint import frame_delimited, split_delimited_prefix

_encode_reply = make_encoder(client_pb2.Reply)
_encode_push = make_encoder(client_pb2.Push)


def decode_command(data: bytes) -> Command:
    """Decode one protobuf Command (without length prefix)."""
    try:
        msg = client_pb2.Command.FromString(data)
    except DecodeError as e:
        raise ProtocolError(f"malformed command: {e}") from None
    cmd: Command = pb_to_struct(msg, Command)
    return cmd


def decode_command_prefix(data: bytes) -> tuple[list[Command], ProtocolError | None]:
    """Decode a varint-delimited frame as far as it goes: the commands before the first
    message that does not decode, and that error (None when the whole frame decoded)."""
    if not data:
        return [], ProtocolError("empty frame")
    messages, error = split_delimited_prefix(data)
    out, bad = decode_each(messages, decode_command)
    return out, bad or error


def decode_commands(data: bytes) -> list[Command]:
    """Decode a varint-delimited frame of commands (raises ProtocolError)."""
    return whole(decode_command_prefix(data))


def encode_reply(reply: Reply) -> bytes:
    """Serialize one Reply (no length prefix)."""
    return _encode_reply(reply)


def encode_push(push: Push) -> bytes:
    """Serialize one bare Push (no length prefix)."""
    return _encode_push(push)


def decode_emulation_request(data: bytes) -> EmulationRequest:
    """Decode a protobuf EmulationRequest body (docs/transports.md#emulation)."""
    try:
        msg = client_pb2.EmulationRequest.FromString(data)
    except DecodeError as e:
        raise ProtocolError(f"malformed emulation request: {e}") from None
    req: EmulationRequest = pb_to_struct(msg, EmulationRequest)
    return req


def join_frames(messages: list[bytes]) -> bytes:
    """Frame encoded messages for one transport frame (each varint-prefixed)."""
    return frame_delimited(messages)
