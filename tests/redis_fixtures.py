"""Real ``redis-server`` processes for the Redis engine tests (Debian packages, installed by
``scripts/ensure_redis.sh``).

Every server binds a free 127.0.0.1 port, runs in its own temp dir with ``--save ""
--appendonly no``, is waited on by polling ``PING`` (never a fixed sleep) and is killed by
PID afterwards.  Fixtures: ``redis_server`` (one standalone, session), ``redis_pair`` (two
standalone for client-side sharding, session), ``redis_sentinel`` (master + replica +
sentinel, session) and ``fresh_sentinel`` (the same, per test, for failover), ``redis_cluster``
(three masters made with ``redis-cli --cluster create``, session) and ``redis_factory``
(start private servers inside one test, e.g. to kill and restart them).

Use from a conftest: ``from tests.redis_fixtures import *``.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hiredis
import pytest

__all__ = [
    "RedisProcess",
    "SentinelGroup",
    "fresh_sentinel",
    "redis_cluster",
    "redis_factory",
    "redis_pair",
    "redis_sentinel",
    "redis_server",
    "redis_session_factory",
    "sync_command",
]

HOST = "127.0.0.1"
MASTER_NAME = "gyremaster"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (run scripts/ensure_redis.sh)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too, both below the
    ephemeral range so that no outgoing connection takes the bus port meanwhile."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 30000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind((HOST, port))
                b.bind((HOST, port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def sync_command(port: int, *args: Any, timeout: float = 2.0) -> Any:
    """Run one command on 127.0.0.1:``port`` over a fresh blocking socket; error replies
    are returned as ``hiredis.ReplyError`` objects."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(hiredis.pack_command(args))
        reader = hiredis.Reader()
        while True:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed")
            reader.feed(data)
            reply = reader.gets()
            if reply is not False:
                return reply


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` every 10 ms until it is true (AssertionError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _pings(port: int) -> bool:
    try:
        return sync_command(port, "PING", timeout=0.5) == b"PONG"
    except OSError:
        return False


@dataclass
class RedisProcess:
    """One ``redis-server`` (or sentinel) process; ``stop``/``start`` keep the port."""

    port: int
    workdir: Path
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self, timeout: float = 10.0) -> RedisProcess:
        argv = [_binary("redis-server"), *self.args]
        argv += ["--port", str(self.port), "--bind", HOST, "--dir", str(self.workdir)]
        argv += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.proc = subprocess.Popen(
            argv, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(lambda: self._alive_or_raise() and _pings(self.port), timeout, f"{argv}")
        return self

    def _alive_or_raise(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"redis-server on port {self.port} exited: {self.proc.returncode}")
        return True

    def stop(self) -> None:
        """Kill by PID (SIGKILL) and reap."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: the server keeps its sockets but answers nothing."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def command(self, *args: Any) -> Any:
        return sync_command(self.port, *args)


class RedisFactory:
    """Starts servers in private temp dirs and kills all of them on ``close``."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="gyre-redis-")
        self.processes: list[RedisProcess] = []

    def server(self, *args: str, port: int = 0) -> RedisProcess:
        port = port or free_port()
        workdir = Path(self._tmp.name) / str(port)
        workdir.mkdir()
        process = RedisProcess(port, workdir, list(args))
        self.processes.append(process)
        return process.start()

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        self._tmp.cleanup()


@dataclass
class SentinelGroup:
    master: RedisProcess
    replica: RedisProcess
    sentinel: RedisProcess

    def master_port(self) -> int:
        reply = self.sentinel.command("SENTINEL", "get-master-addr-by-name", MASTER_NAME)
        return int(reply[1])


def _start_sentinel_group(factory: RedisFactory) -> SentinelGroup:
    master = factory.server("--repl-diskless-sync-delay", "0")
    replica = factory.server(
        "--replicaof", HOST, str(master.port), "--repl-diskless-sync-delay", "0"
    )
    wait_until(
        lambda: b"master_link_status:up" in replica.command("INFO", "replication"),
        10,
        "replica in sync",
    )
    port = free_port()
    workdir = Path(factory._tmp.name) / f"sentinel-{port}"
    workdir.mkdir()
    conf = workdir / "sentinel.conf"
    conf.write_text(
        f"sentinel monitor {MASTER_NAME} {HOST} {master.port} 1\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} 400\n"
        f"sentinel failover-timeout {MASTER_NAME} 2000\n"
        f"sentinel parallel-syncs {MASTER_NAME} 1\n"
    )
    sentinel = RedisProcess(port, workdir, [str(conf), "--sentinel"])
    factory.processes.append(sentinel)
    sentinel.start()
    wait_until(
        lambda: bool(sentinel.command("SENTINEL", "replicas", MASTER_NAME)),
        10,
        "sentinel to discover the replica",
    )
    return SentinelGroup(master, replica, sentinel)


def _start_cluster(factory: RedisFactory, masters: int = 3) -> list[RedisProcess]:
    nodes = [
        factory.server(
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "2000",
            port=free_cluster_port(),
        )
        for _ in range(masters)
    ]
    subprocess.run(
        [
            _binary("redis-cli"),
            "--cluster",
            "create",
            *(n.address for n in nodes),
            "--cluster-replicas",
            "0",
            "--cluster-yes",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )
    for node in nodes:
        wait_until(
            lambda node=node: b"cluster_state:ok" in node.command("CLUSTER", "INFO"),
            20,
            f"cluster state ok on {node.address}",
        )
    return nodes


@pytest.fixture(scope="session")
def redis_session_factory() -> Iterator[RedisFactory]:
    factory = RedisFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="session")
def redis_server(redis_session_factory: RedisFactory) -> RedisProcess:
    """One standalone server shared by the session (tests use unique channel names)."""
    return redis_session_factory.server()


@pytest.fixture(scope="session")
def redis_pair(redis_session_factory: RedisFactory) -> tuple[RedisProcess, RedisProcess]:
    """Two standalone servers: the shards of a client-side sharded engine."""
    return redis_session_factory.server(), redis_session_factory.server()


@pytest.fixture(scope="session")
def redis_sentinel(redis_session_factory: RedisFactory) -> SentinelGroup:
    """Master + replica + one sentinel (quorum 1) monitoring ``MASTER_NAME``."""
    return _start_sentinel_group(redis_session_factory)


@pytest.fixture(scope="session")
def redis_cluster(redis_session_factory: RedisFactory) -> list[RedisProcess]:
    """A three-master Redis Cluster (no replicas)."""
    return _start_cluster(redis_session_factory)


@pytest.fixture
def redis_factory() -> Iterator[RedisFactory]:
    """Private servers for one test (killed at teardown)."""
    factory = RedisFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def fresh_sentinel(redis_factory: RedisFactory) -> SentinelGroup:
    """A private sentinel group a test may fail over."""
    return _start_sentinel_group(redis_factory)
