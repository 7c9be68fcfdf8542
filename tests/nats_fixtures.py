"""Real ``nats-server`` processes for the NATS broker tests (Debian package ``nats-server``,
installed by ``scripts/ensure_nats.sh``).

Every server binds a free 127.0.0.1 port, is waited on by connecting and reading its ``INFO``
line (never a fixed sleep) and is killed by PID afterwards.  ``kill`` / ``start`` again keep
the port, so clients can reconnect to "the same" server.

Fixtures: ``nats_server`` (one server per test module) and ``nats_factory`` (private servers
inside one test, e.g. to kill and restart them).  Use from a conftest:
``from tests.nats_fixtures import *``.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["NatsFactory", "NatsProcess", "free_port", "nats_factory", "nats_server"]

HOST = "127.0.0.1"


def _binary() -> str:
    for path in (shutil.which("nats-server"), "/usr/sbin/nats-server", "/usr/bin/nats-server"):
        if path and Path(path).exists():
            return path
    pytest.skip("nats-server not installed (run scripts/ensure_nats.sh)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _says_info(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as s:
            return s.recv(5) == b"INFO "
    except OSError:
        return False


class NatsProcess:
    """One ``nats-server`` on ``127.0.0.1:port`` with optional extra arguments."""

    def __init__(self, port: int, workdir: Path, args: list[str]) -> None:
        self.port = port
        self.workdir = workdir
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    def start(self, timeout: float = 10.0) -> NatsProcess:
        argv = [_binary(), "-a", HOST, "-p", str(self.port), *self.args]
        log = (self.workdir / "nats.log").open("ab")
        self.proc = subprocess.Popen(argv, cwd=self.workdir, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while not _says_info(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited: {self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"nats-server on {self.port} not up: {self.log()}")
            time.sleep(0.01)
        return self

    def kill(self) -> None:
        """SIGKILL and wait (the port is free again afterwards)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def log(self) -> str:
        path = self.workdir / "nats.log"
        return path.read_text(errors="replace") if path.exists() else ""


class NatsFactory:
    """Starts servers in private temp dirs and kills all of them on ``close``."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="gyre-nats-")
        self.processes: list[NatsProcess] = []

    def server(self, *args: str, port: int = 0) -> NatsProcess:
        port = port or free_port()
        workdir = Path(self._tmp.name) / str(port)
        workdir.mkdir(exist_ok=True)
        process = NatsProcess(port, workdir, list(args))
        self.processes.append(process)
        return process.start()

    def close(self) -> None:
        for p in self.processes:
            p.kill()
        self._tmp.cleanup()


@pytest.fixture(scope="module")
def nats_server() -> Iterator[NatsProcess]:
    factory = NatsFactory()
    try:
        yield factory.server()
    finally:
        factory.close()


@pytest.fixture
def nats_factory() -> Iterator[NatsFactory]:
    factory = NatsFactory()
    try:
        yield factory
    finally:
        factory.close()
