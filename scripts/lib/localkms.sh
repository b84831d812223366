# shellcheck shell=bash
# A throwaway AWS KMS emulator (local-kms) for tests, sourced by scripts/test:
#   start_localkms DIR  exports COFFER_TEST_AWS_KMS_ENDPOINT, COFFER_TEST_AWS_KMS_KEY and
#                       COFFER_TEST_AWS_KMS_OTHER_KEY (two seeded symmetric keys, by alias)
#   stop_localkms DIR
# local-kms listens on every interface (it has no bind option); the port is free and temporary.

localkms_version=v0.0.0-20260228092603-2a5e92d09ab6

localkms_require() {
	local bin
	bin="$(go env GOPATH)/bin/local-kms"
	if [ -x "$bin" ]; then
		echo "$bin"
		return 0
	fi
	if command -v local-kms >/dev/null; then
		command -v local-kms
		return 0
	fi
	# A Go module, so the Go toolchain installs it the same way as root or not.
	echo "installing local-kms $localkms_version" >&2
	GOFLAGS= go install "github.com/nsmithuk/local-kms@$localkms_version" >&2 || {
		echo "local-kms is missing: run 'go install github.com/nsmithuk/local-kms@$localkms_version'" >&2
		return 1
	}
	echo "$bin"
}

start_localkms() {
	local dir=$1/localkms bin port
	bin=$(localkms_require) || return
	mkdir -p "$dir" || return
	cat >"$dir/seed.yaml" <<'SEED'
Keys:
  Symmetric:
    Aes:
      - Metadata:
          KeyId: 6b8a0b8e-0c0f-4a6e-9d55-3f0c7e1f2a01
        BackingKeys:
          - 5cdaead27fe7da2de47945d73cd6d79e36494e73802f3cd3869f1d2cb0b5d7a9
      - Metadata:
          KeyId: 0d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5
        BackingKeys:
          - 9f1c0a77e21b4d3c8a5e6f7081929aabbccddeeff00112233445566778899aab
Aliases:
  - AliasName: alias/coffer-test
    TargetKeyId: 6b8a0b8e-0c0f-4a6e-9d55-3f0c7e1f2a01
  - AliasName: alias/coffer-other
    TargetKeyId: 0d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5
SEED
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()') || return
	PORT=$port KMS_REGION=eu-west-2 KMS_SEED_PATH="$dir/seed.yaml" KMS_DATA_PATH="$dir/data" \
		"$bin" >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
	local i
	for i in $(seq 100); do
		if curl -fs -o /dev/null -X POST -H 'X-Amz-Target: TrentService.DescribeKey' \
			-H 'Content-Type: application/x-amz-json-1.1' -d '{"KeyId":"alias/coffer-test"}' "http://127.0.0.1:$port/"; then
			export COFFER_TEST_AWS_KMS_ENDPOINT="http://127.0.0.1:$port"
			export COFFER_TEST_AWS_KMS_KEY=alias/coffer-test
			export COFFER_TEST_AWS_KMS_OTHER_KEY=alias/coffer-other
			return 0
		fi
		sleep 0.1
	done
	echo "local-kms on port $port did not start; see $dir/log" >&2
	return 1
}

stop_localkms() {
	local pidfile=$1/localkms/pid pid
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$pidfile"
}
