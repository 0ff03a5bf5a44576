#!/usr/bin/env bash
# Debian packages for distfile fetching, .deb packaging and their tests (run as root by scripts/setup.sh).
#   dpkg (dpkg-deb) is essential and always there; xz-utils decompresses Sources.xz; gpgv + debian-archive-keyring
#   check InRelease when a keyring is given; patch and tar unpack and patch distfiles; gcc, libc6-dev and
#   zlib1g-dev build the tiny ELF of the shared-library Depends test; lintian checks the packages kiln makes (the
#   build test holds the example ports to no E: and only allow-listed W:; bench/lintian-examples counts the tags).
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install dpkg xz-utils gpgv debian-archive-keyring patch tar gcc libc6-dev zlib1g-dev lintian
