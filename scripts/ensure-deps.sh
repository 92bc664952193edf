#!/usr/bin/env bash
# Installs what the service and its tests need on a fresh machine: Debian packages (JDK 17,
# Maven, curl; the PostgreSQL server when HAPI_STORE=postgres) when missing, and the npm packages
# from package-lock.json when not yet installed. `--system`: the Debian packages only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<major>/bin.
if [ "${HAPI_STORE:-}" = postgres ] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null &&
  ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

[ "${1:-}" = --system ] && exit 0

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "Node.js 20 or later is required (found $(node --version))" >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
