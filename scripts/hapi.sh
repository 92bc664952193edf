#!/usr/bin/env bash
# Control a local HAPI FHIR JPA server (R4) built from docker/hapi/ and run with `java -jar`,
# for machines without a container engine.
#
#   scripts/hapi.sh build    build the jar if pom.xml or src/ changed since the last build
#   scripts/hapi.sh start    build if needed, start in the background, wait for /fhir/metadata
#   scripts/hapi.sh stop     SIGTERM, up to 30 s, then SIGKILL
#   scripts/hapi.sh status   running / not running (exit 0 / 3)
#   scripts/hapi.sh run      build if needed, then run in the foreground (for process managers)
#
# Environment:
#   HAPI_PORT (8090)  HAPI_BIND (127.0.0.1)  HAPI_DATA_DIR (<repo>/data/hapi)
#   HAPI_JAVA_OPTS ("-Xmx1536m -XX:+UseSerialGC")  HAPI_START_TIMEOUT (300, seconds)
#   HAPI_STORE (h2): h2 = embedded H2 under the data dir; postgres = PostgreSQL, by default the
#     local cluster of scripts/postgres.sh (PG_PORT, PG_DATA_DIR), started if it is not running
#     and stopped again by `stop` when this server started it and no other client remains; each
#     data dir gets a database of its own
#   HAPI_DB_URL / HAPI_DB_USERNAME / HAPI_DB_PASSWORD: a PostgreSQL server of your own
#     (jdbc:postgresql://...) instead of H2 or the local cluster; passed through as they are
#   HAPI_ALLOW_EXTERNAL_REFERENCES (false): true for a server used as the audit repository
#   HAPI_SUBSCRIPTIONS (true): false where nothing subscribes (the audit repository)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT="$REPO/docker/hapi"
JAR="$PROJECT/target/hapi-local-server.jar"
M2_REPO="$REPO/.m2/repository"

export HAPI_PORT="${HAPI_PORT:-8090}"
export HAPI_BIND="${HAPI_BIND:-127.0.0.1}"
DATA="${HAPI_DATA_DIR:-$REPO/data/hapi}"
START_TIMEOUT="${HAPI_START_TIMEOUT:-300}"
STORE="${HAPI_STORE:-h2}"
STOP_TIMEOUT=30
read -r -a JAVA_OPTS <<<"${HAPI_JAVA_OPTS:--Xmx1536m -XX:+UseSerialGC}"

# Talk to the server over loopback when it listens on every interface.
case "$HAPI_BIND" in
	0.0.0.0 | '' | '::' | '[::]') CURL_HOST=127.0.0.1 ;;
	*:*) CURL_HOST="[$HAPI_BIND]" ;;
	*) CURL_HOST="$HAPI_BIND" ;;
esac
BASE_URL="http://$CURL_HOST:$HAPI_PORT/fhir"

say() { echo "hapi: $*"; }
die() {
	echo "hapi: $*" >&2
	exit 1
}
case "$STORE" in
	h2 | postgres) ;;
	*) die "HAPI_STORE must be h2 or postgres, not '$STORE'" ;;
esac

# The data dir is handed to the server as an absolute path: its working directory may differ.
prepare_data_dir() {
	mkdir -p "$DATA"
	DATA="$(cd "$DATA" && pwd)"
	export HAPI_DATA_DIR="$DATA"
	PID_FILE="$DATA/hapi.pid"
	LOG_FILE="$DATA/hapi.log"
	PG_STARTED_FILE="$DATA/postgres-started"
}

# HAPI_STORE=postgres without HAPI_DB_URL: this data dir's database in the local cluster.
connect_store() {
	[[ "$STORE" == postgres && -z "${HAPI_DB_URL:-}" ]] || return 0
	if ! bash "$REPO/scripts/postgres.sh" status >/dev/null; then
		bash "$REPO/scripts/postgres.sh" start
		touch "$PG_STARTED_FILE"
	fi
	local lines line
	lines="$(bash "$REPO/scripts/postgres.sh" hapi-env "$DATA")"
	while read -r line; do export "${line?}"; done <<<"$lines"
	say "store: PostgreSQL ${HAPI_DB_URL#jdbc:postgresql://}"
}

# The local cluster goes down with the last server that needed it started.
release_store() {
	[[ -f "$PG_STARTED_FILE" ]] || return 0
	rm -f "$PG_STARTED_FILE"
	bash "$REPO/scripts/postgres.sh" stop-if-idle
}

needs_build() {
	[[ ! -f "$JAR" ]] && return 0
	[[ -n "$(find "$PROJECT/pom.xml" "$PROJECT/src" -newer "$JAR" -print -quit)" ]]
}

# Prints the pid of a process running from our jar, whatever data dir or port it uses.
jar_in_use() {
	local f pid cmd
	for f in /proc/[0-9]*/cmdline; do
		cmd="$(tr '\0' ' ' <"$f" 2>/dev/null || true)"
		if [[ "$cmd" == *"-jar $JAR "* ]]; then
			pid="${f#/proc/}"
			echo "${pid%/cmdline}"
			return 0
		fi
	done
	return 1
}

cmd_build() {
	if ! needs_build; then
		say "jar is up to date ($JAR)"
		return 0
	fi
	# Repackaging rewrites the jar in place, which breaks a JVM still running from it.
	local pid
	if pid="$(jar_in_use)"; then
		die "the server (pid $pid) runs from $JAR; stop it before rebuilding"
	fi
	command -v mvn >/dev/null || die "mvn not found (Maven 3.8+ and Java 17 are needed)"
	say "building $JAR ..."
	local t0=$SECONDS
	# Strip the stray colour codes Maven prints even in batch mode; errors still show.
	if ! mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$M2_REPO" -f "$PROJECT/pom.xml" package -DskipTests 2>&1 |
		sed -u 's/\x1b\[[0-9;]*m//g' | { grep -v '^$' || true; }; then
		die "build failed"
	fi
	[[ -f "$JAR" ]] || die "build finished but $JAR is missing"
	# Maven keeps the jar's old timestamp when nothing was repackaged; mark it fresh.
	touch "$JAR"
	say "built in $((SECONDS - t0)) s"
}

# Prints the pid from the pid file if that process is alive and is our server.
running_pid() {
	[[ -f "$PID_FILE" ]] || return 1
	local pid
	pid="$(cat "$PID_FILE" 2>/dev/null || true)"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# Guard against pid reuse by an unrelated process.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "hapi-local-server.jar" || return 1
	echo "$pid"
}

answering() {
	[[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE_URL/metadata" || true)" == 200 ]]
}

java_cmd() {
	command -v java >/dev/null || die "java not found (Java 17+ is needed)"
	JAVA_CMD=(java "${JAVA_OPTS[@]}" -jar "$JAR")
}

cmd_start() {
	prepare_data_dir
	local pid
	if pid="$(running_pid)"; then
		if answering; then
			say "already running (pid $pid) at $BASE_URL"
			if needs_build; then say "note: docker/hapi changed since the jar was built; stop and start to rebuild"; fi
			return 0
		fi
		say "already running (pid $pid) but not answering yet; waiting"
	else
		rm -f "$PID_FILE"
		if answering; then
			say "something not started by this script already answers at $BASE_URL; leaving it alone"
			return 0
		fi
		cmd_build
		java_cmd
		connect_store
		cd "$DATA"
		nohup "${JAVA_CMD[@]}" >"$LOG_FILE" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$PID_FILE"
		say "started pid $pid (log: $LOG_FILE), waiting for $BASE_URL/metadata ..."
	fi

	local t0=$SECONDS
	while ((SECONDS - t0 < START_TIMEOUT)); do
		if answering; then
			say "up at $BASE_URL after $((SECONDS - t0)) s"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$PID_FILE"
			echo "hapi: server exited during start-up; last log lines:" >&2
			tail -n 40 "$LOG_FILE" >&2 || true
			release_store
			exit 1
		fi
		sleep 2
	done
	echo "hapi: not answering after ${START_TIMEOUT} s; stopping it. Last log lines:" >&2
	tail -n 40 "$LOG_FILE" >&2 || true
	stop_pid "$pid"
	release_store
	exit 1
}

stop_pid() {
	local pid="$1" t0=$SECONDS
	kill -TERM "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS - t0 >= STOP_TIMEOUT)); then
			say "pid $pid still alive after ${STOP_TIMEOUT} s; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.5
	done
	rm -f "$PID_FILE"
}

cmd_stop() {
	prepare_data_dir
	local pid
	if pid="$(running_pid)"; then
		stop_pid "$pid"
		say "stopped (pid $pid)"
	else
		rm -f "$PID_FILE"
		say "not running"
	fi
	release_store
}

cmd_status() {
	prepare_data_dir
	local pid
	if pid="$(running_pid)"; then
		if answering; then
			say "running (pid $pid) at $BASE_URL"
		else
			say "running (pid $pid), not answering at $BASE_URL yet"
		fi
		return 0
	fi
	say "not running"
	return 3
}

cmd_run() {
	prepare_data_dir
	cmd_build
	java_cmd
	connect_store
	cd "$DATA"
	# exec keeps this pid, so status/stop work for a foreground server too.
	echo "$$" >"$PID_FILE"
	exec "${JAVA_CMD[@]}"
}

case "${1:-}" in
	build) cmd_build ;;
	start) cmd_start ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	run) cmd_run ;;
	*)
		echo "usage: $0 {build|start|stop|status|run}" >&2
		exit 2
		;;
esac
