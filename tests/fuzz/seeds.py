"""Write the seed corpus of every target into tests/fuzz/corpus/<target>/ (kept in the repo).

    PYTHONPATH=.:generated .venv/bin/python tests/fuzz/seeds.py

Seeds are named by content hash (as libFuzzer names its own); re-running only adds files.
Findings of past runs live next to them (``crash-*`` / ``finding-*``) and are never removed.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from centrifugal.centrifuge.protocol import client_pb2

from service.protocol.varint import frame_delimited
from service.transports.uni_sse import encode_event_id

CORPUS = Path(__file__).with_name("corpus")


def _j(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _pb(**fields: object) -> bytes:
    cmd = client_pb2.Command(id=int(fields.pop("id", 1)))  # type: ignore[call-overload]
    for name, value in fields.items():
        sub = getattr(cmd, name)
        sub.SetInParent()
        for k, v in dict(value).items():  # type: ignore[call-overload]
            setattr(sub, k, v)
    return cmd.SerializeToString()


def seeds() -> dict[str, list[bytes]]:
    now = int(time.time())
    json_cmds = [
        _j({"id": 1, "connect": {"token": "t", "name": "js", "subs": {"a:b": {"recover": True}}}}),
        _j(
            {
                "id": 2,
                "subscribe": {"channel": "news:1", "recover": True, "offset": 3, "epoch": "e"},
            }
        ),
        _j({"id": 3, "publish": {"channel": "c", "data": {"a": [1, 2.5e3, None, "é\n"]}}}),
        b'{"id":4,"history":{"channel":"c","limit":10,"since":{"offset":1,"epoch":"x"}}}',
        b'{"id":5,"presence":{"channel":"c"}}\n{"id":6,"presence_stats":{"channel":"c"}}\n',
        b'{"id":7,"rpc":{"method":"m","data":\r\n{ "x" : 1 }\t}}',
        b'{"id":8,"sub_refresh":{"channel":"$c","token":"t"}}\n{}',
        b'{"id":9,"refresh":{"token":"t"}}\n{"id":10,"unsubscribe":{"channel":"c"}}',
    ]
    pb_cmds = [
        _pb(id=1, connect={"token": "t", "name": "go"}),
        _pb(id=2, subscribe={"channel": "news:1", "recover": True, "offset": 5}),
        _pb(id=3, publish={"channel": "c", "data": b"\x00\xffbinary"}),
        _pb(id=4, history={"channel": "c", "limit": 3}),
    ]
    return {
        "json_commands": json_cmds,
        "protobuf_commands": [frame_delimited(pb_cmds), frame_delimited(pb_cmds[:1]), b"\x00"],
        "varint_framing": [frame_delimited([b"a", b"", b"x" * 200]), b"\x80\x01" + b"y" * 128],
        "http_api_body": [
            _j({"method": "publish", "params": {"channel": "c", "data": {"x": 1}}}),
            _j({"method": 0, "params": {"channel": "c", "b64data": "AAE="}, "id": 2})
            + b"\n"
            + _j({"method": "broadcast", "params": {"channels": ["a", "b"], "data": 1}}),
            _j({"commands": [{"publish": {"channel": "c", "data": {}}}, {"info": {}}]}),
            _j({"channel": "c", "limit": 5, "since": {"offset": 1, "epoch": "e"}, "reverse": True}),
            _j({"user": "u", "channel": "c", "override": {"presence": {"value": True}}}),
        ],
        "emulation_request": [
            _j({"node": "n", "session": "s", "data": json_cmds[1].decode()}),
            client_pb2.EmulationRequest(
                node="n", session="s", data=frame_delimited(pb_cmds)
            ).SerializeToString(),
        ],
        "stream_requests": [
            _j({"token": "t", "subs": {"news:1": {"recover": True, "offset": 1, "epoch": "e"}}}),
            encode_event_id({"news:1": (42, "8f3a"), "b": (0, "")}),
        ],
        "sse_framing": [b'{"a":1}', b' {\r\n"a" :\r[1,\n2]}\r\n', b'"x\\r\\ny"', b"123"],
        "jwt": [
            b"\x00"
            + _j({"alg": "HS256", "typ": "JWT"})
            + b"\x00"
            + _j({"sub": "u", "exp": now + 3600, "channels": ["a"], "b64info": "AAE="}),
            b"\x00"
            + _j({"alg": "HS256"})
            + b"\x00"
            + _j({"sub": "u", "channel": "$c", "client": "x", "nbf": now, "aud": ["a"]}),
            b"\x00"
            + _j({"alg": "HS256"})
            + b"\x00"
            + _j({"sub": "u", "subs": {"a": {"data": {"x": 1}, "override": {"presence": True}}}}),
            b"\x01eyJhbGciOiJub25lIn0.e30.",
        ],
    }


def main() -> None:
    for target, items in seeds().items():
        d = CORPUS / target
        d.mkdir(parents=True, exist_ok=True)
        for item in items:
            (d / hashlib.sha1(item).hexdigest()).write_bytes(item)


if __name__ == "__main__":
    main()
