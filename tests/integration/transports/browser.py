"""Headless Chromium (Debian ``chromium``) running a page that reports through console.log.

A page logs ``GYRE <WHAT> <json>`` lines; ``--enable-logging=stderr`` prints them and
:func:`run_page` hands each to the test's ``on_event`` callback (which may act on the server,
e.g. publish once the page says it subscribed) until ``done(seen)`` holds or the time is up.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.chromium import HEADLESS_FLAGS

REPO = Path(__file__).resolve().parents[3]
NODE_MODULES = REPO / "tests" / "e2e" / "js" / "node_modules"

#: The page-side logger every test page defines first.
SAY = "const say = (what, obj) => console.log('GYRE ' + what + ' ' + JSON.stringify(obj || {}));"


def chromium_path() -> str:
    """Install chromium if needed (scripts/ensure_chromium.sh) and return its path."""
    subprocess.run(["bash", str(REPO / "scripts" / "ensure_chromium.sh")], check=True)
    path = shutil.which("chromium")
    assert path, "chromium is not installed"
    assert (NODE_MODULES / "centrifuge" / "dist" / "centrifuge.js").is_file(), (
        "npm packages are not installed"
    )
    return path


async def run_page(
    chromium: str,
    url: str,
    profile: Path,
    on_event: Callable[[str, Any], Awaitable[None]],
    done: Callable[[dict[str, Any]], bool],
    *,
    flags: tuple[str, ...] = (),
    timeout: float = 30.0,
) -> tuple[dict[str, Any], list[str]]:
    """Open ``url``; returns (last body of each event, tail of Chromium's log)."""
    proc = await asyncio.create_subprocess_exec(
        chromium,
        *HEADLESS_FLAGS,
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *flags,
        url,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    seen: dict[str, Any] = {}
    tail: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + timeout
        while not done(seen) and time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(proc.stderr.readline(), deadline - time.monotonic())
            except TimeoutError:
                break
            if not raw:
                break
            line = raw.decode(errors="replace")
            if "dbus" not in line:
                tail = [*tail[-40:], line.rstrip()]
            if '"GYRE ' not in line:
                continue
            msg = line.split('"GYRE ', 1)[1].rsplit('", source:', 1)[0]
            what, _, body = msg.partition(" ")
            seen[what] = json.loads(body.encode().decode("unicode_escape"))
            await on_event(what, seen[what])
    finally:
        proc.kill()
        await proc.wait()
    return seen, tail
