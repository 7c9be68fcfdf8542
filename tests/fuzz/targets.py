"""Fuzz targets: one function per parser that takes untrusted bytes (issue 13.10).

Each target feeds ``data`` to a parser the way the server does and checks the invariants:
only the documented errors come out (anything else propagates and is a finding), and what is
accepted is well formed (e.g. every raw JSON value a JSON client gets through is valid JSON).
``hang`` and ``memory`` are checked by the runners: atheris (``run_atheris.py``: per-input
timeout and RSS limit) and hypothesis (``test_properties.py``: deadline, tracemalloc).

The same functions serve both, so a finding of either is replayed by the other.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
from collections.abc import Callable

import msgspec

from service.api.http import BatchBody, V4Command, decode_body, decode_v4_body, utf8
from service.auth import TokenError, TokenKeys, TokenVerifier
from service.auth.build import decode_connect_claims, decode_subscribe_claims
from service.auth.jws import parse_jws
from service.protocol import JSON, ProtocolError, protobuf_codec
from service.protocol import messages as m
from service.protocol.json_codec import is_valid_json
from service.protocol.varint import decode_varint, frame_delimited, split_delimited_prefix
from service.transports.emulation import decode_request
from service.transports.sse import sse_events
from service.transports.uni_http_stream import decode_connect_request
from service.transports.uni_sse import decode_event_id, encode_event_id

SECRET = "fuzz-secret"
_VERIFIER = TokenVerifier(TokenKeys(hmac_secret_key=SECRET))
_LOOP = asyncio.new_event_loop()  # the HMAC path never awaits I/O: one loop for every input


def _request_types() -> list[type[msgspec.Struct]]:
    from service.api import messages as a

    return [
        a.PublishRequest,
        a.BroadcastRequest,
        a.SubscribeRequest,
        a.UnsubscribeRequest,
        a.DisconnectRequest,
        a.PresenceRequest,
        a.PresenceStatsRequest,
        a.HistoryRequest,
        a.HistoryRemoveRequest,
        a.ChannelsRequest,
        a.InfoRequest,
        a.RPCRequest,
        a.RefreshRequest,
        V4Command,
        BatchBody,
    ]


_REQUEST_TYPES = _request_types()


def _raw_fields(cmd: m.Command) -> list[bytes]:
    """Every embedded raw JSON value of a decoded command."""
    out: list[bytes] = []
    if cmd.connect is not None:
        out.append(bytes(cmd.connect.data))
        out += [bytes(s.data) for s in cmd.connect.subs.values()]
    for req in (cmd.subscribe, cmd.publish, cmd.rpc, cmd.send):
        if req is not None:
            out.append(bytes(req.data))
    return [b for b in out if b]


def json_commands(data: bytes) -> None:
    """WebSocket/HTTP-streaming/SSE JSON frames: ProtocolError only; what decodes carries
    only valid JSON (UTF-8 included) in its raw fields."""
    cmds, error = JSON.decode_command_prefix(data)
    assert error is None or isinstance(error, ProtocolError)
    for cmd in cmds:
        for raw in _raw_fields(cmd):
            assert is_valid_json(raw), raw
    if error is None:
        assert JSON.decode_commands(data) == cmds


def protobuf_commands(data: bytes) -> None:
    """Protobuf frames (WebSocket, HTTP-streaming): ProtocolError only."""
    codec = protobuf_codec()
    cmds, error = codec.decode_command_prefix(data)
    assert error is None or isinstance(error, ProtocolError)
    if error is None:
        assert len(codec.decode_commands(data)) == len(cmds)


def varint_framing(data: bytes) -> None:
    """Varint-delimited framing: ProtocolError only; framing what was split splits the same."""
    messages, error = split_delimited_prefix(data)
    assert error is None or isinstance(error, ProtocolError)
    assert sum(map(len, messages)) <= len(data)
    again, error2 = split_delimited_prefix(frame_delimited(messages))
    assert again == messages and error2 is None
    if data:
        try:
            value, pos = decode_varint(data, 0)
        except ProtocolError:
            return
        assert 0 <= value < 1 << 70 and 0 < pos <= 10


def http_api_body(data: bytes) -> None:
    """Server API bodies (``/api``, ``/api/<method>``, ``/api/batch``): None or a request."""
    body = utf8(data)
    if body is None:
        return
    decode_v4_body(body)
    for typ in _REQUEST_TYPES:
        decoded = decode_body(body, typ)
        assert decoded is None or isinstance(decoded, typ)


def emulation_request(data: bytes) -> None:
    """``/emulation`` bodies, JSON and protobuf: ProtocolError only."""
    for binary in (False, True):
        try:
            node, session, commands = decode_request(data, binary)
        except ProtocolError:
            continue
        assert isinstance(node, str) and isinstance(session, str)
        if not binary and commands:
            commands.decode()  # the JSON form carries commands as a JSON string: UTF-8


def stream_requests(data: bytes) -> None:
    """uni_http_stream / uni_sse connect bodies and ``Last-Event-ID`` values: never raise."""
    req = decode_connect_request(data)
    assert req is None or isinstance(req, m.ConnectRequest)
    text = data.decode("utf-8", "replace")
    positions = decode_event_id(text)
    if positions:
        assert decode_event_id(encode_event_id(positions).decode()) == positions


def sse_framing(data: bytes) -> None:
    """Whatever JSON payload a publication carries, its SSE event is one event that parses."""
    if not data or not is_valid_json(data):
        return
    push = m.Push(channel="c", pub=m.Publication(data=m.raw(data)))
    frame = sse_events([JSON.encode_reply(m.Reply(push=push))])
    lines = re.split(rb"\r\n|\r|\n", frame)
    assert lines[-2:] == [b"", b""] and all(line.startswith(b"data: ") for line in lines[:-2])
    assert len(lines) == 3, frame  # one data line, then the blank line that ends the event
    assert is_valid_json(lines[0][6:])  # grammar: a huge number is valid JSON (Infinity in JS)


def _b64(part: bytes) -> str:
    return base64.urlsafe_b64encode(part).rstrip(b"=").decode()


def jwt(data: bytes) -> None:
    """Connection and subscription tokens: TokenError only, signed or not.

    The first byte picks the shape: a raw string, or header/claims taken from the input and
    signed with the configured HMAC key (so the claim checks after the signature run too).
    """
    if not data:
        return
    if data[0] & 1:
        token = data[1:].decode("utf-8", "replace")
    else:
        head, _, claims = data[1:].partition(b"\x00")
        signing = f"{_b64(head)}.{_b64(claims)}"
        sig = hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest()
        token = f"{signing}.{_b64(sig)}"
    try:
        jws = parse_jws(token)
    except TokenError:
        return
    for decode in (decode_connect_claims, decode_subscribe_claims):
        try:
            decode(jws.claims)
        except TokenError:
            pass
    for verify in (_VERIFIER.verify_connect, _VERIFIER.verify_subscribe):
        try:
            _LOOP.run_until_complete(verify(token))
        except TokenError:
            pass


TARGETS: dict[str, Callable[[bytes], None]] = {
    "json_commands": json_commands,
    "protobuf_commands": protobuf_commands,
    "varint_framing": varint_framing,
    "http_api_body": http_api_body,
    "emulation_request": emulation_request,
    "stream_requests": stream_requests,
    "sse_framing": sse_framing,
    "jwt": jwt,
}
