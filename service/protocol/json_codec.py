"""JSON encoding of client protocol v2 (docs/protocol.md).

Commands arrive newline-delimited; one trailing newline is tolerated, an empty line is an
error.  ``bytes`` fields are embedded raw JSON kept verbatim.  Encoded output never contains a
literal newline: JSON strings escape newlines, so any raw ``\\n`` comes from the whitespace of
embedded raw JSON and is dropped (Centrifugo strips it the same way).
"""

from __future__ import annotations

import msgspec

from .errors import ProtocolError
from .messages import Command, Push, Reply

_command_decoder = msgspec.json.Decoder(Command)
_encoder = msgspec.json.Encoder()
_validator = msgspec.json.Decoder()


def decode_commands(data: bytes) -> list[Command]:
    """Decode one transport frame into commands (raises ProtocolError)."""
    if not data:
        raise ProtocolError("empty frame")
    if data.endswith(b"\n"):
        data = data[:-1]
    lines = data.split(b"\n") if b"\n" in data else [data]
    out: list[Command] = []
    for line in lines:
        if not line.strip():
            raise ProtocolError("empty command")
        try:
            cmd = _command_decoder.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise ProtocolError(f"malformed command: {e}") from None
        except RecursionError:  # nesting deeper than the interpreter's recursion limit
            raise ProtocolError("malformed command: nested too deeply") from None
        if cmd.id < 0:
            raise ProtocolError("negative command id")
        out.append(cmd)
    return out


def _finish(out: bytes) -> bytes:
    if b"\n" in out:
        out = out.replace(b"\n", b"")
    return out


def encode_reply(reply: Reply) -> bytes:
    """Encode one Reply (no trailing newline)."""
    return _finish(_encoder.encode(reply))


def encode_push(push: Push) -> bytes:
    """Encode one bare Push (unidirectional transports)."""
    return _finish(_encoder.encode(push))


def is_valid_json(data: bytes) -> bool:
    """True when ``data`` is one valid JSON document (checked before sending to JSON clients).

    A document nested deeper than the recursion limit counts as not JSON (never raises).
    """
    try:
        _validator.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return False
    return True


def join_frames(messages: list[bytes]) -> bytes:
    """Join encoded JSON messages for one transport frame (``\\n`` between them)."""
    return b"\n".join(messages)
