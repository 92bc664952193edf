#!/usr/bin/env bash
# Control a local PostgreSQL cluster for HAPI (HAPI_STORE=postgres), without a system service.
#
#   scripts/postgres.sh start              install PostgreSQL if missing, initdb on first start, start, wait
#   scripts/postgres.sh stop [fast|immediate]  shut this cluster down (default fast), by its postmaster.pid
#   scripts/postgres.sh status             running / not running (exit 0 / 3)
#   scripts/postgres.sh hapi-env DIR       create HAPI's database for the HAPI data dir DIR if missing (a
#                                          fresh one when DIR holds no database marker yet) and print
#                                          HAPI_DB_URL / HAPI_DB_USERNAME / HAPI_DB_PASSWORD lines
#   scripts/postgres.sh stop-if-idle       stop unless a client is still connected
#
# Environment:
#   PG_PORT (5433: never the distro cluster's 5432)  PG_DATA_DIR (<repo>/data/postgres)
#   PG_BIN_DIR (newest /usr/lib/postgresql/*/bin)    PG_START_TIMEOUT (60, seconds)
#
# Layout of PG_DATA_DIR (under root: in the postgres user's home when that user cannot reach it):
# cluster/ (the database files), postgres.log, hapi.password, and the unix
# socket. The server listens on 127.0.0.1 only; the socket directory is private to the cluster's
# owner, which is the only one trusted without a password; HAPI connects over TCP as role `hapi`
# with a password generated at initdb. Settings are PostgreSQL's defaults (fsync and
# synchronous_commit on): an acknowledged commit is on disk. PostgreSQL refuses to run as root, so
# under root the cluster belongs to and runs as the `postgres` system user (made by the package).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${PG_PORT:-5433}"
DIR="${PG_DATA_DIR:-$REPO/data/postgres}"
START_TIMEOUT="${PG_START_TIMEOUT:-60}"
ROLE=hapi

say() { echo "postgres: $*"; }
die() {
	echo "postgres: $*" >&2
	exit 1
}

find_bin_dir() {
	if [[ -n "${PG_BIN_DIR:-}" ]]; then
		BIN="$PG_BIN_DIR"
		return 0
	fi
	local d
	d="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)"
	if [[ -n "$d" && -x "$d/initdb" ]]; then
		BIN="$d"
		return 0
	fi
	if command -v initdb >/dev/null 2>&1; then
		BIN="$(dirname "$(command -v initdb)")"
		return 0
	fi
	return 1
}

ensure_installed() {
	find_bin_dir && return 0
	HAPI_STORE=postgres bash "$REPO/scripts/ensure-deps.sh" --system
	find_bin_dir || die "initdb not found after installing PostgreSQL; set PG_BIN_DIR"
}

# Everything touching the cluster runs as its owner: `postgres` under root, else the caller.
if [[ "$(id -u)" -eq 0 ]]; then
	OWNER=postgres
	as_owner() { (cd / && runuser -u "$OWNER" -- "$@"); }
else
	OWNER="$(id -un)"
	as_owner() { "$@"; }
fi

prepare_dir() {
	mkdir -p "$DIR"
	DIR="$(cd "$DIR" && pwd)"
	# Under root, a checkout the postgres user cannot reach (say, under /root) keeps its cluster in
	# that user's home instead, at a place derived from the path asked for.
	if [[ "$(id -u)" -eq 0 ]] && ! as_owner test -x "$(dirname "$DIR")"; then
		local home
		home="$(getent passwd "$OWNER" | cut -d: -f6)"
		[[ -n "$home" && -d "$home" ]] || die "$DIR is out of $OWNER's reach and $OWNER has no home directory; set PG_DATA_DIR"
		DIR="$home/phb-clusters/$(basename "$DIR")-$(printf %s "$DIR" | md5sum | cut -c1-8)"
		[[ -d "$DIR" ]] || echo "postgres: $OWNER cannot reach PG_DATA_DIR; the cluster lives in $DIR" >&2
		as_owner mkdir -p "$DIR"
	fi
	PGDATA="$DIR/cluster"
	LOG_FILE="$DIR/postgres.log"
	PASSWORD_FILE="$DIR/hapi.password"
}

pg() { as_owner "$BIN/$1" "${@:2}"; }

is_running() { [[ -f "$PGDATA/postmaster.pid" ]] && pg pg_ctl status -D "$PGDATA" >/dev/null 2>&1; }

# The running cluster's port (line 4 of postmaster.pid), which wins over PG_PORT.
running_port() { sed -n 4p "$PGDATA/postmaster.pid"; }

psql_admin() {
	pg psql -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$(running_port)" -U postgres -d postgres -tA "$@"
}

init_cluster() {
	getent passwd "$OWNER" >/dev/null || die "user $OWNER does not exist (the Debian postgresql package creates it)"
	[[ "$(id -u)" -eq 0 ]] && chown "$OWNER:" "$DIR"
	chmod 700 "$DIR"
	as_owner test -w "$DIR" || die "$DIR is not writable by $OWNER (every parent directory must be searchable by it); set PG_DATA_DIR"
	say "creating a cluster in $PGDATA"
	local password
	password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	as_owner sh -c 'umask 077 && cat >"$1"' sh "$PASSWORD_FILE" <<<"$password"
	pg initdb -D "$PGDATA" -U postgres -E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1 ||
		{
			cat "$DIR/initdb.log" >&2
			die "initdb failed"
		}
	as_owner sh -c 'cat >>"$1"' sh "$PGDATA/postgresql.conf" <<EOF

# scripts/postgres.sh: loopback only, socket private to the owner; durability settings left at their defaults.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
unix_socket_permissions = 0700
EOF
	INITIALISED=1
}

cmd_start() {
	ensure_installed
	prepare_dir
	INITIALISED=0
	[[ -f "$PGDATA/PG_VERSION" ]] || init_cluster
	if is_running; then
		say "already running (port $(running_port), $PGDATA)"
		return 0
	fi
	say "starting on 127.0.0.1:$PORT (log: $LOG_FILE)"
	if ! pg pg_ctl start -D "$PGDATA" -l "$LOG_FILE" -w -t "$START_TIMEOUT" -o "-p $PORT" >/dev/null; then
		echo "postgres: did not start; last log lines:" >&2
		tail -n 20 "$LOG_FILE" >&2 || true
		exit 1
	fi
	if [[ "$INITIALISED" -eq 1 ]]; then
		psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$(cat "$PASSWORD_FILE")'"
	fi
	say "up (port $PORT)"
}

cmd_stop() {
	local mode="${1:-fast}"
	[[ "$mode" == fast || "$mode" == immediate ]] || die "stop mode must be fast or immediate"
	find_bin_dir || {
		say "not installed, so not running"
		return 0
	}
	prepare_dir
	if ! is_running; then
		say "not running"
		return 0
	fi
	pg pg_ctl stop -D "$PGDATA" -m "$mode" -w -t 60 >/dev/null
	say "stopped ($mode)"
}

cmd_stop_if_idle() {
	find_bin_dir || return 0
	prepare_dir
	is_running || return 0
	local clients
	clients="$(psql_admin -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")"
	if [[ "$clients" != 0 ]]; then
		say "left running: $clients client connection(s) open"
		return 0
	fi
	cmd_stop fast
}

cmd_status() {
	find_bin_dir || {
		say "not installed"
		return 3
	}
	prepare_dir
	if is_running; then
		say "running (port $(running_port), $PGDATA)"
		return 0
	fi
	say "not running"
	return 3
}

# One database per HAPI data dir, named after the dir (plus a hash of its path, so two dirs never
# share one); its life follows the dir's: a marker file in the dir records the cluster and the
# database, and a dir without it (new, or deleted to start afresh) or naming another cluster gets
# the database created empty, as an H2 database in the dir would be.
cmd_hapi_env() {
	local hapi_dir="${1:?usage: postgres.sh hapi-env HAPI_DATA_DIR}"
	ensure_installed
	prepare_dir
	is_running || die "not running; start it first (scripts/postgres.sh start)"
	mkdir -p "$hapi_dir"
	hapi_dir="$(cd "$hapi_dir" && pwd)"
	local name cluster marker="$hapi_dir/postgres-database" recorded=""
	name="$(basename "$hapi_dir" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' '_' | cut -c1-40)_$(printf %s "$hapi_dir" | md5sum | cut -c1-8)"
	cluster="$(psql_admin -c "SELECT system_identifier FROM pg_control_system()")"
	[[ -f "$marker" ]] && recorded="$(cat "$marker")"
	if [[ "$recorded" != "$cluster $name" ]]; then
		psql_admin -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
		psql_admin -c "CREATE DATABASE \"$name\" OWNER $ROLE" >/dev/null
		echo "$cluster $name" >"$marker"
		say "created database $name for $hapi_dir" >&2
	elif [[ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]]; then
		die "database $name (recorded in $marker) is missing; delete $marker to start with an empty one"
	fi
	echo "HAPI_DB_URL=jdbc:postgresql://127.0.0.1:$(running_port)/$name"
	echo "HAPI_DB_USERNAME=$ROLE"
	echo "HAPI_DB_PASSWORD=$(cat "$PASSWORD_FILE")"
}

case "${1:-}" in
	start) cmd_start ;;
	stop) cmd_stop "${2:-fast}" ;;
	stop-if-idle) cmd_stop_if_idle ;;
	status) cmd_status ;;
	hapi-env) cmd_hapi_env "${2:-}" ;;
	*)
		echo "usage: $0 {start|stop [fast|immediate]|status|hapi-env HAPI_DATA_DIR|stop-if-idle}" >&2
		exit 2
		;;
esac
