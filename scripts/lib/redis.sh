# shellcheck shell=bash
# Throwaway Redis servers for tests, sourced by scripts/test:
#   start_redis_single DIR   one redis-server; exports COFFER_TEST_REDIS_URL
#   start_redis_cluster DIR  a 3-node Cluster; exports COFFER_TEST_REDIS_CLUSTER_URL
#   redis_create_cluster DIR MASTERS REPLICAS [ARGS...]  any Cluster (scripts/faults)
#   redis_create_sentinel DIR NAME REPLICAS [ARGS...]  a primary, replicas and 3 sentinels
#   stop_redis_all DIR       stops every server started under DIR (by pidfile)
# Servers listen on free loopback ports, keep nothing on disk and live under DIR.

# redis_require_server makes sure redis-server and redis-cli exist, installing them as root.
redis_require_server() {
	if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
		return 0
	fi
	if [ "$(id -u)" = 0 ]; then
		apt-get update && apt-get install -y redis-server
		return
	fi
	echo "redis-server is missing: run 'apt-get update && apt-get install -y redis-server' as root" >&2
	return 1
}

# redis_free_port prints a loopback TCP port nobody listens on; the kernel picks it, so parallel
# runs do not collide the way a fixed range would.
redis_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# redis_free_cluster_port prints a free port whose Cluster bus port (port + 10000) is free too.
redis_free_cluster_port() {
	python3 -c '
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    if port <= 55535:
        b = socket.socket()
        try:
            b.bind(("127.0.0.1", port + 10000)); b.close(); s.close(); print(port); break
        except OSError:
            pass
    s.close()'
}

# redis_start_node DIR PORT [ARGS...] starts one daemonized server and waits until it answers.
redis_start_node() {
	local dir=$1 port=$2
	shift 2
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
		--daemonize yes --pidfile "$dir/redis-$port.pid" --logfile "$dir/redis-$port.log" "$@" || return
	local i
	for i in $(seq 100); do
		if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
			return 0
		fi
		sleep 0.1
	done
	echo "redis-server on port $port did not start; see $dir/redis-$port.log" >&2
	return 1
}

start_redis_single() {
	local dir=$1
	redis_require_server || return
	mkdir -p "$dir/single" || return
	local port
	port=$(redis_free_port) || return
	redis_start_node "$dir/single" "$port" || return
	export COFFER_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
}

start_redis_cluster() {
	local dir=$1
	redis_create_cluster "$dir/cluster" 3 0 || return
	export COFFER_TEST_REDIS_CLUSTER_URL=$REDIS_CLUSTER_URL
}

# redis_create_cluster DIR MASTERS REPLICAS [ARGS...] starts MASTERS * (1 + REPLICAS) Cluster
# nodes with ARGS, joins them (redis-cli picks which nodes become replicas) and waits for
# cluster_state:ok. It sets REDIS_CLUSTER_PORTS (every node's port) and REDIS_CLUSTER_URL (a
# go-redis Cluster URL naming every node). A node's files are DIR/redis-PORT.{pid,log}.
redis_create_cluster() {
	local dir=$1 masters=$2 replicas=$3
	shift 3
	redis_require_server || return
	mkdir -p "$dir" || return
	local ports=() port
	local tries
	for _ in $(seq $((masters * (1 + replicas)))); do
		# A free port can be taken before the server binds it (its bus port, port + 10000, too):
		# try another one a few times.
		for tries in 1 2 3 4 5; do
			port=$(redis_free_cluster_port) || return
			while [[ " ${ports[*]} " == *" $port "* ]]; do port=$(redis_free_cluster_port) || return; done
			if redis_start_node "$dir" "$port" --cluster-enabled yes --cluster-config-file "nodes-$port.conf" "$@"; then
				break
			fi
			[ "$tries" = 5 ] && return 1
		done
		ports+=("$port")
	done
	local addrs=() p
	for p in "${ports[@]}"; do addrs+=("127.0.0.1:$p"); done
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes >"$dir/create.log" 2>&1 || {
		echo "redis-cli --cluster create failed; see $dir/create.log" >&2
		return 1
	}
	local i ok
	for i in $(seq 100); do
		ok=1
		for p in "${ports[@]}"; do
			redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ok=0
		done
		if [ "$ok" = 1 ]; then
			REDIS_CLUSTER_PORTS=("${ports[@]}")
			REDIS_CLUSTER_URL="redis://${addrs[0]}"
			local sep='?'
			for p in "${addrs[@]:1}"; do REDIS_CLUSTER_URL+="${sep}addr=$p" sep='&'; done
			return 0
		fi
		sleep 0.1
	done
	echo "the Redis Cluster did not reach cluster_state:ok" >&2
	return 1
}

# redis_start_sentinel DIR PORT NAME PRIMARY_PORT starts a sentinel watching the primary NAME:
# quorum 2, a primary silent for 2 s is down, and a failover that stalls is retried after 3 s.
# Not 1 s: a sentinel pings and reconnects once a second, and on a switch it starts timing the
# new primary before its first reconnection, which may come a second later; with 1 s it then
# judged the healthy new primary down and, a second replica being there, failed over again
# (scripts/faults, Sentinel drill).
redis_start_sentinel() {
	local dir=$1 port=$2 name=$3 primary=$4
	# The sentinel rewrites its file with what it learns (replicas, other sentinels, epochs).
	printf '%s\n' "sentinel monitor $name 127.0.0.1 $primary 2" "sentinel down-after-milliseconds $name 2000" \
		"sentinel failover-timeout $name 3000" "sentinel parallel-syncs $name 1" >"$dir/sentinel-$port.conf" || return
	redis-server "$dir/sentinel-$port.conf" --sentinel --port "$port" --bind 127.0.0.1 --dir "$dir" \
		--daemonize yes --pidfile "$dir/redis-$port.pid" --logfile "$dir/redis-$port.log" || return
	for _ in $(seq 100); do
		redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.1
	done
	echo "the sentinel on port $port did not start; see $dir/redis-$port.log" >&2
	return 1
}

# redis_create_sentinel DIR NAME REPLICAS [ARGS...] starts a primary and REPLICAS replicas with
# ARGS in DIR/sentinel, waits until the replicas are in sync, then 3 sentinels, and waits until
# every sentinel knows the replicas and the other two. It sets REDIS_SENTINEL_URL (a go-redis
# Sentinel URL naming every sentinel).
redis_create_sentinel() {
	local dir=$1/sentinel name=$2 replicas=$3
	shift 3
	redis_require_server || return
	mkdir -p "$dir" || return
	local primary port i ok
	primary=$(redis_free_port) || return
	redis_start_node "$dir" "$primary" "$@" || return
	for _ in $(seq "$replicas"); do
		port=$(redis_free_port) || return
		redis_start_node "$dir" "$port" --replicaof 127.0.0.1 "$primary" "$@" || return
	done
	for i in $(seq 100); do
		[ "$(redis-cli -p "$primary" info replication | tr -d '\r' | grep -c 'state=online')" = "$replicas" ] && break
		[ "$i" = 100 ] && { echo "the replicas of port $primary did not sync" >&2; return 1; }
		sleep 0.1
	done
	local sentinels=()
	for _ in 1 2 3; do
		port=$(redis_free_port) || return
		redis_start_sentinel "$dir" "$port" "$name" "$primary" || return
		sentinels+=("$port")
	done
	for i in $(seq 200); do
		ok=1
		for port in "${sentinels[@]}"; do
			redis-cli -p "$port" sentinel master "$name" 2>/dev/null | tr -d '\r' | paste - - |
				awk -v r="$replicas" '$1 == "num-slaves" { seen++; if ($2 != r) bad = 1 } $1 == "num-other-sentinels" { seen++; if ($2 != 2) bad = 1 } END { exit bad || seen != 2 }' || ok=0
		done
		[ "$ok" = 1 ] && break
		[ "$i" = 200 ] && { echo "the sentinels of $name did not find each other and the replicas" >&2; return 1; }
		sleep 0.1
	done
	REDIS_SENTINEL_URL="redis://127.0.0.1:${sentinels[0]}/0?master_name=$name&addr=127.0.0.1:${sentinels[1]}&addr=127.0.0.1:${sentinels[2]}"
}

# redis_stop_dir DIR stops every redis-server (node or sentinel) whose pid file is in DIR.
redis_stop_dir() {
	local pidfile pid
	for pidfile in "$1"/redis-*.pid; do
		[ -f "$pidfile" ] || continue
		pid=$(cat "$pidfile")
		kill "$pid" 2>/dev/null
		# Wait so a following start does not race the old server for its files.
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		rm -f "$pidfile"
	done
}

stop_redis_all() {
	local sub
	for sub in single cluster sentinel; do redis_stop_dir "$1/$sub"; done
}
