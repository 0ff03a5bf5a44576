#!/usr/bin/env bash
# What QA needs (src/qa/, kiln bulk -t, kiln testport):
#   lintian   the host's lintian, run sandboxed over the host's root read-only (see src/qa/README.md)
#   bsdutils  script(1), the private pseudo-terminal of `kiln testport -i` and `kiln sandbox shell` (essential)
# Run as root. scripts/setup.sh calls every setup-*-deps.sh.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install lintian bsdutils
