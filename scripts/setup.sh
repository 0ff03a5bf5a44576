#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for kiln, as root: Debian packages (mmdebstrap, bubblewrap, gpg, ...),
# npm dependencies, and the compiled CLI. Safe to run again; it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "kiln setup: run as root (it installs Debian packages and kiln builds in mount namespaces)" >&2
  exit 2
fi

# Debian packages every part of kiln needs. Module scripts (scripts/setup-*-deps.sh) add their own.
base_pkgs=(ca-certificates git xz-utils zstd curl)
missing=()
for p in "${base_pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
# apt's package lists: fetched once here (when missing or older than a day) so every module script below can install.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 -print -quit 2>/dev/null)" ]; then
  apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
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
