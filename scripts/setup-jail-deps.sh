#!/usr/bin/env bash
# Debian packages the jail and sandbox modules need on the build host (run as root):
#   mmdebstrap          makes jails (variant buildd)
#   bubblewrap          runs build phases in namespaces (0.8 is enough: kiln mounts overlayfs itself)
#   util-linux          mount/umount, prlimit, setpriv, flock (Essential; listed for clarity)
#   dpkg                dpkg-query reads a jail's manifest
#   ca-certificates     https mirrors
# With KILN_ARM64=1 (or --arm64) also what arm64 jails on an amd64 host need (issue 9):
#   qemu-user-static, binfmt-support   then binfmt_misc must be mounted: see `kiln doctor`
set -euo pipefail
pkgs=(mmdebstrap bubblewrap util-linux dpkg ca-certificates)
if [ "${KILN_ARM64:-0}" = 1 ] || [ "${1:-}" = --arm64 ]; then pkgs+=(qemu-user-static binfmt-support); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then echo "jail deps: all installed (${pkgs[*]})"; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
# Update the package lists only when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 -print -quit 2>/dev/null)" ]; then apt-get update; fi
apt-get install -y --no-install-recommends "${missing[@]}"
