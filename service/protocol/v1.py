"""Client protocol v1 (the v3-era JSON protocol) as a translation to and from protocol v2.

Centrifugo v4 still serves v1 so that apps built with centrifuge-js 2.x keep working during a
migration (docs/transports.md, "Client protocol v1").  The core only ever sees v2: this
module turns a v1 frame into v2 ``Command`` objects and one encoded v2 JSON ``Reply`` into
its v1 text.  Sans-I/O; JSON only (v1 over Protobuf is not served).

Wire shapes (v1):

* command: ``{"id":N,"method":M,"params":{...}}``; ``method`` is a number (0 connect,
  1 subscribe, 2 unsubscribe, 3 publish, 4 presence, 5 presence_stats, 6 history, 7 ping,
  8 send, 9 rpc, 10 refresh, 11 sub_refresh) and is omitted for connect (zero value);
  ``params`` carries the v2 request object of that method.  Several commands per frame are
  newline-delimited, as in v2.
* reply: ``{"id":N,"result":{...}}`` or ``{"id":N,"error":{...}}``; the result object is the
  v2 result of the command (always present, ``{}`` when empty).
* push: ``{"result":{"type":T,"channel":C,"data":{...}}}``, ``type`` 0 publication (omitted),
  1 join, 2 leave, 3 unsubscribe, 4 message, 5 subscribe, 6 connect, 7 disconnect,
  8 refresh; ``data`` is the v2 push body.
* ping: a ``ping`` command (method 7) answered ``{"id":N,"result":{}}``; the server sends no
  application-level pings to v1 clients.
* disconnect: the close reason is JSON ``{"reason":"...","reconnect":true|false}``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Raw

from . import messages as m
from .errors import ProtocolError
from .messages import EMPTY

# v1 method number -> (v2 Command field, request type)
_METHODS: dict[int, tuple[str, type[Any]]] = {
    0: ("connect", m.ConnectRequest),
    1: ("subscribe", m.SubscribeRequest),
    2: ("unsubscribe", m.UnsubscribeRequest),
    3: ("publish", m.PublishRequest),
    4: ("presence", m.PresenceRequest),
    5: ("presence_stats", m.PresenceStatsRequest),
    6: ("history", m.HistoryRequest),
    7: ("ping", m.PingRequest),
    8: ("send", m.SendRequest),
    9: ("rpc", m.RPCRequest),
    10: ("refresh", m.RefreshRequest),
    11: ("sub_refresh", m.SubRefreshRequest),
}
_DECODERS = {num: msgspec.json.Decoder(t) for num, (_, t) in _METHODS.items()}

# v2 Push field -> v1 push type
_PUSH_TYPES = {
    "pub": 0,
    "join": 1,
    "leave": 2,
    "unsubscribe": 3,
    "message": 4,
    "subscribe": 5,
    "connect": 6,
    "disconnect": 7,
    "refresh": 8,
}
_RESULTS = (
    "connect",
    "subscribe",
    "unsubscribe",
    "publish",
    "presence",
    "presence_stats",
    "history",
    "ping",
    "rpc",
    "refresh",
    "sub_refresh",
)


class _Command(msgspec.Struct, kw_only=True):
    id: int = 0
    method: int = 0
    params: Raw = EMPTY


class _Reply(msgspec.Struct, omit_defaults=True, kw_only=True):
    id: int = 0
    error: m.Error | None = None
    result: Raw = EMPTY


class _Push(msgspec.Struct, omit_defaults=True, kw_only=True):
    type: int = 0
    channel: str = ""
    data: Raw = EMPTY


class _UnsubscribeData(msgspec.Struct, omit_defaults=True, kw_only=True):
    code: int = 0
    reason: str = ""
    resubscribe: bool = False


class _CloseReason(msgspec.Struct):
    reason: str
    reconnect: bool


_command_decoder = msgspec.json.Decoder(_Command)
_reply_decoder = msgspec.json.Decoder(m.Reply)
_encoder = msgspec.json.Encoder()
_EMPTY_OBJECT = Raw(b"{}")


def _decode_one(line: bytes) -> m.Command:
    try:
        raw = _command_decoder.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise ProtocolError(f"malformed v1 command: {e}") from None
    except RecursionError:
        raise ProtocolError("malformed v1 command: nested too deeply") from None
    if raw.id < 0:
        raise ProtocolError("negative command id")
    method = _METHODS.get(raw.method)
    if method is None:
        raise ProtocolError(f"unknown v1 method {raw.method}")
    field, req_type = method
    if raw.params:
        try:
            req = _DECODERS[raw.method].decode(raw.params)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise ProtocolError(f"malformed v1 params: {e}") from None
        except RecursionError:
            raise ProtocolError("malformed v1 params: nested too deeply") from None
    else:
        req = req_type()
    cmd: m.Command = m.Command(id=raw.id, **{field: req})
    return cmd


def decode_commands(data: bytes) -> list[m.Command]:
    """Decode one v1 frame (newline-delimited commands) into v2 Commands.

    A v1 ``ping`` becomes ``Command(id, ping=PingRequest())``: the edge answers it with
    :func:`ping_reply` (a v2 core would answer 108).  Raises ProtocolError (3501).
    """
    if not data:
        raise ProtocolError("empty frame")
    if data.endswith(b"\n"):
        data = data[:-1]
    out: list[m.Command] = []
    for line in data.split(b"\n"):
        if not line.strip():
            raise ProtocolError("empty command")
        out.append(_decode_one(line))
    return out


def ping_reply(command_id: int) -> m.Reply:
    """The v2 Reply that :class:`Translator` writes as the v1 answer to a ping command."""
    return m.Reply(id=command_id, ping=m.PingResult())


def close_reason(reason: str, reconnect: bool) -> str:
    """The close-frame reason a v1 client parses: ``{"reason":...,"reconnect":...}``."""
    return _encoder.encode(_CloseReason(reason, reconnect)).decode()


def _body(value: msgspec.Struct) -> Raw:
    return Raw(_encoder.encode(value))


def _push(push: m.Push) -> bytes:
    for field, kind in _PUSH_TYPES.items():
        value = getattr(push, field)
        if value is None:
            continue
        if field == "unsubscribe":
            # v1 clients resubscribe only when told to: codes >= 2500 mean "resubscribe"
            value = _UnsubscribeData(
                code=value.code, reason=value.reason, resubscribe=value.code >= 2500
            )
        data = _body(value)
        return _encoder.encode(
            _Reply(result=_body(_Push(type=kind, channel=push.channel, data=data)))
        )
    return _encoder.encode(_Reply(result=_body(_Push(channel=push.channel))))


class Translator:
    """Turns encoded v2 JSON Replies of one connection into v1 text.

    Remembers the connection's client ID and server version from the connect result: v1
    refresh results carry them (centrifuge-js 2.x reads ``client`` from them).
    """

    __slots__ = ("client", "version")

    def __init__(self) -> None:
        self.client = ""
        self.version = ""

    def translate(self, data: bytes) -> bytes:
        """One encoded v2 JSON Reply -> the v1 message (raises ProtocolError if not JSON)."""
        try:
            reply = _reply_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise ProtocolError(f"cannot translate reply: {e}") from None
        if reply.push is not None:
            return _push(reply.push)
        if reply.error is not None:
            return _encoder.encode(_Reply(id=reply.id, error=reply.error))
        for field in _RESULTS:
            value = getattr(reply, field)
            if value is None:
                continue
            if field == "connect":
                self.client, self.version = value.client, value.version
                value = msgspec.structs.replace(value, ping=0, pong=False)
            elif field == "refresh":
                value = msgspec.structs.replace(value, client=self.client, version=self.version)
            return _encoder.encode(_Reply(id=reply.id, result=_body(value)))
        # an empty v2 Reply is a server ping; v1 clients get none, but keep it harmless
        return _encoder.encode(_Reply(id=reply.id, result=_EMPTY_OBJECT))
