# shellcheck shell=bash
# The AWS CLI that scripts/awsclients drives against the emulator, sourced by scripts/test:
#   start_awscli DIR  makes sure `aws` is on PATH (Debian's awscli, installed with apt-get as root)
#   stop_awscli DIR   nothing to stop
start_awscli() {
	command -v aws >/dev/null && return 0
	if [ "$(id -u)" = 0 ]; then
		apt-get update && apt-get install -y awscli
		return
	fi
	echo "the AWS CLI is missing: run 'apt-get update && apt-get install -y awscli' as root" >&2
	return 1
}

stop_awscli() { :; }
