# shellcheck shell=bash
# The AWS CLI v2 that scripts/awsclients drives against the emulator, sourced by scripts/test:
#   start_awscli DIR  exports COFFER_TEST_AWS_CLI: an `aws` that is version 2 (the one users have),
#                     Debian's awscli installed with apt-get as root when none is found; a v1 on
#                     PATH (pip's, pyenv's) is passed over, as its output differs (dates as numbers)
#   stop_awscli DIR   nothing to stop
start_awscli() {
	local c
	for c in $(type -ap aws) /usr/bin/aws; do
		if "$c" --version 2>&1 | grep -q '^aws-cli/2\.'; then
			export COFFER_TEST_AWS_CLI=$c
			return 0
		fi
	done
	if [ "$(id -u)" = 0 ]; then
		apt-get update && apt-get install -y awscli && export COFFER_TEST_AWS_CLI=/usr/bin/aws
		return
	fi
	echo "the AWS CLI v2 is missing: run 'apt-get update && apt-get install -y awscli' as root" >&2
	return 1
}

stop_awscli() { :; }
