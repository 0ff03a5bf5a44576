#!/usr/bin/env bash
# What the live web page's browser test needs (src/server/browser.test.ts):
#   chromium          Debian's browser, driven headless through playwright-core at /usr/bin/chromium
#   playwright-core   from npm (a dev dependency; it never downloads a browser of its own)
# Run as root. The lead's setup script calls this one.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! dpkg-query -W -f '${db:Status-Abbrev}' chromium 2>/dev/null | grep -q '^ii'; then
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 -print -quit 2>/dev/null)" ]; then apt-get update; fi
  apt-get install -y --no-install-recommends chromium
else
  echo "web deps: chromium installed"
fi
if [ ! -d node_modules/playwright-core ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund -D playwright-core
fi
