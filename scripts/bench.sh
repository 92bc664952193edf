#!/usr/bin/env bash
# The "my PHB" benchmark (test/bench/phbSummary.bench.ts): facade versus direct HAPI in one run.
# Not part of `npm test`. Starts what it needs and stops what it started.
#
#   BENCH_TOPOLOGY=separate (default) the clinical HAPI alone on CPU 0; the facade, its audit
#                           repository (a second HAPI) and the load generator on CPU 1: the
#                           facade tier on hardware of its own, as deployed.
#   BENCH_TOPOLOGY=shared   everything on every CPU, AuditEvents written to the clinical HAPI.
#
#   BENCH_HAPI_PORT (8092, data in data/hapi-bench: the seeded people are kept between runs)
#   BENCH_AUDIT_PORT (8094, data in data/hapi-bench-audit)
#   HAPI_STORE (h2): postgres puts each HAPI on a PostgreSQL cluster of its own, on the HAPI's
#     CPUs: BENCH_PG_PORT (5435, data/postgres-bench), BENCH_AUDIT_PG_PORT (5436,
#     data/postgres-bench-audit)
#   BENCH_PEOPLE, BENCH_CLIENTS, BENCH_REQUESTS: see the benchmark's header.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

topology="${BENCH_TOPOLOGY:-separate}"
hapi_port="${BENCH_HAPI_PORT:-8092}"
audit_port="${BENCH_AUDIT_PORT:-8094}"
pg_port="${BENCH_PG_PORT:-5435}"
audit_pg_port="${BENCH_AUDIT_PG_PORT:-5436}"
case "$topology" in
	separate | shared) ;;
	*)
		echo "bench: BENCH_TOPOLOGY must be separate or shared, not '$topology'" >&2
		exit 2
		;;
esac
if [[ "$topology" == separate && "$(nproc)" -lt 2 ]]; then
	echo "bench: BENCH_TOPOLOGY=separate needs two CPUs; use BENCH_TOPOLOGY=shared" >&2
	exit 2
fi
command -v taskset >/dev/null || { echo "bench: taskset (util-linux) is needed" >&2; exit 2; }

bash scripts/ensure-deps.sh
bash scripts/hapi.sh build
npx --no-install tsc -p tsconfig.json

stop_list=()
cleanup() {
	for entry in "${stop_list[@]}"; do
		IFS=: read -r port dir pgport <<<"$entry"
		# The cluster settings too: stopping a HAPI also stops the cluster it started.
		HAPI_PORT="$port" HAPI_DATA_DIR="$dir" PG_PORT="$pgport" PG_DATA_DIR="${dir/hapi/postgres}" bash scripts/hapi.sh stop || true
	done
}
trap cleanup EXIT

# Starts a HAPI on the given CPUs in the background unless one already answers there (then it
# is left running); `wait_for_hapis` waits for every start, so two servers boot side by side.
# With HAPI_STORE=postgres each HAPI starts its cluster (data/postgres-*) under the same taskset.
starting=()
start_hapi() {
	local port="$1" dir="$2" pgport="$3" cpus="$4"
	shift 4
	if HAPI_PORT="$port" HAPI_DATA_DIR="$dir" bash scripts/hapi.sh status >/dev/null 2>&1; then
		echo "bench: using the HAPI already running on port $port (its CPUs are left as they are)"
		return 0
	fi
	stop_list+=("$port:$dir:$pgport")
	env HAPI_PORT="$port" HAPI_DATA_DIR="$dir" PG_PORT="$pgport" PG_DATA_DIR="${dir/hapi/postgres}" "$@" \
		taskset -c "$cpus" bash scripts/hapi.sh start &
	starting+=($!)
}
wait_for_hapis() {
	for pid in "${starting[@]}"; do wait "$pid"; done
}

last_cpu=$(($(nproc) - 1))
# The servers' pids, so the benchmark can report the CPU time each spends per request.
pid_of() { cat "$root/$1/hapi.pid" 2>/dev/null || true; }
if [[ "$topology" == separate ]]; then
	start_hapi "$hapi_port" data/hapi-bench "$pg_port" 0
	# The audit repository holds nothing but this benchmark's events: it starts empty each run, so runs compare alike.
	if ! HAPI_PORT="$audit_port" HAPI_DATA_DIR=data/hapi-bench-audit bash scripts/hapi.sh status >/dev/null 2>&1; then
		rm -rf data/hapi-bench-audit
	fi
	start_hapi "$audit_port" data/hapi-bench-audit "$audit_pg_port" 1 HAPI_ALLOW_EXTERNAL_REFERENCES=true HAPI_SUBSCRIPTIONS=false
	wait_for_hapis
	FHIR_BASE_URL="http://127.0.0.1:$hapi_port/fhir" AUDIT_FHIR_BASE_URL="http://127.0.0.1:$audit_port/fhir" \
		BENCH_TOPOLOGY="$topology" BENCH_WATCH_PIDS="hapi:$(pid_of data/hapi-bench),audit-hapi:$(pid_of data/hapi-bench-audit)" taskset -c 1 node dist/test/bench/phbSummary.bench.js
else
	start_hapi "$hapi_port" data/hapi-bench "$pg_port" "0-$last_cpu"
	wait_for_hapis
	FHIR_BASE_URL="http://127.0.0.1:$hapi_port/fhir" BENCH_TOPOLOGY="$topology" BENCH_WATCH_PIDS="hapi:$(pid_of data/hapi-bench)" \
		taskset -c "0-$last_cpu" node dist/test/bench/phbSummary.bench.js
fi
