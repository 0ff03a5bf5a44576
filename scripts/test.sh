#!/usr/bin/env bash
# Runs every test beside the code (src/**/*.test.ts) with node's test runner, after the checks of
# scripts/check.sh (lint, format check, type checks of the code and of the tests and benches).
# Usage: scripts/test.sh [FILTER]   FILTER is a substring of the test file paths to run.
set -euo pipefail
cd "$(dirname "$0")/.."
# The checks run for the full suite (no FILTER); tsx itself does not type-check.
if [ -z "${1:-}" ]; then bash scripts/check.sh; fi
mapfile -t files < <(find src -name '*.test.ts' | sort | grep -- "${1:-}" || true)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files match '${1:-}'" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
