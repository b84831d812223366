# shellcheck shell=bash
# A throwaway MariaDB for the rotation tests, sourced by scripts/test:
#   start_mariadb DIR  mariadb-install-db in DIR/mariadb, a server on a free loopback port;
#                      exports COFFER_TEST_MARIADB_URL (an administrator URL)
#   stop_mariadb DIR   stops it
# The anonymous accounts mariadb-install-db creates are dropped: they would shadow every
# 'name'@'%' account that logs in over loopback.

mariadb_require_server() {
	command -v mariadb-install-db >/dev/null && command -v mariadbd >/dev/null && return 0
	if [ "$(id -u)" = 0 ]; then
		apt-get update && apt-get install -y mariadb-server
		return
	fi
	echo "MariaDB is missing: run 'apt-get update && apt-get install -y mariadb-server' as root" >&2
	return 1
}

start_mariadb() {
	local dir=$1/mariadb port pw user=mysql
	mariadb_require_server || return
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()') || return
	pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	mkdir -p "$dir" || return
	[ "$(id -u)" = 0 ] || user=$(id -un)
	[ "$(id -u)" = 0 ] && { chown -R mysql:mysql "$dir" || return; }
	mariadb-install-db --user="$user" --datadir="$dir/data" --auth-root-authentication-method=normal \
		>"$dir/install.log" 2>&1 || {
		echo "mariadb-install-db failed; see $dir/install.log" >&2
		return 1
	}
	mariadbd --no-defaults --user="$user" --datadir="$dir/data" --socket="$dir/sock" --port="$port" \
		--bind-address=127.0.0.1 --pid-file="$dir/mariadb.pid" --log-error="$dir/error.log" >"$dir/stdout.log" 2>&1 &
	local i
	for i in $(seq 150); do
		if mariadb --no-defaults -uroot --socket="$dir/sock" -e 'SELECT 1' >/dev/null 2>&1; then
			mariadb --no-defaults -uroot --socket="$dir/sock" -e \
				"DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES;
				 CREATE USER 'admin'@'%' IDENTIFIED BY '$pw'; GRANT ALL ON *.* TO 'admin'@'%' WITH GRANT OPTION;" || return
			export COFFER_TEST_MARIADB_URL="mysql://admin:$pw@127.0.0.1:$port/mysql"
			return 0
		fi
		sleep 0.2
	done
	echo "MariaDB did not start; see $dir/error.log" >&2
	return 1
}

stop_mariadb() {
	local dir=$1/mariadb pid
	[ -f "$dir/mariadb.pid" ] || return 0
	pid=$(cat "$dir/mariadb.pid")
	kill "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
