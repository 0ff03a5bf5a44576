#!/usr/bin/env bash
# What the live web page's browser test needs (src/server/browser.test.ts):
#   chromium          Debian's browser, driven headless through playwright-core at /usr/bin/chromium
#   playwright-core   from npm (a dev dependency; it never downloads a browser of its own)
# Run as root. The lead's setup script calls this one.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install chromium
# playwright-core is a devDependency: scripts/setup.sh's npm install brings it (it never downloads a browser).
