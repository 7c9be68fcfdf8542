"""Raw HTTP/1.1 requests with arbitrary bytes in the request line and headers (aiohttp's
client refuses to send most of what an attacker would)."""

from __future__ import annotations

import asyncio

TIMEOUT = 5.0


async def raw_status(port: int, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send ``head`` (request line and headers, without the blank line) and ``body``;
    return the status code and the response body (``Connection: close`` is added)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.rstrip(b"\r\n") + b"\r\nConnection: close\r\n\r\n" + body)
        data = await asyncio.wait_for(reader.read(), TIMEOUT)
    finally:
        writer.close()
    status_line, _, rest = data.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), payload
