#!/usr/bin/env bash
# Debian packages the repository module (src/repo, src/server) and its tests and bench need:
#   gnupg, gpgv      the archive key, signing InRelease / Release.gpg, checking signatures in tests
#   gpgconf          (part of gnupg) stops the gpg-agent a signer started
#   apt-utils        apt-ftparchive: bench/repo's comparison, and the publish test's field-by-field cross-check
#   dpkg             dpkg-deb: test .debs, and the fallback control reader
#   xz-utils         xz: Packages.xz (the native module only decodes), xz -t in the tests, the tampering test
#   mmdebstrap       the fresh Debian root of the real apt test (cached under /var/cache/kiln-test)
#   bubblewrap       runs apt inside that root (--bind ROOT / --proc /proc --dev /dev)
#   binutils         ar, to inspect .debs by hand
#   curl             what `kiln serve` tells clients to fetch the key with
# Run as root. The lead's setup script calls this one.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install gnupg gpgv apt-utils dpkg xz-utils mmdebstrap bubblewrap binutils curl ca-certificates
