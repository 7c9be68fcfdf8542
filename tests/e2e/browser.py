"""Headless Debian ``chromium`` driven by Playwright, for the admin UI tests.

The browser is the system one (``/usr/bin/chromium``, installed by
``scripts/ensure_chromium.sh``) given to Playwright as its executable: ``playwright install``
is never run and nothing is downloaded.  Every page records its console errors, uncaught
exceptions and the URL of every request (the tests assert that only Gyre was asked).
Screenshots go to ``test-artifacts/admin-ui/`` (``GYRE_ARTIFACTS`` overrides the base
directory); with ``GYRE_DOCS_SCREENSHOTS=1`` they are also copied to ``docs/`` for the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.chromium import HEADLESS_FLAGS

from .server import REPO

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 800}
ARTIFACTS = Path(os.environ.get("GYRE_ARTIFACTS", REPO / "test-artifacts")) / "admin-ui"
DOCS = REPO / "docs"


@dataclass
class Watched:
    """A page and what it did: console errors, page errors, requested URLs."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            url = msg.location.get("url", "")
            self.console_errors.append(f"{msg.text} [{url}]")

    def foreign_requests(self, origin: str) -> list[str]:
        """Requests to anything but ``origin`` (``http://127.0.0.1:<port>``)."""
        return [u for u in self.requests if u != origin and not u.startswith(origin + "/")]

    async def screenshot(self, name: str) -> Path:
        """Save a full-page screenshot as a test artifact (and in docs/ when asked)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        if os.environ.get("GYRE_DOCS_SCREENSHOTS") == "1":
            shutil.copy(path, DOCS / f"admin-ui-{name}.png")
        return path


@asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} missing: run scripts/ensure_chromium.sh")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=list(HEADLESS_FLAGS))
        try:
            yield b
        finally:
            await b.close()


async def watched_page(b: Browser) -> Watched:
    """A fresh context (own sessionStorage) and page with recorders attached."""
    context = await b.new_context(viewport=VIEWPORT, device_scale_factor=1)  # type: ignore[arg-type]
    page = await context.new_page()
    w = Watched(page)
    page.on("console", w._console)
    page.on("pageerror", lambda e: w.page_errors.append(str(e)))
    context.on("request", lambda r: w.requests.append(r.url))
    return w
