"""Client protocol v1 translation (service.protocol.v1): v1 frames in, v1 text out."""

from __future__ import annotations

import json

import pytest

from service.protocol import JSON, ProtocolError, v1
from service.protocol import messages as m


def test_commands_map_to_v2_fields() -> None:
    frame = b"\n".join(
        [
            b'{"id":1,"params":{"token":"t","name":"js"}}',
            b'{"id":2,"method":1,"params":{"channel":"a","recover":true,"seq":3,"gen":1}}',
            b'{"id":3,"method":7}',
            b'{"method":8,"params":{"data":{"x":1}}}',
            b'{"id":4,"method":6,"params":{"channel":"a","limit":2,"since":{"offset":1}}}',
        ]
    )
    c = v1.decode_commands(frame)
    assert c[0] == m.Command(id=1, connect=m.ConnectRequest(token="t", name="js"))
    assert c[1].subscribe is not None and c[1].subscribe.recover and c[1].id == 2
    assert c[2] == m.Command(id=3, ping=m.PingRequest())
    assert c[3].id == 0 and c[3].send is not None and bytes(c[3].send.data) == b'{"x":1}'
    assert c[4].history == m.HistoryRequest(channel="a", limit=2, since=m.StreamPosition(offset=1))


@pytest.mark.parametrize(
    "frame",
    [b"", b"{}\n\n{}", b'{"id":1,"method":12}', b"[1]", b'{"id":-1}', b'{"id":1,"params":5}'],
)
def test_bad_frames(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        v1.decode_commands(frame)


def test_replies_and_pushes() -> None:
    t = v1.Translator()
    connect = JSON.encode_reply(
        m.Reply(id=1, connect=m.ConnectResult(client="c1", version="4", ping=25, pong=True))
    )
    assert json.loads(t.translate(connect)) == {
        "id": 1,
        "result": {"client": "c1", "version": "4"},
    }
    refresh = JSON.encode_reply(m.Reply(id=5, refresh=m.RefreshResult(expires=True, ttl=9)))
    assert json.loads(t.translate(refresh)) == {
        "id": 5,
        "result": {"client": "c1", "version": "4", "expires": True, "ttl": 9},
    }
    publish = JSON.encode_reply(m.Reply(id=2, publish=m.PublishResult()))
    assert t.translate(publish) == b'{"id":2,"result":{}}'
    assert t.translate(JSON.encode_reply(v1.ping_reply(3))) == b'{"id":3,"result":{}}'
    err = JSON.encode_reply(m.Reply(id=4, error=m.Error(code=103, message="permission denied")))
    assert json.loads(t.translate(err)) == {
        "id": 4,
        "error": {"code": 103, "message": "permission denied"},
    }
    pub = JSON.encode_reply(
        m.Reply(push=m.Push(channel="a", pub=m.Publication(data=m.raw(b'{"v":1}'), offset=7)))
    )
    assert t.translate(pub) == b'{"result":{"channel":"a","data":{"data":{"v":1},"offset":7}}}'
    join = JSON.encode_reply(
        m.Reply(push=m.Push(channel="a", join=m.Join(info=m.ClientInfo(user="u", client="c"))))
    )
    assert json.loads(t.translate(join)) == {
        "result": {"type": 1, "channel": "a", "data": {"info": {"user": "u", "client": "c"}}}
    }
    unsub = JSON.encode_reply(
        m.Reply(push=m.Push(channel="a", unsubscribe=m.Unsubscribe(code=2500, reason="x")))
    )
    assert json.loads(t.translate(unsub))["result"]["data"] == {
        "code": 2500,
        "reason": "x",
        "resubscribe": True,
    }


def test_close_reason_is_json() -> None:
    assert json.loads(v1.close_reason("slow", True)) == {"reason": "slow", "reconnect": True}
