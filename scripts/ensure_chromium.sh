#!/usr/bin/env bash
# Make Debian's `chromium` available at /usr/bin/chromium for the browser tests: the admin
# web UI, SockJS transports and WebTransport with centrifuge-js
# (tests/e2e/test_admin_ui.py drives it through Playwright with the system binary as its
# executable; `playwright install` is never run).  fonts-liberation gives the screenshots
# readable text on a machine without desktop fonts.  Idempotent and quiet: does nothing when
# /usr/bin/chromium runs.  Installing needs root (apt-get); a failure is reported on stderr
# with a non-zero exit.
set -euo pipefail

have() { [ -x /usr/bin/chromium ] && /usr/bin/chromium --version >/dev/null 2>&1; }

have && exit 0
bash "$(dirname "$0")/apt_install.sh" ensure_chromium chromium fonts-liberation
have || { echo "ensure_chromium: /usr/bin/chromium still missing after install" >&2; exit 1; }
