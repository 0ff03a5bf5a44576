#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for kiln, as root: Debian packages (mmdebstrap, bubblewrap, gpg, ...),
# npm dependencies, and the compiled CLI. Safe to run again; it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "kiln setup: run as root (it installs Debian packages and kiln builds in mount namespaces)" >&2
  exit 2
fi

# Debian packages every part of kiln needs; module scripts (scripts/setup-*-deps.sh) add their own.
. scripts/lib/apt.sh
apt_install ca-certificates git xz-utils zstd curl
for s in scripts/setup-*-deps.sh; do
  [ -f "$s" ] || continue
  echo "kiln setup: $s"
  bash "$s"
done

# npm dependencies (better-sqlite3 compiles from source here: about a minute) and the compiled CLI.
# `npm install`, not `npm ci`: the registry here lacks some of bullmq's optional per-platform packages at the
# version the lock names (msgpackr-extract for darwin/win32), and `npm ci` refuses a lock without them.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npm run -s build
echo "kiln setup: done ($(node bin/kiln.js --version))"
