#!/usr/bin/env bash
# kiln's main job on the bundled example tree, from a fresh machine: set up, make a Debian jail (of the release the
# mirror's "stable" names today, with its -updates and -security suites), register the
# example tree, show the plan with its reasons, build everything with 2 builders in sandboxes, publish a signed
# apt repository, and print how a machine installs from it.
# KILN_HOME defaults to /var/lib/kiln-example so it never touches a real installation's state.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KILN_HOME="${KILN_HOME:-/var/lib/kiln-example}"
kiln() { node bin/kiln.js "$@"; }
kiln jail list --json | grep -Eq '"name": ?"debian"' || kiln jail create debian
kiln tree list --json | grep -Eq '"name": ?"examples"' || kiln tree add examples --path examples/ports
kiln bulk -j debian -p examples -f examples/pkglist.txt -n --explain
kiln bulk -j debian -p examples -f examples/pkglist.txt -J 2
kiln repo show debian-examples
echo
echo "Serve it with:  KILN_HOME=$KILN_HOME node bin/kiln.js serve   (then use the key and sources lines above)"
