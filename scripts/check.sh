#!/usr/bin/env bash
# The fast checks to run before every commit (`npm run check`), and the first step of `npm test`:
# Biome's lint and format check (biome.json, no writes) and the type checks of the code (tsconfig.json)
# and of the tests and benches (tsconfig.test.json), and that this Node satisfies every locked package's engines.
# `npx biome check --write .` fixes what can be fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
npx biome ci --reporter=summary . || { echo "check: biome found problems (npx biome check . shows them)" >&2; exit 1; }
node scripts/check-engines.mjs
npx tsc -p tsconfig.json --noEmit
npx tsc -p tsconfig.test.json
