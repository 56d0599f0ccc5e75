#!/usr/bin/env bash
# The local stack used by the tests, the demo and CI: a throwaway PostgreSQL
# cluster and a ClickHouse server (chDB engine served by deploy/chserver), both
# on 127.0.0.1, everything under <repo>/.local/ (git-ignored).
#
#   deploy/local/stack.sh up              start both (installs what is missing); no-op when running
#   deploy/local/stack.sh down [--purge]  stop both; --purge also deletes their data
#   deploy/local/stack.sh purge           same as down --purge
#   deploy/local/stack.sh status          show state; exit 0 only when both run
#   deploy/local/stack.sh env             print shell exports (eval "$(deploy/local/stack.sh env)")
#
# Ports: SCRIPTSTATS_LOCAL_PG_PORT (55432), SCRIPTSTATS_LOCAL_CH_TCP_PORT (59000),
# SCRIPTSTATS_LOCAL_CH_HTTP_PORT (58123). Local development only: fixed password,
# fsync off.
set -euo pipefail
# runuser, useradd live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
LOCAL="$REPO/.local"

# Ports: the environment, else those of the running stack (recorded by `up`
# in $PORTS_FILE, removed by `down`), else the defaults.
PORTS_FILE="$LOCAL/ports"
rec_pg="" rec_ch_tcp="" rec_ch_http=""
if [ -f "$PORTS_FILE" ]; then
	read -r rec_pg rec_ch_tcp rec_ch_http <"$PORTS_FILE" || true
fi
PG_PORT="${SCRIPTSTATS_LOCAL_PG_PORT:-${rec_pg:-55432}}"
CH_TCP_PORT="${SCRIPTSTATS_LOCAL_CH_TCP_PORT:-${rec_ch_tcp:-59000}}"
CH_HTTP_PORT="${SCRIPTSTATS_LOCAL_CH_HTTP_PORT:-${rec_ch_http:-58123}}"
for p in "$PG_PORT" "$CH_TCP_PORT" "$CH_HTTP_PORT"; do
	[[ "$p" =~ ^[0-9]+$ ]] || { echo "stack: error: bad port '$p'" >&2; exit 1; }
done
PG_PASSWORD="scriptstats-local"
READY_TIMEOUT=60

CHDB_PACKAGE="@chdb/lib-linux-x64-gnu"
CHDB_VERSION="26.7.3-stable.1"
CHDB_DIR="$LOCAL/chdb"
CHDB_PKG_DIR="$CHDB_DIR/node_modules/$CHDB_PACKAGE"
CHDB_LIB="$CHDB_PKG_DIR/libchdb.so"

PG_LINK="$LOCAL/pg"          # .local/pg (a directory, or a symlink, see pg_home)
CH_DIR="$LOCAL/ch"
CH_DATA="$CH_DIR/data"
CH_LOG_DIR="$CH_DIR/log"
CH_PID="$CH_DIR/chserver.pid"
CHSERVER="$LOCAL/bin/chserver"

log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# as_root CMD...: run a command with root rights (sudo when not root).
as_root() {
	if is_root; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $*"
	fi
}

apt_updated=0
apt_install() {
	if [ "$apt_updated" -eq 0 ]; then
		log "apt-get update"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		apt_updated=1
	fi
	log "apt-get install $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---------------------------------------------------------------- PostgreSQL

# The newest installed server's bin directory, or nothing.
pg_bindir() {
	local d best=""
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] || continue
		if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n1)" = "$d" ]; then
			best="$d"
		fi
	done
	printf '%s' "$best"
}

# pg_major /usr/lib/postgresql/15/bin -> 15
pg_major() { basename "$(dirname "$1")"; }

# as_pg CMD...: run a PostgreSQL server command as the postgres OS user when
# we are root (initdb and pg_ctl refuse to run as root), directly otherwise.
as_pg() {
	if is_root; then
		# From /: the postgres user may not be able to enter the current directory.
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# pg_home prints the real directory holding the cluster. Normally .local/pg;
# when running as root and the postgres user cannot reach the repository
# (e.g. a clone under /root), the cluster lives in /var/tmp and .local/pg is a
# symlink to it.
pg_home() {
	if [ -L "$PG_LINK" ]; then
		readlink -f "$PG_LINK"
		return
	fi
	if [ -d "$PG_LINK" ] || ! is_root; then
		printf '%s' "$PG_LINK"
		return
	fi
	# Not created yet and we are root: can postgres reach $LOCAL?
	mkdir -p "$LOCAL"
	if runuser -u postgres -- test -x "$LOCAL" 2>/dev/null; then
		printf '%s' "$PG_LINK"
	else
		local alt
		alt="/var/tmp/scriptstats-local-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)/pg"
		log "postgres cannot reach $LOCAL; keeping the cluster in $alt (linked from .local/pg)"
		mkdir -p "$alt"
		chmod 755 "$(dirname "$alt")"
		ln -sfn "$alt" "$PG_LINK"
		printf '%s' "$alt"
	fi
}

pg_ensure_installed() {
	if [ -z "$(pg_bindir)" ]; then
		apt_install postgresql
		[ -n "$(pg_bindir)" ] || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
	fi
	if is_root && ! id postgres >/dev/null 2>&1; then
		log "creating system user postgres"
		useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres
	fi
}

pg_running() {
	local home bindir
	[ -e "$PG_LINK" ] || return 1
	home="$(pg_home)"
	[ -f "$home/data/PG_VERSION" ] || return 1
	bindir="$(pg_bindir)"
	[ -n "$bindir" ] || return 1
	as_pg "$bindir/pg_ctl" -D "$home/data" status >/dev/null 2>&1
}

pg_init() {
	local home="$1" bindir="$2" pwfile
	log "initdb (PostgreSQL $(pg_major "$bindir")) in $home/data"
	rm -rf "$home/data"
	mkdir -p "$home/data" "$home/run" "$home/log"
	chmod 700 "$home/data"
	pwfile="$home/pwfile"
	(umask 077 && printf '%s\n' "$PG_PASSWORD" >"$pwfile")
	if is_root; then
		chown -R postgres:postgres "$home"
	fi
	as_pg "$bindir/initdb" -D "$home/data" -U postgres --pwfile="$pwfile" \
		--auth-host=scram-sha-256 --auth-local=scram-sha-256 \
		--encoding=UTF8 --no-locale --no-instructions >"$home/log/initdb.log" 2>&1 ||
		{ tail -n 20 "$home/log/initdb.log" >&2; rm -f "$pwfile"; die "initdb failed"; }
	rm -f "$pwfile"
	printf '\n# scriptstats local stack (regenerated by deploy/local/stack.sh up)\ninclude_if_exists = %s\n' \
		"'scriptstats-local.conf'" >>"$home/data/postgresql.conf"
}

# Settings written before every start, so port overrides apply to an existing cluster.
pg_write_conf() {
	local home="$1" sockdir="$1/run"
	# Unix socket paths are limited to ~107 bytes; disable them for long paths.
	if [ $((${#sockdir} + 20)) -gt 100 ]; then
		sockdir=""
	fi
	cat >"$home/data/scriptstats-local.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
log_min_error_statement = error
timezone = 'UTC'
# --source logical (the demo with DEMO_SOURCE=logical, doctor)
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
EOF
	if is_root; then
		chown postgres:postgres "$home/data/scriptstats-local.conf"
	fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_up() {
	pg_ensure_installed
	if pg_running; then
		log "postgres already running on 127.0.0.1:$PG_PORT"
		return
	fi
	local home bindir
	home="$(pg_home)"
	bindir="$(pg_bindir)"
	if [ ! -f "$home/data/PG_VERSION" ]; then
		pg_init "$home" "$bindir"
	elif [ "$(cat "$home/data/PG_VERSION")" != "$(pg_major "$bindir")" ]; then
		die "cluster in $home/data is PostgreSQL $(cat "$home/data/PG_VERSION"), installed is $bindir; run: $0 purge"
	fi
	if port_open "$PG_PORT"; then
		die "port 127.0.0.1:$PG_PORT is taken by another process (set SCRIPTSTATS_LOCAL_PG_PORT)"
	fi
	mkdir -p "$home/run" "$home/log"
	if is_root; then
		chown postgres:postgres "$home/run" "$home/log"
	fi
	pg_write_conf "$home"
	log "starting postgres on 127.0.0.1:$PG_PORT"
	if ! as_pg "$bindir/pg_ctl" -D "$home/data" -l "$home/log/postgres.log" -w -t "$READY_TIMEOUT" start >/dev/null 9>&-; then
		log "postgres did not start; last lines of $home/log/postgres.log:"
		tail -n 30 "$home/log/postgres.log" >&2 || true
		die "postgres failed to start"
	fi
	local i
	for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
		if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
			log "postgres ready on 127.0.0.1:$PG_PORT"
			return
		fi
		sleep 0.1
	done
	tail -n 30 "$home/log/postgres.log" >&2 || true
	die "postgres not accepting connections on 127.0.0.1:$PG_PORT after ${READY_TIMEOUT}s"
}

pg_down() {
	if pg_running; then
		log "stopping postgres"
		as_pg "$(pg_bindir)/pg_ctl" -D "$(pg_home)/data" -m fast -w -t 60 stop >/dev/null
	else
		log "postgres not running"
	fi
}

# ---------------------------------------------------------------- ClickHouse

find_go() {
	if [ -n "${GO:-}" ]; then
		printf '%s' "$GO"
	elif command -v go >/dev/null 2>&1; then
		command -v go
	elif [ -x /usr/local/go/bin/go ]; then
		printf '%s' /usr/local/go/bin/go
	else
		die "go not found (set GO=/path/to/go)"
	fi
}

chdb_installed_version() {
	[ -f "$CHDB_LIB" ] && [ -f "$CHDB_PKG_DIR/package.json" ] || return 0
	sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$CHDB_PKG_DIR/package.json" | head -n1
}

ch_ensure_installed() {
	if ! command -v npm >/dev/null 2>&1; then
		apt_install nodejs npm
	fi
	if [ "$(chdb_installed_version)" != "$CHDB_VERSION" ]; then
		log "npm install $CHDB_PACKAGE@$CHDB_VERSION (about 170 MB) into $CHDB_DIR"
		mkdir -p "$CHDB_DIR"
		npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$CHDB_DIR" \
			"$CHDB_PACKAGE@$CHDB_VERSION" >&2
		[ "$(chdb_installed_version)" = "$CHDB_VERSION" ] || die "npm did not install $CHDB_LIB"
	fi
	local go
	go="$(find_go)"
	mkdir -p "$LOCAL/bin"
	(cd "$REPO/deploy" && CGO_ENABLED=0 "$go" build -o "$CHSERVER" ./chserver) ||
		die "go build ./chserver (in deploy/, the tooling module) failed"
}

ch_pid() {
	local pid
	[ -f "$CH_PID" ] || return 1
	pid="$(cat "$CH_PID" 2>/dev/null)"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a recycled pid: it must be our chserver.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "chserver" || return 1
	printf '%s' "$pid"
}

ch_running() { ch_pid >/dev/null; }

ch_up() {
	if ch_running; then
		log "clickhouse already running on 127.0.0.1:$CH_TCP_PORT (pid $(ch_pid))"
		return
	fi
	ch_ensure_installed
	local p
	for p in "$CH_TCP_PORT" "$CH_HTTP_PORT"; do
		if port_open "$p"; then
			die "port 127.0.0.1:$p is taken by another process (set SCRIPTSTATS_LOCAL_CH_TCP_PORT / SCRIPTSTATS_LOCAL_CH_HTTP_PORT)"
		fi
	done
	mkdir -p "$CH_DATA" "$CH_LOG_DIR"
	rm -f "$CH_PID"
	: >"$CH_LOG_DIR/chserver.out"
	log "starting clickhouse (chDB $CHDB_VERSION) on 127.0.0.1:$CH_TCP_PORT (http $CH_HTTP_PORT)"
	# --restart: the engine aborts when a client dies mid-query (a job
	# killed during an INSERT); the supervisor starts it again.
	setsid nohup "$CHSERVER" --restart \
		--lib="$CHDB_LIB" \
		--path="$CH_DATA" \
		--tcp-port="$CH_TCP_PORT" \
		--http-port="$CH_HTTP_PORT" \
		--config-file="$REPO/deploy/local/clickhouse-config.xml" \
		--pid-file="$CH_PID" \
		--log-file="$CH_LOG_DIR/clickhouse.log" \
		--ready-timeout="${READY_TIMEOUT}s" \
		</dev/null >>"$CH_LOG_DIR/chserver.out" 2>&1 9>&- &
	local pid=$! i
	for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
		if grep -q '^clickhouse ready on' "$CH_LOG_DIR/chserver.out" 2>/dev/null; then
			log "clickhouse ready on 127.0.0.1:$CH_TCP_PORT (pid $pid)"
			return
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	log "clickhouse did not become ready; last lines of $CH_LOG_DIR/chserver.out and clickhouse.log:"
	tail -n 20 "$CH_LOG_DIR/chserver.out" >&2 || true
	tail -n 20 "$CH_LOG_DIR/clickhouse.log" >&2 2>/dev/null || true
	kill -TERM "$pid" 2>/dev/null || true
	die "clickhouse failed to start within ${READY_TIMEOUT}s"
}

ch_down() {
	local pid i
	if ! pid="$(ch_pid)"; then
		log "clickhouse not running"
		rm -f "$CH_PID"
		return
	fi
	log "stopping clickhouse (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "clickhouse did not stop on SIGTERM; sending SIGKILL"
		# The supervisor and its server share a process group (setsid).
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -f "$CH_PID"
}

# ---------------------------------------------------------------- commands

with_lock() {
	mkdir -p "$LOCAL"
	# fd 9 holds the lock; the servers started below must not inherit it (9>&-).
	exec 9>"$LOCAL/stack.lock"
	if ! flock -w 120 9; then
		die "another stack.sh is holding $LOCAL/stack.lock"
	fi
}

cmd_up() {
	with_lock
	local t0=$SECONDS
	if [ -f "$PORTS_FILE" ] && [ "$(cat "$PORTS_FILE")" != "$PG_PORT $CH_TCP_PORT $CH_HTTP_PORT" ] && { pg_running || ch_running; }; then
		die "the stack is running on ports $(cat "$PORTS_FILE") (pg, ch tcp, ch http); run '$0 down' first to change ports"
	fi
	echo "$PG_PORT $CH_TCP_PORT $CH_HTTP_PORT" >"$PORTS_FILE"
	pg_up
	ch_up
	log "stack up ($((SECONDS - t0))s); use: eval \"\$($0 env)\""
}

cmd_down() {
	local purge=0
	case "${1:-}" in
	"") ;;
	--purge) purge=1 ;;
	*) die "usage: $0 down [--purge]" ;;
	esac
	with_lock
	ch_down
	pg_down
	rm -f "$PORTS_FILE"
	if [ "$purge" -eq 1 ]; then
		local home
		if [ -L "$PG_LINK" ]; then
			home="$(readlink -f "$PG_LINK")"
			log "deleting $home"
			rm -rf "$home"
			rmdir "$(dirname "$home")" 2>/dev/null || true
		fi
		log "deleting $PG_LINK and $CH_DIR"
		rm -rf "$PG_LINK" "$CH_DIR"
	fi
}

cmd_status() {
	local rc=0
	if pg_running; then
		echo "postgres:   running on 127.0.0.1:$PG_PORT (data $(pg_home)/data)"
	else
		echo "postgres:   stopped"
		rc=1
	fi
	if ch_running; then
		echo "clickhouse: running on 127.0.0.1:$CH_TCP_PORT, http $CH_HTTP_PORT (pid $(ch_pid), data $CH_DATA)"
	else
		echo "clickhouse: stopped"
		rc=1
	fi
	return "$rc"
}

cmd_env() {
	local pg="postgres://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
	local ch="clickhouse://default:@127.0.0.1:$CH_TCP_PORT"
	cat <<EOF
export SCRIPTSTATS_PG_DSN='$pg'
export SCRIPTSTATS_CLICKHOUSE_DSN='$ch/scriptstats'
export SCRIPTSTATS_TEST_PG_DSN='$pg'
export SCRIPTSTATS_TEST_CLICKHOUSE_DSN='$ch/default'
EOF
}

case "${1:-}" in
up) shift; [ $# -eq 0 ] || die "usage: $0 up"; cmd_up ;;
down) shift; cmd_down "$@" ;;
purge) shift; cmd_down --purge ;;
status) cmd_status ;;
env) cmd_env ;;
*)
	echo "usage: $0 up | down [--purge] | purge | status | env" >&2
	exit 2
	;;
esac
