# shellcheck shell=bash
# The browser the console tests drive, sourced by scripts/test:
#   start_chromium DIR   makes sure Debian's Chromium and Node.js are installed (apt-get as root),
#                        copies the console's sources to DIR/console, where scripts/test runs
#                        npm ci and npm test, so parallel runs never share a node_modules; exports
#                        COFFER_TEST_CHROMIUM and COFFER_TEST_CONSOLE. Each test launches and
#                        closes its own browser.
#   stop_chromium DIR    nothing to stop.
# playwright-core drives this Chromium; Playwright's own browser download is never used.

chromium_require() {
	local missing=()
	command -v chromium >/dev/null || missing+=(chromium)
	command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	if [ "$(id -u)" = 0 ]; then
		apt-get update && apt-get install -y "${missing[@]}"
		return
	fi
	echo "${missing[*]} missing: run 'apt-get update && apt-get install -y ${missing[*]}' as root" >&2
	return 1
}

start_chromium() {
	chromium_require || return
	local major
	major=$(node -p 'process.versions.node.split(".")[0]')
	if [ "$major" -lt 20 ]; then
		echo "the console tests need Node.js 20 or later; this is $(node --version)" >&2
		return 1
	fi
	mkdir -p "$1/console" || return
	(cd console && tar -cf - --exclude=node_modules --exclude=build --exclude=screenshots .) |
		(cd "$1/console" && tar -xf -) || return
	export COFFER_TEST_CHROMIUM COFFER_TEST_CONSOLE=$1/console
	COFFER_TEST_CHROMIUM=$(command -v chromium)
}

stop_chromium() { :; }
