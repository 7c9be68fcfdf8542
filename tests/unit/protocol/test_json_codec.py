"""JSON codec: golden frames, batching, raw JSON passthrough, malformed input."""

from __future__ import annotations

import pytest

from service.protocol import JSON, ProtocolError, json_codec
from service.protocol import messages as m


def test_decode_batch_of_commands_keeps_raw_json_verbatim() -> None:
    frame = (
        b'{"id":1,"connect":{"token":"t","name":"js"}}\n'
        b'{"id":2,"publish":{"channel":"news","data":{"a" : [1, 2.50]}}}'
    )
    cmds = JSON.decode_commands(frame)
    assert [c.id for c in cmds] == [1, 2]
    assert cmds[0].connect is not None and cmds[0].connect.token == "t"
    assert cmds[1].publish is not None
    assert bytes(cmds[1].publish.data) == b'{"a" : [1, 2.50]}'


def test_unknown_keys_of_newer_sdks_are_ignored() -> None:
    (cmd,) = JSON.decode_commands(
        b'{"id":2,"subscribe":{"channel":"news","recoverable":true,"flag":1,"delta":"fossil","tf":{}}}'
    )
    assert cmd.subscribe is not None
    assert cmd.subscribe.channel == "news" and cmd.subscribe.recoverable


def test_trailing_newline_tolerated_empty_line_rejected() -> None:
    assert len(JSON.decode_commands(b'{"id":1,"ping":{}}\n')) == 1
    with pytest.raises(ProtocolError):
        JSON.decode_commands(b'{"id":1,"ping":{}}\n\n{"id":2,"ping":{}}')
    with pytest.raises(ProtocolError):
        JSON.decode_commands(b"")
    with pytest.raises(ProtocolError):
        JSON.decode_commands(b"\n")


@pytest.mark.parametrize(
    "frame",
    [b"{", b"[]", b"null", b'{"id":"x"}', b'{"id":-1,"ping":{}}', b'{"id":1,"subscribe":5}'],
)
def test_malformed_commands(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        JSON.decode_commands(frame)


def test_empty_command_is_pong() -> None:
    (cmd,) = JSON.decode_commands(b"{}")
    assert cmd == m.Command()


def test_golden_replies() -> None:
    enc = JSON.encode_reply
    assert enc(m.Reply()) == b"{}"
    assert enc(m.Reply(id=4, publish=m.PublishResult())) == b'{"id":4,"publish":{}}'
    assert (
        enc(m.Reply(id=3, error=m.Error(code=103, message="permission denied")))
        == b'{"id":3,"error":{"code":103,"message":"permission denied"}}'
    )
    assert (
        enc(m.Reply(id=5, error=m.Error(code=100, message="internal server error", temporary=True)))
        == b'{"id":5,"error":{"code":100,"message":"internal server error","temporary":true}}'
    )
    assert (
        enc(m.Reply(id=2, history=m.HistoryResult(publications=[], epoch="", offset=0)))
        == b'{"id":2,"history":{"publications":[],"epoch":"","offset":0}}'
    )
    assert (
        enc(m.Reply(id=1, presence_stats=m.PresenceStatsResult(num_clients=0, num_users=0)))
        == b'{"id":1,"presence_stats":{"num_clients":0,"num_users":0}}'
    )
    assert enc(m.Reply(id=1, presence=m.PresenceResult(presence={}))) == (
        b'{"id":1,"presence":{"presence":{}}}'
    )


def test_golden_publication_push_and_info_always_has_user_and_client() -> None:
    pub = m.Publication(
        data=m.raw(b'{"text":"hi"}'),
        info=m.ClientInfo(user="", client="c1", conn_info=m.raw(b'{"n":1}')),
        offset=18,
        tags={"k": "v"},
    )
    out = JSON.encode_reply(m.Reply(push=m.Push(channel="news", pub=pub)))
    assert out == (
        b'{"push":{"channel":"news","pub":{"data":{"text":"hi"},'
        b'"info":{"user":"","client":"c1","conn_info":{"n":1}},"offset":18,"tags":{"k":"v"}}}}'
    )


def test_raw_newlines_are_stripped_from_output() -> None:
    pub = m.Publication(data=m.raw(b'{\n  "a": "x\\ny"\n}'))
    out = JSON.encode_push(m.Push(channel="c", pub=pub))
    assert b"\n" not in out
    assert out == b'{"channel":"c","pub":{"data":{  "a": "x\\ny"}}}'


def test_join_frames() -> None:
    assert JSON.join_frames([b"{}", b'{"id":1}']) == b'{}\n{"id":1}'


def test_raw_carriage_returns_are_stripped_from_output() -> None:
    """SSE ends a line at a bare CR: no JSON message may carry one (issue 13.1)."""
    pub = m.Publication(data=m.raw(b'{"a":\r\r1}\r'))
    out = JSON.encode_reply(m.Reply(push=m.Push(channel="c", pub=pub)))
    assert b"\r" not in out and b"\n" not in out
    assert out == b'{"push":{"channel":"c","pub":{"data":{"a":1}}}}'


def test_decode_prefix_stops_at_the_first_bad_line() -> None:
    cmds, err = JSON.decode_command_prefix(b'{"id":1,"ping":{}}\n{"id":2,\n{"id":3,"ping":{}}')
    assert [c.id for c in cmds] == [1] and isinstance(err, ProtocolError)
    cmds, err = JSON.decode_command_prefix(b'{"id":1,"ping":{}}\n{"id":2,"ping":{}}\n')
    assert [c.id for c in cmds] == [1, 2] and err is None
    assert JSON.decode_command_prefix(b"")[0] == []


def test_frames_must_be_utf8() -> None:
    with pytest.raises(ProtocolError):
        JSON.decode_commands(b'{"id":1,"publish":{"channel":"c","data":{"a":"\xff"}}}')
    (cmd,) = JSON.decode_commands('{"id":1,"publish":{"channel":"c","data":"é"}}'.encode())
    assert cmd.publish is not None and bytes(cmd.publish.data) == '"é"'.encode()


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        (b'{"a":[1,2.5e3,true,null,"x"]}', True),
        (b" \t\r\n1 ", True),
        (b'"\xc3\xa9"', True),
        (b'{"a":"\xff"}', False),  # not UTF-8
        (b'"\xed\xa0\x80"', False),  # an encoded surrogate
        (b'{"a":1}x', False),
        (b"\x00binary", False),
        (b"[" * 5000 + b"]" * 5000, False),  # deeper than the recursion limit
    ],
)
def test_is_valid_json(data: bytes, ok: bool) -> None:
    from service.protocol.json_codec import is_valid_json

    assert is_valid_json(data) is ok


@pytest.mark.parametrize(
    "channel", ["news", 'q"uote\\back', "tab\tnl\nctl\x01", "ünï:кан/😀", "ls\u2028ps\u2029"]
)
@pytest.mark.parametrize(
    "data", [b'{"a":1}', b'"s"', b"[1, 2,\n 3]", b'{"k" :\r\n "v\xc3\xbc"}', b"7"]
)
@pytest.mark.parametrize("offset", [0, 1, 2**53 + 1])
def test_data_push_is_byte_identical_to_the_encoder(channel: str, data: bytes, offset: int) -> None:
    """The fast publication push (fan-out to JSON subscribers) writes exactly what encoding
    the Structs writes, in both the bare (uni) and the Reply (bidirectional) form."""
    push = m.Push(channel=channel, pub=m.Publication(data=m.raw(data), offset=offset))
    fast = json_codec.data_push(channel, data, offset)
    assert fast == JSON.encode_push(push)
    reply = JSON.encode_reply(m.Reply(push=push))
    assert json_codec.data_push(channel, data, offset, reply=True) == reply
    assert json_codec.reply_with_push(fast) == reply
