#!/usr/bin/env bash
# Debian packages the jail and sandbox modules need on the build host (run as root):
#   mmdebstrap          makes jails (variant buildd)
#   bubblewrap          runs build phases in namespaces (0.8 is enough: kiln mounts overlayfs itself)
#   util-linux          mount/umount, prlimit, setpriv, flock (Essential; listed for clarity)
#   dpkg                dpkg-query reads a jail's manifest
#   ca-certificates     https mirrors
#   gcc, libc6-dev      compile kiln's idmap helper on first use (user namespace of root phases, issue 14)
#   e2fsprogs           mkfs.ext4 for the per-build disk limit (limits.disk_mb)
#   curl                distfile downloads, run as nobody (src/fetch/download.ts)
# With KILN_ARM64=1 (or --arm64) also what arm64 jails on an amd64 host need (issue 9):
#   qemu-user-static, binfmt-support   then binfmt_misc must be mounted: see `kiln doctor`
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
pkgs=(mmdebstrap bubblewrap util-linux dpkg ca-certificates gcc libc6-dev e2fsprogs curl)
if [ "${KILN_ARM64:-0}" = 1 ] || [ "${1:-}" = --arm64 ]; then pkgs+=(qemu-user-static binfmt-support); fi
apt_install "${pkgs[@]}"
