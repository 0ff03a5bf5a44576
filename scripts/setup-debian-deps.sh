#!/usr/bin/env bash
# Debian packages the debian module and its tests need (run as root by scripts/setup.sh):
#   debian-archive-keyring  Debian's archive keys (bookworm's package has trixie's too): jails, trees, InRelease checks
#   lintian                 src/build/debian.test.ts compares lintian on kiln's rebuild of hello with Debian's own .deb
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install debian-archive-keyring lintian
