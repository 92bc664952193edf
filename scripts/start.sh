#!/usr/bin/env bash
# Runs the service with embedded defaults: HAPI FHIR (H2 on disk under data/hapi) and the facade.
# Ctrl-C stops both.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/ensure-deps.sh
npm run --silent build
bash scripts/hapi.sh start

export FHIR_BASE_URL="${FHIR_BASE_URL:-http://127.0.0.1:${HAPI_PORT:-8090}/fhir}"
trap 'bash scripts/hapi.sh stop' EXIT
node dist/src/main.js
