"""SockJS protocol 0.3 (what sockjs-client 1.x speaks), sans-I/O.

Frames the server sends (docs/transports.md, "SockJS"):

* ``o`` open, ``h`` heartbeat, ``a["m1","m2"]`` messages (each a JSON string),
  ``c[code,"reason"]`` close;
* per receiving transport they are wrapped: websocket = one text frame each; xhr,
  xhr_streaming = frame + ``\\n``; eventsource = ``data: frame\\r\\n\\r\\n``; htmlfile =
  ``<script>\\np("frame");\\n</script>\\r\\n``; jsonp = ``/**/cb("frame");\\r\\n``.

Client to server: a JSON array of strings (xhr_send, jsonp_send, websocket) or, over
websocket, a single JSON string.  Anything else is a broken frame.
"""

from __future__ import annotations

import hashlib
import re

import orjson

from .errors import ProtocolError

OPEN = b"o"
HEARTBEAT = b"h"

#: Characters sockjs-client expects escaped inside frames (some browsers mangle them).
_ESCAPABLE = re.compile(
    "[\u0000-\u001f\u007f-\u009f\u00ad\u0600-\u0604\u070f\u17b4\u17b5\u200c-\u200f"
    "\u2028-\u202f\u2060-\u206f\ufeff\ufff0-\uffff]"
)

#: Server and session ids of the ``/<server>/<session>/<transport>`` paths: no dots.
ID_RE = re.compile(r"^[^/.]+$")

#: First bytes of an xhr_streaming response: 2 KiB of ``h`` so old browsers start streaming.
XHR_STREAMING_PRELUDE = b"h" * 2048 + b"\n"

#: htmlfile callback names sockjs-client generates.
CALLBACK_RE = re.compile(r"^[a-zA-Z0-9_.]+$")

#: Streaming responses end after this many bytes; the client opens the next one.
STREAMING_RESPONSE_LIMIT = 128 * 1024


def _escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group(0)):04x}"


def json_string(message: bytes) -> bytes:
    """``message`` (UTF-8 text) as a JSON string literal, escaped as SockJS wants."""
    out = orjson.dumps(message.decode("utf-8", "replace"))
    if not out.isascii():
        out = _ESCAPABLE.sub(_escape, out.decode()).encode()
    return out


def message_frame(messages: list[bytes]) -> bytes:
    """``a[...]`` carrying ``messages`` (each one SockJS message)."""
    return b"a[" + b",".join([json_string(m) for m in messages]) + b"]"


def close_frame(code: int, reason: str) -> bytes:
    """``c[code,"reason"]``."""
    return b"c" + orjson.dumps([code, reason])


def decode_messages(data: bytes, *, allow_single: bool = False) -> list[bytes]:
    """Messages of one client frame: a JSON array of strings (or one string when
    ``allow_single``, as over websocket).  Raises ProtocolError for anything else."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ProtocolError("broken SockJS frame: not JSON") from None
    if isinstance(value, str) and allow_single:
        return [value.encode()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError("broken SockJS frame: expected an array of strings")
    return [v.encode() for v in value]


def eventsource_frame(frame: bytes) -> bytes:
    return b"data: " + frame + b"\r\n\r\n"


def htmlfile_frame(frame: bytes) -> bytes:
    return b"<script>\np(" + orjson.dumps(frame.decode()) + b");\n</script>\r\n"


def jsonp_frame(callback: str, frame: bytes) -> bytes:
    return b"/**/" + callback.encode() + b"(" + orjson.dumps(frame.decode()) + b");\r\n"


def htmlfile_prelude(callback: str) -> bytes:
    """The page that the htmlfile transport streams its ``<script>`` frames into."""
    head = (
        "<!doctype html>\n<html><head>\n"
        '  <meta http-equiv="X-UA-Compatible" content="IE=edge" />\n'
        '  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n'
        "</head><body><h2>Don't panic!</h2>\n"
        "  <script>\n"
        "    document.domain = document.domain;\n"
        f"    var c = parent.{callback};\n"
        "    c.start();\n"
        "    function p(d) {c.message(d);};\n"
        "    window.onload = function() {c.stop();};\n"
        "  </script>\n"
    )
    return head.encode() + b" " * max(0, 1024 - len(head)) + b"\r\n\r\n"


def iframe_page(sockjs_url: str) -> tuple[bytes, str]:
    """The iframe page of the iframe-* transports and its ETag."""
    page = (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        '  <meta http-equiv="X-UA-Compatible" content="IE=edge" />\n'
        '  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n'
        "  <script>\n"
        "    document.domain = document.domain;\n"
        "    _sockjs_onload = function(){SockJS.bootstrap_iframe();};\n"
        "  </script>\n"
        f'  <script src="{sockjs_url}"></script>\n'
        "</head>\n<body>\n"
        "  <h2>Don't panic!</h2>\n"
        "  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n"
        "</body>\n</html>"
    ).encode()
    return page, '"' + hashlib.md5(page, usedforsecurity=False).hexdigest() + '"'
