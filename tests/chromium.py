"""Command-line flags for headless Chromium in tests (the Debian ``chromium`` package): no
sandbox (containers), no GPU, and none of the background traffic a first run starts."""

HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
