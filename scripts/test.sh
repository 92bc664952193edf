#!/usr/bin/env bash
# The whole check: install what is missing, lint, type-check, build, then every test against a
# real HAPI FHIR server that jest's globalSetup starts on port 8091 (data under data/hapi-test),
# on PostgreSQL (a local cluster under data/postgres-test, port 5434) unless HAPI_STORE=h2.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export HAPI_STORE="${HAPI_STORE:-postgres}"

started=$(date +%s)
bash scripts/ensure-deps.sh
bash scripts/hapi.sh build
npx --no-install eslint .
npx --no-install prettier --check .
npx --no-install tsc -p tsconfig.json --noEmit
npm run --silent build
npm run --silent jest -- "$@"
echo "All checks passed (HAPI_STORE=$HAPI_STORE) in $(( $(date +%s) - started )) s"
