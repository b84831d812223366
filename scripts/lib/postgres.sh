# shellcheck shell=bash
# A throwaway PostgreSQL for the rotation tests, sourced by scripts/test:
#   start_postgres DIR  initdb in DIR/postgres, a server on a free loopback port with password
#                       (scram-sha-256) logins; exports COFFER_TEST_POSTGRES_URL (superuser URL)
#   stop_postgres DIR   stops it
# PostgreSQL refuses to run as root, so it runs as the postgres user in a folder that user owns.

postgres_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	return 1
}

postgres_require_server() {
	postgres_bin >/dev/null && return 0
	if [ "$(id -u)" = 0 ]; then
		apt-get update && apt-get install -y postgresql
		return
	fi
	echo "PostgreSQL is missing: run 'apt-get update && apt-get install -y postgresql' as root" >&2
	return 1
}

start_postgres() {
	local dir=$1/postgres bin port pw
	postgres_require_server || return
	bin=$(postgres_bin) || return
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()') || return
	pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	mkdir -p "$dir" || return
	printf '%s\n' "$pw" >"$dir/pwfile"
	local run=()
	if [ "$(id -u)" = 0 ]; then
		# The server runs as postgres, which must be able to pass through the parent folder
		# (mktemp -d makes it 0700).
		chmod o+x "$1" || return
		chown -R postgres:postgres "$dir" || return
		run=(runuser -u postgres --)
	fi
	"${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 --pwfile="$dir/pwfile" >"$dir/initdb.log" 2>&1 || {
		echo "initdb failed; see $dir/initdb.log" >&2
		return 1
	}
	"${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null || {
		echo "PostgreSQL did not start; see $dir/server.log" >&2
		return 1
	}
	export COFFER_TEST_POSTGRES_URL="postgres://postgres:$pw@127.0.0.1:$port/postgres?sslmode=disable"
}

stop_postgres() {
	local dir=$1/postgres bin
	[ -d "$dir/data" ] || return 0
	bin=$(postgres_bin) || return
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null
	else
		"$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null
	fi
}
