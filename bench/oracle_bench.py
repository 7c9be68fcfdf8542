#!/usr/bin/env python3
"""Gyre's hand-written token verifier and Redis client against the libraries they replace
(PyJWT, redis-py), measured in the same run: why those libraries are test-only.

Scenarios (rounds alternate Gyre and the library; the first round is a warm-up, discarded;
figures are medians with min-max):

* **jwt** - microseconds per connection-token check: Gyre's ``TokenVerifier.verify_connect``
  (parse, typed claims, signature, times, the verified result) vs ``jwt.decode`` with the key
  object, for HS256, RS256 (2048-bit) and ES256. One process, one core.
* **publish** - ``PUBLISH`` calls per second from 64 concurrent coroutines, and client CPU per
  call: Gyre's ``NodeClient`` (one auto-pipelined connection) vs ``redis.asyncio.Redis`` as
  applications use it (its connection pool; hiredis parser when installed), 64-byte payloads to
  a channel without subscribers. A redis-server on another core (``taskset``), loopback.
* **intake** - client CPU per PUB/SUB message received: Gyre's ``PubSub`` (the engine's read
  loop, ``on_message`` callback) vs redis-py's ``PubSub.get_message`` loop, each alone
  subscribed while a separate publisher process pipelines ~130-byte messages (counted only:
no decoding of Centrifugo's payload on either side).

The load is generated in the measured process for jwt and publish (the client *is* what is
measured); for intake the publisher is another process on the Redis core, and the consumer's
CPU/wall is printed: below 1 it kept up with the publisher (it then reads fewer messages per
read, so its CPU per message is if anything overstated).

    .venv/bin/python bench/oracle_bench.py           # 1 warm-up + 5 rounds (a few minutes)
    .venv/bin/python bench/oracle_bench.py --quick   # 1 + 2 rounds, smaller counts (about 1 min)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jwt  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402

from service.auth import TokenKeys, TokenVerifier  # noqa: E402
from service.engines.redis.client import NodeClient  # noqa: E402
from service.engines.redis.connection import open_connection  # noqa: E402
from service.engines.redis.options import (  # noqa: E402
    ConnectSettings,
    RedisShardConfig,
    parse_address,
)
from service.engines.redis.pubsub import PubSub  # noqa: E402
from service.engines.redis.shard import StandaloneShard  # noqa: E402

SECRET = "oracle-bench-secret-" + "x" * 44
CONCURRENCY = 64


def log(msg: str) -> None:
    print(f"[oracle-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def rounds(
    n: int, pair: dict[str, Callable[[], float]], higher_is_better: bool
) -> dict[str, list[float]]:
    """Run each measurement ``n + 1`` times alternately; drop the warm-up round."""
    out: dict[str, list[float]] = {name: [] for name in pair}
    for i in range(n + 1):
        for name, measure in pair.items():
            value = measure()
            if i:
                out[name].append(value)
    ratios = [
        (g / lib if higher_is_better else lib / g)
        for g, lib in zip(out["gyre"], out["library"], strict=True)
    ]
    out["ratio"] = ratios
    return out


# -- jwt ------------------------------------------------------------------------------------------


def pem(key: Any) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def jwt_scenarios(n_rounds: int, count: int) -> list[tuple[str, dict[str, list[float]]]]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    claims = {"sub": "42", "exp": int(time.time()) + 86400, "info": {"name": "bench"}}
    cases = [
        ("HS256", SECRET, TokenKeys(hmac_secret_key=SECRET), SECRET),
        ("RS256", rsa_key, TokenKeys(rsa_public_key=pem(rsa_key)), rsa_key.public_key()),
        ("ES256", ec_key, TokenKeys(ecdsa_public_key=pem(ec_key)), ec_key.public_key()),
    ]
    out = []
    for alg, signing_key, keys, public in cases:
        token = jwt.encode(claims, signing_key, algorithm=alg)
        verifier = TokenVerifier(keys)
        n = count if alg == "HS256" else count // 4

        def gyre(token: str = token, verifier: TokenVerifier = verifier, n: int = n) -> float:
            started = time.perf_counter()
            for _ in range(n):
                coro = verifier.verify_connect(token)
                try:
                    coro.send(None)  # static keys: the coroutine never waits
                except StopIteration:
                    pass
            return (time.perf_counter() - started) / n * 1e6

        def library(token: str = token, public: Any = public, alg: str = alg, n: int = n) -> float:
            started = time.perf_counter()
            for _ in range(n):
                jwt.decode(token, public, algorithms=[alg])
            return (time.perf_counter() - started) / n * 1e6

        out.append((alg, rounds(n_rounds, {"gyre": gyre, "library": library}, False)))
        log(f"jwt {alg} done")
    return out


# -- redis ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cpu: int, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if shutil.which("taskset") else cmd


def start_redis(workdir: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir]
    argv += ["--save", "", "--appendonly", "no"]
    argv += ["--client-output-buffer-limit", "pubsub", "0", "0", "0"]
    proc = subprocess.Popen(
        pinned(1, argv),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.02)


async def concurrently(total: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(calls per second, client CPU microseconds per call) for ``total`` calls."""
    per_task = total // CONCURRENCY

    async def worker() -> None:
        for _ in range(per_task):
            await call()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done = per_task * CONCURRENCY
    return done / wall, cpu / done * 1e6


async def publish_scenario(port: int, n_rounds: int, total: int) -> dict[str, list[float]]:
    address = parse_address(f"127.0.0.1:{port}")
    gyre_client = NodeClient(lambda: open_connection(address, ConnectSettings()), name="bench")
    library_client = aioredis.Redis(host="127.0.0.1", port=port)
    payload = b"x" * 64
    rates: dict[str, list[float]] = {"gyre": [], "library": []}
    cpus: dict[str, list[float]] = {"gyre": [], "library": []}
    try:
        for i in range(n_rounds + 1):
            for name, call in (
                ("gyre", lambda: gyre_client.call(("PUBLISH", "bench", payload))),
                ("library", lambda: library_client.publish("bench", payload)),
            ):
                rate, cpu = await concurrently(total, call)
                if i:
                    rates[name].append(rate)
                    cpus[name].append(cpu)
    finally:
        await gyre_client.close()
        await library_client.aclose()
    return {
        "gyre calls/s": rates["gyre"],
        "redis-py calls/s": rates["library"],
        "gyre CPU us/call": cpus["gyre"],
        "redis-py CPU us/call": cpus["library"],
        "ratio (calls/s)": [
            g / lib for g, lib in zip(rates["gyre"], rates["library"], strict=True)
        ],
        "ratio (CPU)": [lib / g for g, lib in zip(cpus["gyre"], cpus["library"], strict=True)],
    }


PUBLISHER = """
import socket, sys, hiredis
port, count, channel = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
payload = b"__p1:12345:epoch__" + b"\\x22\\x6e" + b"y" * 110
batch = b"".join(hiredis.pack_command((b"PUBLISH", channel, payload)) for _ in range(500))
reader = hiredis.Reader()
with socket.create_connection(("127.0.0.1", port)) as sock:
    sock.sendall(b"CLIENT REPLY OFF\\r\\n")
    for _ in range(count // 500):
        sock.sendall(batch)
    sock.sendall(b"CLIENT REPLY ON\\r\\nPING\\r\\n")
    while not sock.recv(64).endswith(b"PONG\\r\\n"):
        pass
"""


async def intake_once(port: int, count: int, kind: str) -> tuple[float, float]:
    """(client CPU microseconds per received message, client CPU / wall time: below 1 the
    consumer kept up with the publisher and waited for it part of the time)."""
    channel = f"intake-{kind}-{time.monotonic_ns()}".encode()
    done = asyncio.Event()
    received = 0

    def on_message(ch: bytes, payload: bytes) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    if kind == "gyre":
        shard = StandaloneShard(RedisShardConfig(address=f"127.0.0.1:{port}"))
        pubsub = PubSub(
            shard=shard, fixed_channels=[], on_message=on_message, on_reconnect=lambda: None
        )
        pubsub.start()
        await pubsub.wait_first_attempt()
        await pubsub.subscribe(channel)

        async def consume() -> None:
            await done.wait()

        async def close() -> None:
            await pubsub.close()
            await shard.close()

    else:
        client = aioredis.Redis(host="127.0.0.1", port=port)
        library = client.pubsub(ignore_subscribe_messages=True)
        await library.subscribe(channel)

        async def consume() -> None:
            while received < count:
                message = await library.get_message(timeout=1.0)
                if message is not None:
                    on_message(message["channel"], message["data"])

        async def close() -> None:
            await library.aclose()
            await client.aclose()

    publisher = subprocess.Popen(
        pinned(1, [sys.executable, "-c", PUBLISHER, str(port), str(count), channel.decode()])
    )
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        await asyncio.wait_for(consume(), timeout=120)
    finally:
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        publisher.wait(timeout=60)
        await close()
    return cpu / count * 1e6, cpu / wall


async def intake_scenario(port: int, n_rounds: int, count: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {
        "gyre CPU us/msg": [],
        "redis-py CPU us/msg": [],
        "gyre CPU/wall": [],
        "redis-py CPU/wall": [],
    }
    for i in range(n_rounds + 1):
        for kind, name in (("gyre", "gyre"), ("library", "redis-py")):
            cpu, busy = await intake_once(port, count, kind)
            if i:
                out[f"{name} CPU us/msg"].append(cpu)
                out[f"{name} CPU/wall"].append(busy)
    out["ratio (CPU)"] = [
        lib / g for g, lib in zip(out["gyre CPU us/msg"], out["redis-py CPU us/msg"], strict=True)
    ]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=0)
    args = parser.parse_args()
    n_rounds = args.rounds or (2 if args.quick else 5)
    scale = 4 if args.quick else 1
    if shutil.which("redis-server") is None:
        log("redis-server not installed (scripts/ensure_redis.sh)")
        return 1
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})  # the measured clients on CPU 0, Redis on CPU 1
    rows: list[tuple[str, str]] = []
    for alg, result in jwt_scenarios(n_rounds, 20000 // scale):
        rows.append((f"jwt {alg}: gyre us/verify", summary(result["gyre"])))
        rows.append((f"jwt {alg}: PyJWT us/verify", summary(result["library"])))
        rows.append((f"jwt {alg}: ratio (PyJWT time / Gyre time)", summary(result["ratio"])))
    with tempfile.TemporaryDirectory(prefix="oracle-bench-") as workdir:
        proc, port = start_redis(workdir)
        try:
            published = asyncio.run(publish_scenario(port, n_rounds, 32_000 // scale))
            log("publish done")
            intake = asyncio.run(intake_scenario(port, n_rounds, 200_000 // scale))
            log("intake done")
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    rows += [(f"publish: {k}", summary(v)) for k, v in published.items()]
    rows += [(f"intake: {k}", summary(v)) for k, v in intake.items()]
    print("| figure | median (min-max) |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
