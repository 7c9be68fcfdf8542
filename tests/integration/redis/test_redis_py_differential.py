"""Differential test: Gyre's RESP client against redis-py, on a real redis-server.

Every command sequence runs twice on one server: through Gyre (``NodeClient`` over
``RespConnection``, the hiredis reader, auto-pipelining) in database 1 and through redis-py's
connection with its pure-Python RESP2 parser (no hiredis, no response callbacks: the raw
replies) in database 2, step by step, so both see the same state. Replies must be equal: bulk
strings and nil, integers, arrays (empty, nested, with error elements), status replies, error
replies (compared as the exception class and message redis-py derives from the text, so the
full ``CODE message`` must match), Lua EVAL/EVALSHA results, pipelines, MULTI/EXEC, binary-safe
and large payloads, and the PUB/SUB message shapes.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import hiredis
import pytest
from redis._parsers import _AsyncRESP2Parser
from redis.asyncio.connection import Connection
from redis.exceptions import ResponseError

from service.engines.redis.client import NodeClient
from service.engines.redis.connection import ReplyError, RespConnection, open_connection
from service.engines.redis.options import ConnectSettings, RedisShardConfig, parse_address
from service.engines.redis.pubsub import PubSub
from service.engines.redis.shard import StandaloneShard
from tests.redis_fixtures import HOST, RedisFactory, RedisProcess

_PARSER = _AsyncRESP2Parser(socket_read_size=65536)
TIMEOUT = 10.0
Command = tuple[Any, ...]


def norm(value: Any) -> Any:
    """A comparable form of a reply; errors become (class, message) as redis-py sees them."""
    if isinstance(value, (ReplyError, hiredis.ReplyError)):
        value = _PARSER.parse_error(str(value.args[0]) if value.args else "")
    if isinstance(value, ResponseError):
        return ("error", type(value).__name__, str(value))
    if isinstance(value, list):
        return [norm(item) for item in value]
    return value


@dataclass
class Pair:
    gyre: NodeClient
    oracle: Connection

    async def gyre_reply(self, args: Command) -> Any:
        try:
            return norm(await self.gyre.call(args))
        except ReplyError as e:
            return norm(e)

    async def oracle_reply(self, args: Command) -> Any:
        await self.oracle.send_command(*args)
        try:
            return norm(await self.oracle.read_response())
        except ResponseError as e:
            return norm(e)

    async def same(self, *args: Any) -> Any:
        """Run one command on both sides; assert equal replies; return the reply."""
        async with asyncio.timeout(TIMEOUT):  # a lost reply fails the test, never hangs it
            gyre = await self.gyre_reply(args)
            oracle = await self.oracle_reply(args)
        assert gyre == oracle, args
        return gyre

    async def oracle_pipeline(self, commands: Sequence[Command]) -> list[Any]:
        await self.oracle.send_packed_command(self.oracle.pack_commands(commands))
        out = []
        for _ in commands:
            try:
                out.append(norm(await self.oracle.read_response()))
            except ResponseError as e:
                out.append(norm(e))
        return out


@pytest.fixture(scope="module")
def server(redis_session_factory: RedisFactory) -> RedisProcess:
    """A server of this module's own (it flushes databases 1 and 2 freely)."""
    return redis_session_factory.server()


async def oracle_connection(server: RedisProcess, db: int = 0) -> Connection:
    conn = Connection(
        host=HOST,
        port=server.port,
        db=db,
        protocol=2,
        parser_class=_AsyncRESP2Parser,
        socket_timeout=TIMEOUT,
    )
    await conn.connect()
    return conn


@pytest.fixture
async def pair(server: RedisProcess) -> AsyncIterator[Pair]:
    settings = ConnectSettings(db=1)
    address = parse_address(server.address)
    gyre = NodeClient(lambda: open_connection(address, settings), name="gyre")
    oracle = await oracle_connection(server, db=2)
    both = Pair(gyre, oracle)
    await both.same("FLUSHDB")
    try:
        yield both
    finally:
        await gyre.close()
        await oracle.disconnect()


def payloads(seed: int = 12) -> list[bytes]:
    """Binary-safe edge cases and random bytes (RESP framing look-alikes, NUL, CR/LF)."""
    rng = random.Random(seed)
    fixed = [
        b"",
        b"\r\n",
        b"\x00",
        b"a\r\nb\x00c",
        b"$-1\r\n",
        b"*2\r\n$1\r\na\r\n",
        b"-ERR fake\r\n",
        b":42\r\n",
        "é\u2028𝄞".encode(),
        bytes(range(256)),
    ]
    return fixed + [rng.randbytes(rng.randrange(1, 300)) for _ in range(20)]


async def test_strings_nil_integers_and_errors(pair: Pair) -> None:
    await pair.same("PING")
    await pair.same("PING", b"hello\r\nworld")
    await pair.same("ECHO", b"\x00\r\n")
    await pair.same("GET", "missing")  # nil
    await pair.same("SET", "s", "value")  # status reply
    await pair.same("SET", "s", "x", "NX")  # nil (not set)
    await pair.same("GET", "s")
    await pair.same("SET", "empty", b"")
    await pair.same("GET", "empty")  # empty bulk string, not nil
    await pair.same("APPEND", "s", b"\r\n")
    await pair.same("STRLEN", "s")
    await pair.same("SET", "n", 2**63 - 2)
    await pair.same("INCR", "n")
    await pair.same("INCR", "n")  # ERR increment or decrement would overflow
    await pair.same("INCRBY", "m", -(2**62))
    await pair.same("INCRBYFLOAT", "f", 0.1)
    await pair.same("INCRBYFLOAT", "f", 1e20)
    await pair.same("INCR", "s")  # ERR value is not an integer or out of range
    await pair.same("SET", "é", "ü")
    await pair.same("GET", "é")
    await pair.same("LPUSH", "list", "a", "b")
    await pair.same("GET", "list")  # WRONGTYPE
    await pair.same("NOSUCHCOMMAND", "x")  # ERR unknown command
    await pair.same("GET")  # ERR wrong number of arguments
    await pair.same("SET", "s", "v", "EX", 0)  # ERR invalid expire time
    await pair.same("DEL", "s", "n", "missing")
    await pair.same("EXISTS", "s", "list", "list")


async def test_arrays_and_nested_arrays(pair: Pair) -> None:
    await pair.same("LRANGE", "nothing", 0, -1)  # empty array
    await pair.same("RPUSH", "l", *payloads()[:10])
    await pair.same("LRANGE", "l", 0, -1)
    await pair.same("HSET", "h", "f1", b"\x00", "f2", b"\r\n")
    await pair.same("HGET", "h", "f2")
    await pair.same("HMGET", "h", "f1", "nope", "f2")  # array with a nil inside
    await pair.same("ZADD", "z", 1.5, "a", -2, "b", 1e300, "c")
    await pair.same("ZRANGE", "z", 0, -1, "WITHSCORES")
    await pair.same("XADD", "x", "1-1", "f", b"v\r\n", "g", b"")
    await pair.same("XADD", "x", "2-0", "f", "w")
    await pair.same("XADD", "x", "1-0", "f", "w")  # ERR ... equal or smaller than the top item
    await pair.same("XRANGE", "x", "-", "+")  # [[id, [field, value, ...]], ...]
    await pair.same("XRANGE", "x", "+", "-")  # empty
    await pair.same("XREVRANGE", "x", "+", "-", "COUNT", 1)


async def test_binary_safe_and_large_values(pair: Pair) -> None:
    for i, payload in enumerate(payloads()):
        await pair.same("SET", b"bin\r\n\x00" + bytes([i]), payload)
        await pair.same("GET", b"bin\r\n\x00" + bytes([i]))
    large = random.Random(7).randbytes(3 * 1024 * 1024) + b"\r\n\x00"
    await pair.same("SET", "large", large)
    assert await pair.same("GET", "large") == large
    await pair.same("GETRANGE", "large", 1024 * 1024, 1024 * 1024 + 100)


async def test_lua_replies(pair: Pair) -> None:
    tag = uuid.uuid4().hex  # a fresh script body: the script cache is server-wide
    nested = (
        f"-- {tag}\n"
        "return {1, {2, {3, 'x', {}}}, 'y', false, redis.status_reply('FINE'), 3.99}"
    )
    await pair.same("EVAL", nested, 0)
    await pair.same("EVAL", "return {1, 2, nil, 4}", 0)  # Lua arrays stop at the first nil
    await pair.same("EVAL", "return redis.error_reply('MYCODE custom failure')", 0)
    await pair.same("EVAL", "return {1, redis.error_reply('INNER in an array')}", 0)
    await pair.same("EVAL", "return redis.status_reply('ALL GOOD')", 0)
    await pair.same("EVAL", "error('boom')", 0)  # ERR user_script:1: boom ...
    await pair.same("EVAL", "return redis.call('INCR', KEYS[1])", 1, "counter")
    await pair.same("RPUSH", "list", "a")
    await pair.same("EVAL", "return redis.call('INCR', KEYS[1])", 1, "list")  # WRONGTYPE
    await pair.same("EVAL", "return redis.pcall('INCR', KEYS[1])", 1, "list")
    await pair.same("EVAL", "return {redis.pcall('INCR', KEYS[1])}", 1, "list")
    await pair.same("EVAL", "return ARGV", 0, b"\x00", b"\r\n", b"")
    await pair.same("EVAL", "return {KEYS[1], #ARGV, tonumber(ARGV[1]) * 2}", 1, "k", 21)
    await pair.same("EVAL", "this is not lua", 0)  # ERR Error compiling script
    sha = await pair.same("SCRIPT", "LOAD", nested)
    missing = "0" * 40
    await pair.same("EVALSHA", missing, 0)  # NOSCRIPT
    await pair.same("EVALSHA", sha, 0)
    await pair.same("SCRIPT", "EXISTS", sha, missing)


async def test_pipelines_and_transactions(pair: Pair) -> None:
    commands: list[Command] = [
        ("SET", "p", b"\r\n"),
        ("GET", "p"),
        ("INCR", "p"),  # an error in the middle does not disturb the rest
        ("LPUSH", "pl", *payloads()[:5]),
        ("LRANGE", "pl", 0, -1),
        ("GET", "nil-here"),
        ("NOSUCHCOMMAND",),
        ("EVAL", "return {ARGV[1], {ARGV[2]}}", 0, b"a", b"\x00"),
        ("MULTI",),
        ("SET", "t", 1),
        ("INCR", "pl"),  # queued; fails inside EXEC
        ("GET", "t"),
        ("EXEC",),  # array with an error element
        ("MULTI",),
        ("GET",),  # rejected when queued: EXEC then aborts
        ("EXEC",),  # EXECABORT
    ]
    async with asyncio.timeout(TIMEOUT):
        gyre = [norm(reply) for reply in await pair.gyre.pipeline(commands)]
    oracle = await pair.oracle_pipeline(commands)
    assert gyre == oracle


async def test_concurrent_callers_get_their_own_replies(pair: Pair) -> None:
    """Auto-pipelining: commands issued in one loop tick go out together; each caller must
    still get exactly the reply redis-py reads for the same command."""
    commands: list[Command] = []
    for i, payload in enumerate(payloads()):
        commands += [("SET", f"c{i}", payload), ("GET", f"c{i}"), ("INCR", f"c{i}")]
        commands += [("LRANGE", f"c{i}", 0, 1), ("GET", f"none{i}")]

    async def one(args: Command) -> Any:
        try:
            return norm(await pair.gyre.call(args))
        except ReplyError as e:
            return norm(e)

    # the GET/INCR of one key are queued after its SET on the one connection
    async with asyncio.timeout(TIMEOUT):
        gyre = await asyncio.gather(*(one(c) for c in commands))
    assert gyre == await pair.oracle_pipeline(commands)


# -- PUB/SUB --------------------------------------------------------------------------------------


async def read_oracle(conn: Connection, count: int) -> list[Any]:
    return [norm(await conn.read_response()) for _ in range(count)]


async def take(queue: asyncio.Queue[Any], count: int) -> list[Any]:
    async with asyncio.timeout(TIMEOUT):
        return [await queue.get() for _ in range(count)]


async def test_pubsub_reply_shapes(server: RedisProcess) -> None:
    """SUBSCRIBE/PSUBSCRIBE confirmations, message/pmessage, PING and UNSUBSCRIBE in
    subscribed mode: the raw replies Gyre's connection hands to its push handler."""
    ch = f"diff-{uuid.uuid4().hex[:8]}".encode()
    gyre: RespConnection = await open_connection(parse_address(server.address), ConnectSettings())
    got: asyncio.Queue[Any] = asyncio.Queue()
    gyre.set_push_handler(lambda reply: got.put_nowait(norm(reply)))
    oracle = await oracle_connection(server)
    publisher = await oracle_connection(server)
    try:
        steps: list[Command] = [
            ("SUBSCRIBE", ch + b".a", ch + b".b"),
            ("PSUBSCRIBE", ch + b".*"),
        ]
        for step in steps:
            gyre.send(step)
            await oracle.send_command(*step)
        expected = await read_oracle(oracle, 3)
        for payload in payloads()[:8]:
            await publisher.send_command("PUBLISH", ch + b".a", payload)
            assert await publisher.read_response() == 4  # two channel + two pattern receivers
        expected += await read_oracle(oracle, 16)
        for step in [("PING",), ("PING", b"x\r\n"), ("UNSUBSCRIBE", ch + b".a"), ("PUNSUBSCRIBE",)]:
            gyre.send(step)
            await oracle.send_command(*step)
        expected += await read_oracle(oracle, 4)
        assert await take(got, len(expected)) == expected
        assert [r[0] for r in expected[3:5]] == [b"message", b"pmessage"]
    finally:
        gyre.close()
        await oracle.disconnect()
        await publisher.disconnect()


async def test_pubsub_messages_reach_gyre_as_redis_py_reads_them(server: RedisProcess) -> None:
    """Gyre's PubSub (the production path: hiredis read loop straight to ``on_message``) gets
    every message of a burst, binary and large ones included, in order, exactly as redis-py."""
    ch = f"diff-{uuid.uuid4().hex[:8]}".encode()
    shard = StandaloneShard(RedisShardConfig(address=server.address))
    got: asyncio.Queue[list[bytes]] = asyncio.Queue()
    pubsub = PubSub(
        shard=shard,
        fixed_channels=[ch + b".fixed"],
        on_message=lambda channel, payload: got.put_nowait([b"message", channel, payload]),
        on_reconnect=lambda: None,
    )
    pubsub.start()
    oracle = await oracle_connection(server)
    publisher = await oracle_connection(server)
    try:
        await pubsub.wait_first_attempt()
        await pubsub.subscribe(ch)
        await oracle.send_command("SUBSCRIBE", ch)
        assert norm(await oracle.read_response()) == [b"subscribe", ch, 1]
        messages = payloads() * 40 + [random.Random(3).randbytes(1024 * 1024)]
        await publisher.send_packed_command(
            publisher.pack_commands([("PUBLISH", ch, m) for m in messages])
        )
        assert await read_oracle(publisher, len(messages)) == [2] * len(messages)
        expected = await read_oracle(oracle, len(messages))
        assert await take(got, len(messages)) == expected
        assert got.empty()
    finally:
        await pubsub.close()
        await shard.close()
        await oracle.disconnect()
        await publisher.disconnect()


def test_commands_are_packed_like_redis_py() -> None:
    """The bytes on the wire: hiredis.pack_command (Gyre) and redis-py's encoder agree for
    every argument type Gyre sends (bytes, str, int, float)."""
    conn = Connection(protocol=2, parser_class=_AsyncRESP2Parser)
    args = ("SET", "é", b"\r\n\x00", 0, -(2**63), 2**64, 0.1, 1e20, 1.5, -0.0, 1e-7)
    assert hiredis.pack_command(args) == b"".join(conn.pack_command(*args))
