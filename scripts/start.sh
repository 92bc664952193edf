#!/usr/bin/env bash
# Runs the service with embedded defaults: HAPI FHIR (H2 on disk under data/hapi, or with
# HAPI_STORE=postgres a local PostgreSQL cluster under data/postgres), the development identity
# provider (loopback, demo users; not in production) and the facade. Ctrl-C stops them all,
# the cluster included when this run started it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/ensure-deps.sh
npm run --silent build
bash scripts/hapi.sh start

export FHIR_BASE_URL="${FHIR_BASE_URL:-http://127.0.0.1:${HAPI_PORT:-8090}/fhir}"
idp_pid=""
stop_all() {
  [ -n "$idp_pid" ] && kill "$idp_pid" 2>/dev/null || true
  bash scripts/hapi.sh stop
}
trap stop_all EXIT

# The development identity provider runs only outside production and only when no real issuer is configured.
if [ "${NODE_ENV:-development}" != "production" ] && [ -z "${OIDC_ISSUERS:-}" ]; then
  node dist/src/devIdentity/main.js &
  idp_pid=$!
fi
node dist/src/main.js
