"""The real server as a subprocess (``python -m service -c <tmp>/config.json``).

The config gets ``port: 0`` on 127.0.0.1; the port is read from the ``serving on ADDR:PORT``
log line and readiness is confirmed by polling ``/health``.  Server stderr goes to a file
that failing tests print (see ``conftest.pytest_runtest_makereport``).

Never imports ``service.protocol.pb_codec`` or ``centrifugal.*``: the SDK's own
``client_pb2`` registers the same proto package and the two cannot share a process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SECRET = "e2e-hmac-secret-0123456789abcdefghijklmnop"
API_KEY = "e2e-api-key"

_SERVING = re.compile(r"serving on (\S+):(\d+)")


def base_config(**overrides: Any) -> dict[str, Any]:
    """Small delays everywhere so time-driven behaviour shows up in about a second."""
    cfg: dict[str, Any] = {
        "token_hmac_secret_key": SECRET,
        "api_key": API_KEY,
        "address": "127.0.0.1",
        "port": 0,
        "health": True,
        "v5_api": True,
        "log_level": "info",
        "client_stale_close_delay": "1s",
        "client_expired_close_delay": "1s",
        "client_expired_sub_close_delay": "1s",
        "client_presence_update_interval": "1s",
        "shutdown_timeout": "2s",
    }
    cfg.update(overrides)
    return cfg


class ServerProcess:
    """One server process; ``start`` blocks until ``/health`` answers 200."""

    def __init__(
        self,
        config: dict[str, Any],
        workdir: Path,
        name: str = "gyre",
        *,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        """``args``: extra command-line flags; ``env``: extra environment variables."""
        self.config = config
        self.workdir = workdir
        self.name = name
        self.args = args
        self.env = env or {}
        self.config_path = workdir / "config.json"
        self.log_path = workdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    # -- addresses ---------------------------------------------------------------------------
    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connection/websocket"

    @property
    def api_url(self) -> str:
        return f"{self.http}/api"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config, indent=2))
        log = self.log_path.open("wb")
        env = dict(os.environ)
        env.pop("CENTRIFUGO_PORT", None)
        env.update(self.env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service", "-c", str(self.config_path), *self.args],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self.port:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            m = _SERVING.search(self.log())
            if m:
                self.port = int(m.group(2))
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not report its port:\n{self.log()}")
            time.sleep(0.02)
        while True:
            try:
                with urllib.request.urlopen(f"{self.http}/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server never became healthy:\n{self.log()}")
            time.sleep(0.02)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
