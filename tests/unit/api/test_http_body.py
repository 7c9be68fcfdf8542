"""Parsing of ``POST /api`` bodies (v4 shape) and of one command's params."""

from __future__ import annotations

import pytest

from service.api import messages as a
from service.api.http import decode_body, decode_v4_body


def test_v4_body_documents_one_per_line_blank_lines_and_spaces_allowed() -> None:
    body = b' {"method":"publish","params":{"channel":"a","data":1}}\n\n\t'
    body += b'{"method":"info","id":7} \n'
    cmds = decode_v4_body(body)
    assert cmds is not None
    assert [(c.method, c.id) for c in cmds] == [("publish", 0), ("info", 7)]
    assert bytes(cmds[0].params) == b'{"channel":"a","data":1}'
    assert bytes(cmds[1].params) == b"{}"  # absent params: an empty object


def test_v4_body_documents_written_back_to_back() -> None:
    cmds = decode_v4_body(b'{"method":"info"}{"method":"channels","id":2}')
    assert cmds is not None and [(c.method, c.id) for c in cmds] == [("info", 0), ("channels", 2)]


@pytest.mark.parametrize(
    "body",
    [b"", b" \n\n ", b"{", b'{"method":"info"} x', b'{"method":"info"}\n[1]', b'{"method":[]}'],
)
def test_v4_body_that_does_not_decode_is_none(body: bytes) -> None:
    assert decode_v4_body(body) is None  # the handler answers 400


def test_params_decode_from_the_raw_document_of_the_command() -> None:
    [cmd] = decode_v4_body(b'{"method":"publish","params":{"channel":"c","data":{"x":[1]}}}') or []
    req = decode_body(cmd.params, a.PublishRequest)
    assert req is not None and req.channel == "c" and bytes(req.data) == b'{"x":[1]}'
    assert decode_body(b"", a.InfoRequest) == a.InfoRequest()  # empty: {}
    assert decode_body(b'{"channel":5}', a.PublishRequest) is None  # wrong type: 400
