#!/usr/bin/env bash
# Debian packages for distributed builds (issue 8), run as root by scripts/setup.sh:
#   redis-server   the job queue's engine (BullMQ). Only the binary is used: tests start their own instance on
#                  127.0.0.1 (or inside a test's network namespace) with --port, --save '' and a temp dir, and stop
#                  it by PID. The system service is not needed and is stopped and disabled if the package started it.
#   iproute2       `ip netns`, veth pairs: the three-host test makes its own network namespaces
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install redis-server iproute2
# Only the binary is needed; a running system instance would hold port 6379 for nothing.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
