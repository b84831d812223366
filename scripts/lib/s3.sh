# shellcheck shell=bash
# A throwaway S3-compatible server (gofakes3, in memory) for the S3 backup sink's tests, sourced by
# scripts/test:
#   start_s3 DIR  exports COFFER_TEST_S3_ENDPOINT and COFFER_TEST_S3_BUCKET (created at start)
#   stop_s3 DIR
# gofakes3 accepts any credentials; the tests sign with fixed dummy ones.

gofakes3_version=v1.2.0

s3_require() {
	local bin
	bin="$(go env GOPATH)/bin/gofakes3"
	if [ -x "$bin" ]; then
		echo "$bin"
		return 0
	fi
	# A Go module, so the Go toolchain installs it the same way as root or not.
	echo "installing gofakes3 $gofakes3_version" >&2
	GOFLAGS= go install "github.com/johannesboyne/gofakes3/cmd/gofakes3@$gofakes3_version" >&2 || {
		echo "gofakes3 is missing: run 'go install github.com/johannesboyne/gofakes3/cmd/gofakes3@$gofakes3_version'" >&2
		return 1
	}
	echo "$bin"
}

start_s3() {
	local dir=$1/s3 bin port
	bin=$(s3_require) || return
	mkdir -p "$dir" || return
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()') || return
	"$bin" -backend memory -host "127.0.0.1:$port" -initialbucket coffer-test >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
	local i
	for i in $(seq 100); do
		if curl -fs -o /dev/null "http://127.0.0.1:$port/coffer-test"; then
			export COFFER_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
			export COFFER_TEST_S3_BUCKET=coffer-test
			return 0
		fi
		sleep 0.1
	done
	echo "gofakes3 on port $port did not start; see $dir/log" >&2
	return 1
}

stop_s3() {
	local pidfile=$1/s3/pid pid
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$pidfile"
}
