# shellcheck shell=bash
# A throwaway OpenSSH server for the ECS rotation tests, sourced by scripts/test:
#   start_sshd DIR  its own sshd_config and host key in DIR/sshd, on a free loopback port, and a
#                   test user whose home is in DIR; exports COFFER_TEST_SSH_ADDR (host:port),
#                   COFFER_TEST_SSH_HOSTKEY (the host key as an authorized_keys line),
#                   COFFER_TEST_SSH_USER and COFFER_TEST_SSH_KEY (a private key file that user
#                   logs in with; tests add keys of their own with it and never rotate it), and
#                   COFFER_TEST_SSH_ROOT_KEY (a key root logs in with, authorized in DIR only: the
#                   admin login of password rotation, which also creates the users it rotates)
#   stop_sshd DIR   stops it
# sshd must run as root to log users in, so without root the tests that need it skip.

sshd_require_server() {
	[ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null && return 0
	if [ "$(id -u)" = 0 ]; then
		apt-get update && apt-get install -y openssh-server
		return
	fi
	echo "sshd is missing: run 'apt-get update && apt-get install -y openssh-server' as root" >&2
	return 1
}

start_sshd() {
	local dir=$1/sshd port user
	if [ "$(id -u)" != 0 ]; then
		echo "sshd is not started: it must run as root to log a test user in; the SSH tests skip" >&2
		return 0
	fi
	sshd_require_server || return
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()') || return
	user=coffer$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
	mkdir -p "$dir" /run/sshd || return
	# A "*" password (no password login) instead of the locked "!", which sshd refuses outright.
	useradd --home-dir "$dir/home" --create-home --shell /bin/sh --password "*" "$user" || return
	echo "$user" >"$dir/user"
	ssh-keygen -q -t ed25519 -f "$dir/host" -N '' || return
	ssh-keygen -q -t ed25519 -f "$dir/user_key" -N '' || return
	ssh-keygen -q -t ed25519 -f "$dir/root_key" -N '' || return
	mkdir -p "$dir/keys" && cp "$dir/root_key.pub" "$dir/keys/root" || return
	mkdir -p "$dir/home/.ssh" && cp "$dir/user_key.pub" "$dir/home/.ssh/authorized_keys" || return
	chown -R "$user:" "$dir/home" && chmod 700 "$dir/home/.ssh" || return
	cat >"$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host
PidFile $dir/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys $dir/keys/%u
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100:30:200
CONF
	/usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log" || {
		echo "sshd did not start; see $dir/sshd.log" >&2
		return 1
	}
	local i
	for i in $(seq 50); do
		[ -s "$dir/sshd.pid" ] && break
		sleep 0.1
	done
	export COFFER_TEST_SSH_ADDR="127.0.0.1:$port" COFFER_TEST_SSH_USER="$user" COFFER_TEST_SSH_KEY="$dir/user_key" \
		COFFER_TEST_SSH_ROOT_KEY="$dir/root_key"
	COFFER_TEST_SSH_HOSTKEY=$(cut -d' ' -f1,2 "$dir/host.pub")
	export COFFER_TEST_SSH_HOSTKEY
}

stop_sshd() {
	local dir=$1/sshd
	[ -f "$dir/sshd.pid" ] && kill "$(cat "$dir/sshd.pid")" 2>/dev/null
	[ -f "$dir/user" ] && userdel "$(cat "$dir/user")" 2>/dev/null
	return 0
}
